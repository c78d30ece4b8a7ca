from django.core.management.base import BaseCommand, CommandError

from orders.services.taxes import seed_tax_rates
from pledges.models import Campaign


class Command(BaseCommand):
    help = (
        "Add the standard tax rates (EU-27, UK, NO, CH, AU, CA) that a campaign's table "
        "lacks. Rates a creator edited stay as they are; running it twice adds nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("campaign_slugs", nargs="*", metavar="campaign_slug")
        parser.add_argument("--all", action="store_true", dest="every", help="every campaign")

    def handle(self, *args, campaign_slugs, every, **options):
        if every == bool(campaign_slugs):
            raise CommandError("Give campaign slugs or --all (not both).")
        campaigns = Campaign.objects.order_by("pk")
        if not every:
            campaigns = campaigns.filter(slug__in=campaign_slugs)
            unknown = set(campaign_slugs) - set(campaigns.values_list("slug", flat=True))
            if unknown:
                raise CommandError(f"No campaign with the slug {', '.join(sorted(unknown))}.")
        for campaign in campaigns:
            added = seed_tax_rates(campaign=campaign)
            self.stdout.write(f"{campaign.slug}: {added} rate{'s' if added != 1 else ''} added")
