"""The demo campaign's shipping: six zones (United States, Canada, EU, United
Kingdom, Australia, rest of the world), weight bands with volumetric weight,
fees per reward and per add-on (so switching the method shows something), two
excluded countries, and a carrier rate card for the margin check, on which
Australia and the rest of the world lose money.

Idempotent: zones, fees and bands are set only when the campaign has no zone
yet, the rate card only when no card of that name exists. Everything goes
through the shipping services, as a creator's clicks would."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from .destinations import EU_COUNTRIES
from .models import RateCard, ShippingMethod, ShippingZone
from .services import fees, profiles, rate_cards, zones

RATE_CARD_NAME = "Demo carrier 2026"
EXCLUDED = ["RU", "BY"]

# name, countries, rest of world
ZONES = [
    ("United States", ["US"], False),
    ("Canada", ["CA"], False),
    ("EU", list(EU_COUNTRIES), False),
    ("United Kingdom", ["GB"], False),
    ("Australia", ["AU"], False),
    ("Rest of world", [], True),
]
# up to grams → fee per zone (same order as ZONES)
BANDS = [
    (1000, ("8.00", "12.00", "9.00", "9.00", "16.00", "18.00")),
    (3000, ("12.00", "18.00", "14.00", "13.00", "26.00", "28.00")),
    (6000, ("18.00", "26.00", "20.00", "19.00", "38.00", "42.00")),
    (12000, ("28.00", "40.00", "32.00", "30.00", "60.00", "66.00")),
    (25000, ("48.00", "70.00", "55.00", "52.00", "105.00", "115.00")),
]
# what the carrier charges: a share of the fee per zone (Australia and RoW below cost)
CARRIER_SHARE = (
    Decimal("0.80"),
    Decimal("0.85"),
    Decimal("0.90"),
    Decimal("0.85"),
    Decimal("1.25"),
    Decimal("1.30"),
)
# reward fee per zone, by the reward's minimum (digital rewards ship free)
REWARD_FEE_BY_WEIGHT_CLASS = {
    "digital": ("0", "0", "0", "0", "0", "0"),
    "single": ("12.00", "18.00", "14.00", "13.00", "26.00", "28.00"),
    "box": ("18.00", "26.00", "20.00", "19.00", "38.00", "42.00"),
    "bundle": ("48.00", "70.00", "55.00", "52.00", "105.00", "115.00"),
}
ADDON_FEE = ("3.00", "4.00", "3.50", "3.50", "6.00", "7.00")


@dataclass(frozen=True)
class ShippingDemo:
    created_zones: int
    rate_card: RateCard | None
    rate_card_created: bool


def _weight_class(reward, catalog_weights: dict[int, int]) -> str:
    grams = catalog_weights.get(reward.pk, 0)
    if grams == 0:
        return "digital"
    if grams <= 3000:
        return "single"
    if grams <= 6000:
        return "box"
    return "bundle"


def _reward_weights(campaign) -> dict[int, int]:
    """Reward id → grams of its fixed items (what a parcel of that tier weighs, roughly)."""
    from pledges.models import RewardItem

    weights: dict[int, int] = {}
    for reward_id, quantity, grams, digital in RewardItem.objects.filter(
        reward__campaign=campaign
    ).values_list("reward_id", "quantity", "sku__weight_g", "sku__is_digital"):
        if not digital and grams:
            weights[reward_id] = weights.get(reward_id, 0) + grams * quantity
    return weights


def _setup(campaign) -> int:
    profiles.update_shipping_method(
        campaign=campaign,
        method=ShippingMethod.WEIGHT_BANDS,
        use_volumetric=True,
        volumetric_divisor=5000,
        credit_platform_shipping=True,
    )
    profiles.set_excluded_countries(campaign=campaign, countries=EXCLUDED)
    created = [
        zones.create_zone(
            campaign=campaign, name=name, countries=countries, is_rest_of_world=rest_of_world
        )
        for name, countries, rest_of_world in ZONES
    ]
    for i, zone in enumerate(created):
        fees.save_weight_bands(
            zone=zone, bands=[(grams, Decimal(per_zone[i])) for grams, per_zone in BANDS]
        )
    weights = _reward_weights(campaign)
    reward_fees = {}
    for reward in campaign.rewards.all():
        per_zone = REWARD_FEE_BY_WEIGHT_CLASS[_weight_class(reward, weights)]
        for i, zone in enumerate(created):
            reward_fees[(reward.pk, zone.pk)] = Decimal(per_zone[i])
    fees.save_reward_fees(campaign=campaign, fees=reward_fees)
    addon_fees = {
        (offer_id, zone.pk): Decimal(ADDON_FEE[i])
        for offer_id in campaign.addon_offers.values_list("pk", flat=True)
        for i, zone in enumerate(created)
    }
    fees.save_addon_fees(campaign=campaign, fees=addon_fees)
    return len(created)


def _rate_card_csv() -> bytes:
    lines = ["zone_or_country,up_to_g,cost"]
    for i, (name, _countries, _rest) in enumerate(ZONES):
        for grams, per_zone in BANDS:
            cost = (Decimal(per_zone[i]) * CARRIER_SHARE[i]).quantize(Decimal("0.01"))
            lines.append(f"{name},{grams},{cost}")
    return ("\n".join(lines) + "\n").encode()


def seed_shipping_demo(campaign) -> ShippingDemo:
    """Shipping zones, fees, bands and a rate card for the demo campaign (safe to run again)."""
    created_zones = 0
    if not ShippingZone.objects.filter(campaign=campaign).exists():
        with transaction.atomic():
            created_zones = _setup(campaign)
    card = RateCard.objects.filter(campaign=campaign, name=RATE_CARD_NAME).first()
    card_created = False
    if card is None and ShippingZone.objects.filter(campaign=campaign).exists():
        names = set(ShippingZone.objects.filter(campaign=campaign).values_list("name", flat=True))
        if all(name in names for name, _c, _r in ZONES):
            card = rate_cards.upload_rate_card(
                campaign=campaign,
                data=_rate_card_csv(),
                original_name="demo-carrier-2026.csv",
                name=RATE_CARD_NAME,
            )
            card_created = True
    return ShippingDemo(created_zones=created_zones, rate_card=card, rate_card_created=card_created)
