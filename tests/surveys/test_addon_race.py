"""The add-on store never oversells: 50 backers race for the last 10 units on
PostgreSQL, each in its own connection and transaction."""

import threading

import pytest
from django.db import connection, connections
from djmoney.money import Money

from surveys.errors import OutOfStock
from surveys.models import CartLine, SurveyResponse
from surveys.services.responses import open_invite, update_cart
from tests.factories import AddOnOfferFactory, CampaignFactory, SurveyFactory, SurveyInviteFactory

BUYERS = 50
STOCK = 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_buyers_for_the_last_ten_units_never_oversell():
    campaign = CampaignFactory()
    survey = SurveyFactory(campaign=campaign, status="live")
    offer = AddOnOfferFactory(
        campaign=campaign, name="Metal coins", price=Money("20.00", "USD"), stock_limit=STOCK
    )
    responses = [open_invite(invite=SurveyInviteFactory(survey=survey)) for _ in range(BUYERS)]
    start = threading.Barrier(BUYERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def buy(response: SurveyResponse) -> None:
        try:
            start.wait()
            try:
                update_cart(response=response, survey=survey, quantities={offer.pk: 1})
                outcome = "bought"
            except OutOfStock:
                outcome = "sold out"
            with lock:
                outcomes.append(outcome)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=buy, args=(r,)) for r in responses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert connection.vendor == "postgresql"
    assert len(outcomes) == BUYERS
    assert outcomes.count("bought") == STOCK
    assert outcomes.count("sold out") == BUYERS - STOCK
    assert sum(CartLine.objects.filter(offer=offer).values_list("quantity", flat=True)) == STOCK


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_backer_raising_their_own_quantity_counts_only_others_units():
    campaign = CampaignFactory()
    survey = SurveyFactory(campaign=campaign, status="live")
    offer = AddOnOfferFactory(campaign=campaign, price=Money("5.00", "USD"), stock_limit=3)
    mine = open_invite(invite=SurveyInviteFactory(survey=survey))
    update_cart(response=mine, survey=survey, quantities={offer.pk: 2})
    update_cart(response=mine, survey=survey, quantities={offer.pk: 3})
    other = open_invite(invite=SurveyInviteFactory(survey=survey))
    with pytest.raises(OutOfStock):
        update_cart(response=other, survey=survey, quantities={offer.pk: 1})
    assert CartLine.objects.get(response=mine).quantity == 3
