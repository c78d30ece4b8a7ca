"""The late-pledge store never oversells: 20 buyers race for the last 5 late
rewards on PostgreSQL, each in its own connection and transaction."""

import threading

import pytest
from django.db import connection, connections
from djmoney.money import Money

from pledges.models import BackerSource, Pledge
from surveys.models import LateReward
from surveys.services.late_pledges import LateSoldOut, create_late_pledge
from tests.factories import CampaignFactory, RewardFactory, SurveyFactory

BUYERS = 20
STOCK = 7
SOLD_BEFORE = 2  # the race is for the last STOCK - SOLD_BEFORE = 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_buyers_for_the_last_five_late_rewards_exactly_five_succeed():
    campaign = CampaignFactory()
    survey = SurveyFactory(campaign=campaign, status="live", late_pledges_enabled=True)
    reward = RewardFactory(campaign=campaign, title="Core box")
    LateReward.objects.create(
        survey=survey, reward=reward, price=Money("79.00", "USD"), stock_limit=STOCK
    )

    def pledge(n: int):
        return create_late_pledge(
            survey=survey,
            reward=reward,
            name=f"Buyer {n}",
            email=f"buyer{n}@example.net",
            country="DE",
        )

    for n in range(SOLD_BEFORE):
        pledge(1000 + n)
    start = threading.Barrier(BUYERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def buy(n: int) -> None:
        try:
            start.wait()
            try:
                pledge(n)
                outcome = "bought"
            except LateSoldOut:
                outcome = "sold out"
            with lock:
                outcomes.append(outcome)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=buy, args=(n,)) for n in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert connection.vendor == "postgresql"
    assert len(outcomes) == BUYERS
    assert outcomes.count("bought") == STOCK - SOLD_BEFORE
    assert outcomes.count("sold out") == BUYERS - (STOCK - SOLD_BEFORE)
    sold = Pledge.objects.filter(reward=reward, backer__source=BackerSource.LATE_PLEDGE)
    assert sold.count() == STOCK
