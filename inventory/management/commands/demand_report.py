import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from inventory.demand import BY_COUNTRY, GROUPINGS, demand_report, report_table
from pledges.exports import safe_cell
from pledges.models import Campaign

NAME_WIDTH = 40


class Command(BaseCommand):
    help = (
        "Units per SKU and destination country or region from a campaign's collected "
        "pledges (the figures of the Demand page): print the table or write it as CSV."
    )

    def add_arguments(self, parser):
        parser.add_argument("campaign_slug")
        parser.add_argument("--by", choices=list(GROUPINGS), default=BY_COUNTRY)
        parser.add_argument("--csv", type=Path, metavar="FILE", help="write the CSV here")

    def handle(self, *args, campaign_slug, by, csv: Path | None, **options):
        campaign = Campaign.objects.filter(slug=campaign_slug).first()
        if campaign is None:
            raise CommandError(f"No campaign with the slug {campaign_slug!r}.")
        report = demand_report(campaign=campaign, by=by)
        if csv is not None:
            self._write_csv(report, csv)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Wrote {csv}: {len(report.rows)} SKUs, {report.grand_total:,} units, "
                    f"{report.pledges_counted:,} pledges."
                )
            )
            return
        self.stdout.write(
            f"{campaign.name}: demand by {by} from {report.pledges_counted:,} collected "
            f"pledges ({report.seconds:.2f} s)"
        )
        self.stdout.write("")
        for line in aligned(_table_for_print(report)):
            self.stdout.write(line)
        if report.pending_choices:
            self.stdout.write("")
            self.stdout.write("Choices not made yet (not in the SKU rows above):")
            for choice in report.pending_choices:
                defaults = ", ".join(f"{sku.code} ({q:,})" for sku, q in choice.defaults)
                self.stdout.write(
                    f"  {choice.name} — not yet chosen: {_units(choice.total)}; "
                    + (f"default ships {defaults}" if defaults else "no default option")
                )
        if report.unmapped_addons:
            self.stdout.write("")
            self.stdout.write("Add-ons not mapped to an offer (not in the SKU rows above):")
            for addon in report.unmapped_addons:
                self.stdout.write(f"  {addon.text}: {_units(addon.total)}")

    @staticmethod
    def _write_csv(report, path: Path) -> None:
        try:
            with path.open("w", newline="", encoding="utf-8-sig") as handle:
                writer = csv.writer(handle)
                for row in report_table(report):
                    writer.writerow([safe_cell(v) for v in row])
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from exc


def _table_for_print(report) -> list[list[str]]:
    # Country codes keep 30+ columns readable in a terminal; regions are few and named.
    heads = [
        (d.key or d.label) if report.by == BY_COUNTRY else d.label for d in report.destinations
    ]
    rows = [["SKU", "Name", "Total", *heads]]
    for row in report.rows:
        rows.append([row.sku.code, _clip(row.sku.name), *_numbers(row.total, *row.by_destination)])
    rows.append(["Total", "", *_numbers(report.grand_total, *report.column_totals)])
    pledges = [d.pledges for d in report.destinations]
    rows.append(["Pledges", "", *_numbers(report.pledges_counted, *pledges)])
    return rows


def _clip(name: str) -> str:
    return name if len(name) <= NAME_WIDTH else name[: NAME_WIDTH - 1] + "…"


def _units(n: int) -> str:
    return f"{n:,} unit" if n == 1 else f"{n:,} units"


def _numbers(*values: int) -> list[str]:
    return [f"{v:,}" for v in values]


def aligned(rows: list[list[str]]) -> list[str]:
    """Plain text columns: the first two left-aligned, the figures right-aligned."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            str(cell).ljust(width) if i < 2 else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines
