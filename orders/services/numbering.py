"""Sequential numbers per campaign (orders, invoices), taken under a row lock so two
requests never get the same one."""

from __future__ import annotations

from django.db import transaction

from ..models import OrderCounter


def _counter(campaign_id: int) -> OrderCounter:
    OrderCounter.objects.get_or_create(campaign_id=campaign_id)
    return OrderCounter.objects.select_for_update().get(campaign_id=campaign_id)


def take_order_numbers(*, campaign_id: int, count: int = 1) -> int:
    """Reserve `count` consecutive order numbers; returns the first."""
    with transaction.atomic():
        counter = _counter(campaign_id)
        first = counter.next_order_number
        counter.next_order_number = first + count
        counter.save(update_fields=["next_order_number"])
        return first


def take_invoice_number(*, campaign_id: int) -> int:
    with transaction.atomic():
        counter = _counter(campaign_id)
        number = counter.next_invoice_number
        counter.next_invoice_number = number + 1
        counter.save(update_fields=["next_invoice_number"])
        return number
