from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from orders.models import AddressStatus, OrderAddress
from orders.services.addresses import validate_addresses
from pledges.models import Campaign


class Command(BaseCommand):
    help = (
        "Check a campaign's order addresses against their countries' rules: the versions "
        "not checked yet, or with --all every version but those staff accepted as they are. "
        "Orders follow (address_invalid hold, fix-your-address email once per bad version, "
        "sent by a Celery task per batch). "
        "Exits non-zero when something failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("campaign_slug")
        parser.add_argument("--all", action="store_true", help="check checked versions again")
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--no-email", action="store_true", help="do not email backers")

    def handle(self, *args, campaign_slug, batch_size, **options):
        campaign = Campaign.objects.filter(slug=campaign_slug).first()
        if campaign is None:
            raise CommandError(f"No campaign with the slug {campaign_slug!r}.")
        recheck = options["all"]
        versions = OrderAddress.objects.filter(order__campaign=campaign).exclude(
            status=AddressStatus.ACCEPTED
        )
        if not recheck:
            versions = versions.filter(checked_at__isnull=True)
        with tqdm(
            total=versions.count(), unit=" addresses", disable=options["verbosity"] == 0
        ) as bar:
            result = validate_addresses(
                campaign=campaign,
                recheck=recheck,
                progress=bar.update,
                batch_size=batch_size,
                send_emails=not options["no_email"],
            )
        self.stdout.write(
            f"{campaign.name}: {result.checked:,} checked, {result.valid:,} valid, "
            f"{result.invalid:,} invalid; holds opened {result.holds_opened:,}, "
            f"cleared {result.holds_cleared:,}; {_emails(result)}."
        )
        for error in result.errors[:20]:
            self.stderr.write(f"  {error}")
        if result.errors:
            raise CommandError(f"{len(result.errors):,} problems while checking addresses.")
        self.stdout.write(self.style.SUCCESS("Addresses checked."))


def _emails(result) -> str:
    """Emails sent (Celery eager: the tasks ran here) or handed to the workers."""
    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        return f"{result.emails_sent:,} emails sent"
    return f"{result.emails_queued:,} fix-address emails queued"
