"""The order list (filters, keyset pages, bulk tags, segments) and one order's page
(money, lines, holds, address versions, timeline) with its staff actions."""

from decimal import Decimal

import pytest
from django.urls import reverse
from djmoney.money import Money

from accounts.models import Role
from orders.events import order_event_create
from orders.models import (
    AddressStatus,
    EventKind,
    HoldReason,
    Order,
    OrderEvent,
    OrderState,
    Segment,
    Tag,
)
from orders.services.tags import create_tag, tag_orders
from tests.factories import CampaignFactory, OrderLineFactory, RewardFactory, UserFactory

from .conftest_pages import addon_line, address_of, client_as, hold_on, order_in

pytestmark = pytest.mark.django_db


def _list(client, campaign, **params):
    return client.get(reverse("order-list", args=[campaign.slug]), params)


def _numbers(response) -> list[int]:
    return [order.number for order in response.context["orders"]]


# --- the list ---------------------------------------------------------------------------


def test_list_shows_each_order_with_its_state_and_holds(owner_client, campaign):
    order = order_in(campaign, name="Grace Hopper", email="grace@example.org")
    hold_on(order, HoldReason.ADDRESS_INVALID)
    html = _list(owner_client, campaign).content.decode()
    assert "Grace Hopper" in html
    assert "grace@example.org" in html
    assert "Address invalid" in html
    assert reverse("order-detail", args=[campaign.slug, order.number]) in html


def test_list_filters_by_country(owner_client, campaign):
    de = order_in(campaign, country="DE")
    order_in(campaign, country="SE")
    assert _numbers(_list(owner_client, campaign, country="DE")) == [de.number]


def test_list_filters_by_reward(owner_client, campaign):
    reward = RewardFactory(campaign=campaign)
    picked = order_in(campaign, reward=reward)
    order_in(campaign)
    assert _numbers(_list(owner_client, campaign, reward=reward.pk)) == [picked.number]


def test_list_filters_by_addon_sku_on_addon_lines_only(owner_client, campaign):
    buyer = order_in(campaign)
    addon_line(buyer, "DICE-1")
    pledged = order_in(campaign)
    OrderLineFactory(order=pledged, source="reward", sku_code="DICE-1")
    assert _numbers(_list(owner_client, campaign, addon_sku="dice-1")) == [buyer.number]


def test_list_filters_by_open_hold_reason(owner_client, campaign):
    held = order_in(campaign)
    hold_on(held, HoldReason.PAYMENT_DUE)
    cleared = order_in(campaign)
    hold = hold_on(cleared, HoldReason.PAYMENT_DUE)
    hold.cleared_at = hold.opened_at
    hold.save()
    assert _numbers(_list(owner_client, campaign, hold="payment_due")) == [held.number]


def test_list_filters_by_several_states(owner_client, campaign):
    ready = order_in(campaign, state=OrderState.READY)
    locked = order_in(campaign, state=OrderState.LOCKED)
    order_in(campaign, state=OrderState.SUBMITTED)
    numbers = _numbers(_list(owner_client, campaign, state=["ready", "locked"]))
    assert numbers == [ready.number, locked.number]


def test_list_tag_filter_needs_all_the_tags(owner_client, campaign):
    vip, eu = create_tag(campaign=campaign, name="VIP"), create_tag(campaign=campaign, name="EU")
    both, only_vip = order_in(campaign), order_in(campaign)
    tag_orders(tag=vip, order_ids=[both.pk, only_vip.pk])
    tag_orders(tag=eu, order_ids=[both.pk])
    assert _numbers(_list(owner_client, campaign, tags=[vip.pk, eu.pk])) == [both.number]


@pytest.mark.parametrize(
    ("query", "field"), [("hopper", "name"), ("GRACE@", "email"), ("#{number}", "number")]
)
def test_list_search_finds_by_name_email_or_number(owner_client, campaign, query, field):
    wanted = order_in(campaign, name="Grace Hopper", email="grace@example.org")
    order_in(campaign, name="Alan Turing", email="alan@example.org")
    found = _numbers(_list(owner_client, campaign, q=query.format(number=wanted.number)))
    assert found == [wanted.number]


