"""A stock-limited offer counts its sold units in one number (AddOnOffer.sold_units),
which update_cart keeps under the offer's row lock: buying, changing and removing
units move it, test responses never do, and editing the offer never resets it."""

import pytest
from djmoney.money import Money

from surveys.errors import OutOfStock
from surveys.models import AddOnOffer
from surveys.services.addons import update_addon_offer
from surveys.services.responses import open_invite, stock_left, update_cart
from tests.factories import AddOnOfferFactory, CampaignFactory, SurveyFactory, SurveyInviteFactory


@pytest.fixture
def survey(db):
    return SurveyFactory(campaign=CampaignFactory(), status="live")


@pytest.fixture
def coins(survey):
    return AddOnOfferFactory(
        campaign=survey.campaign, name="Metal coins", price=Money("20.00", "USD"), stock_limit=5
    )


def buyer(survey, *, test=False):
    return open_invite(invite=SurveyInviteFactory(survey=survey, is_test=test))


def sold(offer) -> int:
    return AddOnOffer.objects.get(pk=offer.pk).sold_units


def test_buying_adds_the_units_to_the_offer(survey, coins):
    update_cart(response=buyer(survey), survey=survey, quantities={coins.pk: 2})
    update_cart(response=buyer(survey), survey=survey, quantities={coins.pk: 1})
    assert sold(coins) == 3


def test_lowering_and_removing_give_the_units_back(survey, coins):
    response = buyer(survey)
    update_cart(response=response, survey=survey, quantities={coins.pk: 3})
    update_cart(response=response, survey=survey, quantities={coins.pk: 1})
    assert sold(coins) == 1
    update_cart(response=response, survey=survey, quantities={coins.pk: 0})
    assert sold(coins) == 0


def test_a_test_response_takes_no_stock(survey, coins):
    update_cart(response=buyer(survey, test=True), survey=survey, quantities={coins.pk: 5})
    assert sold(coins) == 0


def test_units_given_back_can_be_bought_by_another_backer(survey, coins):
    first = buyer(survey)
    update_cart(response=first, survey=survey, quantities={coins.pk: 5})
    second = buyer(survey)
    with pytest.raises(OutOfStock):
        update_cart(response=second, survey=survey, quantities={coins.pk: 1})
    update_cart(response=first, survey=survey, quantities={coins.pk: 4})
    update_cart(response=second, survey=survey, quantities={coins.pk: 1})
    assert sold(coins) == 5


def test_stock_left_counts_other_backers_units_only(survey, coins):
    mine = buyer(survey)
    update_cart(response=mine, survey=survey, quantities={coins.pk: 2})
    update_cart(response=buyer(survey), survey=survey, quantities={coins.pk: 1})
    assert stock_left(offers=[coins], response=mine) == {coins.pk: 4}


def test_editing_an_offer_keeps_the_units_sold_meanwhile(survey, coins, owner):
    page_copy = AddOnOffer.objects.get(pk=coins.pk)  # read when the edit form opened
    update_cart(response=buyer(survey), survey=survey, quantities={coins.pk: 2})
    update_addon_offer(
        offer=page_copy, actor=owner, name="Metal coins", price=Money("22.00", "USD"),
        description="", stock_limit=8, per_backer_limit=None, tiers=[], opens_at=None,
        closes_at=None, is_active=True,
    )  # fmt: skip
    assert sold(coins) == 2
