"""The demand report: how many units of each SKU the campaign's pledges need,
per destination country or region — what a creator orders from the factory and
pre-positions per warehouse.

The figures come from the bill of materials (inventory.bom), never from a
second reading of the SKU map: pledges are grouped in SQL by everything the BOM
of an imported pledge depends on (reward, destination country, add-ons text,
and on which side of every dated stretch goal the pledge date falls), each group
is exploded once and multiplied by its pledge count. At 250,000 pledges that is
a few thousand explosions instead of 250,000."""

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Case, Count, IntegerField, Min, Value, When
from django.utils import timezone
from django_countries import countries

from pledges.models import PaymentStatus, Pledge

from . import bom
from .models import Sku
from .regions import NO_COUNTRY, region_for

BY_COUNTRY = "country"
BY_REGION = "region"
GROUPINGS = {BY_COUNTRY: "Country", BY_REGION: "Region"}

# BOM sources whose lines are not units of a known SKU yet.
PENDING_CHOICE = "choice_pending"
UNMAPPED_ADDON = "addon_unmapped"


@dataclass(frozen=True)
class Destination:
    """A column of the report: one country (by its code) or one region."""

    key: str
    label: str
    units: int  # SKU units going there (pending choices and unmapped add-ons not included)
    pledges: int


@dataclass
class SkuDemand:
    sku: Sku
    total: int
    by_destination: list[int]  # aligned with DemandReport.destinations
    share: int = 0  # bar length: percent of the largest SKU's units
    percent: float = 0.0  # of all SKU units


@dataclass
class PendingChoice:
    """Units of one choice group whose backers have not chosen yet.

    They are not in any SKU row: the choice decides which SKU they become.
    `defaults` says what ships if the backer never chooses."""

    group_id: int
    name: str
    total: int
    by_destination: list[int]
    defaults: list[tuple[Sku, int]]  # (default SKU, units it would be)


@dataclass
class UnmappedAddOn:
    """Units of an imported add-on text not mapped to an offer yet."""

    text: str
    total: int
    by_destination: list[int]


@dataclass
class DemandReport:
    campaign_id: int
    by: str
    destinations: list[Destination]
    rows: list[SkuDemand]
    column_totals: list[int]
    grand_total: int
    pending_choices: list[PendingChoice]
    unmapped_addons: list[UnmappedAddOn]
    pledges_counted: int
    groups: int  # pledge groups exploded (one BOM each)
    computed_at: datetime
    seconds: float
    pending_total: int = field(default=0)
    unmapped_total: int = field(default=0)

    @property
    def grouping_label(self) -> str:
        return GROUPINGS[self.by]

    @property
    def physical_total(self) -> int:
        """Units of things to manufacture and ship (digital SKUs left out)."""
        return sum(row.total for row in self.rows if not row.sku.is_digital)

    @property
    def digital_total(self) -> int:
        return self.grand_total - self.physical_total

    def units_by_sku(self) -> dict[int, int]:
        """SKU id → total units: the figure a factory order is made of."""
        return {row.sku.pk: row.total for row in self.rows}


def counted_pledges(*, campaign):
    """The pledges a demand report counts: payment collected, backer not merged
    away into another one (that backer's own pledge counts instead)."""
    return Pledge.objects.filter(
        backer__campaign=campaign,
        backer__merged_into__isnull=True,
        payment_status=PaymentStatus.COLLECTED,
    )


def _date_bucket(cutoffs: list[datetime]) -> Case | Value:
    """An SQL expression that is equal for two pledge dates exactly when every
    dated stretch goal treats them alike.

    Each cutoff splits the time line into before / exactly at / after, so the
    bucket holds whether the BOM compares with < or <=; undated pledges are
    their own bucket."""
    whens = [When(pledged_at__isnull=True, then=Value(-1))]
    for i, cutoff in enumerate(cutoffs):
        whens.append(When(pledged_at__lt=cutoff, then=Value(2 * i)))
        whens.append(When(pledged_at=cutoff, then=Value(2 * i + 1)))
    return Case(*whens, default=Value(2 * len(cutoffs)), output_field=IntegerField())


