"""The timeline writer: every change to an order records itself here, the same way."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from .models import EventKind, Order, OrderEvent


def actor_fields(actor) -> dict:
    """`actor` is a User, or a label for who acted without one ("system", "backer")."""
    if actor is None:
        return {"actor": None, "actor_label": "system"}
    if isinstance(actor, str):
        return {"actor": None, "actor_label": actor}
    return {"actor": actor, "actor_label": ""}


def order_event_create(
    *,
    order: Order,
    kind: EventKind | str,
    actor=None,
    message: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order,
        kind=kind,
        created_at=timezone.now(),
        message=message,
        before=before or {},
        after=after or {},
        **actor_fields(actor),
    )


def order_events_bulk_create(
    *,
    order_ids: Iterable[int],
    kind: EventKind | str,
    actor=None,
    message: str = "",
    before: dict | None = None,
    after: dict | None = None,
    batch_size: int = 5000,
) -> int:
    """The same event on many orders (lock, export, bulk tag), written in batches."""
    now = timezone.now()
    who = actor_fields(actor)
    rows = (
        OrderEvent(
            order_id=order_id,
            kind=kind,
            created_at=now,
            message=message,
            before=before or {},
            after=after or {},
            **who,
        )
        for order_id in order_ids
    )
    count = 0
    batch: list[OrderEvent] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= batch_size:
            OrderEvent.objects.bulk_create(batch)
            count += len(batch)
            batch = []
    if batch:
        OrderEvent.objects.bulk_create(batch)
        count += len(batch)
    return count
