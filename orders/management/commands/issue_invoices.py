from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from orders.services.invoices import issue_missing_invoices, orders_missing_invoice
from pledges.models import Campaign


class Command(BaseCommand):
    help = (
        "Issue the VAT invoice of every paid order of a campaign that has none yet. "
        "Running it again issues nothing new. Exits 1 when an order was refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("campaign_slug")

    def handle(self, *args, campaign_slug, **options):
        campaign = (
            Campaign.objects.select_related("organization").filter(slug=campaign_slug).first()
        )
        if campaign is None:
            raise CommandError(f"No campaign with the slug {campaign_slug!r}.")
        total = orders_missing_invoice(campaign=campaign).count()
        quiet = options["verbosity"] == 0
        with tqdm(total=total, unit=" orders", disable=quiet, dynamic_ncols=True) as bar:
            result = issue_missing_invoices(campaign=campaign, progress=bar.update)
        self.stdout.write(f"{result.issued} invoices issued.")
        if result.failed:
            for number, why in result.failed[:20]:
                self.stderr.write(f"Order {number}: {why}")
            raise CommandError(f"{len(result.failed)} orders got no invoice.")
