from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from orders.errors import OrdersError
from orders.services.locking import lock_orders, lock_preview, segment_named, segment_orders
from pledges.models import Campaign


class Command(BaseCommand):
    help = (
        "Lock a campaign's ready orders now (all of them, or a saved segment): backers can "
        "no longer change them. Orders that are not ready are counted by reason, not touched."
    )

    def add_arguments(self, parser):
        parser.add_argument("campaign_slug")
        parser.add_argument("--segment", metavar="NAME", help="only the orders of this segment")
        parser.add_argument(
            "--dry-run", action="store_true", help="show what would lock, change nothing"
        )

    def handle(self, *args, campaign_slug, segment, dry_run, **options):
        campaign = Campaign.objects.filter(slug=campaign_slug).first()
        if campaign is None:
            raise CommandError(f"No campaign with the slug {campaign_slug!r}.")
        orders = None
        if segment:
            try:
                orders = segment_orders(segment=segment_named(campaign=campaign, name=segment))
            except OrdersError as exc:
                raise CommandError(exc.message) from exc
        ready = lock_preview(campaign=campaign, orders=orders).ready
        try:
            with tqdm(
                total=ready,
                unit=" orders",
                disable=dry_run or not ready or options["verbosity"] == 0,
            ) as bar:
                result = lock_orders(
                    campaign=campaign,
                    orders=orders,
                    actor="lock_orders command",
                    dry_run=dry_run,
                    progress=bar.update,
                )
        except OrdersError as exc:
            raise CommandError(exc.message) from exc
        scope = f"segment {segment!r} of {campaign.name}" if segment else campaign.name
        if dry_run:
            self.stdout.write(f"Dry run, nothing changed. {scope}: {result.ready:,} would lock.")
        else:
            self.stdout.write(self.style.SUCCESS(f"{scope}: {result.locked:,} orders locked."))
        if result.payment_failed:
            self.stdout.write(
                f"{result.payment_failed:,} charges at lock failed: those orders stay unlocked "
                "with a payment_failed hold."
            )
        if result.not_ready:
            self.stdout.write(f"Not locked: {result.not_ready_orders:,} orders")
            for row in result.not_ready:
                self.stdout.write(f"  {row.label}: {row.count:,}")