def test_list_filters_exported_yes_and_no(owner_client, campaign):
    from django.utils import timezone

    sent = order_in(campaign, exported_at=timezone.now())
    kept = order_in(campaign)
    assert _numbers(_list(owner_client, campaign, exported="yes")) == [sent.number]
    assert _numbers(_list(owner_client, campaign, exported="no")) == [kept.number]


def test_list_ignores_an_invalid_filter_value_and_says_so(owner_client, campaign):
    order = order_in(campaign, country="DE")
    response = _list(owner_client, campaign, country="DE", hold="nonsense")
    assert _numbers(response) == [order.number]
    assert "not understood" in response.content.decode()


def test_list_pages_by_order_number(owner_client, campaign, settings):
    import orders.order_views as views

    views_size = views.PER_PAGE
    views.PER_PAGE = 2
    try:
        orders = [order_in(campaign) for _ in range(3)]
        first = _list(owner_client, campaign)
        assert _numbers(first) == [orders[0].number, orders[1].number]
        assert first.context["next_query"] == f"after={orders[1].number}"
        second = _list(owner_client, campaign, after=orders[1].number)
        assert _numbers(second) == [orders[2].number]
        assert second.context["next_query"] is None
    finally:
        views.PER_PAGE = views_size


def test_list_query_count_does_not_grow_with_the_orders(
    owner_client, campaign, django_assert_max_num_queries
):
    tag = create_tag(campaign=campaign, name="VIP")
    orders = [order_in(campaign, reward=RewardFactory(campaign=campaign)) for _ in range(12)]
    for order in orders:
        hold_on(order, HoldReason.MANUAL_REVIEW)
    tag_orders(tag=tag, order_ids=[o.pk for o in orders])
    with django_assert_max_num_queries(12):
        response = _list(owner_client, campaign, tags=[tag.pk])
    assert len(response.context["orders"]) == 12


def test_list_shows_only_this_campaigns_orders(owner_client, campaign):
    other = CampaignFactory(organization=campaign.organization)
    order_in(other, name="Someone Else")
    assert "Someone Else" not in _list(owner_client, campaign).content.decode()


def test_segment_picker_opens_the_list_with_the_segments_filters(owner_client, campaign):
    segment = Segment.objects.create(
        campaign=campaign, name="EU", filters={"country": "DE", "state": ["ready"]}
    )
    response = _list(owner_client, campaign, segment=segment.pk)
    assert response.status_code == 302
    assert response["Location"].endswith("?country=DE&state=ready")


def test_bulk_tag_adds_a_new_tag_to_the_ticked_orders(owner_client, campaign):
    a, b, untouched = order_in(campaign), order_in(campaign), order_in(campaign)
    response = owner_client.post(
        reverse("order-bulk-tag", args=[campaign.slug]),
        {"orders": [a.pk, b.pk], "tag": "Pilot", "action": "add"},
    )
    assert response.status_code == 302
    tag = Tag.objects.get(campaign=campaign, name="Pilot")
    assert set(tag.orders.values_list("pk", flat=True)) == {a.pk, b.pk}
    assert not untouched.tags.exists()


def test_bulk_tag_ignores_another_campaigns_orders(owner_client, campaign):
    foreign = order_in(CampaignFactory())
    owner_client.post(
        reverse("order-bulk-tag", args=[campaign.slug]),
        {"orders": [foreign.pk], "tag": "Pilot", "action": "add"},
    )
    assert not foreign.tags.exists()
    assert not OrderEvent.objects.filter(order=foreign).exists()


def test_bulk_untag_removes_the_tag(owner_client, campaign):
    tag = create_tag(campaign=campaign, name="Pilot")
    order = order_in(campaign)
    tag_orders(tag=tag, order_ids=[order.pk])
    owner_client.post(
        reverse("order-bulk-tag", args=[campaign.slug]),
        {"orders": [order.pk], "tag": "pilot", "action": "remove"},
    )
    assert not order.tags.exists()


