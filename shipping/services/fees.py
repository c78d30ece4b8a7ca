"""Fees a campaign charges: per reward and zone, per add-on unit and zone, and
weight bands per zone.

Amounts are rounded half-up to the cent when saved, never negative, in the
campaign's currency. A blank reward fee means "not set" (the quote refuses to
guess); a blank add-on fee means the add-on adds nothing to shipping."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation

from django.db import transaction
from djmoney.money import Money

from surveys.models import AddOnOffer

from ..calculation import round_money
from ..errors import FeeInvalid
from ..models import AddOnZoneFee, RewardZoneFee, ShippingZone, WeightBand
from .profiles import lock_shipping_setup

MAX_FEE = Decimal("9999999999.99")  # MoneyField(max_digits=12, decimal_places=2)
MAX_GRAMS = 2_147_483_647


def clean_fee(value, *, what: str, field: str | None = None, currency: str = "") -> Decimal:
    """A fee as a Decimal rounded half-up to the currency's smallest unit (the cent by
    default, 1 for JPY); FeeInvalid when below zero or too large."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise FeeInvalid(f"{what}: “{value}” is not an amount.", field=field) from None
    if not amount.is_finite():
        raise FeeInvalid(f"{what}: “{value}” is not an amount.", field=field)
    amount = round_money(amount, currency)
    if amount < 0:
        raise FeeInvalid(f"{what}: a fee cannot be below zero.", field=field)
    if amount > MAX_FEE:
        raise FeeInvalid(f"{what}: {amount} is too large.", field=field)
    return amount


def _zones(campaign, zone_ids) -> dict[int, ShippingZone]:
    zones = {z.pk: z for z in ShippingZone.objects.filter(campaign=campaign, pk__in=zone_ids)}
    missing = set(zone_ids) - set(zones)
    if missing:
        raise FeeInvalid(f"Zone {min(missing)} is not a zone of this campaign.")
    return zones


def _save_grid(*, model, owner_field: str, campaign, owners: dict, fees: Mapping) -> int:
    zone_ids = {zone_id for _owner, zone_id in fees}
    zones = _zones(campaign, zone_ids)
    cleaned: dict[tuple[int, int], Decimal | None] = {}
    for (owner_id, zone_id), value in fees.items():
        if owner_id not in owners:
            raise FeeInvalid(f"{owner_field.capitalize()} {owner_id} is not part of this campaign.")
        what = f"{owners[owner_id]} in {zones[zone_id].name}"
        blank = value is None or (isinstance(value, str) and not value.strip())
        cleaned[(owner_id, zone_id)] = (
            None
            if blank
            else clean_fee(
                value,
                what=what,
                field=f"fee-{owner_id}-{zone_id}",
                currency=campaign.currency,
            )
        )
    existing = {
        (getattr(row, f"{owner_field}_id"), row.zone_id): row
        for row in model.objects.filter(zone__campaign=campaign, zone_id__in=zone_ids)
    }
    to_create, to_update, to_delete = [], [], []
    for key, amount in cleaned.items():
        row = existing.get(key)
        if amount is None:
            if row is not None:
                to_delete.append(row.pk)
        elif row is None:
            to_create.append(
                model(
                    **{f"{owner_field}_id": key[0]},
                    zone_id=key[1],
                    fee=Money(amount, campaign.currency),
                )
            )
        elif row.fee.amount != amount or str(row.fee.currency) != campaign.currency:
            row.fee = Money(amount, campaign.currency)
            to_update.append(row)
    if to_delete:
        model.objects.filter(pk__in=to_delete).delete()
    model.objects.bulk_create(to_create)
    model.objects.bulk_update(to_update, ["fee", "fee_currency"])
    return len(to_create) + len(to_update) + len(to_delete)


def save_reward_fees(*, campaign, fees: Mapping[tuple[int, int], Decimal | str | None]) -> int:
    """Set the fee of (reward id, zone id) cells; None or blank removes a fee.

    Returns how many cells changed. Every reward and zone must be the campaign's."""
    with transaction.atomic():
        lock_shipping_setup(campaign)
        owners = dict(campaign.rewards.values_list("pk", "title"))
        return _save_grid(
            model=RewardZoneFee, owner_field="reward", campaign=campaign, owners=owners, fees=fees
        )


def save_addon_fees(*, campaign, fees: Mapping[tuple[int, int], Decimal | str | None]) -> int:
    """Set the per-unit fee of (add-on offer id, zone id) cells; None or blank removes it."""
    with transaction.atomic():
        lock_shipping_setup(campaign)
        owners = dict(AddOnOffer.objects.filter(campaign=campaign).values_list("pk", "name"))
        return _save_grid(
            model=AddOnZoneFee, owner_field="offer", campaign=campaign, owners=owners, fees=fees
        )


def save_weight_bands(
    *, zone: ShippingZone, bands: Sequence[tuple[int, Decimal | str]]
) -> list[WeightBand]:
    """Replace the zone's weight bands with (up to grams, fee) pairs.

    Each limit is a whole number of grams from 1, given once; the bands are
    kept sorted by weight."""
    cleaned: dict[int, Decimal] = {}
    for up_to_g, fee in bands:
        try:
            grams = int(up_to_g)
        except (TypeError, ValueError):
            raise FeeInvalid(f"“{up_to_g}” is not a whole number of grams.") from None
        if not 1 <= grams <= MAX_GRAMS:
            raise FeeInvalid(f"{grams} g: a band's limit is a whole number of grams from 1.")
        if grams in cleaned:
            raise FeeInvalid(f"Two bands end at {grams:,} g.")
        cleaned[grams] = clean_fee(
            fee, what=f"Band up to {grams:,} g", currency=zone.campaign.currency
        )
    campaign = zone.campaign
    with transaction.atomic():
        lock_shipping_setup(campaign)
        WeightBand.objects.filter(zone=zone).delete()
        return WeightBand.objects.bulk_create(
            WeightBand(zone=zone, up_to_g=grams, fee=Money(amount, campaign.currency))
            for grams, amount in sorted(cleaned.items())
        )
