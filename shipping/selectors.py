"""Reads of the shipping setup other code reuses."""

from __future__ import annotations

from django.db.models import Count, Exists, QuerySet

from .models import (
    RateCard,
    RewardZoneFee,
    ShippingMethod,
    ShippingProfile,
    ShippingZone,
    WeightBand,
)


def shipping_is_configured(*, campaign) -> bool:
    """True when the campaign charges shipping: it has a zone, and the fees its
    method needs exist somewhere (a reward fee, or a weight band). One query."""
    row = (
        ShippingProfile.objects.filter(campaign=campaign)
        .annotate(
            has_zone=Exists(ShippingZone.objects.filter(campaign=campaign)),
            has_reward_fee=Exists(RewardZoneFee.objects.filter(zone__campaign=campaign)),
            has_band=Exists(WeightBand.objects.filter(zone__campaign=campaign)),
        )
        .values("method", "has_zone", "has_reward_fee", "has_band")
        .first()
    )
    if row is None or not row["has_zone"]:
        return False
    if row["method"] == ShippingMethod.WEIGHT_BANDS:
        return row["has_band"]
    return row["has_reward_fee"]


def zones_with_counts(*, campaign) -> QuerySet[ShippingZone]:
    """The campaign's zones with how many reward fees, add-on fees and bands each has."""
    return (
        ShippingZone.objects.filter(campaign=campaign)
        .annotate(
            reward_fee_count=Count("reward_fees", distinct=True),
            addon_fee_count=Count("addon_fees", distinct=True),
            band_count=Count("weight_bands", distinct=True),
        )
        .order_by("position", "pk")
    )


def rate_cards_of(*, campaign) -> QuerySet[RateCard]:
    """The campaign's rate cards, newest first, with their row counts."""
    return (
        RateCard.objects.filter(campaign=campaign)
        .select_related("created_by")
        .annotate(row_count=Count("rows"))
        .order_by("-created_at", "-pk")
    )
