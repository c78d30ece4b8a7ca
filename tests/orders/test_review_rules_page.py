"""The review rules page: owners and managers set which orders wait for a person
(value above, destinations, PO boxes) and the lock notice; "Re-check open orders"
applies the rules to the submitted and ready orders at once."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from djmoney.money import Money

from accounts.models import Role
from orders.models import (
    EventKind,
    HoldReason,
    OrderEvent,
    OrderHold,
    OrderState,
    ReviewRules,
)
from orders.services.building import build_order
from orders.services.review_rules import recheck_open_orders, save_review_rules
from tests.factories import CampaignFactory, UserFactory

from .conftest_bld import bld_fresh_catalog_cache, bld_world, make_response  # noqa: F401
from .conftest_pages import address_of, client_as, hold_on, order_in

pytestmark = pytest.mark.django_db


def usd(amount) -> Money:
    return Money(Decimal(amount), "USD")


def _page(client, campaign):
    return client.get(reverse("order-review-rules", args=[campaign.slug]))


def _save(client, campaign, **data):
    fields = {"value_above": "", "lock_notice_hours": "48", **data}
    return client.post(reverse("order-review-rules", args=[campaign.slug]), fields)


def _recheck(client, campaign):
    return client.post(reverse("order-review-rules-recheck", args=[campaign.slug]))


def _rules(campaign, **fields):
    values = {
        "value_above": None,
        "countries": [],
        "refuse_po_boxes": False,
        "lock_notice_hours": 48,
        **fields,
    }
    return save_review_rules(campaign=campaign, **values)


def _review_hold(order):
    return OrderHold.objects.filter(
        order=order, reason=HoldReason.MANUAL_REVIEW, cleared_at__isnull=True
    ).first()


# --- the form ----------------------------------------------------------------------


def test_the_form_saves_the_rules(owner_client, campaign):
    response = _save(
        owner_client,
        campaign,
        value_above="250.00",
        countries=["BR", "RU"],
        refuse_po_boxes="on",
        lock_notice_hours="72",
    )
    assert response.status_code == 302
    rules = ReviewRules.objects.get(campaign=campaign)
    assert rules.value_above == Money(Decimal("250.00"), campaign.currency)
    assert (rules.countries, rules.refuse_po_boxes, rules.lock_notice_hours) == (
        ["BR", "RU"],
        True,
        72,
    )


def test_the_form_shows_the_saved_rules(owner_client, campaign):
    _rules(campaign, value_above=Decimal("99.50"), countries=["NO"])
    form = _page(owner_client, campaign).context["form"]
    assert (form.initial["value_above"], form.initial["countries"]) == (Decimal("99.50"), ["NO"])


def test_an_empty_value_removes_the_value_rule(owner_client, campaign):
    _rules(campaign, value_above=Decimal("100"))
    _save(owner_client, campaign, value_above="")
    assert ReviewRules.objects.get(campaign=campaign).value_above is None


def test_an_unknown_country_is_refused_next_to_the_field(owner_client, campaign):
    response = _save(owner_client, campaign, countries=["XX"])
    assert response.status_code == 400
    assert "countries" in response.context["form"].errors
    assert not ReviewRules.objects.filter(campaign=campaign).exists()


def test_the_value_is_asked_in_the_campaign_currency(owner_client, campaign):
    text = _page(owner_client, campaign).content.decode()
    assert f"Order value above ({campaign.currency})" in text


def test_the_review_queue_links_to_the_rules(owner_client, campaign):
    response = owner_client.get(reverse("order-review", args=[campaign.slug]))
    assert reverse("order-review-rules", args=[campaign.slug]) in response.content.decode()


# --- who may -----------------------------------------------------------------------


def test_support_sees_the_rules_read_only(client, organization, campaign):
    client_as(client, organization, Role.SUPPORT)
    response = _page(client, campaign)
    assert response.status_code == 200
    assert all(field.disabled for field in response.context["form"].fields.values())
    assert "Re-check open orders" not in response.content.decode()


def test_support_cannot_change_the_rules(client, organization, campaign):
    client_as(client, organization, Role.SUPPORT)
    assert _save(client, campaign, value_above="10").status_code == 403
    assert not ReviewRules.objects.filter(campaign=campaign).exists()


def test_support_cannot_recheck_the_open_orders(client, organization, campaign):
    _rules(campaign, countries=["SE"])
    order = order_in(campaign, country="SE")
    client_as(client, organization, Role.SUPPORT)
    assert _recheck(client, campaign).status_code == 403
    assert _review_hold(order) is None


def test_a_manager_may_change_the_rules(client, organization, campaign):
    client_as(client, organization, Role.MANAGER)
    assert _save(client, campaign, countries=["SE"]).status_code == 302


def test_another_organization_gets_404_for_the_page(outsider_client, campaign):
    assert _page(outsider_client, campaign).status_code == 404
    assert _save(outsider_client, campaign, value_above="1").status_code == 404
    assert not ReviewRules.objects.filter(campaign=campaign).exists()


def test_another_organization_gets_404_for_the_recheck(outsider_client, campaign):
    _rules(campaign, countries=["SE"])
    order = order_in(campaign, country="SE")
    assert _recheck(outsider_client, campaign).status_code == 404
    assert _review_hold(order) is None


# --- re-check open orders -----------------------------------------------------------


def test_a_rule_change_then_recheck_opens_manual_review_on_a_matching_order(owner_client, campaign):
    order = order_in(campaign, state=OrderState.READY, total=usd("300"))
    order_in(campaign, state=OrderState.READY, total=usd("50"))
    _save(owner_client, campaign, value_above="200")
    response = _recheck(owner_client, campaign)
    assert response.status_code == 302
    hold = _review_hold(order)
    assert hold.detail == "Order value 300.00 above 200.00"
    order.refresh_from_db()
    assert order.state == OrderState.SUBMITTED
    assert OrderHold.objects.filter(reason=HoldReason.MANUAL_REVIEW).count() == 1


def test_a_rule_change_then_recheck_clears_manual_review_on_an_order_that_no_longer_matches(
    owner_client, campaign
):
    _rules(campaign, countries=["SE"])
    order = order_in(campaign, country="SE")
    recheck_open_orders(campaign=campaign, actor=None)
    assert _review_hold(order) is not None
    _save(owner_client, campaign, countries=["NO"])
    _recheck(owner_client, campaign)
    assert _review_hold(order) is None
    order.refresh_from_db()
    assert order.state == OrderState.READY


def test_recheck_clears_as_a_cause_gone_so_the_rule_can_bring_the_hold_back(campaign):
    _rules(campaign, countries=["SE"])
    order = order_in(campaign, country="SE")
    user = UserFactory()
    recheck_open_orders(campaign=campaign, actor=user)
    _rules(campaign)
    recheck_open_orders(campaign=campaign, actor=user)
    _rules(campaign, countries=["SE"])
    result = recheck_open_orders(campaign=campaign, actor=user)
    assert (result.opened, _review_hold(order).detail) == (1, "Destination SE always reviewed")


def test_recheck_leaves_drafts_and_locked_orders_alone(campaign):
    _rules(campaign, countries=["SE"])
    draft = order_in(campaign, country="SE", state=OrderState.DRAFT)
    locked = order_in(campaign, country="SE", state=OrderState.LOCKED)
    result = recheck_open_orders(campaign=campaign, actor=None)
    assert result.checked == 0
    assert _review_hold(draft) is None and _review_hold(locked) is None


def test_recheck_keeps_a_hold_a_person_cleared_for_the_same_reasons(owner_client, campaign):
    _rules(campaign, countries=["SE"])
    order = order_in(campaign, country="SE")
    recheck_open_orders(campaign=campaign, actor=None)
    hold = _review_hold(order)
    owner_client.post(
        reverse("order-hold-clear", args=[campaign.slug, order.number, hold.pk]),
        {"note": "Known backer"},
    )
    result = recheck_open_orders(campaign=campaign, actor=None)
    assert (result.opened, result.kept_cleared) == (0, 1)
    assert _review_hold(order) is None


def test_recheck_rewrites_the_reasons_of_an_order_still_under_review(campaign):
    _rules(campaign, countries=["SE"])
    order = order_in(campaign, country="SE", total=usd("500"))
    recheck_open_orders(campaign=campaign, actor=None)
    _rules(campaign, countries=["SE"], value_above=Decimal("100"))
    result = recheck_open_orders(campaign=campaign, actor=None)
    assert result.updated == 1
    assert _review_hold(order).detail == (
        "Order value 500.00 above 100.00; Destination SE always reviewed"
    )


def test_recheck_reads_the_current_address_for_po_boxes(campaign):
    _rules(campaign, refuse_po_boxes=True)
    order = order_in(campaign)
    address_of(order, street_address="Packstation 123")
    recheck_open_orders(campaign=campaign, actor=None)
    assert _review_hold(order).detail == "PO box or parcel locker address"


def test_recheck_writes_each_change_on_the_timeline(campaign):
    _rules(campaign, countries=["SE"])
    order = order_in(campaign, country="SE", state=OrderState.READY)
    user = UserFactory()
    recheck_open_orders(campaign=campaign, actor=user)
    kinds = list(OrderEvent.objects.filter(order=order, actor=user).values_list("kind", flat=True))
    assert sorted(kinds) == sorted([EventKind.HOLD_OPENED, EventKind.STATE])


def test_recheck_leaves_the_other_holds_of_an_order_alone(campaign):
    _rules(campaign)
    order = order_in(campaign, country="SE")
    hold_on(order, HoldReason.MANUAL_REVIEW, "Order value 900.00 above 100.00")
    payment = hold_on(order, HoldReason.PAYMENT_DUE)
    recheck_open_orders(campaign=campaign, actor=None)
    payment.refresh_from_db()
    order.refresh_from_db()
    assert _review_hold(order) is None
    assert payment.is_open and order.state == OrderState.SUBMITTED


def test_recheck_leaves_other_campaigns_alone(campaign):
    other = CampaignFactory()
    _rules(other, countries=["SE"])
    foreign = order_in(other, country="SE")
    _rules(campaign, countries=["SE"])
    recheck_open_orders(campaign=campaign, actor=None)
    assert _review_hold(foreign) is None


def test_recheck_takes_the_same_queries_for_more_changed_orders(campaign):
    _rules(campaign, countries=["SE"])

    def queries(n: int) -> int:
        for _ in range(n):
            order_in(campaign, country="SE", state=OrderState.READY)
        with CaptureQueriesContext(connection) as captured:
            recheck_open_orders(campaign=campaign, actor=None)
        return len(captured)

    assert queries(2) == queries(6)


def test_recheck_agrees_with_the_build(w):
    """A re-checked hold is the one a rebuild wants: rebuilding leaves it as it is."""
    response = make_response(w, completed=True)
    order = build_order(response=response)
    assert _review_hold(order) is None
    _rules(w.campaign, countries=["US"])
    recheck_open_orders(campaign=w.campaign, actor=None)
    hold = _review_hold(order)
    build_order(response=response)
    assert _review_hold(order) == hold
    assert hold.detail == "Destination US always reviewed"
