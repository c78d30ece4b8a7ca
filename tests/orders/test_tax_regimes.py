"""The tax engine (orders.tax.quote_tax): each import regime at and just above its
limit, conversion with dated exchange rates, tax-inclusive and exclusive prices,
reverse charge, Canadian provinces and the destinations without a rule."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from orders.errors import ExchangeRateMissing, TaxLineInvalid, TaxRateMissing, VatNumberInvalid
from orders.tax import (
    Destination,
    ExchangeRateRow,
    Line,
    RateRow,
    Regime,
    TaxPolicy,
    quote_tax,
)

D = Decimal
ON = date(2026, 12, 1)
VALID_DE_VAT = "DE136695976"
VALID_FR_VAT = "FR40303265045"

RATES = [
    RateRow("DE", "", D("19.00")),
    RateRow("FR", "", D("20.00")),
    RateRow("GB", "", D("20.00")),
    RateRow("NO", "", D("25.00")),
    RateRow("AU", "", D("10.00"), "GST"),
    RateRow("CH", "", D("8.10"), valid_from=date(2024, 1, 1)),
    RateRow("CA", "", D("5.00"), "GST"),
    RateRow("CA", "CA-ON", D("13.00"), "HST"),
    RateRow("CA", "CA-NS", D("15.00"), "HST"),
    RateRow("CA", "CA-NS", D("14.00"), "HST", valid_from=date(2025, 4, 1)),
]

NUMBERS = {
    "ioss_number": "IM2760000001",
    "uk_vat_number": "GB980780684",
    "abn": "51824753556",
    "voec_number": "VOEC2012345",
}


def policy(currency="EUR", **overrides) -> TaxPolicy:
    return TaxPolicy(currency=currency, **{**NUMBERS, **overrides})


def quote(country, lines, *, region="", pol=None, rates=RATES, fx=(), on=ON, vat_number=""):
    return quote_tax(
        destination=Destination(country, region),
        lines=lines,
        policy=pol or policy(),
        rates=rates,
        exchange_rates=fx,
        on=on,
        vat_number=vat_number,
    )


def goods(amount, **kwargs) -> Line:
    return Line("goods", D(amount), **kwargs)


def shipping(amount) -> Line:
    return Line("shipping", D(amount))


def digital(amount, **kwargs) -> Line:
    return Line("digital", D(amount), **kwargs)


# --- each low-value scheme at and just above its limit ---------------------------------

# country, campaign currency = the scheme's, limit, collected regime, imported regime, number
SCHEMES = [
    ("DE", "EUR", "150.00", Regime.EU_IOSS, Regime.EU_IMPORT_VAT, "IM2760000001"),
    ("GB", "GBP", "135.00", Regime.UK_POINT_OF_SALE, Regime.UK_IMPORT, "GB980780684"),
    ("AU", "AUD", "1000.00", Regime.AU_GST, Regime.AU_IMPORT, "51824753556"),
    ("NO", "NOK", "3000.00", Regime.NO_VOEC, Regime.NO_IMPORT, "VOEC2012345"),
]
SCHEME_IDS = ["eu", "uk", "au", "no"]


@pytest.mark.parametrize(
    ("country", "currency", "limit", "collected", "_", "number"), SCHEMES, ids=SCHEME_IDS
)
def test_goods_at_the_limit_are_taxed_at_checkout_with_the_number_on_customs(
    country, currency, limit, collected, _, number
):
    result = quote(country, [goods(limit)], pol=policy(currency))
    assert result.regime == collected
    assert result.collected_at_checkout is True
    assert result.tax_total > 0
    assert result.customs_number == number
    assert (result.import_vat_at_delivery, result.ddp) == (False, False)


@pytest.mark.parametrize(
    ("country", "currency", "limit", "_", "imported", "number"), SCHEMES, ids=SCHEME_IDS
)
def test_goods_one_cent_above_the_limit_are_taxed_at_import(
    country, currency, limit, _, imported, number
):
    result = quote(country, [goods(D(limit) + D("0.01")), shipping("10")], pol=policy(currency))
    assert result.regime == imported
    assert result.collected_at_checkout is False
    assert result.tax_total == 0
    assert result.total == D(limit) + D("10.01")
    assert result.customs_number == ""
    assert result.import_vat_at_delivery is True


@pytest.mark.parametrize(
    ("country", "currency", "limit", "_", "imported", "number"), SCHEMES, ids=SCHEME_IDS
)
def test_above_the_limit_with_ddp_the_creator_pays_at_the_border(
    country, currency, limit, _, imported, number
):
    pol = policy(currency, ddp_above_threshold=True)
    result = quote(country, [goods(D(limit) + D("0.01"))], pol=pol)
    assert result.regime == imported
    assert (result.ddp, result.import_vat_at_delivery) == (True, False)


def test_ddp_does_not_apply_within_the_limit():
    result = quote("DE", [goods("150.00")], pol=policy(ddp_above_threshold=True))
    assert (result.regime, result.ddp) == (Regime.EU_IOSS, False)


def test_shipping_does_not_count_toward_the_limit_but_is_taxed_with_the_goods():
    result = quote("DE", [goods("150.00"), shipping("40.00")])
    assert result.regime == Regime.EU_IOSS
    assert result.threshold.value == D("150.00")
    assert [t.tax for t in result.lines] == [D("28.50"), D("7.60")]


def test_without_an_ioss_number_eu_parcels_within_the_limit_are_taxed_at_import():
    result = quote("DE", [goods("20.00")], pol=policy(ioss_number=""))
    assert result.regime == Regime.EU_IMPORT_VAT
    assert result.tax_total == 0
    assert result.import_vat_at_delivery is True
    assert any("No IOSS number" in sentence for sentence in result.explanation)


def test_pledged_rewards_count_toward_the_limit_even_when_not_taxed():
    pol = policy(tax_on_pledged_rewards=False)
    result = quote("DE", [goods("100.00", is_pledged_reward=True), goods("50.01")], pol=pol)
    assert result.regime == Regime.EU_IMPORT_VAT


def test_pledged_rewards_are_not_taxed_when_the_campaign_says_so():
    pol = policy(tax_on_pledged_rewards=False)
    result = quote("DE", [goods("100.00", is_pledged_reward=True), goods("50.00")], pol=pol)
    assert result.regime == Regime.EU_IOSS
    assert [t.tax for t in result.lines] == [D("0"), D("9.50")]


def test_pledged_rewards_are_taxed_by_default():
    result = quote("DE", [goods("100.00", is_pledged_reward=True)])
    assert result.tax_total == D("19.00")


def test_digital_items_are_taxed_at_checkout_even_when_the_parcel_is_taxed_at_import():
    result = quote("DE", [goods("200.00"), digital("10.00")])
    assert result.regime == Regime.EU_IMPORT_VAT
    assert [t.tax for t in result.lines] == [D("0"), D("1.90")]


def test_a_digital_only_order_is_charged_the_destination_rate_without_customs():
    result = quote("DE", [digital("10.00")], pol=policy(ioss_number=""))
    assert result.regime == Regime.DOMESTIC
    assert (result.tax_total, result.customs_number, result.threshold) == (D("1.90"), "", None)


def test_a_regime_that_charges_tax_needs_a_rate_for_the_destination():
    with pytest.raises(TaxRateMissing):
        quote("DE", [goods("10.00")], rates=[RateRow("FR", "", D("20"))])


def test_a_rate_that_excludes_shipping_leaves_the_shipping_line_untaxed():
    rates = [RateRow("DE", "", D("19"), shipping=False)]
    result = quote("DE", [goods("100.00"), shipping("10.00")], rates=rates)
    assert [t.tax for t in result.lines] == [D("19.00"), D("0")]


# --- conversion with the creator's dated exchange rates --------------------------------

FX = [
    ExchangeRateRow("USD", "EUR", D("0.9"), date(2026, 1, 1)),
    ExchangeRateRow("USD", "EUR", D("0.95"), date(2026, 6, 1)),
    ExchangeRateRow("USD", "GBP", D("0.75"), date(2026, 1, 1)),
]


def test_goods_value_is_converted_before_it_is_compared_with_the_limit():
    result = quote("DE", [goods("166.67")], pol=policy("USD"), fx=FX, on=date(2026, 5, 31))
    assert result.threshold.value == D("150.00")  # 166.67 × 0.9 = 150.003
    assert result.threshold.exchange_rate.valid_from == date(2026, 1, 1)
    assert result.regime == Regime.EU_IOSS


def test_converted_goods_value_one_cent_above_the_limit_is_taxed_at_import():
    result = quote("DE", [goods("166.68")], pol=policy("USD"), fx=FX, on=date(2026, 5, 31))
    assert result.threshold.value == D("150.01")
    assert result.regime == Regime.EU_IMPORT_VAT


def test_the_rate_in_force_on_the_day_of_the_quote_is_used():
    result = quote("DE", [goods("166.67")], pol=policy("USD"), fx=FX, on=date(2026, 6, 1))
    assert result.threshold.value == D("158.34")
    assert result.threshold.exchange_rate.rate == D("0.95")
    assert result.regime == Regime.EU_IMPORT_VAT


def test_each_limit_converts_with_its_own_currency():
    result = quote("GB", [goods("180.00")], pol=policy("USD"), fx=FX)
    assert (result.threshold.value, result.threshold.currency) == (D("135.00"), "GBP")
    assert result.regime == Regime.UK_POINT_OF_SALE


def test_no_exchange_rate_for_the_day_is_refused_with_a_clear_error():
    with pytest.raises(ExchangeRateMissing, match="USD → EUR exchange rate valid on 2025-12-31"):
        quote("DE", [goods("10.00")], pol=policy("USD"), fx=FX, on=date(2025, 12, 31))


def test_no_exchange_rate_into_the_limits_currency_is_refused():
    with pytest.raises(ExchangeRateMissing, match="USD → NOK"):
        quote("NO", [goods("10.00")], pol=policy("USD"), fx=FX)


def test_a_campaign_priced_in_the_limits_currency_needs_no_exchange_rate():
    result = quote("DE", [goods("150.00")], pol=policy("EUR"), fx=())
    assert result.threshold.exchange_rate is None
    assert result.regime == Regime.EU_IOSS


# --- tax-inclusive and tax-exclusive prices --------------------------------------------


def test_exclusive_prices_have_the_tax_added():
    result = quote("DE", [goods("100.00")])
    line = result.lines[0]
    assert (line.net, line.tax, line.total) == (D("100.00"), D("19.00"), D("119.00"))


def test_inclusive_prices_have_the_tax_taken_out_of_the_gross():
    result = quote("DE", [goods("119.00")], pol=policy(prices_include_tax=True))
    line = result.lines[0]
    assert (line.net, line.tax, line.total) == (D("100.00"), D("19.00"), D("119.00"))


def test_inclusive_prices_compare_the_goods_value_without_the_tax_with_the_limit():
    result = quote("DE", [goods("178.50")], pol=policy(prices_include_tax=True))
    assert result.threshold.value == D("150.00")
    assert result.regime == Regime.EU_IOSS


def test_inclusive_prices_stay_as_they_are_when_no_tax_is_charged():
    result = quote("DE", [goods("178.51")], pol=policy(prices_include_tax=True))
    assert result.regime == Regime.EU_IMPORT_VAT
    assert (result.tax_total, result.total) == (D("0"), D("178.51"))


def test_tax_is_rounded_half_up_once_per_line():
    result = quote("DE", [goods("0.50"), goods("0.50")])  # 0.095 each
    assert [t.tax for t in result.lines] == [D("0.10"), D("0.10")]


def test_a_currency_without_cents_rounds_to_whole_units():
    result = quote(
        "DE",
        [goods("1050")],
        pol=policy("JPY"),
        fx=[ExchangeRateRow("JPY", "EUR", D("0.0061"), date(2026, 1, 1))],
    )
    assert result.lines[0].tax == D("200")  # 199.5 rounds up


# --- B2B: reverse charge ---------------------------------------------------------------


def test_a_valid_vat_number_of_the_destination_country_is_reverse_charged():
    result = quote("DE", [goods("100.00"), shipping("10.00")], vat_number="de 136 695 976")
    assert result.regime == Regime.REVERSE_CHARGE
    assert result.tax_total == 0
    assert result.vat_number == VALID_DE_VAT
    assert "Reverse charge" in result.invoice_note
    assert VALID_DE_VAT in result.invoice_note


def test_reverse_charge_from_outside_the_eu_leaves_import_vat_to_the_business():
    result = quote("DE", [goods("100.00")], vat_number=VALID_DE_VAT)
    assert result.import_vat_at_delivery is True
    assert result.customs_number == ""


def test_reverse_charge_within_the_eu_has_no_import():
    result = quote(
        "DE", [goods("100.00")], pol=policy(seller_country="FR"), vat_number=VALID_DE_VAT
    )
    assert result.regime == Regime.REVERSE_CHARGE
    assert result.import_vat_at_delivery is False


def test_reverse_charge_covers_digital_items_too():
    result = quote("DE", [digital("10.00")], vat_number=VALID_DE_VAT)
    assert result.tax_total == 0


def test_an_invalid_vat_number_is_an_error_on_the_vat_number_field():
    with pytest.raises(VatNumberInvalid) as refused:
        quote("DE", [goods("100.00")], vat_number="DE136695977")
    assert refused.value.field == "vat_number"
    assert refused.value.code == "vat_number_invalid"


def test_a_vat_number_of_another_country_than_the_destination_is_refused():
    with pytest.raises(VatNumberInvalid, match="destination country"):
        quote("DE", [goods("100.00")], vat_number=VALID_FR_VAT)


def test_a_buyer_in_the_sellers_own_country_is_charged_vat_despite_a_vat_number():
    result = quote(
        "DE", [goods("100.00")], pol=policy(seller_country="DE"), vat_number=VALID_DE_VAT
    )
    assert result.regime == Regime.DOMESTIC
    assert result.tax_total == D("19.00")
    assert result.invoice_note == ""


def test_a_vat_number_changes_nothing_outside_the_eu():
    result = quote("GB", [goods("100.00")], pol=policy("GBP"), vat_number=VALID_DE_VAT)
    assert result.regime == Regime.UK_POINT_OF_SALE
    assert result.tax_total == D("20.00")


# --- no customs border, other destinations ---------------------------------------------


def test_eu_seller_to_another_eu_country_charges_the_destination_rate_without_a_limit():
    result = quote("DE", [goods("900.00")], pol=policy(seller_country="FR"))
    assert result.regime == Regime.DOMESTIC
    assert (result.tax_total, result.threshold, result.customs_number) == (D("171.00"), None, "")


def test_seller_in_the_destination_country_charges_its_rate():
    result = quote("AU", [goods("5000.00")], pol=policy("AUD", seller_country="AU"))
    assert result.regime == Regime.DOMESTIC
    assert result.tax_total == D("500.00")


def test_a_destination_without_a_rate_is_not_taxed():
    result = quote("US", [goods("100.00"), shipping("10.00")])
    assert result.regime == Regime.NONE
    assert (result.tax_total, result.total) == (D("0"), D("110.00"))
    assert (result.import_vat_at_delivery, result.ddp) == (False, False)


def test_switzerland_is_charged_its_rate_from_the_table():
    result = quote("CH", [goods("100.00")])
    assert result.regime == Regime.DOMESTIC
    assert result.tax_total == D("8.10")


def test_a_rate_not_yet_in_force_is_not_used():
    result = quote("CH", [goods("100.00")], on=date(2023, 12, 31))
    assert result.regime == Regime.NONE


# --- Canada: federal GST, HST provinces ------------------------------------------------


@pytest.mark.parametrize(
    ("region", "name", "tax"),
    [
        ("CA-ON", "HST", "13.00"),
        ("ON", "HST", "13.00"),  # a province code alone means the Canadian one
        ("CA-AB", "GST", "5.00"),
        ("CA-QC", "GST", "5.00"),  # QST is not collected here
        ("", "GST", "5.00"),
    ],
)
def test_canadian_provinces_pay_hst_or_the_federal_gst(region, name, tax):
    result = quote("CA", [goods("100.00")], region=region, pol=policy("CAD"))
    assert result.lines[0].tax_name == name
    assert result.tax_total == D(tax)


@pytest.mark.parametrize(
    ("day", "tax"), [(date(2025, 3, 31), "15.00"), (date(2025, 4, 1), "14.00")]
)
def test_nova_scotia_hst_is_14_from_april_2025(day, tax):
    result = quote("CA", [goods("100.00")], region="CA-NS", pol=policy("CAD"), on=day)
    assert result.tax_total == D(tax)


# --- refused lines ---------------------------------------------------------------------


def test_a_negative_amount_is_refused():
    with pytest.raises(TaxLineInvalid):
        quote("DE", [goods("-1.00")])


def test_an_amount_finer_than_the_currencys_smallest_unit_is_refused():
    with pytest.raises(TaxLineInvalid, match="smallest unit"):
        quote("DE", [goods("10.50")], pol=policy("JPY"))


def test_amounts_are_shown_in_the_currencys_minor_unit():
    result = quote("US", [goods("99")])
    line = result.lines[0]
    assert (str(line.net), str(line.tax), str(result.total)) == ("99.00", "0.00", "99.00")


def test_an_unknown_line_kind_is_refused():
    with pytest.raises(TaxLineInvalid):
        quote("DE", [replace(goods("1.00"), kind="insurance")])
