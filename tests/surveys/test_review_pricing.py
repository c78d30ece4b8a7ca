"""The survey's money with the campaign's shipping and tax tables: fee by zone,
platform shipping credited, VAT added (or inside the prices), import tax noted,
and a destination the campaign does not ship to stopping the confirmation."""

from datetime import date
from decimal import Decimal

import pytest

from orders.services.taxes import seed_tax_rates, set_exchange_rate, update_tax_settings
from shipping.services.fees import save_reward_fees
from shipping.services.profiles import set_excluded_countries, update_shipping_method
from shipping.services.zones import create_zone
from surveys.services.responses import open_invite, quote_for, update_cart
from tests.surveys.backer_setup import GERMAN_ADDRESS, build_world, open_survey, step_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(campaign):
    return build_world(campaign)


def _ship(w, *, eu="12.00", rest="25.00"):
    update_shipping_method(
        campaign=w.campaign,
        method="flat_per_reward",
        use_volumetric=False,
        credit_platform_shipping=True,
    )
    eu_zone = create_zone(campaign=w.campaign, name="EU", countries=["DE", "FR", "AT"])
    world = create_zone(campaign=w.campaign, name="World", is_rest_of_world=True)
    save_reward_fees(
        campaign=w.campaign, fees={(w.reward.pk, eu_zone.pk): eu, (w.reward.pk, world.pk): rest}
    )


def _tax(w, **settings):
    seed_tax_rates(campaign=w.campaign)
    set_exchange_rate(
        campaign=w.campaign, quote_currency="EUR", rate=Decimal("0.92"), valid_from=date(2020, 1, 1)
    )
    update_tax_settings(campaign=w.campaign, ioss_number="IM2760000001", **settings)


def _response(w, invite, *, country="DE", address=None):
    response = open_invite(invite=invite)
    response.address = address or {**GERMAN_ADDRESS, "country_code": country}
    response.address_country = country
    response.save()
    return response


def test_without_tables_nothing_is_added(w):
    quote = quote_for(response=_response(w, w.bob), survey=w.survey)
    assert not quote.shipping_configured and not quote.tax_configured
    assert quote.balance_due == Decimal("0")


def test_the_zone_fee_is_charged_less_the_shipping_paid_on_the_platform(w):
    _ship(w)
    bob = quote_for(response=_response(w, w.bob), survey=w.survey)
    assert (bob.shipping_fee, bob.shipping_credited, bob.shipping) == (
        Decimal("12.00"),
        Decimal("0.00"),
        Decimal("12.00"),
    )
    assert bob.shipping_zone == "EU"
    alice = quote_for(response=_response(w, w.alice), survey=w.survey)
    # Alice paid 10.00 shipping on the platform and has 31.00 of credit: 2.00 due, paid by credit.
    assert (alice.shipping, alice.credit_applied, alice.balance_due) == (
        Decimal("2.00"),
        Decimal("2.00"),
        Decimal("0"),
    )


def test_rest_of_the_world_takes_its_own_fee(w):
    _ship(w)
    quote = quote_for(response=_response(w, w.bob, country="US"), survey=w.survey)
    assert quote.shipping == Decimal("25.00") and quote.shipping_zone == "World"


def test_an_excluded_country_blocks_the_order_with_the_reason(w):
    _ship(w)
    set_excluded_countries(campaign=w.campaign, countries=["RU"])
    quote = quote_for(response=_response(w, w.bob, country="RU"), survey=w.survey)
    assert quote.shipping_error and quote.blocking_error == quote.shipping_error
    assert quote.shipping == Decimal("0")


def test_before_an_address_the_pledge_country_gives_an_estimate(w):
    _ship(w)
    response = open_invite(invite=w.bob)
    quote = quote_for(response=response, survey=w.survey)
    assert quote.estimated and quote.destination == "DE"
    assert quote.shipping == Decimal("12.00")


