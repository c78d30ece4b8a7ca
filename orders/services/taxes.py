"""A campaign's tax tables (settings, dated rates, exchange rates) and its tax quotes.

The rules themselves live in `orders.tax`; this module loads a campaign's tables and
changes them, one transaction per action."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_countries import countries

from pledges.models import Campaign

from .. import tax
from ..errors import ExchangeRateInvalid, TaxRateConflict
from ..models import ExchangeRate, TaxRate, TaxSettings
from ..tax_seed import STANDARD_RATES

SETTINGS_FIELDS = (
    "prices_include_tax",
    "tax_on_pledged_rewards",
    "ddp_above_threshold",
    "seller_name",
    "seller_address",
    "seller_country",
    "seller_vat_id",
    "ioss_number",
    "uk_vat_number",
    "voec_number",
    "abn",
)
RATE_FIELDS = (
    "country",
    "region",
    "name",
    "rate",
    "applies_to_goods",
    "applies_to_shipping",
    "applies_to_digital",
    "valid_from",
)


# --- reads -----------------------------------------------------------------------------


def tax_settings_for(*, campaign: Campaign) -> TaxSettings:
    """The campaign's tax settings; the defaults (unsaved) until the creator saves them."""
    try:
        return TaxSettings.objects.get(campaign=campaign)
    except TaxSettings.DoesNotExist:
        return TaxSettings(campaign=campaign)


def tax_rate_groups(*, campaign: Campaign, on: date) -> list[dict]:
    """The rate table by country (country rows first, then its regions), each row
    marked `in_force`, `scheduled` (starts after `on`) or replaced; one query."""
    rates = list(TaxRate.objects.filter(campaign=campaign))
    rows = [r.as_row() for r in rates]
    groups: dict[str, dict] = {}
    for rate in rates:
        code = str(rate.country)
        group = groups.setdefault(
            code, {"country": code, "name": countries.name(code) or code, "rates": []}
        )
        current = tax.rate_in_force(
            (r for r in rows if r.region == rate.region), country=code, region=rate.region, on=on
        )
        rate.in_force = current is not None and current.valid_from == rate.valid_from
        rate.scheduled = rate.valid_from is not None and rate.valid_from > on
        group["rates"].append(rate)
    for group in groups.values():
        group["rates"].sort(
            key=lambda r: (r.region, r.valid_from is not None, r.valid_from or date.min)
        )
    return sorted(groups.values(), key=lambda g: g["name"])


def tax_quote(
    *,
    campaign: Campaign,
    destination: tax.Destination,
    lines: Sequence[tax.Line],
    on: date | None = None,
    vat_number: str = "",
) -> tax.TaxQuote:
    """The tax on a parcel of this campaign (see `orders.tax.quote_tax` for the rules
    and the errors it raises); `on` defaults to today."""
    country = destination.country.strip().upper()
    settings = tax_settings_for(campaign=campaign)
    rates = [r.as_row() for r in TaxRate.objects.filter(campaign=campaign, country=country)]
    exchange_rates = [
        r.as_row()
        for r in ExchangeRate.objects.filter(campaign=campaign, base_currency=campaign.currency)
    ]
    return tax.quote_tax(
        destination=destination,
        lines=lines,
        policy=settings.policy(currency=campaign.currency),
        rates=rates,
        exchange_rates=exchange_rates,
        on=on or timezone.localdate(),
        vat_number=vat_number,
    )


# --- actions ---------------------------------------------------------------------------


def seed_tax_rates(*, campaign: Campaign) -> int:
    """Add the standard rates (orders.tax_seed) the campaign's table lacks; returns how
    many were added.

    Idempotent: a destination and date already in the table is left as the creator
    edited it; running it again adds nothing."""
    with transaction.atomic():
        # Two seeders of one campaign wait for each other instead of inserting twice.
        Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        existing = set(
            TaxRate.objects.filter(campaign=campaign).values_list("country", "region", "valid_from")
        )
        missing = [
            TaxRate(
                campaign=campaign,
                country=country,
                region=region,
                name=name,
                rate=rate,
                valid_from=valid_from,
            )
            for country, region, name, rate, valid_from in STANDARD_RATES
            if (country, region, valid_from) not in existing
        ]
        TaxRate.objects.bulk_create(missing)
    return len(missing)


