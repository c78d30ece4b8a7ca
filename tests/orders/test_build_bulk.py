"""build_orders: every order of a campaign at once, set-based and idempotent."""

import pytest
from django.core.management import CommandError, call_command

from orders.models import (
    AddressSource,
    EventKind,
    HoldReason,
    LineSource,
    Order,
    OrderEvent,
    OrderHold,
    OrderState,
)
from orders.services.addresses import validate_addresses
from orders.services.building import build_order
from orders.services.bulk_building import build_orders
from orders.services.states import change_state
from tests.factories import PledgeFactory

from .conftest_bld import (  # noqa: F401
    US_ADDRESS,
    bld_fresh_catalog_cache,
    bld_world,
    checked,
    make_response,
)

pytestmark = pytest.mark.django_db


def _keys(order):
    return [
        (line.sku_code, line.quantity, line.source, line.detail, line.line_total.amount)
        for line in order.lines.all()
    ]


def _red(w):
    return {w.colour.pk: [w.colour.options.get(label="Red").pk]}


def test_every_backer_gets_an_order(w):
    make_response(w)
    make_response(w, choices=_red(w), completed=True)
    PledgeFactory(backer__campaign=w.campaign, reward=w.reward)
    result = build_orders(campaign=w.campaign)
    assert (result.backers, result.created) == (3, 3)
    assert Order.objects.filter(campaign=w.campaign).count() == 3


def test_order_numbers_are_a_sequence(w):
    for _ in range(3):
        make_response(w)
    build_orders(campaign=w.campaign)
    numbers = sorted(Order.objects.values_list("number", flat=True))
    assert numbers == [1, 2, 3]


def test_a_backer_without_a_response_gets_a_draft_from_the_pledge(w):
    pledge = PledgeFactory(backer__campaign=w.campaign, reward=w.reward)
    build_orders(campaign=w.campaign)
    order = Order.objects.get(backer=pledge.backer)
    assert (order.state, order.address.source, order.country) == (
        OrderState.DRAFT,
        AddressSource.IMPORT,
        "SE",
    )


def test_bulk_and_single_builds_give_the_same_lines(w):
    first = make_response(w, choices=_red(w), cart=[(w.offer, 2)], completed=True)
    second = make_response(w, choices=_red(w), cart=[(w.offer, 2)], completed=True)
    single = build_order(response=first)
    build_orders(campaign=w.campaign)
    bulk = Order.objects.get(backer=second.backer)
    assert _keys(bulk) == _keys(single)
    assert (bulk.total, bulk.state) == (single.total, single.state)


def test_a_completed_survey_without_holds_is_ready_once_its_address_is_checked(w):
    response = make_response(w, choices=_red(w), completed=True)
    build_orders(campaign=w.campaign)
    order = Order.objects.get(backer=response.backer)
    assert (order.state, order.address.version) == (OrderState.SUBMITTED, 1)
    validate_addresses(campaign=w.campaign, send_emails=False)
    order.refresh_from_db()
    assert order.state == OrderState.READY


def test_bulk_opens_the_automatic_holds(w):
    response = make_response(w, completed=True)
    build_orders(campaign=w.campaign)
    order = Order.objects.get(backer=response.backer)
    hold = OrderHold.objects.get(order=order)
    assert (hold.reason, hold.detail) == (HoldReason.MISSING_CHOICE, "Choice not made: Colour")
    assert order.state == OrderState.SUBMITTED


def test_a_second_run_changes_nothing(w):
    make_response(w, choices=_red(w), completed=True)
    make_response(w)
    build_orders(campaign=w.campaign)
    events = OrderEvent.objects.count()
    result = build_orders(campaign=w.campaign)
    assert (result.unchanged, result.created, result.updated) == (2, 0, 0)
    assert OrderEvent.objects.count() == events


def test_a_bulk_run_after_single_builds_changes_nothing(w):
    build_order(response=make_response(w, choices=_red(w), cart=[(w.offer, 1)], completed=True))
    result = build_orders(campaign=w.campaign)
    assert result.unchanged == 1


