"""The shipping fee of one order, computed in memory from a campaign's table.

`load_shipping_table` reads a campaign's whole shipping setup (profile, zones,
fees, bands) in a fixed number of queries; `match_zone` and `compute_quote` then
work without touching the database, so the margin check quotes thousands of
pledge groups from one table, and the survey, the calculator and the check all
compute a fee the same way.

Rules:
- destination: an excluded country ships nowhere; otherwise the most specific
  zone wins: postal prefix (the longest) > region > country > rest of world.
- weight: every unit's weight; digital SKUs weigh nothing; a choice not made
  yet weighs what its default weighs; a unit without a weight counts as 0 g
  (the explanation says how many). Volumetric weight is length × width ×
  height (mm³) / divisor, rounded up to the gram; a unit without measures
  counts its real weight there too. By weight, an order with nothing physical
  (digital rewards only) costs nothing to ship.
- money: each line rounded half-up to 0.01, the fee is the sum of the lines;
  shipping paid on the platform is credited (never more than the fee) when
  the campaign says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats
from django.utils.translation import gettext as _

from orders.tax import minor_unit

from .destinations import clean_postal_code, country_name, region_code
from .errors import CartInvalid, FeeMissing, ShipsNowhere
from .models import (
    DEFAULT_VOLUMETRIC_DIVISOR,
    AddOnZoneFee,
    RewardZoneFee,
    ShippingMethod,
    ShippingProfile,
    ShippingZone,
    WeightBand,
)

ZERO = Decimal("0")
CENT = Decimal("0.01")
MINUS = "\u2212"


def round_money(amount: Decimal, currency: str = "") -> Decimal:
    """Half-up to the currency's smallest unit (the cent when none is given; 1 for
    JPY): what every line of a fee is rounded to, once."""
    quantum = minor_unit(currency) if currency else CENT
    return Decimal(amount).quantize(quantum, rounding=ROUND_HALF_UP)


def money_text(amount: Decimal) -> str:
    """12 → "12.00", 1200 → "1,200.00" (in the active language's format)."""
    return formats.number_format(round_money(amount), decimal_pos=2, force_grouping=True)


def grams_text(grams: int) -> str:
    return formats.number_format(int(grams), force_grouping=True)


@dataclass
class ShippingTable:
    """A campaign's shipping setup, read once."""

    campaign_id: int
    currency: str
    platform_label: str
    method: str = ShippingMethod.FLAT_PER_REWARD
    excluded: frozenset[str] = frozenset()
    use_volumetric: bool = False
    volumetric_divisor: int = DEFAULT_VOLUMETRIC_DIVISOR
    credit_platform_shipping: bool = True
    zones: list[ShippingZone] = field(default_factory=list)
    rewards: dict[int, str] = field(default_factory=dict)  # id → title
    offers: dict[int, str] = field(default_factory=dict)  # id → name
    reward_fees: dict[tuple[int, int], Decimal] = field(default_factory=dict)  # (reward, zone)
    addon_fees: dict[tuple[int, int], Decimal] = field(default_factory=dict)  # (offer, zone)
    bands: dict[int, list[tuple[int, Decimal]]] = field(default_factory=dict)  # zone → sorted

    def __post_init__(self):
        self._by_country: dict[str, ShippingZone] = {}
        self._by_region: dict[str, ShippingZone] = {}
        self._by_postal: dict[str, list[tuple[str, ShippingZone]]] = {}
        self._rest_of_world: ShippingZone | None = None
        for zone in self.zones:
            for code in zone.countries:
                self._by_country.setdefault(code, zone)
            for region in zone.regions:
                self._by_region.setdefault(region, zone)
            for entry in zone.postal_prefixes:
                country, _sep, prefix = entry.partition(":")
                self._by_postal.setdefault(country, []).append((prefix, zone))
            if zone.is_rest_of_world and self._rest_of_world is None:
                self._rest_of_world = zone
        for prefixes in self._by_postal.values():
            prefixes.sort(key=lambda p: -len(p[0]))  # the longest prefix is the most specific

    @property
    def region_countries(self) -> frozenset[str]:
        """Countries some zone names a region of."""
        return frozenset(region.split("-", 1)[0] for region in self._by_region)

    @property
    def regions(self) -> dict[str, ShippingZone]:
        return self._by_region

    @property
    def countries(self) -> dict[str, ShippingZone]:
        return self._by_country

    @property
    def postal_rules(self) -> dict[str, list[tuple[str, ShippingZone]]]:
        """Country → (prefix, zone), the longest prefix first."""
        return self._by_postal

    @property
    def rest_of_world(self) -> ShippingZone | None:
        return self._rest_of_world


def load_shipping_table(*, campaign) -> ShippingTable:
    """The campaign's shipping setup in seven queries, whatever its size."""
    profile = ShippingProfile.objects.filter(campaign=campaign).first()
    table = ShippingTable(
        campaign_id=campaign.pk,
        currency=campaign.currency,
        platform_label=campaign.get_platform_display(),
        zones=list(ShippingZone.objects.filter(campaign=campaign).order_by("position", "pk")),
        rewards=dict(campaign.rewards.order_by().values_list("pk", "title")),
        offers=dict(campaign.addon_offers.order_by().values_list("pk", "name")),
    )
    if profile is not None:
        table.method = profile.method
        table.excluded = frozenset(profile.excluded_countries)
        table.use_volumetric = profile.use_volumetric
        table.volumetric_divisor = profile.volumetric_divisor or DEFAULT_VOLUMETRIC_DIVISOR
        table.credit_platform_shipping = profile.credit_platform_shipping
    table.reward_fees = {
        (reward_id, zone_id): fee
        for reward_id, zone_id, fee in RewardZoneFee.objects.filter(
            zone__campaign=campaign
        ).values_list("reward_id", "zone_id", "fee")
    }
    table.addon_fees = {
        (offer_id, zone_id): fee
        for offer_id, zone_id, fee in AddOnZoneFee.objects.filter(
            zone__campaign=campaign
        ).values_list("offer_id", "zone_id", "fee")
    }
    for zone_id, up_to_g, fee in (
        WeightBand.objects.filter(zone__campaign=campaign)
        .order_by("zone_id", "up_to_g")
        .values_list("zone_id", "up_to_g", "fee")
    ):
        table.bands.setdefault(zone_id, []).append((up_to_g, fee))
    return table


@dataclass(frozen=True)
class ZoneMatch:
    zone: ShippingZone
    rule: str  # "postal_prefix" | "region" | "country" | "rest_of_world"
    country: str
    detail: str = ""  # the prefix or the region code
    postal_code: str = ""

    @property
    def matched_by(self) -> str:
        """In words: "postal code BT1 1AA starts with BT", "country Germany"."""
        if self.rule == "postal_prefix":
            return _("postal code %(code)s starts with %(prefix)s") % {
                "code": self.postal_code,
                "prefix": self.detail,
            }
        if self.rule == "region":
            return _("region %(region)s") % {"region": self.detail}
        if self.rule == "country":
            return _("country %(country)s") % {"country": country_name(self.country)}
        return _("rest of the world")


def match_zone(
    table: ShippingTable, *, country: str, region: str = "", postal_code: str = ""
) -> ZoneMatch:
    """The zone a destination falls in: postal prefix > region > country > rest
    of world. An excluded country, or one no zone covers, raises ShipsNowhere."""
    code = (country or "").strip().upper()
    if not code:
        raise ShipsNowhere(_("A destination needs a country."), field="country")
    if code in table.excluded:
        raise ShipsNowhere(
            _("This campaign does not ship to %(country)s.") % {"country": country_name(code)},
            field="country",
        )
    postal = clean_postal_code(postal_code)
    if postal:
        for prefix, zone in table.postal_rules.get(code, ()):
            if postal.startswith(prefix):
                return ZoneMatch(zone, "postal_prefix", code, prefix, postal_code.strip())
    region_key = region_code(code, region) if region else ""
    if region_key and region_key in table.regions:
        return ZoneMatch(table.regions[region_key], "region", code, region_key)
    if code in table.countries:
        return ZoneMatch(table.countries[code], "country", code)
    if table.rest_of_world is not None:
        return ZoneMatch(table.rest_of_world, "rest_of_world", code)
    raise ShipsNowhere(
        _("No shipping zone covers %(country)s.") % {"country": country_name(code)},
        field="country",
    )


@dataclass(frozen=True)
class ParcelWeight:
    weight_g: int
    volumetric_g: int
    units_without_weight: int
    physical_units: int = 0  # units that go in the parcel (digital ones do not)


def _unit_sku(line):
    if line.sku is not None:
        return line.sku
    # A choice not made yet ships its default if the backer never chooses.
    return getattr(line, "default_sku", None)


def parcel_weight(lines: Sequence, *, divisor: int = DEFAULT_VOLUMETRIC_DIVISOR) -> ParcelWeight:
    """Real and volumetric weight of BOM lines (digital SKUs weigh nothing)."""
    weight = 0
    volume_mm3 = 0
    volume_fallback_g = 0
    missing = 0
    physical = 0
    for line in lines:
        quantity = int(line.quantity)
        if quantity <= 0:
            continue
        sku = _unit_sku(line)
        if sku is None:  # an add-on not mapped yet, a choice without a default
            missing += quantity
            physical += quantity
            continue
        if sku.is_digital:
            continue
        physical += quantity
        if sku.weight_g is None:
            missing += quantity
        unit_g = sku.weight_g or 0
        weight += unit_g * quantity
        if sku.length_mm and sku.width_mm and sku.height_mm:
            volume_mm3 += sku.length_mm * sku.width_mm * sku.height_mm * quantity
        else:
            volume_fallback_g += unit_g * quantity
    # mm³ / (cm³ per kg) is grams; couriers round up.
    volumetric = -(-volume_mm3 // max(int(divisor), 1)) + volume_fallback_g
    return ParcelWeight(
        weight_g=weight,
        volumetric_g=volumetric,
        units_without_weight=missing,
        physical_units=physical,
    )


def chargeable_weight(table: ShippingTable, parcel: ParcelWeight) -> int:
    if table.use_volumetric:
        return max(parcel.weight_g, parcel.volumetric_g)
    return parcel.weight_g


def band_for(table: ShippingTable, zone: ShippingZone, grams: int) -> tuple[int, Decimal]:
    """The smallest band of the zone that holds `grams`; FeeMissing above the largest."""
    bands = table.bands.get(zone.pk, [])
    for up_to_g, fee in bands:
        if grams <= up_to_g:
            return up_to_g, fee
    if not bands:
        raise FeeMissing(_("Zone %(zone)s has no weight bands.") % {"zone": zone.name})
    raise FeeMissing(
        _("%(weight)s g is above the largest weight band of zone %(zone)s (%(largest)s g).")
        % {"weight": grams_text(grams), "zone": zone.name, "largest": grams_text(bands[-1][0])}
    )


@dataclass
class ShippingQuote:
    """What shipping one order costs the backer, and how it was computed."""

    zone: ShippingZone
    method: str
    fee: Decimal  # total charged for the order
    credited: Decimal  # shipping paid on the platform counted towards the fee
    due: Decimal  # fee − credited
    weight_g: int
    volumetric_g: int
    explanation: list[str]
    matched_by: str = ""
    currency: str = ""


def _reward_fee(table: ShippingTable, zone: ShippingZone, reward_id: int) -> Decimal:
    fee = table.reward_fees.get((reward_id, zone.pk))
    if fee is None:
        raise FeeMissing(
            _("Reward %(reward)s has no shipping fee in zone %(zone)s.")
            % {"reward": table.rewards[reward_id], "zone": zone.name}
        )
    return round_money(fee, table.currency)


def _check_cart(table: ShippingTable, reward_id, addon_units: Mapping[int, int]) -> None:
    if reward_id is not None and reward_id not in table.rewards:
        raise CartInvalid(_("Reward %(id)s is not part of this campaign.") % {"id": reward_id})
    for offer_id, units in addon_units.items():
        if int(offer_id) not in table.offers:
            raise CartInvalid(
                _("Add-on %(id)s is not offered in this campaign.") % {"id": offer_id}
            )
        if int(units) < 0:
            raise CartInvalid(
                _("%(addon)s: the quantity cannot be negative.")
                % {"addon": table.offers[int(offer_id)]}
            )


def _step_words(kind: str, values: dict, table: ShippingTable) -> str:
    """One line of a quote's explanation, in the active language."""
    if kind == "nothing_to_ship":
        return _("Nothing to ship: %(fee)s") % {"fee": money_text(values["fee"])}
    if kind == "weight":
        parcel = values["parcel"]
        words = {
            "weight": grams_text(parcel.weight_g),
            "volumetric": grams_text(parcel.volumetric_g),
            "band": grams_text(values["band"]),
            "fee": money_text(values["fee"]),
        }
        if table.use_volumetric:
            return (
                _(
                    "Weight %(weight)s g (volumetric %(volumetric)s g) "
                    "→ band up to %(band)s g: %(fee)s"
                )
                % words
            )
        return _("Weight %(weight)s g → band up to %(band)s g: %(fee)s") % words
    if kind == "unweighed":
        return _("%(units)s unit(s) without a weight counted as 0 g") % values
    if kind == "no_reward":
        return _("Zone %(zone)s, no reward: %(fee)s") % {
            "zone": values["zone"],
            "fee": money_text(values["fee"]),
        }
    if kind == "reward":
        return _("Zone %(zone)s, reward %(reward)s: %(fee)s") % {
            **values,
            "fee": money_text(values["fee"]),
        }
    if kind == "addon_free":
        return _("Add-on %(addon)s × %(units)s: no extra shipping") % values
    if kind == "addon":
        return _("Add-on %(addon)s × %(units)s at %(unit)s: %(fee)s") % {
            **values,
            "unit": money_text(values["unit"]),
            "fee": money_text(values["fee"]),
        }
    words = {
        "platform": values["platform"],
        "paid": money_text(values["paid"]),
        "credited": money_text(values["credited"]),
        "minus": MINUS,
    }
    if kind == "credit_limited":
        return (
            _(
                "Paid on %(platform)s: %(minus)s%(credited)s "
                "(%(paid)s paid, credit limited to the fee)"
            )
            % words
        )
    if kind == "credit":
        return _("Paid on %(platform)s: %(minus)s%(credited)s") % words
    return _("Paid on %(platform)s: %(paid)s, not credited") % words


def compute_quote(
    table: ShippingTable,
    *,
    country: str,
    region: str = "",
    postal_code: str = "",
    reward_id: int | None,
    lines: Sequence,
    addon_units: Mapping[int, int],
    platform_paid: Decimal,
    explain: bool = True,
) -> ShippingQuote:
    """The fee of one order from an already loaded table. No queries.

    `explain=False` leaves the explanation out (the margin check quotes thousands
    of groups and shows none of it)."""
    _check_cart(table, reward_id, addon_units)
    match = match_zone(table, country=country, region=region, postal_code=postal_code)
    zone = match.zone
    parcel = parcel_weight(lines, divisor=table.volumetric_divisor)
    steps: list[tuple[str, dict]] = []  # what was done, worded only when asked
    fee = ZERO

    if table.method == ShippingMethod.WEIGHT_BANDS and parcel.physical_units == 0:
        steps.append(("nothing_to_ship", {"fee": ZERO}))
    elif table.method == ShippingMethod.WEIGHT_BANDS:
        up_to_g, band_fee = band_for(table, zone, chargeable_weight(table, parcel))
        band_fee = round_money(band_fee, table.currency)
        fee += band_fee
        steps.append(("weight", {"parcel": parcel, "band": up_to_g, "fee": band_fee}))
        if parcel.units_without_weight:
            steps.append(("unweighed", {"units": parcel.units_without_weight}))
    else:
        if reward_id is None:
            steps.append(("no_reward", {"zone": zone.name, "fee": ZERO}))
        else:
            reward_fee = _reward_fee(table, zone, reward_id)
            fee += reward_fee
            steps.append(
                (
                    "reward",
                    {"zone": zone.name, "reward": table.rewards[reward_id], "fee": reward_fee},
                )
            )
        if table.method == ShippingMethod.REWARD_PLUS_ADDONS:
            for offer_id, units in addon_units.items():
                units = int(units)
                if not units:
                    continue
                name = table.offers[int(offer_id)]
                per_unit = table.addon_fees.get((int(offer_id), zone.pk))
                if per_unit is None:
                    steps.append(("addon_free", {"addon": name, "units": units}))
                    continue
                total = round_money(per_unit * units, table.currency)
                fee += total
                steps.append(
                    ("addon", {"addon": name, "units": units, "unit": per_unit, "fee": total})
                )

    fee = round_money(fee, table.currency)
    paid = round_money(max(Decimal(platform_paid or 0), ZERO), table.currency)
    credited = ZERO
    if paid > ZERO:
        if table.credit_platform_shipping:
            credited = min(fee, paid)
            kind = "credit_limited" if credited < paid else "credit"
        else:
            kind = "not_credited"
        steps.append((kind, {"platform": table.platform_label, "paid": paid, "credited": credited}))
    explanation = [_step_words(kind, values, table) for kind, values in steps] if explain else []
    return ShippingQuote(
        zone=zone,
        method=table.method,
        fee=fee,
        credited=credited,
        due=fee - credited,
        weight_g=parcel.weight_g,
        volumetric_g=parcel.volumetric_g,
        explanation=explanation,
        matched_by=match.matched_by if explain else "",
        currency=table.currency,
    )
