from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from orders.errors import OrdersError
from orders.exports.services import export_orders, template_named
from orders.exports.writers import CSV, FORMATS, csv_chunks, write_xlsx
from pledges.models import Campaign


class Command(BaseCommand):
    help = (
        "Export a campaign's locked orders for the warehouse through a column template "
        "(per-line, per-order-skus, shipstation, or one of the campaign's own). Orders "
        "already exported stay out unless --include-exported is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("campaign_slug")
        parser.add_argument("--template", required=True, metavar="NAME")
        parser.add_argument("--format", choices=list(FORMATS), default=CSV, dest="fmt")
        parser.add_argument("--out", required=True, type=Path, metavar="FILE")
        parser.add_argument(
            "--include-exported", action="store_true", help="send already exported orders again"
        )

    def handle(self, *args, campaign_slug, template, fmt, out: Path, include_exported, **opts):
        campaign = Campaign.objects.filter(slug=campaign_slug).first()
        if campaign is None:
            raise CommandError(f"No campaign with the slug {campaign_slug!r}.")
        try:
            columns = template_named(campaign=campaign, name=template)
            batch, rows = export_orders(
                campaign=campaign,
                template=columns,
                fmt=fmt,
                include_exported=include_exported,
                actor="export_orders command",
            )
        except OrdersError as exc:
            raise CommandError(exc.message) from exc
        quiet = opts["verbosity"] == 0
        try:
            if fmt == CSV:
                # The CSV in chunks (on PostgreSQL straight from COPY): the bar counts characters.
                bar = tqdm(unit="char", unit_scale=True, disable=quiet, dynamic_ncols=True)
                with out.open("w", encoding="utf-8", newline="") as handle:
                    for chunk in csv_chunks(rows):
                        handle.write(chunk)
                        bar.update(len(chunk))
            else:
                bar = tqdm(rows, unit=" rows", disable=quiet, dynamic_ncols=True)
                with out.open("wb") as handle:
                    write_xlsx(bar, handle, title=campaign.name)
        except OSError as exc:
            raise CommandError(f"Could not write {out}: {exc}") from exc
        finally:
            bar.close()
        batch.refresh_from_db()
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {out}: export {batch.pk}, {batch.order_count:,} orders, "
                f"{batch.row_count:,} rows ({columns.name}, {fmt})."
            )
        )
