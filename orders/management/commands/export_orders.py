from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from orders.errors import OrdersError
from orders.errors_lock import NothingToExport
from orders.exports.services import batch_rows, export_orders, template_named
from orders.exports.writers import CSV, FORMATS, csv_chunks, write_xlsx
from orders.models import ExportBatch
from pledges.models import Campaign


class Command(BaseCommand):
    help = (
        "Export a campaign's locked orders for the warehouse through a column template "
        "(per-line, per-order-skus, shipstation, or one of the campaign's own). Orders "
        "already exported stay out unless --include-exported is given. --batch N writes "
        "a past export again (its template and format, nothing marked)."
    )

    def add_arguments(self, parser):
        parser.add_argument("campaign_slug")
        parser.add_argument("--template", metavar="NAME", help="required unless --batch")
        parser.add_argument("--format", choices=list(FORMATS), default=None, dest="fmt")
        parser.add_argument("--out", required=True, type=Path, metavar="FILE")
        parser.add_argument(
            "--include-exported", action="store_true", help="send already exported orders again"
        )
        parser.add_argument(
            "--batch", type=int, metavar="N", help="write past export N again (marks nothing)"
        )

    def handle(self, *args, campaign_slug, template, fmt, out: Path, include_exported, **opts):
        campaign = Campaign.objects.filter(slug=campaign_slug).first()
        if campaign is None:
            raise CommandError(f"No campaign with the slug {campaign_slug!r}.")
        again = opts["batch"]
        if again is None and not template:
            raise CommandError("Give --template NAME (or --batch N to write a past export again).")
        past = None
        if again is not None:
            past = ExportBatch.objects.filter(campaign=campaign, pk=again).first()
            if past is None:
                raise CommandError(f"Campaign {campaign_slug!r} has no export {again}.")
            fmt = past.format
        fmt = fmt or CSV
        # Opened before anything is recorded: a path that cannot be written marks no
        # order exported.
        try:
            handle = out.open("w", encoding="utf-8", newline="") if fmt == CSV else out.open("wb")
        except OSError as exc:
            raise CommandError(f"Could not write {out}: {exc}") from exc
        with handle:
            batch, rows, name = self._rows(campaign, past, template, fmt, include_exported)
            self._write(
                rows, fmt, handle, out, batch, title=campaign.name, quiet=not opts["verbosity"]
            )
        if past is not None:
            self.stdout.write(
                self.style.SUCCESS(f"Wrote {out}: export {past.pk} again ({name}, {fmt}).")
            )
            return
        batch.refresh_from_db()
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {out}: export {batch.pk}, {batch.order_count:,} orders, "
                f"{batch.row_count:,} rows ({name}, {fmt})."
            )
        )

    def _rows(self, campaign, past, template, fmt, include_exported):
        try:
            if past is not None:
                return past, batch_rows(batch=past), past.template_name
            columns = template_named(campaign=campaign, name=template)
            batch, rows = export_orders(
                campaign=campaign,
                template=columns,
                fmt=fmt,
                include_exported=include_exported,
                actor="export_orders command",
            )
            return batch, rows, columns.name
        except NothingToExport as exc:
            hint = (
                "Every locked order was exported before: give --include-exported to send "
                "them again."
                if exc.exported_before
                else "Lock orders first (manage.py lock_orders)."
            )
            raise CommandError(f"No locked orders to export. {hint}") from exc
        except OrdersError as exc:
            raise CommandError(exc.message) from exc

    def _write(self, rows, fmt, handle, out, batch, *, title, quiet):
        try:
            if fmt == CSV:
                # The CSV in chunks (on PostgreSQL straight from COPY): the bar counts characters.
                bar = tqdm(unit="char", unit_scale=True, disable=quiet, dynamic_ncols=True)
                for chunk in csv_chunks(rows):
                    handle.write(chunk)
                    bar.update(len(chunk))
            else:
                bar = tqdm(rows, unit=" rows", disable=quiet, dynamic_ncols=True)
                write_xlsx(bar, handle, title=title)
        except OSError as exc:
            raise CommandError(
                f"Could not write {out}: {exc}. Export {batch.pk} is recorded: write it "
                f"again with --batch {batch.pk}."
            ) from exc
        finally:
            bar.close()
