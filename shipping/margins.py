"""The margin check: per zone, the shipping backers pay (on the platform and in
the survey) against what the carrier would charge, before surveys go out.

Like the demand report (inventory.demand), collected pledges are grouped in one
query by everything their parcel and fee depend on: reward, country, add-ons
text, stretch-goal date bucket, plus the shipping paid on the platform (the
credit depends on it), the region where a zone names regions of that country,
and the postal prefix a zone names. One BOM and one quote per group, multiplied
by its pledges; the shipping table, the SKU map and the rate card are each read
once, so the page costs the same number of queries for 50 pledges or 250,000.

Figures per zone: collected = platform shipping + fee charged in the survey
(what the method charges, less the platform credit); carrier cost = the rate
card's price for the group's weight (a country's own price before its zone's).
Only orders that have both a fee and a carrier price are compared; the others
are counted apart with the reason, so a missing price never looks like a profit.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Case, CharField, Count, F, IntegerField, Min, Q, Value, When
from django.db.models.functions import Replace, Upper

from inventory import bom
from inventory.demand import counted_pledges
from pledges.importers.addons import parse_addons_text

from .calculation import (
    ShippingTable,
    chargeable_weight,
    compute_quote,
    load_shipping_table,
    match_zone,
    parcel_weight,
)
from .destinations import country_name
from .errors import ShippingError, ShipsNowhere
from .models import RateCard, RateCardRow, ShippingZone

ZERO = Decimal("0")


@dataclass
class ZoneMargin:
    zone: ShippingZone
    orders: int = 0
    compared: int = 0  # orders with both a fee and a carrier price
    platform_paid: Decimal = ZERO
    charged: Decimal = ZERO  # what the survey charges on top (fee − platform credit)
    carrier_cost: Decimal = ZERO
    without_fee: int = 0
    without_price: int = 0
    fee_problems: list[str] = field(default_factory=list)
    collected_share: int = 0
    cost_share: int = 0

    @property
    def collected(self) -> Decimal:
        return self.platform_paid + self.charged

    @property
    def difference(self) -> Decimal:
        return self.collected - self.carrier_cost

    @property
    def per_order(self) -> Decimal:
        if not self.compared:
            return ZERO
        return (self.difference / self.compared).quantize(Decimal("0.01"))

    @property
    def losing(self) -> bool:
        return self.compared > 0 and self.difference < 0


@dataclass
class MarginReport:
    currency: str
    card: RateCard | None
    card_usable: bool
    rows: list[ZoneMargin]
    not_shipped: list[tuple[str, int]]  # (country name, orders) excluded or without a zone
    no_country: int
    pledges_counted: int
    groups: int
    seconds: float

    @property
    def compared(self) -> int:
        return sum(r.compared for r in self.rows)

    @property
    def collected(self) -> Decimal:
        return sum((r.collected for r in self.rows), ZERO)

    @property
    def carrier_cost(self) -> Decimal:
        return sum((r.carrier_cost for r in self.rows), ZERO)

    @property
    def difference(self) -> Decimal:
        return self.collected - self.carrier_cost

    @property
    def losing_zones(self) -> list[ZoneMargin]:
        return [r for r in self.rows if r.losing]


def _date_bucket(cutoffs: list[datetime]):
    """Equal for two pledge dates exactly when every dated stretch goal treats them
    alike (as inventory.demand groups them): before / at / after each cutoff."""
    if not cutoffs:
        return Value(0, output_field=IntegerField())
    whens = [When(pledged_at__isnull=True, then=Value(-1))]
    for i, cutoff in enumerate(cutoffs):
        whens.append(When(pledged_at__lt=cutoff, then=Value(2 * i)))
        whens.append(When(pledged_at=cutoff, then=Value(2 * i + 1)))
    return Case(*whens, default=Value(2 * len(cutoffs)), output_field=IntegerField())


def _region_key(table: ShippingTable):
    countries = sorted(table.region_countries)
    if not countries:
        return Value("", output_field=CharField())
    return Case(
        When(shipping_country__in=countries, then=F("shipping_region")),
        default=Value(""),
        output_field=CharField(),
    )


def _postal_key(table: ShippingTable):
    """The zone prefix a pledge's postal code starts with (the longest), else ""."""
    whens = []
    for country, rules in sorted(table.postal_rules.items()):
        for prefix, _zone in rules:  # longest first
            whens.append(
                When(
                    Q(shipping_country=country, postal_clean__startswith=prefix), then=Value(prefix)
                )
            )
    if not whens:
        return Value("", output_field=CharField())
    return Case(*whens, default=Value(""), output_field=CharField())


