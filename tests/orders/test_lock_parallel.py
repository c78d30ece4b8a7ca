"""A large lock on PostgreSQL runs on several connections over disjoint id ranges:
every ready order still locks exactly once, with one state event and its response
read-only, and a segment lock stays inside the segment."""

import pytest

from orders.models import EventKind, OrderEvent, OrderState, Segment
from orders.services import locking
from orders.services.locking import lock_orders, segment_orders
from surveys.models import SurveyResponse
from tests.factories import CampaignFactory

from .test_lock import order_in

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
S = OrderState


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(locking, "LOCK_BATCH", 3)
    monkeypatch.setattr(locking, "LOCK_PARALLEL_FROM", 4)
    monkeypatch.setattr(locking, "LOCK_WORKERS", 2)


def test_parallel_lock_locks_every_ready_order_once(small_batches, monkeypatch):
    campaign = CampaignFactory()
    ready = [order_in(campaign, invite=True) for _ in range(13)]
    held = order_in(campaign, state=S.SUBMITTED)
    ranges = []
    real = locking._lock_range
    monkeypatch.setattr(
        locking,
        "_lock_range",
        lambda **kw: ranges.append((kw["after"], kw["upto"])) or real(**kw),
    )
    progressed = []
    result = lock_orders(campaign=campaign, actor="bench", progress=progressed.append)
    assert len(ranges) == 2  # two workers, split at the middle ready order
    assert result.locked == 13 and sum(progressed) == 13
    states = dict(campaign.orders.values_list("pk", "state"))
    assert {states[o.pk] for o in ready} == {S.LOCKED} and states[held.pk] == S.SUBMITTED
    events = OrderEvent.objects.filter(order__campaign=campaign, kind=EventKind.STATE)
    assert sorted(events.values_list("order_id", flat=True)) == sorted(o.pk for o in ready)
    assert (
        SurveyResponse.objects.filter(
            pk__in=[o.response_id for o in ready], locked_at__isnull=True
        ).count()
        == 0
    )


def test_parallel_lock_of_a_segment_leaves_the_rest(small_batches):
    campaign = CampaignFactory()
    german = [order_in(campaign, country="DE") for _ in range(9)]
    french = [order_in(campaign, country="FR") for _ in range(5)]
    segment = Segment.objects.create(campaign=campaign, name="de", filters={"country": "DE"})
    result = lock_orders(campaign=campaign, orders=segment_orders(segment=segment))
    assert result.locked == 9
    states = dict(campaign.orders.values_list("pk", "state"))
    assert {states[o.pk] for o in german} == {S.LOCKED}
    assert {states[o.pk] for o in french} == {S.READY}
