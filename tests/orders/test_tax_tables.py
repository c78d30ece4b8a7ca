"""A campaign's tax tables through the services: quotes read the campaign's own rates,
settings and dated exchange rates; one rate per destination and day."""

from datetime import date
from decimal import Decimal

import pytest

from orders.errors import ExchangeRateInvalid, ExchangeRateMissing, TaxRateConflict
from orders.models import ExchangeRate, TaxRate, TaxSettings
from orders.services import taxes
from orders.tax import Destination, Line, Regime
from tests.factories import CampaignFactory

# The German rate seeded from 2021-01-01 (16 % came before it, from 2020-07-01).
GERMAN_19 = date(2021, 1, 1)

D = Decimal
ON = date(2026, 12, 1)


def _goods(amount):
    return [Line("goods", D(amount))]


@pytest.fixture
def eur_campaign(organization):
    campaign = CampaignFactory(organization=organization, currency="EUR")
    taxes.seed_tax_rates(campaign=campaign)
    return campaign


def test_a_campaign_without_saved_settings_quotes_with_the_defaults(eur_campaign):
    quote = taxes.tax_quote(
        campaign=eur_campaign, destination=Destination("DE"), lines=_goods("100"), on=ON
    )
    # No IOSS number yet: EU parcels are taxed at import.
    assert quote.regime == Regime.EU_IMPORT_VAT
    assert not TaxSettings.objects.filter(campaign=eur_campaign).exists()


def test_a_quote_uses_the_campaigns_settings(eur_campaign):
    taxes.update_tax_settings(campaign=eur_campaign, ioss_number="IM2760000001")
    quote = taxes.tax_quote(
        campaign=eur_campaign, destination=Destination("DE"), lines=_goods("100"), on=ON
    )
    assert (quote.regime, quote.customs_number) == (Regime.EU_IOSS, "IM2760000001")


def test_a_quote_uses_the_campaigns_edited_rate(eur_campaign):
    germany = TaxRate.objects.get(campaign=eur_campaign, country="DE", valid_from=GERMAN_19)
    taxes.update_tax_rate(tax_rate=germany, rate=D("7"))
    taxes.update_tax_settings(campaign=eur_campaign, seller_country="FR")
    quote = taxes.tax_quote(
        campaign=eur_campaign, destination=Destination("DE"), lines=_goods("100"), on=ON
    )
    assert quote.tax_total == D("7.00")


def test_a_quote_uses_the_latest_dated_rate_in_force(eur_campaign):
    taxes.create_tax_rate(
        campaign=eur_campaign, country="DE", name="VAT", rate=D("21"), valid_from=date(2027, 1, 1)
    )
    taxes.update_tax_settings(campaign=eur_campaign, seller_country="FR")

    def tax_on(day):
        return taxes.tax_quote(
            campaign=eur_campaign, destination=Destination("DE"), lines=_goods("100"), on=day
        ).tax_total

    assert (tax_on(date(2026, 12, 31)), tax_on(date(2027, 1, 1))) == (D("19.00"), D("21.00"))


def test_a_quote_converts_with_the_campaigns_dated_exchange_rate(campaign):
    taxes.seed_tax_rates(campaign=campaign)
    taxes.update_tax_settings(campaign=campaign, ioss_number="IM2760000001")
    taxes.set_exchange_rate(
        campaign=campaign, quote_currency="EUR", rate=D("0.9"), valid_from=date(2026, 1, 1)
    )
    taxes.set_exchange_rate(
        campaign=campaign, quote_currency="EUR", rate=D("0.95"), valid_from=date(2026, 6, 1)
    )

    def regime_on(day):
        return taxes.tax_quote(
            campaign=campaign, destination=Destination("DE"), lines=_goods("166.67"), on=day
        ).regime

    assert regime_on(date(2026, 5, 31)) == Regime.EU_IOSS
    assert regime_on(date(2026, 6, 1)) == Regime.EU_IMPORT_VAT


def test_a_quote_without_an_exchange_rate_for_the_day_is_refused(campaign):
    taxes.seed_tax_rates(campaign=campaign)
    with pytest.raises(ExchangeRateMissing):
        taxes.tax_quote(campaign=campaign, destination=Destination("GB"), lines=_goods("10"))


def test_another_campaigns_exchange_rate_is_not_used(campaign):
    other = CampaignFactory(organization=campaign.organization, currency=campaign.currency)
    taxes.set_exchange_rate(
        campaign=other, quote_currency="EUR", rate=D("0.9"), valid_from=date(2026, 1, 1)
    )
    with pytest.raises(ExchangeRateMissing):
        taxes.tax_quote(campaign=campaign, destination=Destination("DE"), lines=_goods("10"))