def test_eu_vat_is_added_to_tax_exclusive_prices_under_ioss(w):
    _ship(w)
    _tax(w, prices_include_tax=False, tax_on_pledged_rewards=True)
    response = _response(w, w.bob)
    update_cart(response=response, survey=w.survey, quantities={w.mat.pk: 1})
    quote = quote_for(response=response, survey=w.survey)
    # Germany 19 %: reward 59.00 (pledged) + playmat 15.00 + shipping 12.00 = 86.00 → 16.34.
    assert quote.tax_collected and quote.customs_number == "IM2760000001"
    assert quote.tax == Decimal("16.34") and quote.tax_added == Decimal("16.34")
    assert quote.balance_due == Decimal("15.00") + Decimal("12.00") + Decimal("16.34")


def test_only_the_survey_purchases_are_taxed_when_the_creator_says_so(w):
    _ship(w)
    _tax(w, prices_include_tax=False, tax_on_pledged_rewards=False)
    response = _response(w, w.bob)
    update_cart(response=response, survey=w.survey, quantities={w.mat.pk: 1})
    quote = quote_for(response=response, survey=w.survey)
    # 19 % of playmat 15.00 + shipping 12.00 = 5.13
    assert quote.tax_added == Decimal("5.13")


def test_tax_inclusive_prices_add_nothing_and_show_the_tax_inside(w):
    _ship(w)
    _tax(w, prices_include_tax=True, tax_on_pledged_rewards=True)
    response = _response(w, w.bob)
    quote = quote_for(response=response, survey=w.survey)
    assert quote.tax > 0 and quote.tax_added == Decimal("0") and quote.tax_included
    assert quote.balance_due == Decimal("12.00")


def test_above_the_ioss_limit_vat_is_left_to_the_border(w):
    _ship(w)
    _tax(w, prices_include_tax=False, tax_on_pledged_rewards=True)
    response = _response(w, w.alice)
    update_cart(response=response, survey=w.survey, quantities={w.mat.pk: 3, w.coin.pk: 3})
    quote = quote_for(response=response, survey=w.survey)
    # Goods 59 + 45 + 60 = 164 USD = 150.88 EUR > 150: import VAT at delivery.
    assert quote.import_tax_at_delivery and not quote.tax_collected
    assert quote.tax_added == Decimal("0")


def test_the_review_page_shows_fee_tax_and_the_import_note(client, w):
    _ship(w)
    _tax(w, prices_include_tax=False, tax_on_pledged_rewards=True)
    _response(w, w.bob)
    open_survey(client, w.bob)
    page = client.get(step_path(w.campaign, "review")).content.decode()
    assert "Shipping to DE" in page and "12.00" in page
    assert "13.49" in page  # 19 % of 59.00 reward + 12.00 shipping
    assert "nothing more to pay on delivery" in page


def test_the_review_page_names_a_country_the_campaign_does_not_ship_to(client, w):
    _ship(w)
    set_excluded_countries(campaign=w.campaign, countries=["RU"])
    _response(w, w.bob, country="RU")
    open_survey(client, w.bob)
    page = client.get(step_path(w.campaign, "review")).content.decode()
    assert "Please check the country of your shipping address." in page


def test_confirming_an_order_to_a_country_not_shipped_to_is_refused(client, w):
    from inventory import bom
    from surveys.errors import SurveyIncomplete
    from surveys.services.responses import complete_survey, pledge_of, steps_for

    _ship(w)
    set_excluded_countries(campaign=w.campaign, countries=["RU"])
    response = _response(w, w.bob, country="RU")
    response.choices = {str(w.group.pk): [w.opt_red.pk]}
    response.steps_done = [
        s
        for s in steps_for(
            response=response,
            survey=w.survey,
            pledge=pledge_of(response),
            catalog=bom.load_catalog(campaign=w.campaign),
        )
    ]
    response.save()
    with pytest.raises(SurveyIncomplete) as refused:
        complete_survey(response=response, survey=w.survey, steps=response.steps_done)
    assert refused.value.field == "address"
    response.refresh_from_db()
    assert response.completed_at is None
