"""The order state machine and holds: only allowed moves, each one on the timeline;
ready means submitted with no open hold."""

import pytest

from orders.errors import HoldNotOpen, TransitionNotAllowed
from orders.models import EventKind, HoldReason, OrderEvent, OrderState
from orders.services.holds import clear_hold, clear_holds, open_hold, refresh_readiness
from orders.services.numbering import take_invoice_number, take_order_numbers
from orders.services.states import change_state
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_an_allowed_move_changes_the_state_and_writes_an_event():
    order = OrderFactory(state=OrderState.SUBMITTED)
    user = UserFactory()
    change_state(order=order, to=OrderState.READY, actor=user, message="checked")
    order.refresh_from_db()
    assert order.state == OrderState.READY
    event = OrderEvent.objects.get(order=order, kind=EventKind.STATE)
    assert (event.before, event.after, event.actor) == (
        {"state": "submitted"},
        {"state": "ready"},
        user,
    )


def test_an_illegal_move_raises_and_changes_nothing():
    order = OrderFactory(state=OrderState.DRAFT)
    with pytest.raises(TransitionNotAllowed):
        change_state(order=order, to=OrderState.SHIPPED)
    order.refresh_from_db()
    assert order.state == OrderState.DRAFT
    assert not OrderEvent.objects.filter(order=order).exists()


def test_a_cancelled_order_cannot_come_back():
    order = OrderFactory(state=OrderState.CANCELLED)
    with pytest.raises(TransitionNotAllowed):
        change_state(order=order, to=OrderState.SUBMITTED)


def test_locking_stamps_locked_at_and_unlocking_clears_it():
    order = OrderFactory(state=OrderState.READY)
    change_state(order=order, to=OrderState.LOCKED)
    assert order.locked_at is not None
    change_state(order=order, to=OrderState.READY, message="unlocked")
    assert order.locked_at is None


def test_a_hold_sends_a_ready_order_back_to_submitted():
    order = OrderFactory(state=OrderState.READY)
    open_hold(order=order, reason=HoldReason.ADDRESS_INVALID, detail="postal_code")
    order.refresh_from_db()
    assert order.state == OrderState.SUBMITTED


def test_clearing_the_last_hold_makes_the_order_ready():
    order = OrderFactory(state=OrderState.SUBMITTED)
    first = open_hold(order=order, reason=HoldReason.ADDRESS_INVALID)
    open_hold(order=order, reason=HoldReason.PAYMENT_DUE)
    clear_hold(hold=first, note="fixed")
    order.refresh_from_db()
    assert order.state == OrderState.SUBMITTED
    assert clear_holds(order=order, reason=HoldReason.PAYMENT_DUE) == 1
    order.refresh_from_db()
    assert order.state == OrderState.READY


def test_one_open_hold_per_reason_updates_the_detail():
    order = OrderFactory()
    first = open_hold(order=order, reason=HoldReason.MISSING_CHOICE, detail="Colour")
    again = open_hold(order=order, reason=HoldReason.MISSING_CHOICE, detail="Colour, Size")
    assert first.pk == again.pk
    assert order.holds.get().detail == "Colour, Size"
    assert OrderEvent.objects.filter(order=order, kind=EventKind.HOLD_OPENED).count() == 1


def test_clearing_a_cleared_hold_is_refused():
    order = OrderFactory()
    hold = open_hold(order=order, reason=HoldReason.MANUAL_REVIEW)
    clear_hold(hold=hold)
    with pytest.raises(HoldNotOpen):
        clear_hold(hold=hold)


def test_refresh_leaves_a_locked_order_locked():
    order = OrderFactory(state=OrderState.LOCKED)
    refresh_readiness(order=order)
    assert order.state == OrderState.LOCKED


def test_numbers_are_consecutive_per_campaign():
    order = OrderFactory()
    other = OrderFactory()
    assert take_order_numbers(campaign_id=order.campaign_id, count=3) == 1
    assert take_order_numbers(campaign_id=order.campaign_id) == 4
    assert take_order_numbers(campaign_id=other.campaign_id) == 1
    assert take_invoice_number(campaign_id=order.campaign_id) == 1
    assert take_invoice_number(campaign_id=order.campaign_id) == 2
