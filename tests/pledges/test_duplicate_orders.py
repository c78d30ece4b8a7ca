"""A duplicate group's decision reaches the orders: kept apart, each backer's order
is rebuilt and the duplicate hold goes; merged, the merged backer's order is merged
into the primary's (one live order)."""

import pytest
from django.urls import reverse

from orders.models import EventKind, HoldReason, Order, OrderHold, OrderState
from orders.services.building import build_order
from orders.services.states import change_state
from pledges.duplicates import keep_apart, merge_duplicates
from pledges.models import Backer, DuplicateGroup, DuplicateReason
from tests.factories import UserFactory
from tests.orders.conftest_bld import (  # noqa: F401
    bld_fresh_catalog_cache,
    bld_world,
    make_response,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def twins(w):
    """Two backers of one open duplicate group, each with a completed survey and an order
    (on the duplicate hold)."""
    red = w.colour.options.get(label="Red").pk
    first = make_response(w, choices={w.colour.pk: [red]}, completed=True)
    second = make_response(w, choices={w.colour.pk: [red]}, cart=[(w.offer, 1)], completed=True)
    group = DuplicateGroup.objects.create(
        campaign=w.campaign, reason=DuplicateReason.SAME_EMAIL, key="twin@example.net"
    )
    Backer.objects.filter(pk__in=[first.backer_id, second.backer_id]).update(duplicate_group=group)
    orders = [build_order(response=first), build_order(response=second)]
    return group, [first.backer, second.backer], orders


def _duplicate_hold_open(order) -> bool:
    return OrderHold.objects.filter(
        order=order, reason=HoldReason.DUPLICATE_BACKER, cleared_at__isnull=True
    ).exists()


def test_the_twins_orders_start_on_the_duplicate_hold(twins):
    _, _, orders = twins
    assert all(_duplicate_hold_open(order) for order in orders)


def test_keeping_apart_clears_the_duplicate_hold_of_each_order(twins):
    group, _, orders = twins
    keep_apart(group=group, actor=UserFactory(), note="Siblings")
    assert not any(_duplicate_hold_open(order) for order in orders)


def test_keeping_apart_leaves_two_live_orders(twins):
    group, _, orders = twins
    keep_apart(group=group, actor=UserFactory())
    states = set(
        Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("state", flat=True)
    )
    assert OrderState.CANCELLED not in states


def test_merging_merges_the_merged_backers_order_into_the_primarys(twins):
    group, (primary, other), (keep, merged) = twins
    merge_duplicates(group=group, primary=primary, actor=UserFactory())
    merged.refresh_from_db()
    assert (merged.state, merged.merged_into_id) == (OrderState.CANCELLED, keep.pk)


def test_after_merging_the_primarys_order_carries_both_pledges_and_no_duplicate_hold(twins):
    group, (primary, _), (keep, merged) = twins
    lines = keep.lines.count() + merged.lines.count()
    merge_duplicates(group=group, primary=primary, actor=UserFactory())
    assert keep.lines.count() == lines
    assert not _duplicate_hold_open(keep)


def test_merging_into_a_primary_without_an_order_builds_one_first(twins):
    group, (primary, _), (keep, merged) = twins
    keep.delete()
    merge_duplicates(group=group, primary=primary, actor=UserFactory())
    merged.refresh_from_db()
    kept = Order.objects.get(backer=primary, kind="standard")
    assert merged.merged_into_id == kept.pk


def test_a_locked_order_stays_apart_with_a_note_when_its_backer_is_merged(twins):
    group, (primary, _), (keep, merged) = twins
    change_state(order=merged, to=OrderState.READY)
    change_state(order=merged, to=OrderState.LOCKED)
    backers = merge_duplicates(group=group, primary=primary, actor=UserFactory())
    merged.refresh_from_db()
    assert [b.pk for b in backers] == [merged.backer_id]
    assert (merged.state, merged.merged_into_id) == (OrderState.LOCKED, None)
    note = merged.events.get(kind=EventKind.NOTE)
    assert "not merged" in note.message


def test_backers_without_orders_get_none_from_a_decision(w):
    first = make_response(w)
    second = make_response(w)
    group = DuplicateGroup.objects.create(
        campaign=w.campaign, reason=DuplicateReason.SAME_EMAIL, key="x@example.net"
    )
    Backer.objects.filter(pk__in=[first.backer_id, second.backer_id]).update(duplicate_group=group)
    keep_apart(group=group, actor=UserFactory())
    assert not Order.objects.filter(campaign=w.campaign).exists()


def test_the_keep_apart_page_clears_the_duplicate_holds(client, owner, twins):
    group, _, orders = twins
    client.force_login(owner)
    response = client.post(
        reverse("duplicate-keep-apart", args=[group.campaign.slug, group.pk]), {"note": "Two"}
    )
    assert response.status_code == 302
    assert not any(_duplicate_hold_open(order) for order in orders)


def test_the_merge_page_leaves_one_live_order(client, owner, twins):
    group, (primary, _), (keep, merged) = twins
    client.force_login(owner)
    client.post(
        reverse("duplicate-merge", args=[group.campaign.slug, group.pk]), {"primary": primary.pk}
    )
    live = Order.objects.filter(campaign=group.campaign).exclude(state=OrderState.CANCELLED)
    assert list(live.values_list("pk", flat=True)) == [keep.pk]
