"""The campaign's shipping profile: method, volumetric weight, platform credit
and the countries it never ships to."""

from collections.abc import Sequence

from django.db import transaction

from pledges.models import Campaign

from ..destinations import country_name, parse_country
from ..errors import ShippingError, ZoneConflict
from ..models import DEFAULT_VOLUMETRIC_DIVISOR, ShippingMethod, ShippingProfile, ShippingZone

MAX_DIVISOR = 1_000_000


def profile_for(*, campaign) -> ShippingProfile:
    """The campaign's profile, or an unsaved one with the defaults (nothing is written)."""
    profile = ShippingProfile.objects.filter(campaign=campaign).first()
    return profile if profile is not None else ShippingProfile(campaign=campaign)


def lock_shipping_setup(campaign) -> ShippingProfile:
    # The campaign row serialises every change to its shipping setup, so two
    # requests cannot both pass an overlap check and save overlapping zones.
    Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
    profile, _created = ShippingProfile.objects.get_or_create(campaign=campaign)
    return profile


def update_shipping_method(
    *,
    campaign,
    method: str,
    use_volumetric: bool,
    volumetric_divisor: int = DEFAULT_VOLUMETRIC_DIVISOR,
    credit_platform_shipping: bool,
) -> ShippingProfile:
    """Set how fees are computed. The divisor (cm³ per kg) is a whole number from 1."""
    if method not in ShippingMethod.values:
        raise ShippingError(f"“{method}” is not a shipping method.", field="method")
    divisor = int(volumetric_divisor)
    if not 1 <= divisor <= MAX_DIVISOR:
        raise ShippingError(
            f"The volumetric divisor is a whole number from 1 to {MAX_DIVISOR:,} (cm³ per kg).",
            field="volumetric_divisor",
        )
    with transaction.atomic():
        profile = lock_shipping_setup(campaign)
        profile.method = method
        profile.use_volumetric = bool(use_volumetric)
        profile.volumetric_divisor = divisor
        profile.credit_platform_shipping = bool(credit_platform_shipping)
        profile.save()
    return profile


def set_excluded_countries(*, campaign, countries: Sequence[str]) -> ShippingProfile:
    """Countries the campaign never ships to (the rest-of-world zone skips them).

    A country a zone names (as a country, a region or a postal prefix) is
    refused: remove it from the zone first, so nobody wonders which one wins."""
    codes: list[str] = []
    for value in countries:
        try:
            code = parse_country(value)
        except ValueError as exc:
            raise ShippingError(str(exc), field="countries") from None
        if code not in codes:
            codes.append(code)
    with transaction.atomic():
        profile = lock_shipping_setup(campaign)
        for zone in ShippingZone.objects.filter(campaign=campaign).order_by("position", "pk"):
            named = (
                set(zone.countries)
                | {region.split("-", 1)[0] for region in zone.regions}
                | {prefix.split(":", 1)[0] for prefix in zone.postal_prefixes}
            )
            clash = [code for code in codes if code in named]
            if clash:
                raise ZoneConflict(
                    f"{country_name(clash[0])} is part of zone “{zone.name}”: "
                    "remove it from the zone before excluding it.",
                    field="countries",
                )
        profile.excluded_countries = sorted(codes)
        profile.save(update_fields=["excluded_countries", "updated_at"])
    return profile