def test_a_changed_response_updates_only_its_order(w):
    response = make_response(w)
    make_response(w)
    build_orders(campaign=w.campaign)
    response.choices = {str(k): v for k, v in _red(w).items()}
    response.save()
    result = build_orders(campaign=w.campaign)
    assert (result.updated, result.unchanged) == (1, 1)
    order = Order.objects.get(backer=response.backer)
    assert order.lines.filter(source=LineSource.CHOICE, sku=w.red).exists()
    assert OrderEvent.objects.filter(order=order, kind=EventKind.LINES).count() == 1


def test_a_rebuild_clears_a_hold_whose_cause_is_gone(w):
    response = make_response(w, completed=True)
    build_orders(campaign=w.campaign)
    validate_addresses(campaign=w.campaign, send_emails=False)
    response.choices = {str(k): v for k, v in _red(w).items()}
    response.save()
    build_orders(campaign=w.campaign)
    order = Order.objects.get(backer=response.backer)
    assert not OrderHold.objects.filter(order=order, cleared_at__isnull=True).exists()
    assert order.state == OrderState.READY


def test_a_changed_address_makes_a_new_version_in_bulk(w):
    response = make_response(w)
    build_orders(campaign=w.campaign)
    response.address = {**US_ADDRESS, "city": "Palo Alto", "postal_code": "94301"}
    response.save()
    build_orders(campaign=w.campaign)
    order = Order.objects.get(backer=response.backer)
    assert (order.address.version, order.address.city) == (2, "Palo Alto")


def test_a_completed_survey_submits_a_draft_order_on_rebuild(w):
    response = make_response(w, choices=_red(w))
    build_orders(campaign=w.campaign)
    validate_addresses(campaign=w.campaign, send_emails=False)
    response.completed_at = response.started_at
    response.save()
    build_orders(campaign=w.campaign)
    order = Order.objects.get(backer=response.backer)
    assert order.state == OrderState.READY
    states = OrderEvent.objects.filter(order=order, kind=EventKind.STATE)
    assert [e.after["state"] for e in states] == ["submitted", "ready"]


def test_locked_orders_are_left_alone(w):
    response = make_response(w, choices=_red(w), completed=True)
    order = checked(build_order(response=response))
    change_state(order=order, to=OrderState.LOCKED)
    response.address = {**US_ADDRESS, "city": "Palo Alto"}
    response.save()
    result = build_orders(campaign=w.campaign)
    assert result.locked == 1
    order.refresh_from_db()
    assert order.address.city == "Mountain View"


def test_the_command_prints_the_counts(w, capsys):
    make_response(w)
    call_command("build_orders", w.campaign.slug)
    out = capsys.readouterr().out
    assert "created: 1" in out


def test_the_command_fails_for_an_unknown_campaign(db):
    with pytest.raises(CommandError):
        call_command("build_orders", "no-such-campaign")


def test_the_command_exits_non_zero_when_a_backer_fails(w):
    make_response(w, addons_text="")
    from surveys.models import CartLine, SurveyResponse

    response = SurveyResponse.objects.get()
    # A cart line of an offer of another campaign: the map cannot explode it.
    from tests.factories import AddOnOfferFactory

    CartLine.objects.create(
        response=response, offer=AddOnOfferFactory(), quantity=1, unit_price=w.offer.price
    )
    with pytest.raises(CommandError):
        call_command("build_orders", w.campaign.slug)


def test_the_command_checks_the_new_addresses_so_their_orders_become_ready(w):
    response = make_response(w, choices=_red(w), completed=True)
    call_command("build_orders", w.campaign.slug, verbosity=0)
    order = Order.objects.get(backer=response.backer)
    assert (order.state, order.address_status) == (OrderState.READY, "valid")


def test_the_command_can_leave_the_addresses_unchecked(w):
    response = make_response(w, choices=_red(w), completed=True)
    call_command("build_orders", w.campaign.slug, "--no-validate", verbosity=0)
    order = Order.objects.get(backer=response.backer)
    assert (order.state, order.address_status) == (OrderState.SUBMITTED, "unchecked")
