"""The Tax stage: rate table, rate forms, settings, exchange rates and the calculator;
who may see and change what; constant queries on the table."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from orders.models import ExchangeRate, TaxRate, TaxSettings
from orders.services import taxes
from tests.conftest import member
from tests.factories import CampaignFactory

# The German rate seeded from 2021-01-01 (16 % came before it, from 2020-07-01).
GERMAN_19 = date(2021, 1, 1)

D = Decimal

# survey host lookup, session, user, membership, campaign, settings, rates, header
# memberships: the table costs the same however many rates it has.
RULES_QUERY_BOUND = 8


def _login(client, organization, role):
    client.force_login(member(organization, role))
    return client


def _url(name, campaign, *args):
    return reverse(name, args=[campaign.slug, *args])


@pytest.fixture
def seeded(campaign):
    taxes.seed_tax_rates(campaign=campaign)
    return campaign


# --- the rate table --------------------------------------------------------------------


def test_rules_page_groups_rates_by_country_with_region_rows(owner_client, seeded):
    response = owner_client.get(_url("tax-rules", seeded))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="country-CA"' in page
    assert "CA-ON" in page and "HST" in page
    canada = next(g for g in response.context["groups"] if g["country"] == "CA")
    assert canada["name"] == "Canada"
    assert canada["rates"][0].region == ""


def test_rules_page_offers_the_standard_rates_when_the_table_is_empty(owner_client, campaign):
    response = owner_client.get(_url("tax-rules", campaign))
    assert "Load the standard rates" in response.content.decode()


def test_loading_the_standard_rates_fills_the_table(owner_client, campaign):
    response = owner_client.post(_url("tax-rules-seed", campaign), follow=True)
    assert TaxRate.objects.filter(campaign=campaign, country="DE").exists()
    assert "standard rates added" in response.content.decode()


def _queries_for_rules(client, campaign) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(_url("tax-rules", campaign)).status_code == 200
    return len(queries)


def test_rules_page_query_count_does_not_grow_with_rates(
    owner_client, campaign, django_assert_max_num_queries
):
    TaxRate.objects.create(campaign=campaign, country="DE", rate=D("19"))
    few = _queries_for_rules(owner_client, campaign)
    taxes.seed_tax_rates(campaign=campaign)
    for year in range(2030, 2040):
        TaxRate.objects.create(
            campaign=campaign, country="FR", rate=D("20"), valid_from=date(year, 1, 1)
        )
    assert _queries_for_rules(owner_client, campaign) == few
    with django_assert_max_num_queries(RULES_QUERY_BOUND):
        owner_client.get(_url("tax-rules", campaign))


def test_owner_adds_a_province_rate_typed_as_its_short_code(owner_client, seeded):
    response = owner_client.post(
        _url("tax-rule-create", seeded),
        {
            "country": "CA",
            "region": "bc",
            "name": "GST",
            "rate": "5",
            "applies_to_goods": "on",
            "applies_to_shipping": "on",
            "valid_from": "2027-01-01",
        },
    )
    assert response.status_code == 302
    rate = TaxRate.objects.get(campaign=seeded, region="CA-BC")
    assert (rate.rate, rate.applies_to_digital) == (D("5"), False)


def test_a_region_of_another_country_is_refused_next_to_the_field(owner_client, seeded):
    response = owner_client.post(
        _url("tax-rule-create", seeded),
        {"country": "DE", "region": "CA-ON", "name": "VAT", "rate": "19"},
    )
    assert response.status_code == 400
    assert "region" in response.context["form"].errors


def test_a_second_rate_for_the_same_day_is_refused_next_to_the_date(owner_client, seeded):
    response = owner_client.post(
        _url("tax-rule-create", seeded),
        {"country": "DE", "name": "VAT", "rate": "20", "valid_from": "2021-01-01"},
    )
    assert response.status_code == 400
    assert "already has a rate" in response.context["form"].errors["valid_from"][0]


def test_a_rate_above_100_percent_is_refused(owner_client, seeded):
    response = owner_client.post(
        _url("tax-rule-create", seeded), {"country": "DE", "name": "VAT", "rate": "120"}
    )
    assert response.status_code == 400
    assert "rate" in response.context["form"].errors


def test_owner_edits_a_rate(owner_client, seeded):
    germany = TaxRate.objects.get(campaign=seeded, country="DE", valid_from=GERMAN_19)
    response = owner_client.post(
        _url("tax-rule-edit", seeded, germany.pk),
        {
            "country": "DE",
            "name": "MwSt",
            "rate": "19",
            "applies_to_goods": "on",
            "valid_from": "2021-01-01",
        },
    )
    assert response.status_code == 302
    germany.refresh_from_db()
    assert (germany.name, germany.applies_to_shipping) == ("MwSt", False)


def test_owner_deletes_a_rate(owner_client, seeded):
    france = TaxRate.objects.get(campaign=seeded, country="FR")
    response = owner_client.post(_url("tax-rule-delete", seeded, france.pk))
    assert response.status_code == 302
    assert not TaxRate.objects.filter(pk=france.pk).exists()


# --- who may do what -------------------------------------------------------------------


def test_support_sees_the_rules_without_change_buttons(client, organization, seeded):
    response = _login(client, organization, Role.SUPPORT).get(_url("tax-rules", seeded))
    assert response.status_code == 200
    assert "Add a rate" not in response.content.decode()


@pytest.mark.parametrize(
    "name", ["tax-rules-seed", "tax-rule-create", "tax-settings", "tax-exchange-rates"]
)
def test_support_cannot_change_tax_tables(client, organization, campaign, name):
    response = _login(client, organization, Role.SUPPORT).post(_url(name, campaign), {})
    assert response.status_code == 403
    assert not TaxRate.objects.filter(campaign=campaign).exists()


def test_support_cannot_delete_a_rate(client, organization, seeded):
    germany = TaxRate.objects.get(campaign=seeded, country="DE", valid_from=GERMAN_19)
    response = _login(client, organization, Role.SUPPORT).post(
        _url("tax-rule-delete", seeded, germany.pk)
    )
    assert response.status_code == 403
    assert TaxRate.objects.filter(pk=germany.pk).exists()


@pytest.mark.parametrize("name", ["tax-rules", "tax-settings", "tax-calculator"])
def test_warehouse_cannot_see_tax_pages(client, organization, campaign, name):
    response = _login(client, organization, Role.WAREHOUSE).get(_url(name, campaign))
    assert response.status_code == 403


@pytest.mark.parametrize(("role", "shown"), [(Role.MANAGER, True), (Role.WAREHOUSE, False)])
def test_tax_stage_is_in_the_menu_of_roles_that_may_see_it(
    client, organization, campaign, role, shown
):
    response = _login(client, organization, role).get(_url("campaign-overview", campaign))
    assert (_url("tax-rules", campaign) in response.content.decode()) is shown


def test_outsiders_posts_change_no_tax_table(outsider_client, seeded):
    germany = TaxRate.objects.get(campaign=seeded, country="DE", valid_from=GERMAN_19)
    outsider_client.post(_url("tax-rule-delete", seeded, germany.pk))
    outsider_client.post(_url("tax-settings", seeded), {"ioss_number": "IM2760000001"})
    assert TaxRate.objects.filter(pk=germany.pk).exists()
    assert not TaxSettings.objects.filter(campaign=seeded).exists()


# --- settings --------------------------------------------------------------------------

SETTINGS = {
    "prices_include_tax": "on",
    "tax_on_pledged_rewards": "on",
    "seller_name": "Tiny Studio",
    "seller_address": "1 Main St\nPortland",
    "seller_country": "US",
    "ioss_number": "im 276 000 0001",
    "uk_vat_number": "980 7806 84",
    "voec_number": "voec 2012345",
    "abn": "51 824 753 556",
}


def test_settings_are_saved_with_numbers_in_compact_form(owner_client, campaign):
    response = owner_client.post(_url("tax-settings", campaign), SETTINGS)
    assert response.status_code == 302
    saved = TaxSettings.objects.get(campaign=campaign)
    assert (saved.ioss_number, saved.uk_vat_number, saved.voec_number, saved.abn) == (
        "IM2760000001",
        "GB980780684",
        "VOEC2012345",
        "51824753556",
    )
    assert saved.prices_include_tax and not saved.ddp_above_threshold


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ioss_number", "IM27600000"),
        ("ioss_number", "EU2760000001"),
        ("uk_vat_number", "GB980780685"),
        ("voec_number", "VOEC201234"),
        ("abn", "51824753557"),
    ],
)
def test_a_malformed_number_is_refused_next_to_its_field(owner_client, campaign, field, value):
    response = owner_client.post(_url("tax-settings", campaign), {**SETTINGS, field: value})
    assert response.status_code == 400
    assert list(response.context["form"].errors) == [field]
    assert not TaxSettings.objects.filter(campaign=campaign).exists()


def test_support_sees_the_settings_read_only(client, organization, campaign):
    response = _login(client, organization, Role.SUPPORT).get(_url("tax-settings", campaign))
    assert response.status_code == 200
    assert all(field.disabled for field in response.context["form"].fields.values())


# --- exchange rates --------------------------------------------------------------------


def test_owner_sets_an_exchange_rate_from_the_campaign_currency(owner_client, campaign):
    response = owner_client.post(
        _url("tax-exchange-rates", campaign),
        {"quote_currency": "EUR", "rate": "0.9231", "valid_from": "2026-11-01"},
    )
    assert response.status_code == 302
    fx = ExchangeRate.objects.get(campaign=campaign)
    assert (fx.base_currency, fx.quote_currency, fx.rate) == ("USD", "EUR", D("0.9231"))


def test_the_campaign_currency_is_not_offered_as_a_target(owner_client, organization):
    campaign = CampaignFactory(organization=organization, currency="GBP")
    response = owner_client.get(_url("tax-exchange-rates", campaign))
    choices = [c for c, _ in response.context["form"].fields["quote_currency"].choices]
    assert choices == ["EUR", "AUD", "NOK"]


def test_owner_deletes_an_exchange_rate(owner_client, campaign):
    fx = taxes.set_exchange_rate(
        campaign=campaign, quote_currency="EUR", rate=D("0.9"), valid_from=date(2026, 1, 1)
    )
    owner_client.post(_url("tax-exchange-rate-delete", campaign, fx.pk))
    assert not ExchangeRate.objects.filter(pk=fx.pk).exists()


# --- calculator ------------------------------------------------------------------------


def _calculate(client, campaign, lines, **fields):
    data = {
        "country": "DE",
        "region": "",
        "on": "2026-12-01",
        "vat_number": "",
        "line-TOTAL_FORMS": str(len(lines)),
        "line-INITIAL_FORMS": str(len(lines)),
        **fields,
    }
    for n, (kind, amount, pledged) in enumerate(lines):
        data[f"line-{n}-kind"] = kind
        data[f"line-{n}-amount"] = amount
        if pledged:
            data[f"line-{n}-is_pledged_reward"] = "on"
    return client.get(_url("tax-calculator", campaign), data)


@pytest.fixture
def ioss_campaign(seeded):
    taxes.update_tax_settings(
        campaign=seeded, ioss_number="IM2760000001", seller_name="Tiny Studio"
    )
    taxes.set_exchange_rate(
        campaign=seeded, quote_currency="EUR", rate=D("0.9"), valid_from=date(2026, 1, 1)
    )
    return seeded


def test_calculator_starts_with_example_lines(owner_client, campaign):
    response = owner_client.get(_url("tax-calculator", campaign))
    assert response.status_code == 200
    assert response.context["quote"] is None
    assert len(response.context["lines"].forms) == 6


def test_calculator_quotes_a_parcel_with_its_regime_and_explanation(owner_client, ioss_campaign):
    response = _calculate(
        owner_client, ioss_campaign, [("goods", "100.00", True), ("shipping", "10.00", False)]
    )
    assert response.status_code == 200
    quote = response.context["quote"]
    assert (quote.regime, quote.tax_total, quote.total) == ("eu_ioss", D("20.90"), D("130.90"))
    page = response.content.decode()
    assert "IM2760000001" in page
    assert "is within the EU IOSS limit" in page


def test_calculator_skips_empty_lines(owner_client, ioss_campaign):
    response = _calculate(
        owner_client, ioss_campaign, [("goods", "10.00", False), ("goods", "", False)]
    )
    assert len(response.context["quote"].lines) == 1


def test_calculator_shows_reverse_charge_on_the_invoice(owner_client, ioss_campaign):
    response = _calculate(
        owner_client, ioss_campaign, [("goods", "100.00", False)], vat_number="DE136695976"
    )
    assert response.context["quote"].regime == "reverse_charge"
    assert "Reverse charge: VAT to be accounted for by the customer" in response.content.decode()


def test_calculator_puts_an_invalid_vat_number_error_on_its_field(owner_client, ioss_campaign):
    response = _calculate(
        owner_client, ioss_campaign, [("goods", "100.00", False)], vat_number="DE123"
    )
    assert response.status_code == 400
    assert "vat_number" in response.context["form"].errors
    assert response.context["quote"] is None


def test_calculator_says_which_exchange_rate_is_missing(owner_client, seeded):
    response = _calculate(owner_client, seeded, [("goods", "100.00", False)])
    assert response.status_code == 400
    assert "Set a USD → EUR exchange rate valid on 2026-12-01" in response.content.decode()
    assert _url("tax-exchange-rates", seeded) in response.content.decode()


def test_calculator_asks_for_at_least_one_amount(owner_client, ioss_campaign):
    response = _calculate(owner_client, ioss_campaign, [("goods", "", False)])
    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == ["Enter at least one amount."]


def test_support_may_use_the_calculator(client, organization, ioss_campaign):
    _login(client, organization, Role.SUPPORT)
    response = _calculate(client, ioss_campaign, [("goods", "10.00", False)])
    assert response.status_code == 200
    assert response.context["quote"] is not None