def test_warehouse_may_see_the_list_but_not_tag(client, organization, campaign):
    client_as(client, organization, Role.WAREHOUSE)
    order = order_in(campaign)
    assert _list(client, campaign).status_code == 200
    response = client.post(
        reverse("order-bulk-tag", args=[campaign.slug]),
        {"orders": [order.pk], "tag": "Pilot", "action": "add"},
    )
    assert response.status_code == 403
    assert not Tag.objects.exists()


def test_other_organization_gets_404_for_the_list(outsider_client, campaign):
    assert _list(outsider_client, campaign).status_code == 404


# --- one order --------------------------------------------------------------------------


def _detail(client, order):
    return client.get(reverse("order-detail", args=[order.campaign.slug, order.number]))


def test_order_page_shows_money_and_lines_grouped_by_source(owner_client, campaign):
    order = order_in(
        campaign,
        total=Money(Decimal("84.00"), "USD"),
        balance_due=Money(Decimal("25.00"), "USD"),
    )
    OrderLineFactory(order=order, source="reward", description="Core box")
    addon_line(order, "DICE-1")
    html = _detail(owner_client, order).content.decode()
    assert "$84.00" in html and "$25.00" in html
    assert "Reward and choices" in html and "Add-ons" in html
    assert html.index("Core box") < html.index("DICE-1")


def test_order_page_shows_address_versions_with_their_problems(owner_client, campaign):
    order = order_in(campaign)
    address_of(order, status=AddressStatus.VALID, city="Old Town")
    address_of(order, problems={"postal_code": "invalid"}, city="New Town")
    html = _detail(owner_client, order).content.decode()
    assert "Version 2" in html and "Version 1" in html
    assert "postal_code" in html and "invalid" in html
    assert "Accept as is" in html


def test_order_page_timeline_shows_actor_time_and_before_after(owner_client, campaign):
    order = order_in(campaign)
    actor = UserFactory(first_name="Ada", last_name="Byron")
    order_event_create(
        order=order,
        kind=EventKind.STATE,
        actor=actor,
        message="checked",
        before={"state": "submitted"},
        after={"state": "ready"},
    )
    html = _detail(owner_client, order).content.decode()
    assert "Ada Byron" in html
    assert "state: submitted" in html and "state: ready" in html
    assert "State changed" in html


def test_order_page_of_another_campaign_is_404(owner_client, campaign):
    foreign = order_in(CampaignFactory(organization=campaign.organization))
    url = reverse("order-detail", args=[campaign.slug, foreign.number])
    assert owner_client.get(url).status_code == 404


def test_order_page_query_count_is_bounded(owner_client, campaign, django_assert_max_num_queries):
    order = order_in(campaign)
    for _ in range(5):
        OrderLineFactory(order=order)
        order_event_create(order=order, kind=EventKind.NOTE, actor=UserFactory())
    hold_on(order, HoldReason.MANUAL_REVIEW)
    address_of(order)
    with django_assert_max_num_queries(14):
        assert _detail(owner_client, order).status_code == 200


def test_clearing_a_hold_makes_the_order_ready(owner_client, campaign):
    order = order_in(campaign)
    hold = hold_on(order, HoldReason.MANUAL_REVIEW)
    response = owner_client.post(
        reverse("order-hold-clear", args=[campaign.slug, order.number, hold.pk]),
        {"note": "looked fine"},
    )
    assert response.status_code == 302
    hold.refresh_from_db()
    order.refresh_from_db()
    assert hold.clear_note == "looked fine"
    assert order.state == OrderState.READY


