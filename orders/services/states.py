"""The order state machine: the one place an order's state changes."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ..errors import TransitionNotAllowed
from ..events import order_event_create
from ..models import TRANSITIONS, EventKind, Order, OrderState


def can_change_state(*, order: Order, to: str) -> bool:
    return to in TRANSITIONS[order.state]


def change_state(*, order: Order, to: str, actor=None, message: str = "") -> Order:
    """Move `order` to `to` if the transition table allows it, with an OrderEvent.
    Raises TransitionNotAllowed otherwise. A move to the current state is a no-op."""
    if order.state == to:
        return order
    if not can_change_state(order=order, to=to):
        raise TransitionNotAllowed(
            f"Order {order.number} cannot go from {OrderState(order.state).label.lower()} "
            f"to {OrderState(to).label.lower()}."
        )
    with transaction.atomic():
        before = order.state
        now = timezone.now()
        order.state = to
        order.state_changed_at = now
        fields = ["state", "state_changed_at", "updated_at"]
        if to == OrderState.SUBMITTED and order.submitted_at is None:
            order.submitted_at = now
            fields.append("submitted_at")
        if to == OrderState.LOCKED:
            order.locked_at = now
            fields.append("locked_at")
        elif before == OrderState.LOCKED and to in (OrderState.READY, OrderState.SUBMITTED):
            order.locked_at = None
            fields.append("locked_at")
        order.save(update_fields=fields)
        order_event_create(
            order=order,
            kind=EventKind.STATE,
            actor=actor,
            message=message,
            before={"state": before},
            after={"state": to},
        )
    return order
