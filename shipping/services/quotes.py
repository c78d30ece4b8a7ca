"""Which zone a destination falls in, and what shipping an order costs the backer.

Both read the campaign's shipping table (a fixed number of queries) and compute
in memory (shipping.calculation): the survey's review step, the calculator page
and the margin check give the same fee for the same cart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from inventory.bom import BomLine

from ..calculation import ShippingQuote, compute_quote, load_shipping_table, match_zone
from ..models import ShippingZone

__all__ = ["ShippingQuote", "quote_shipping", "zone_for"]


def zone_for(*, campaign, country: str, region: str = "", postal_code: str = "") -> ShippingZone:
    """The zone of a destination: postal prefix (the longest) > region > country >
    rest of world. An excluded country, or one no zone covers, raises ShipsNowhere
    (code "ships_nowhere")."""
    table = load_shipping_table(campaign=campaign)
    return match_zone(table, country=country, region=region, postal_code=postal_code).zone


def quote_shipping(
    *,
    campaign,
    country: str,
    region: str = "",
    postal_code: str = "",
    reward_id: int | None,
    lines: Sequence[BomLine],
    addon_units: Mapping[int, int],
    platform_paid: Decimal,
) -> ShippingQuote:
    """The shipping fee of one order with its explanation.

    `lines` are the order's BOM lines (their weight, digital SKUs weigh nothing);
    `addon_units` maps add-on offer id → units (platform and survey together);
    `platform_paid` is the shipping the backer paid on the platform, credited up
    to the fee when the campaign credits it (due = fee − credited, never below 0).
    Raises ShipsNowhere, FeeMissing (a reward without a fee in the zone, a weight
    above every band) or CartInvalid (a reward or add-on of another campaign)."""
    table = load_shipping_table(campaign=campaign)
    return compute_quote(
        table,
        country=country,
        region=region,
        postal_code=postal_code,
        reward_id=reward_id,
        lines=lines,
        addon_units=addon_units,
        platform_paid=platform_paid,
    )