def test_clearing_a_hold_with_htmx_returns_the_row(owner_client, campaign):
    order = order_in(campaign)
    hold = hold_on(order, HoldReason.MANUAL_REVIEW)
    response = owner_client.post(
        reverse("order-hold-clear", args=[campaign.slug, order.number, hold.pk]),
        {"note": ""},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="hold-{hold.pk}"' in html and "cleared" in html
    assert "<html" not in html


def test_clearing_a_hold_of_another_order_is_404(owner_client, campaign):
    order, other = order_in(campaign), order_in(campaign)
    hold = hold_on(other, HoldReason.MANUAL_REVIEW)
    url = reverse("order-hold-clear", args=[campaign.slug, order.number, hold.pk])
    assert owner_client.post(url, {"note": ""}).status_code == 404


def test_accepting_an_address_as_is_clears_the_hold_with_the_reason(owner_client, campaign):
    order = order_in(campaign)
    address = address_of(order, problems={"postal_code": "invalid"})
    hold_on(order, HoldReason.ADDRESS_INVALID)
    owner_client.post(
        reverse("order-address-accept", args=[campaign.slug, order.number]),
        {"reason": "Island address, carrier confirmed"},
    )
    address.refresh_from_db()
    order.refresh_from_db()
    assert address.status == AddressStatus.ACCEPTED
    assert address.accept_reason == "Island address, carrier confirmed"
    assert order.state == OrderState.READY


def test_accepting_an_address_without_a_reason_changes_nothing(owner_client, campaign):
    order = order_in(campaign)
    address = address_of(order)
    owner_client.post(
        reverse("order-address-accept", args=[campaign.slug, order.number]), {"reason": ""}
    )
    address.refresh_from_db()
    assert address.status == AddressStatus.INVALID


def test_unlocking_an_order_with_a_reason_logs_it(owner_client, campaign, owner):
    order = order_in(campaign, state=OrderState.LOCKED)
    owner_client.post(
        reverse("order-unlock", args=[campaign.slug, order.number]),
        {"unlock-reason": "Backer moved"},
    )
    order.refresh_from_db()
    assert order.state == OrderState.READY
    event = OrderEvent.objects.get(order=order, kind=EventKind.UNLOCK)
    assert (event.actor, event.message) == (owner, "Backer moved")


def test_support_may_not_unlock(client, organization, campaign):
    client_as(client, organization, Role.SUPPORT)
    order = order_in(campaign, state=OrderState.LOCKED)
    response = client.post(
        reverse("order-unlock", args=[campaign.slug, order.number]), {"unlock-reason": "x"}
    )
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.state == OrderState.LOCKED


def test_unlock_form_shows_only_on_a_locked_order(owner_client, campaign):
    locked = order_in(campaign, state=OrderState.LOCKED)
    ready = order_in(campaign, state=OrderState.READY)
    assert "Unlock this order" in _detail(owner_client, locked).content.decode()
    assert "Unlock this order" not in _detail(owner_client, ready).content.decode()


def test_merge_shows_both_orders_before_confirming(owner_client, campaign):
    keep = order_in(campaign, name="Ada Kickstarter")
    other = order_in(campaign, name="Ada Indiegogo")
    response = owner_client.get(
        reverse("order-merge", args=[campaign.slug, keep.number]), {"number": other.number}
    )
    html = response.content.decode()
    assert "Ada Kickstarter" in html and "Ada Indiegogo" in html
    assert f"Merge order {other.number} into order {keep.number}" in html
    other.refresh_from_db()
    assert other.merged_into is None


def test_merge_confirmed_cancels_the_other_order(owner_client, campaign):
    keep, other = order_in(campaign), order_in(campaign)
    response = owner_client.post(
        reverse("order-merge", args=[campaign.slug, keep.number]),
        {"number": other.number, "confirm": "1"},
    )
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.merged_into_id == keep.pk
    assert other.state == OrderState.CANCELLED


def test_merge_refuses_an_order_number_of_another_campaign(owner_client, campaign):
    keep = order_in(campaign)
    foreign = order_in(CampaignFactory())
    response = owner_client.post(
        reverse("order-merge", args=[campaign.slug, keep.number]),
        {"number": foreign.number, "confirm": "1"},
    )
    assert response.status_code == 400
    foreign.refresh_from_db()
    assert foreign.merged_into is None
    assert Order.objects.get(pk=keep.pk).state == OrderState.SUBMITTED


def test_list_filters_by_address_valid_or_accepted(owner_client, campaign):
    valid = order_in(campaign, address_status=AddressStatus.VALID)
    accepted = order_in(campaign, address_status=AddressStatus.ACCEPTED)
    invalid = order_in(campaign, address_status=AddressStatus.INVALID)
    assert _numbers(_list(owner_client, campaign, address="ok")) == [valid.number, accepted.number]
    assert _numbers(_list(owner_client, campaign, address="problem")) == [invalid.number]