def margin_groups(*, campaign, table: ShippingTable, cutoffs) -> list[dict]:
    """Counted pledges grouped by what their parcel and fee depend on, in one query."""
    pledges = counted_pledges(campaign=campaign)
    if table.postal_rules:
        pledges = pledges.annotate(
            postal_clean=Upper(
                Replace(
                    Replace("shipping_postal_code", Value(" "), Value("")), Value("-"), Value("")
                )
            )
        )
    return list(
        pledges.annotate(
            bucket=_date_bucket(sorted(set(cutoffs))),
            region_key=_region_key(table),
            postal_key=_postal_key(table),
        )
        .values(
            "reward_id",
            "shipping_country",
            "addons_text",
            "bucket",
            "region_key",
            "postal_key",
            "shipping_paid",
        )
        .annotate(pledges=Count("pk"), first_pledged_at=Min("pledged_at"))
        .order_by()
    )


def imported_addon_units(catalog: bom.Catalog, text: str) -> dict[int, int]:
    """Add-on offer id → units the platform sold, from a pledge's add-ons text."""
    units: dict[int, int] = defaultdict(int)
    for name, quantity in parse_addons_text(text or ""):
        mapping = catalog.imported.get(name)
        if mapping is None or mapping.included_in_reward or not mapping.offer_id:
            continue
        if mapping.offer_id in catalog.offers:
            units[mapping.offer_id] += mapping.units_per_item * quantity
    return dict(units)


class _Prices:
    """A rate card's prices by destination: a country's own rows before its zone's."""

    def __init__(self, card: RateCard | None):
        self.by_zone: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
        self.by_country: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)
        if card is None:
            return
        for zone_id, country, up_to_g, cost in (
            RateCardRow.objects.filter(card=card)
            .order_by("up_to_g", "pk")
            .values_list("zone_id", "country", "up_to_g", "cost")
        ):
            if zone_id is not None:
                self.by_zone[zone_id].append((up_to_g, cost))
            else:
                self.by_country[country].append((up_to_g, cost))

    def cost(self, *, zone: ShippingZone, country: str, grams: int) -> Decimal | None:
        for rows in (self.by_country.get(country), self.by_zone.get(zone.pk)):
            if rows:
                for up_to_g, cost in rows:
                    if grams <= up_to_g:
                        return cost
                return None  # heavier than the card's largest parcel
        return None


def margin_report(*, campaign, card: RateCard | None = None) -> MarginReport:
    """Shipping collected against the carrier's cost, per zone, from every
    collected pledge (platform add-ons included; survey add-ons are not known yet)."""
    started = time.perf_counter()
    table = load_shipping_table(campaign=campaign)
    catalog = bom.load_catalog(campaign=campaign)
    card_usable = card is not None and card.currency == campaign.currency
    prices = _Prices(card if card_usable else None)
    groups = margin_groups(
        campaign=campaign,
        table=table,
        cutoffs=(g.pledged_before for g in catalog.goals if g.pledged_before is not None),
    )
    rows = {zone.pk: ZoneMargin(zone=zone) for zone in table.zones}
    not_shipped: dict[str, int] = defaultdict(int)
    no_country = 0
    counted = 0
    for group in groups:
        n = group["pledges"]
        counted += n
        country = (group["shipping_country"] or "").upper()
        if not country:
            no_country += n
            continue
        region, postal = group["region_key"] or "", group["postal_key"] or ""
        try:
            zone = match_zone(table, country=country, region=region, postal_code=postal).zone
        except ShipsNowhere:
            not_shipped[country] += n
            continue
        row = rows[zone.pk]
        row.orders += n
        paid = Decimal(group["shipping_paid"] or 0)
        try:
            lines = bom.explode(
                catalog=catalog,
                reward_id=group["reward_id"],
                country=country,
                pledged_at=group["first_pledged_at"],
                imported_addons_text=group["addons_text"] or "",
            )
            quote = compute_quote(
                table,
                country=country,
                region=region,
                postal_code=postal,
                reward_id=group["reward_id"],
                lines=lines,
                addon_units=imported_addon_units(catalog, group["addons_text"]),
                platform_paid=paid,
                explain=False,
            )
        except (ShippingError, bom.BomError) as exc:
            row.without_fee += n
            if exc.message not in row.fee_problems:
                row.fee_problems.append(exc.message)
            continue
        parcel = parcel_weight(lines, divisor=table.volumetric_divisor)
        if parcel.physical_units == 0:
            cost = ZERO  # nothing to ship: no parcel, no carrier
        else:
            cost = prices.cost(zone=zone, country=country, grams=chargeable_weight(table, parcel))
        if cost is None:
            row.without_price += n
            continue
        row.compared += n
        row.platform_paid += paid * n
        row.charged += quote.due * n
        row.carrier_cost += cost * n

    result = list(rows.values())
    top = max((max(r.collected, r.carrier_cost) for r in result), default=ZERO)
    for row in result:
        if top > 0:
            row.collected_share = round(100 * row.collected / top)
            row.cost_share = round(100 * row.carrier_cost / top)
    return MarginReport(
        currency=campaign.currency,
        card=card,
        card_usable=card_usable,
        rows=result,
        not_shipped=sorted(
            ((country_name(code), n) for code, n in not_shipped.items()),
            key=lambda x: (-x[1], x[0]),
        ),
        no_country=no_country,
        pledges_counted=counted,
        groups=len(groups),
        seconds=time.perf_counter() - started,
    )
