"""Merging two orders of the same person (pledges on several platforms)."""

import pytest

from orders.errors import OrderLocked
from orders.errors_build import MergeNotAllowed
from orders.models import EventKind, OrderEvent, OrderState
from orders.services.building import build_order, merge_orders
from orders.services.states import change_state
from tests.factories import CampaignFactory, OrderFactory, PledgeFactory, UserFactory

from .conftest_bld import bld_fresh_catalog_cache, bld_world, checked, make_response  # noqa: F401

pytestmark = pytest.mark.django_db


def _pair(w):
    red = w.colour.options.get(label="Red").pk
    first = make_response(w, choices={w.colour.pk: [red]}, completed=True)
    second = make_response(w, choices={w.colour.pk: [red]}, cart=[(w.offer, 1)], completed=True)
    return (
        first,
        checked(build_order(response=first)),
        second,
        checked(build_order(response=second)),
    )


def test_merging_moves_the_lines_into_the_kept_order(w):
    _, keep, _, merge = _pair(w)
    merge_lines = merge.lines.count()
    keep_lines = keep.lines.count()
    merge_orders(keep=keep, merge=merge, actor=UserFactory())
    assert keep.lines.count() == keep_lines + merge_lines
    assert merge.lines.count() == 0


def test_the_merged_order_is_cancelled_and_points_to_the_kept_one(w):
    _, keep, _, merge = _pair(w)
    merge_orders(keep=keep, merge=merge, actor=UserFactory())
    merge.refresh_from_db()
    assert (merge.state, merge.merged_into) == (OrderState.CANCELLED, keep)


def test_merging_is_logged_on_both_orders(w):
    _, keep, _, merge = _pair(w)
    user = UserFactory()
    merge_orders(keep=keep, merge=merge, actor=user)
    kept = OrderEvent.objects.get(order=keep, kind=EventKind.MERGE)
    merged = OrderEvent.objects.get(order=merge, kind=EventKind.MERGE)
    assert (kept.actor, kept.after["merged_order"]) == (user, merge.number)
    assert merged.after["merged_into"] == keep.number


def test_the_kept_order_adds_up_the_money_of_both(w):
    _, keep, _, merge = _pair(w)
    kept = merge_orders(keep=keep, merge=merge, actor=UserFactory())
    assert kept.goods_total == merge.goods_total + keep.goods_total


def test_a_rebuild_of_the_kept_order_keeps_the_merged_lines(w):
    first, keep, _, merge = _pair(w)
    merge_orders(keep=keep, merge=merge, actor=UserFactory())
    count = keep.lines.count()
    build_order(response=first)
    assert keep.lines.count() == count


def test_a_rebuild_from_the_merged_backers_survey_rebuilds_the_kept_order(w):
    _, keep, second, merge = _pair(w)
    merge_orders(keep=keep, merge=merge, actor=UserFactory())
    assert build_order(response=second).pk == keep.pk


def test_an_order_cannot_be_merged_into_itself(w):
    _, keep, _, _ = _pair(w)
    with pytest.raises(MergeNotAllowed):
        merge_orders(keep=keep, merge=keep, actor=UserFactory())


def test_orders_of_other_campaigns_cannot_be_merged(w):
    _, keep, _, _ = _pair(w)
    other = OrderFactory(backer=PledgeFactory(backer__campaign=CampaignFactory()).backer)
    with pytest.raises(MergeNotAllowed):
        merge_orders(keep=keep, merge=other, actor=UserFactory())


def test_a_locked_order_cannot_be_merged(w):
    _, keep, _, merge = _pair(w)
    change_state(order=merge, to=OrderState.LOCKED)
    with pytest.raises(OrderLocked):
        merge_orders(keep=keep, merge=merge, actor=UserFactory())


def test_an_order_with_money_paid_on_it_is_not_merged_away(w):
    from .conftest_payments import captured_payment

    _, keep, _, merge = _pair(w)
    captured_payment(merge, "10.00")
    with pytest.raises(MergeNotAllowed, match=f"merge order {keep.number} into it instead"):
        merge_orders(keep=keep, merge=merge, actor=UserFactory())
    merge.refresh_from_db()
    assert (merge.state, merge.merged_into) != (OrderState.CANCELLED, keep)
    assert merge.lines.exists()


def test_merged_the_other_way_the_payment_still_counts(w):
    from .conftest_payments import captured_payment

    _, unpaid, _, paid = _pair(w)
    captured_payment(paid, "10.00")
    kept = merge_orders(keep=paid, merge=unpaid, actor=UserFactory())
    assert kept.paid_total.amount == 10
    expected = kept.total.amount - kept.credit_applied.amount - 10
    assert kept.balance_due.amount == max(expected, 0)
