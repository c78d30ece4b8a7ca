from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from orders.services.repricing import open_orders, reprice_orders
from pledges.models import Campaign


class Command(BaseCommand):
    help = (
        "Recompute shipping fee, tax and totals of a campaign's open orders (never locked "
        "ones) after a rate or tax change. --dry-run counts what would change and writes "
        "nothing. Drafts are left to their survey; invoiced orders keep the price they were "
        "paid at; orders without an address "
        "yet are left as they are. Exits 1 when some orders could not be priced (they keep "
        "their price)."
    )

    def add_arguments(self, parser):
        parser.add_argument("campaign_slug")
        parser.add_argument("--dry-run", action="store_true", help="count, write nothing")

    def handle(self, *args, campaign_slug, dry_run, **options):
        campaign = (
            Campaign.objects.select_related("organization").filter(slug=campaign_slug).first()
        )
        if campaign is None:
            raise CommandError(f"No campaign with the slug {campaign_slug!r}.")
        total = open_orders(campaign=campaign).count()
        quiet = options["verbosity"] == 0
        with tqdm(total=total, unit=" orders", disable=quiet, dynamic_ncols=True) as bar:
            result = reprice_orders(campaign=campaign, progress=bar.update, dry_run=dry_run)
        verb = "would change" if dry_run else "changed"
        self.stdout.write(
            f"{result.orders} open orders: {result.changed} {verb}, {result.unchanged} "
            f"unchanged, {result.no_address} without an address yet (left as they are); "
            f"not touched: {result.drafts_skipped} drafts (their survey quotes today's rates), "
            f"{result.locked_skipped} locked or further on, {result.invoiced_skipped} "
            f"invoiced ({result.seconds:.1f} s)."
        )
        if result.failed:
            for reason, count in result.failed.most_common(20):
                self.stderr.write(f"{count} × {reason}")
            raise CommandError(f"{result.failed_count} orders could not be priced.")