def update_tax_settings(*, campaign: Campaign, **values) -> TaxSettings:
    """Save the campaign's tax settings (created on first save). Numbers arrive checked
    and in compact form (the settings form does that)."""
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        raise TypeError(f"Unknown tax settings: {sorted(unknown)}")
    with transaction.atomic():
        settings, _created = TaxSettings.objects.select_for_update().get_or_create(
            campaign=campaign
        )
        for name, value in values.items():
            setattr(settings, name, value)
        settings.save()
    return settings


def _check_no_twin(*, campaign: Campaign, values: dict, exclude_pk: int | None) -> None:
    twins = TaxRate.objects.filter(
        campaign=campaign,
        country=values["country"],
        region=values["region"],
        valid_from=values["valid_from"],
    )
    if exclude_pk is not None:
        twins = twins.exclude(pk=exclude_pk)
    if twins.exists():
        where = values["region"] or values["country"]
        when = values["valid_from"].isoformat() if values["valid_from"] else "with no start date"
        raise TaxRateConflict(f"{where} already has a rate valid from {when}: edit that one.")


def create_tax_rate(
    *,
    campaign: Campaign,
    country: str,
    region: str = "",
    name: str,
    rate: Decimal,
    applies_to_goods: bool = True,
    applies_to_shipping: bool = True,
    applies_to_digital: bool = True,
    valid_from: date | None = None,
) -> TaxRate:
    """Add a rate to the campaign's table. One rate per destination and start date."""
    values = {
        "country": str(country),
        "region": region,
        "name": name,
        "rate": rate,
        "applies_to_goods": applies_to_goods,
        "applies_to_shipping": applies_to_shipping,
        "applies_to_digital": applies_to_digital,
        "valid_from": valid_from,
    }
    try:
        with transaction.atomic():
            _check_no_twin(campaign=campaign, values=values, exclude_pk=None)
            return TaxRate.objects.create(campaign=campaign, **values)
    except IntegrityError as exc:  # the same row added by a second request meanwhile
        raise TaxRateConflict("That rate was just added by someone else.") from exc


def update_tax_rate(*, tax_rate: TaxRate, **values) -> TaxRate:
    """Change a rate of the table (any of RATE_FIELDS); one rate per destination and date."""
    unknown = set(values) - set(RATE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown tax rate fields: {sorted(unknown)}")
    for name, value in values.items():
        setattr(tax_rate, name, value)
    tax_rate.country = str(tax_rate.country)
    try:
        with transaction.atomic():
            _check_no_twin(
                campaign=tax_rate.campaign,
                values={f: getattr(tax_rate, f) for f in RATE_FIELDS},
                exclude_pk=tax_rate.pk,
            )
            tax_rate.save()
    except IntegrityError as exc:
        raise TaxRateConflict("Another rate took that date meanwhile.") from exc
    return tax_rate


def delete_tax_rate(*, tax_rate: TaxRate) -> None:
    """Remove a rate from the table; the destination falls back to its other rows."""
    with transaction.atomic():
        tax_rate.delete()


def set_exchange_rate(
    *, campaign: Campaign, quote_currency: str, rate: Decimal, valid_from: date
) -> ExchangeRate:
    """Set the campaign currency → `quote_currency` rate valid from a day (replacing the
    rate of that day if there is one)."""
    if quote_currency == campaign.currency:
        raise ExchangeRateInvalid(
            f"The campaign is priced in {quote_currency}: its limit needs no conversion."
        )
    if quote_currency not in tax.SCHEME_CURRENCIES:
        raise ExchangeRateInvalid(f"No import limit is in {quote_currency}.")
    with transaction.atomic():
        exchange_rate, _created = ExchangeRate.objects.update_or_create(
            campaign=campaign,
            base_currency=campaign.currency,
            quote_currency=quote_currency,
            valid_from=valid_from,
            defaults={"rate": rate},
        )
    return exchange_rate


def delete_exchange_rate(*, exchange_rate: ExchangeRate) -> None:
    """Remove an exchange rate; the day falls back to the previous rate, if any."""
    with transaction.atomic():
        exchange_rate.delete()
