"""Properties of every tax quote, whatever the destination, prices and settings:
lines + shipping + tax = total; tax is rounded once per line, never more than half
a minor unit from the exact figure; tax is never negative."""

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from orders.tax import (
    Destination,
    ExchangeRateRow,
    Line,
    LineKind,
    RateRow,
    TaxPolicy,
    minor_unit,
    quote_tax,
)

ON = date(2026, 12, 1)
COUNTRIES = ["DE", "FR", "GB", "NO", "AU", "CA", "CH", "US"]
FX = [
    ExchangeRateRow(base, quote, rate, date(2026, 1, 1))
    for base in ("USD", "JPY", "EUR")
    for quote, rate in (
        ("EUR", Decimal("0.9")),
        ("GBP", Decimal("0.8")),
        ("AUD", Decimal("1.5")),
        ("NOK", Decimal("10.5")),
    )
]

# Decimals drawn as whole minor units: exact, and much faster to generate than st.decimals.
percent = st.integers(min_value=0, max_value=9999).map(lambda n: Decimal(n).scaleb(-2))

# Destinations with an import scheme always have a rate (without one, a quote that
# charges tax is refused, which test_tax_regimes covers); the others may have none.
WITH_SCHEME = {"DE", "FR", "GB", "NO", "AU"}


def rate_row(country):
    return st.builds(
        RateRow,
        country=st.just(country),
        region=st.just(""),
        rate=percent,
        goods=st.booleans(),
        shipping=st.booleans(),
        digital=st.booleans(),
    )


policies = st.builds(
    TaxPolicy,
    currency=st.sampled_from(["USD", "EUR", "JPY"]),
    prices_include_tax=st.booleans(),
    tax_on_pledged_rewards=st.booleans(),
    ddp_above_threshold=st.booleans(),
    seller_country=st.sampled_from(["", "US", "FR", "DE", "AU"]),
    ioss_number=st.sampled_from(["", "IM2760000001"]),
    uk_vat_number=st.sampled_from(["", "GB980780684"]),
    voec_number=st.sampled_from(["", "VOEC2012345"]),
    abn=st.sampled_from(["", "51824753556"]),
)


@st.composite
def parcels(draw):
    policy = draw(policies)
    places = -minor_unit(policy.currency).as_tuple().exponent
    amounts = st.integers(min_value=0, max_value=20000 * 10**places).map(
        lambda n: Decimal(n).scaleb(-places)
    )
    lines = draw(
        st.lists(
            st.builds(
                Line,
                kind=st.sampled_from(list(LineKind)),
                amount=amounts,
                is_pledged_reward=st.booleans(),
            ),
            min_size=1,
            max_size=8,
        )
    )
    rates = [
        draw(rate_row(country))
        for country in COUNTRIES
        if country in WITH_SCHEME or draw(st.booleans())
    ]
    country = draw(st.sampled_from(COUNTRIES))
    return policy, lines, rates, country


def _quote(policy, lines, rates, country):
    return quote_tax(
        destination=Destination(country),
        lines=lines,
        policy=policy,
        rates=rates,
        exchange_rates=FX,
        on=ON,
    )


@settings(max_examples=150, deadline=None)
@given(parcels())
def test_lines_plus_shipping_plus_tax_is_the_total(parcel):
    quote = _quote(*parcel)
    assert quote.goods_total + quote.shipping_total + quote.tax_total == quote.total


@settings(max_examples=150, deadline=None)
@given(parcels())
def test_each_lines_tax_is_within_half_a_minor_unit_of_the_exact_tax(parcel):
    policy = parcel[0]
    half = minor_unit(policy.currency) / 2
    for taxed in _quote(*parcel).lines:
        if not taxed.taxed:
            continue
        amount, rate = taxed.line.amount, taxed.rate
        exact = amount * rate / ((100 + rate) if policy.prices_include_tax else 100)
        assert abs(taxed.tax - exact) <= half


@settings(max_examples=150, deadline=None)
@given(parcels())
def test_tax_is_never_negative(parcel):
    assert all(taxed.tax >= 0 for taxed in _quote(*parcel).lines)


@settings(max_examples=150, deadline=None)
@given(parcels())
def test_the_backer_pays_the_prices_as_shown_when_they_include_tax(parcel):
    policy, lines = parcel[0], parcel[1]
    quote = _quote(*parcel)
    priced = sum(line.amount for line in lines)
    assert quote.total == (priced if policy.prices_include_tax else priced + quote.tax_total)