def pledge_groups(*, campaign, cutoffs: Iterable[datetime]) -> list[dict]:
    """Counted pledges grouped by what their BOM depends on, in one query.

    `cutoffs` are the dated stretch goals' dates. Rows: {"reward_id",
    "shipping_country", "addons_text", "bucket", "pledges", "first_pledged_at"}
    where first_pledged_at is the earliest date in the group, so it lies in the
    group's bucket."""
    cutoffs = sorted(set(cutoffs))
    return list(
        counted_pledges(campaign=campaign)
        .annotate(bucket=_date_bucket(cutoffs))
        .values("reward_id", "shipping_country", "addons_text", "bucket")
        .annotate(pledges=Count("pk"), first_pledged_at=Min("pledged_at"))
        .order_by()
    )


def destination_of(country_code: str, *, by: str) -> str:
    """The column key a pledge's destination falls into."""
    if by == BY_REGION:
        return region_for(country_code)
    return (country_code or "").strip().upper()


def destination_label(key: str, *, by: str) -> str:
    if by == BY_REGION:
        return key
    if not key:
        return NO_COUNTRY
    name = countries.name(key)
    return name if name else f"{key} (unknown code)"


def demand_report(*, campaign, by: str = BY_COUNTRY) -> DemandReport:
    """Units per SKU and destination from every collected pledge of the campaign.

    Rules: only collected payments, merged-away backers excluded; each pledge's
    lines are exactly its BOM (reward, choices, regional editions, stretch goals,
    imported add-ons); a choice not made yet and an add-on text not mapped yet
    are reported apart, never as units of a SKU."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, not {by!r}")
    started = time.perf_counter()
    catalog = bom.load_catalog(campaign=campaign)
    groups = pledge_groups(
        campaign=campaign,
        cutoffs=(g.pledged_before for g in catalog.goals if g.pledged_before is not None),
    )

    skus: dict[int, Sku] = {}
    units: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    pledges_at: dict[str, int] = defaultdict(int)
    pending: dict[int, dict] = {}
    unmapped: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    counted = 0

    for group in groups:
        n = group["pledges"]
        country = group["shipping_country"] or ""
        dest = destination_of(country, by=by)
        counted += n
        pledges_at[dest] += n
        lines = bom.explode(
            catalog=catalog,
            reward_id=group["reward_id"],
            country=country,
            pledged_at=group["first_pledged_at"],
            imported_addons_text=group["addons_text"] or "",
        )
        for line in lines:
            quantity = line.quantity * n
            if line.source == PENDING_CHOICE:
                entry = pending.setdefault(
                    line.group_id,
                    {
                        "name": _choice_group_name(catalog, line),
                        "by": defaultdict(int),
                        "defaults": defaultdict(int),
                    },
                )
                entry["by"][dest] += quantity
                if line.default_sku is not None:
                    skus.setdefault(line.default_sku.pk, line.default_sku)
                    entry["defaults"][line.default_sku.pk] += quantity
            elif line.source == UNMAPPED_ADDON:
                unmapped[line.detail][dest] += quantity
            elif line.sku is not None:  # what bom.sku_totals counts
                skus.setdefault(line.sku.pk, line.sku)
                units[line.sku.pk][dest] += quantity

    units_at: dict[str, int] = defaultdict(int)
    for per_dest in units.values():
        for dest, quantity in per_dest.items():
            units_at[dest] += quantity
    destinations = _ordered_destinations(pledges_at, units_at, pending, unmapped, by=by)
    keys = [d.key for d in destinations]

    rows = [
        SkuDemand(
            sku=skus[sku_id],
            total=sum(per_dest.values()),
            by_destination=[per_dest.get(k, 0) for k in keys],
        )
        for sku_id, per_dest in units.items()
    ]
    rows.sort(key=lambda r: (-r.total, r.sku.code))
    grand_total = sum(r.total for r in rows)
    top = rows[0].total if rows else 0
    for row in rows:
        row.share = round(100 * row.total / top) if top else 0
        row.percent = round(100 * row.total / grand_total, 1) if grand_total else 0.0

    pending_rows = [
        PendingChoice(
            group_id=group_id,
            name=entry["name"],
            total=sum(entry["by"].values()),
            by_destination=[entry["by"].get(k, 0) for k in keys],
            defaults=sorted(
                ((skus[s], q) for s, q in entry["defaults"].items()),
                key=lambda d: (-d[1], d[0].code),
            ),
        )
        for group_id, entry in pending.items()
    ]
    pending_rows.sort(key=lambda r: (-r.total, r.name))
    unmapped_rows = [
        UnmappedAddOn(
            text=text,
            total=sum(per_dest.values()),
            by_destination=[per_dest.get(k, 0) for k in keys],
        )
        for text, per_dest in unmapped.items()
    ]
    unmapped_rows.sort(key=lambda r: (-r.total, r.text))

    return DemandReport(
        campaign_id=campaign.pk,
        by=by,
        destinations=destinations,
        rows=rows,
        column_totals=[units_at.get(k, 0) for k in keys],
        grand_total=grand_total,
        pending_choices=pending_rows,
        unmapped_addons=unmapped_rows,
        pledges_counted=counted,
        groups=len(groups),
        computed_at=timezone.now(),
        seconds=time.perf_counter() - started,
        pending_total=sum(r.total for r in pending_rows),
        unmapped_total=sum(r.total for r in unmapped_rows),
    )


def _choice_group_name(catalog: bom.Catalog, line: bom.BomLine) -> str:
    """The group with its reward or add-on: groups of several rewards may share a name."""
    group = catalog.groups.get(line.group_id)
    if group is None:
        return line.detail
    if group.reward_id is not None and group.reward_id in catalog.rewards:
        return f"{group.name} ({catalog.rewards[group.reward_id].title})"
    if group.addon_offer_id is not None and group.addon_offer_id in catalog.offers:
        return f"{group.name} (add-on {catalog.offers[group.addon_offer_id].name})"
    return group.name


def _ordered_destinations(pledges_at, units_at, pending, unmapped, *, by) -> list[Destination]:
    """Every destination a counted pledge goes to, the largest SKU volume first;
    pledges without a country last (their stock cannot be placed yet)."""
    keys = set(pledges_at)
    for entry in pending.values():
        keys.update(entry["by"])
    for per_dest in unmapped.values():
        keys.update(per_dest)
    no_country = NO_COUNTRY if by == BY_REGION else ""
    destinations = [
        Destination(
            key=key,
            label=destination_label(key, by=by),
            units=units_at.get(key, 0),
            pledges=pledges_at.get(key, 0),
        )
        for key in keys
    ]
    destinations.sort(key=lambda d: (d.key == no_country, -d.units, -d.pledges, d.label))
    return destinations


def report_table(report: DemandReport) -> Iterable[list]:
    """The report as rows of cells (header first): what the CSV download and the
    command's --csv write, so both carry exactly the page's figures."""
    labels = [
        d.label if report.by == BY_REGION or not d.key else f"{d.label} ({d.key})"
        for d in report.destinations
    ]
    yield ["Line", "SKU code", "Description", "Total units", *labels]
    for row in report.rows:
        yield ["SKU", row.sku.code, row.sku.name, row.total, *row.by_destination]
    yield ["Total", "", "All SKUs", report.grand_total, *report.column_totals]
    for choice in report.pending_choices:
        yield [
            "Choice not made yet",
            "",
            f"{choice.name}: not yet chosen"
            + (
                "; default ships " + ", ".join(f"{sku.code} ({q})" for sku, q in choice.defaults)
                if choice.defaults
                else "; no default option"
            ),
            choice.total,
            *choice.by_destination,
        ]
    for addon in report.unmapped_addons:
        yield [
            "Add-on not mapped",
            "",
            addon.text,
            addon.total,
            *addon.by_destination,
        ]
    yield [
        "Pledges",
        "",
        "Collected pledges counted",
        report.pledges_counted,
        *(d.pledges for d in report.destinations),
    ]
