"""Holds: open and clear them, and keep `ready` true to them. An order is ready
only when it is submitted, has no open hold and its address (if any) was checked;
a hold opened on a ready order sends it back to submitted."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..errors import HoldCauseRemains, HoldNotOpen
from ..events import order_event_create
from ..models import AddressStatus, EventKind, HoldReason, Order, OrderHold, OrderLine, OrderState
from .states import change_state

ADDRESS_CHECKED = (AddressStatus.VALID.value, AddressStatus.ACCEPTED.value)
# Orders with nothing left to check about their address (none, or checked).
ADDRESS_CHECKED_Q = Q(address__isnull=True) | Q(address_status__in=ADDRESS_CHECKED)


def open_hold(*, order: Order, reason: str, detail: str = "", actor=None) -> OrderHold:
    """Open a hold for `reason` (or update the detail of the one already open)."""
    with transaction.atomic():
        hold = (
            OrderHold.objects.select_for_update()
            .filter(order=order, reason=reason, cleared_at__isnull=True)
            .first()
        )
        if hold is not None:
            if hold.detail != detail:
                hold.detail = detail
                hold.save(update_fields=["detail"])
            return hold
        hold = OrderHold.objects.create(
            order=order,
            reason=reason,
            detail=detail,
            opened_at=timezone.now(),
            opened_by=actor if actor is not None and not isinstance(actor, str) else None,
        )
        order_event_create(
            order=order,
            kind=EventKind.HOLD_OPENED,
            actor=actor,
            message=f"{HoldReason(reason).label}: {detail}" if detail else HoldReason(reason).label,
            after={"reason": reason, "detail": detail},
        )
        refresh_readiness(order=order, actor=actor)
        return hold


def clear_hold(*, hold: OrderHold, actor=None, note: str = "") -> OrderHold:
    """Clear an open hold (staff, or a service whose cause went). A missing choice or
    unmapped add-on stays while the order has a line without a SKU: that line could
    not be picked; making the choice or mapping the add-on rebuilds the order and
    clears the hold."""
    with transaction.atomic():
        hold = OrderHold.objects.select_for_update().select_related("order").get(pk=hold.pk)
        if not hold.is_open:
            raise HoldNotOpen("This hold is already cleared.")
        if (
            hold.reason == HoldReason.MISSING_CHOICE
            and OrderLine.objects.filter(order_id=hold.order_id, sku__isnull=True).exists()
        ):
            raise HoldCauseRemains(
                f"Order {hold.order.number} still has a line without a SKU (a choice not "
                "made or an add-on not mapped): the warehouse could not pick it. Have the "
                "backer choose, or map the add-on in the SKU map; the hold then clears."
            )
        hold.cleared_at = timezone.now()
        hold.cleared_by = actor if actor is not None and not isinstance(actor, str) else None
        hold.clear_note = note
        hold.save(update_fields=["cleared_at", "cleared_by", "clear_note"])
        order_event_create(
            order=hold.order,
            kind=EventKind.HOLD_CLEARED,
            actor=actor,
            message=note or HoldReason(hold.reason).label,
            before={"reason": hold.reason, "detail": hold.detail},
        )
        refresh_readiness(order=hold.order, actor=actor)
        return hold


def clear_holds(*, order: Order, reason: str, actor=None, note: str = "") -> int:
    """Clear the open hold of `reason`, if any (its cause is gone). Returns 0 or 1."""
    hold = OrderHold.objects.filter(order=order, reason=reason, cleared_at__isnull=True).first()
    if hold is None:
        return 0
    clear_hold(hold=hold, actor=actor, note=note)
    return 1


def open_hold_reasons(*, order: Order) -> set[str]:
    return set(
        OrderHold.objects.filter(order=order, cleared_at__isnull=True).values_list(
            "reason", flat=True
        )
    )


def address_waits(*, address_id, address_status: str) -> bool:
    """Whether an order's address still waits for its check: nothing goes to the
    warehouse unchecked, so such an order is not ready yet (the check, a Celery task
    on every address save or `validate_addresses` after a bulk build, moves it on).
    An invalid address waits too, behind its hold. No address: nothing to check."""
    return address_id is not None and address_status not in ADDRESS_CHECKED


def refresh_readiness(*, order: Order, actor=None) -> Order:
    """submitted with no open hold and a checked address → ready; ready with an open
    hold or an address still unchecked → submitted. Other states are left alone (a
    locked order keeps its lock; lock refuses holds)."""
    has_hold = OrderHold.objects.filter(order=order, cleared_at__isnull=True).exists()
    waits = address_waits(address_id=order.address_id, address_status=order.address_status)
    if order.state == OrderState.SUBMITTED and not has_hold and not waits:
        change_state(order=order, to=OrderState.READY, actor=actor, message="No open holds.")
    elif order.state == OrderState.READY and has_hold:
        change_state(order=order, to=OrderState.SUBMITTED, actor=actor, message="Hold opened.")
    elif order.state == OrderState.READY and waits:
        change_state(
            order=order, to=OrderState.SUBMITTED, actor=actor, message="Address not checked yet."
        )
    return order