def test_an_exchange_rate_for_a_day_that_has_one_replaces_it(campaign):
    for rate in ("0.9", "0.91"):
        taxes.set_exchange_rate(
            campaign=campaign, quote_currency="EUR", rate=D(rate), valid_from=date(2026, 1, 1)
        )
    assert list(ExchangeRate.objects.filter(campaign=campaign).values_list("rate", flat=True)) == [
        D("0.91")
    ]


def test_an_exchange_rate_into_the_campaigns_own_currency_is_refused(eur_campaign):
    with pytest.raises(ExchangeRateInvalid):
        taxes.set_exchange_rate(
            campaign=eur_campaign, quote_currency="EUR", rate=D("1"), valid_from=date(2026, 1, 1)
        )


def test_two_rates_for_one_destination_from_the_same_day_are_refused(eur_campaign):
    with pytest.raises(TaxRateConflict) as refused:
        taxes.create_tax_rate(
            campaign=eur_campaign,
            country="DE",
            name="VAT",
            rate=D("20"),
            valid_from=date(2021, 1, 1),
        )
    assert refused.value.field == "valid_from"


def test_two_undated_rates_for_one_destination_are_refused(eur_campaign):
    with pytest.raises(TaxRateConflict):
        taxes.create_tax_rate(campaign=eur_campaign, country="FR", name="VAT", rate=D("5.5"))


def test_a_region_may_have_its_own_undated_rate_beside_its_country(eur_campaign):
    rate = taxes.create_tax_rate(
        campaign=eur_campaign, country="CA", region="CA-BC", name="GST", rate=D("5")
    )
    assert rate.region == "CA-BC"


def test_moving_a_rate_onto_a_taken_day_is_refused(eur_campaign):
    scheduled = taxes.create_tax_rate(
        campaign=eur_campaign, country="DE", name="VAT", rate=D("21"), valid_from=date(2027, 1, 1)
    )
    with pytest.raises(TaxRateConflict):
        taxes.update_tax_rate(tax_rate=scheduled, valid_from=date(2021, 1, 1))


def test_deleting_a_dated_rate_brings_back_the_one_before(eur_campaign):
    nova_scotia = TaxRate.objects.get(
        campaign=eur_campaign, region="CA-NS", valid_from=date(2025, 4, 1)
    )
    taxes.delete_tax_rate(tax_rate=nova_scotia)
    quote = taxes.tax_quote(
        campaign=eur_campaign,
        destination=Destination("CA", "CA-NS"),
        lines=_goods("100"),
        on=ON,
    )
    assert quote.tax_total == D("15.00")


def test_settings_are_created_on_first_save_and_updated_after(campaign):
    taxes.update_tax_settings(campaign=campaign, prices_include_tax=True)
    taxes.update_tax_settings(campaign=campaign, seller_name="Tiny Studio")
    settings = TaxSettings.objects.get(campaign=campaign)
    assert (settings.prices_include_tax, settings.seller_name) == (True, "Tiny Studio")


def test_rate_groups_mark_the_rate_in_force_and_the_replaced_one(eur_campaign):
    groups = {g["country"]: g for g in taxes.tax_rate_groups(campaign=eur_campaign, on=ON)}
    nova_scotia = {
        r.rate: (r.in_force, r.scheduled) for r in groups["CA"]["rates"] if r.region == "CA-NS"
    }
    assert nova_scotia == {D("15"): (False, False), D("14"): (True, False)}


def test_rate_groups_list_the_country_row_before_its_regions(eur_campaign):
    groups = {g["country"]: g for g in taxes.tax_rate_groups(campaign=eur_campaign, on=ON)}
    assert [r.region for r in groups["CA"]["rates"]] == [
        "",
        "CA-NB",
        "CA-NL",
        "CA-NS",
        "CA-NS",
        "CA-ON",
        "CA-PE",
    ]


def test_a_quote_in_the_second_half_of_2020_uses_the_german_16_percent(eur_campaign):
    taxes.update_tax_settings(campaign=eur_campaign, seller_country="FR")
    quote = taxes.tax_quote(
        campaign=eur_campaign,
        destination=Destination("DE"),
        lines=_goods("100"),
        on=date(2020, 10, 1),
    )
    assert quote.tax_total == D("16.00")
