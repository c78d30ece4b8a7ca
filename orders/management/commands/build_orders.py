from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from orders.errors import OrdersError
from orders.services.bulk_building import build_orders
from pledges.models import Backer, Campaign


class Command(BaseCommand):
    help = (
        "Build or update the orders of every backer of a campaign from their pledge, survey "
        "answers and the SKU map. Re-running changes only orders whose inputs changed; "
        "locked orders are left alone. New address versions are checked right after "
        "(validate_addresses), unless --no-validate. Exits non-zero when any backer failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("campaign_slug")
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument(
            "--no-validate",
            action="store_true",
            help="leave new address versions unchecked (their orders wait in submitted)",
        )

    def handle(self, *args, campaign_slug, batch_size, **options):
        campaign = Campaign.objects.filter(slug=campaign_slug).first()
        if campaign is None:
            raise CommandError(f"No campaign with the slug {campaign_slug!r}.")
        total = Backer.objects.filter(campaign=campaign).count()
        try:
            with tqdm(total=total, unit=" backers", disable=options["verbosity"] == 0) as bar:
                result = build_orders(campaign=campaign, progress=bar.update, batch_size=batch_size)
        except OrdersError as exc:
            raise CommandError(exc.message) from exc
        counts = ", ".join(
            f"{name.replace('_', ' ')}: {n:,}" for name, n in result.as_dict().items()
        )
        self.stdout.write(f"{campaign.name}: {counts}")
        for error in result.errors[:20]:
            self.stderr.write(f"  {error}")
        if result.errors:
            raise CommandError(f"{result.failed:,} backers could not be built.")
        self.stdout.write(self.style.SUCCESS("Orders built."))
        # Orders with a new address version wait in submitted until it is checked.
        if result.addresses_written and not options["no_validate"]:
            call_command(
                "validate_addresses",
                campaign_slug,
                batch_size=batch_size,
                verbosity=options["verbosity"],
                stdout=self.stdout._out,
                stderr=self.stderr._out,
            )
