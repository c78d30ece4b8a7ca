"""Shipping zones: create, change, delete.

Rules every change keeps:
- a country is in at most one zone's country list, a region ("US-AK") in at most
  one zone's regions, a postal prefix ("GB:BT") in at most one zone's prefixes;
  a country may still be in one zone while its region or prefix is in another
  (the most specific entry wins when a fee is computed);
- at most one rest-of-world zone, and it names no destinations of its own;
- no zone names a country the campaign excludes;
- zone names are unique within the campaign.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max

from ..destinations import country_name, parse_country, parse_postal_prefix, parse_region
from ..errors import ZoneConflict, ZoneInvalid
from ..models import ShippingZone
from .profiles import lock_shipping_setup

MAX_NAME = 120


@dataclass(frozen=True)
class ZoneDestinations:
    countries: list[str]
    regions: list[str]
    postal_prefixes: list[str]


def _clean(values: Sequence[str], parse, field: str) -> list[str]:
    cleaned: list[str] = []
    for value in values:
        try:
            item = parse(value)
        except ValueError as exc:
            raise ZoneInvalid(str(exc), field=field) from None
        if item not in cleaned:
            cleaned.append(item)
    return cleaned


def _destinations(countries, regions, postal_prefixes) -> ZoneDestinations:
    return ZoneDestinations(
        countries=_clean(countries, parse_country, "countries"),
        regions=_clean(regions, parse_region, "regions"),
        postal_prefixes=_clean(postal_prefixes, parse_postal_prefix, "postal_prefixes"),
    )


def _check(
    *,
    campaign,
    zone_pk: int | None,
    name: str,
    destinations: ZoneDestinations,
    is_rest_of_world: bool,
    excluded: Sequence[str],
) -> str:
    """The cleaned name; ZoneInvalid / ZoneConflict when the zone breaks a rule."""
    name = " ".join((name or "").split())
    if not name:
        raise ZoneInvalid("Give the zone a name.", field="name")
    if len(name) > MAX_NAME:
        raise ZoneInvalid(f"A zone name has at most {MAX_NAME} characters.", field="name")
    has_entries = bool(
        destinations.countries or destinations.regions or destinations.postal_prefixes
    )
    if is_rest_of_world and has_entries:
        raise ZoneInvalid(
            "A rest-of-world zone covers every country no other zone names: "
            "leave its countries, regions and postal prefixes empty.",
            field="is_rest_of_world",
        )
    if not is_rest_of_world and not has_entries:
        raise ZoneInvalid(
            "Name at least one country, region or postal prefix, "
            "or make this the rest-of-world zone.",
            field="countries",
        )
    excluded = set(excluded)
    for field, codes in (
        ("countries", destinations.countries),
        ("regions", [r.split("-", 1)[0] for r in destinations.regions]),
        ("postal_prefixes", [p.split(":", 1)[0] for p in destinations.postal_prefixes]),
    ):
        for code in codes:
            if code in excluded:
                raise ZoneConflict(
                    f"The campaign does not ship to {country_name(code)}: "
                    "take it off the excluded countries first.",
                    field=field,
                )

    others = ShippingZone.objects.filter(campaign=campaign).order_by("position", "pk")
    if zone_pk is not None:
        others = others.exclude(pk=zone_pk)
    for other in others:
        if other.name.casefold() == name.casefold():
            raise ZoneConflict(f"There is already a zone called “{other.name}”.", field="name")
        if is_rest_of_world and other.is_rest_of_world:
            raise ZoneConflict(
                f"“{other.name}” is already the rest-of-world zone; a campaign has one.",
                field="is_rest_of_world",
            )
        for field, mine, theirs, words in (
            ("countries", destinations.countries, other.countries, country_name),
            ("regions", destinations.regions, other.regions, str),
            ("postal_prefixes", destinations.postal_prefixes, other.postal_prefixes, str),
        ):
            shared = [item for item in mine if item in set(theirs)]
            if shared:
                raise ZoneConflict(
                    f"{words(shared[0])} is already in zone “{other.name}”.", field=field
                )
    return name


def create_zone(
    *,
    campaign,
    name: str,
    countries: Sequence[str] = (),
    regions: Sequence[str] = (),
    postal_prefixes: Sequence[str] = (),
    is_rest_of_world: bool = False,
    position: int | None = None,
) -> ShippingZone:
    """A new zone of the campaign, placed last unless `position` is given."""
    destinations = _destinations(countries, regions, postal_prefixes)
    with transaction.atomic():
        profile = lock_shipping_setup(campaign)
        name = _check(
            campaign=campaign,
            zone_pk=None,
            name=name,
            destinations=destinations,
            is_rest_of_world=is_rest_of_world,
            excluded=profile.excluded_countries,
        )
        if position is None:
            last = ShippingZone.objects.filter(campaign=campaign).aggregate(m=Max("position"))["m"]
            position = 0 if last is None else last + 1
        return ShippingZone.objects.create(
            campaign=campaign,
            name=name,
            countries=destinations.countries,
            regions=destinations.regions,
            postal_prefixes=destinations.postal_prefixes,
            is_rest_of_world=bool(is_rest_of_world),
            position=position,
        )


def update_zone(
    *,
    zone: ShippingZone,
    name: str,
    countries: Sequence[str] = (),
    regions: Sequence[str] = (),
    postal_prefixes: Sequence[str] = (),
    is_rest_of_world: bool = False,
    position: int | None = None,
) -> ShippingZone:
    """Change a zone's name and destinations; its fees and bands stay."""
    destinations = _destinations(countries, regions, postal_prefixes)
    with transaction.atomic():
        profile = lock_shipping_setup(zone.campaign)
        name = _check(
            campaign=zone.campaign,
            zone_pk=zone.pk,
            name=name,
            destinations=destinations,
            is_rest_of_world=is_rest_of_world,
            excluded=profile.excluded_countries,
        )
        zone.name = name
        zone.countries = destinations.countries
        zone.regions = destinations.regions
        zone.postal_prefixes = destinations.postal_prefixes
        zone.is_rest_of_world = bool(is_rest_of_world)
        if position is not None:
            zone.position = position
        zone.save()
    return zone


def delete_zone(*, zone: ShippingZone) -> None:
    """Delete a zone with its fees, bands and the rate-card prices made for it."""
    with transaction.atomic():
        lock_shipping_setup(zone.campaign)
        zone.delete()
