"""validate_addresses on PostgreSQL (COPY into a temporary table, set-based statements,
batches written by threads with their own connections) leaves versions, orders, holds
and timeline exactly as the generic path (SQLite) does."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction

from orders.models import (
    AddressSource,
    HoldReason,
    Order,
    OrderAddress,
    OrderEvent,
    OrderHold,
)
from orders.services import addresses
from orders.services.addresses import record_address, validate_addresses
from orders.services.bulk_building import build_orders
from orders.tasks import send_fix_address_emails as email_task

from .conftest_bld import US_ADDRESS, bld_fresh_catalog_cache, bld_world, make_response  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

BR = {
    **US_ADDRESS,
    "street_address": "Av. Paulista, 1000",
    "city": "Sao Paulo",
    "country_area": "SP",
    "city_area": "Bela Vista",
    "postal_code": "01310-100",
    "country_code": "BR",
}
JP = {
    **US_ADDRESS,
    "street_address": "1-1 Chiyoda",
    "city": "Chiyoda-ku",
    "country_area": "Tokyo",
    "postal_code": "100-0001",
    "country_code": "JP",
}


class _Rollback(Exception):
    pass


def _built(w) -> list[Order]:
    """Good and bad addresses in three countries, one order held for payment too."""
    red = w.colour.options.get(label="Red").pk
    choices = {w.colour.pk: [red]}
    for address, extra in (
        (US_ADDRESS, {}),
        ({**US_ADDRESS, "postal_code": "1"}, {}),
        ({**US_ADDRESS, "city": ""}, {}),
        (BR, {}),
        ({**BR, "country_area": "ZZ"}, {}),
        (JP, {}),
        ({**US_ADDRESS, "postal_code": "2"}, {"paid": False, "balance": Decimal("10")}),
        ({**US_ADDRESS, "postal_code": "3"}, {}),
    ):
        make_response(w, address=address, choices=choices, completed=True, **extra)
    build_orders(campaign=w.campaign)
    return list(Order.objects.filter(campaign=w.campaign).order_by("pk"))


def _checked_then_changed(w) -> None:
    """After a first check: a bad address corrected (its hold open), and a good one
    replaced by a bad one while the good version waits to be checked again."""
    orders = _built(w)
    validate_addresses(campaign=w.campaign, send_emails=False)
    corrected, replaced = orders[7], orders[5]
    record_address(
        order=corrected,
        fields={**corrected.address.as_dict(), "postal_code": "94043"},
        source=AddressSource.BACKER_FIX,
    )
    OrderAddress.objects.filter(pk=replaced.address_id).update(checked_at=None)
    record_address(
        order=replaced,
        fields={**replaced.address.as_dict(), "postal_code": "4"},
        source=AddressSource.BACKER_FIX,
    )


def _outcome(w, *, set_based: bool, monkeypatch, recheck: bool = False) -> dict:
    """Validate with one path inside a savepoint, note everything, roll it back."""
    monkeypatch.setattr(addresses, "_set_based", lambda: set_based)
    seen = {}
    try:
        with transaction.atomic():
            result = validate_addresses(
                campaign=w.campaign, recheck=recheck, batch_size=4, send_emails=False
            )
            seen["result"] = (result.checked, result.valid, result.invalid)
            seen["holds counted"] = (result.holds_opened, result.holds_cleared)
            orders = Order.objects.filter(campaign=w.campaign).order_by("pk")
            seen["orders"] = [(o.pk, o.state, o.address_status, o.address_id) for o in orders]
            seen["versions"] = [
                (a.pk, a.status, a.problems, a.normalized, a.checked_at is not None)
                for a in OrderAddress.objects.filter(order__campaign=w.campaign).order_by("pk")
            ]
            seen["holds"] = [
                (h.order_id, h.reason, h.detail, h.cleared_at is None, h.clear_note)
                for h in OrderHold.objects.filter(order__campaign=w.campaign).order_by(
                    "order_id", "reason", "opened_at", "pk"
                )
            ]
            seen["events"] = [
                (e.order_id, e.kind, e.actor_label, e.message, e.before, e.after)
                for e in OrderEvent.objects.filter(order__campaign=w.campaign).order_by(
                    "order_id", "pk"
                )
            ]
            raise _Rollback
    except _Rollback:
        pass
    return seen


def _same(generic: dict, set_based: dict) -> None:
    for part in generic:
        assert set_based[part] == generic[part], part


def test_a_first_check_leaves_what_the_generic_path_leaves(w, monkeypatch):
    _built(w)
    generic = _outcome(w, set_based=False, monkeypatch=monkeypatch)
    _same(generic, _outcome(w, set_based=True, monkeypatch=monkeypatch))
    assert generic["holds counted"] == (5, 0)


def test_a_second_check_leaves_what_the_generic_path_leaves(w, monkeypatch):
    _checked_then_changed(w)
    generic = _outcome(w, set_based=False, monkeypatch=monkeypatch)
    _same(generic, _outcome(w, set_based=True, monkeypatch=monkeypatch))
    assert generic["holds counted"] == (1, 1)


def test_a_recheck_of_everything_leaves_what_the_generic_path_leaves(w, monkeypatch):
    _checked_then_changed(w)
    generic = _outcome(w, set_based=False, monkeypatch=monkeypatch, recheck=True)
    _same(generic, _outcome(w, set_based=True, monkeypatch=monkeypatch, recheck=True))
    assert generic["result"] == (10, 4, 6)


def _as_before(w, orders: dict) -> None:
    """Undo a check: what validate_addresses wrote goes, orders get their states back."""
    OrderHold.objects.filter(order__campaign=w.campaign, reason=HoldReason.ADDRESS_INVALID).delete()
    OrderEvent.objects.filter(order__campaign=w.campaign, actor_label="address check").delete()
    OrderAddress.objects.filter(order__campaign=w.campaign).update(
        status="unchecked", problems={}, normalized={}, checked_at=None
    )
    for pk, (state, address_status, changed_at) in orders.items():
        Order.objects.filter(pk=pk).update(
            state=state, address_status=address_status, state_changed_at=changed_at
        )


def _snapshot(w) -> dict:
    orders = Order.objects.filter(campaign=w.campaign).order_by("pk")
    return {
        "orders": [(o.pk, o.state, o.address_status) for o in orders],
        "versions": [
            (a.pk, a.status, a.problems, a.normalized)
            for a in OrderAddress.objects.filter(order__campaign=w.campaign).order_by("pk")
        ],
        "holds": sorted(
            (h.order_id, h.reason, h.detail, h.cleared_at is None)
            for h in OrderHold.objects.filter(order__campaign=w.campaign)
        ),
        "events": [
            (e.order_id, e.kind, e.message, e.before, e.after)
            for e in OrderEvent.objects.filter(
                order__campaign=w.campaign, actor_label="address check"
            ).order_by("order_id", "pk")
        ],
    }


@pytest.mark.django_db(transaction=True)
def test_writer_threads_leave_what_the_generic_path_leaves(w, monkeypatch):
    orders = _built(w)
    before = {o.pk: (o.state, o.address_status, o.state_changed_at) for o in orders}
    assert addresses._in_threads()
    threaded = validate_addresses(campaign=w.campaign, batch_size=2, send_emails=False)
    seen = _snapshot(w)
    _as_before(w, before)
    monkeypatch.setattr(addresses, "_set_based", lambda: False)
    generic = validate_addresses(campaign=w.campaign, batch_size=2, send_emails=False)
    assert _snapshot(w) == seen
    assert (threaded.checked, threaded.invalid, threaded.holds_opened) == (
        generic.checked,
        generic.invalid,
        generic.holds_opened,
    )


@pytest.mark.django_db(transaction=True)
def test_writer_threads_queue_the_emails_of_committed_batches(w, monkeypatch):
    calls = []
    monkeypatch.setattr(email_task, "delay", lambda ids: calls.append(ids))
    orders = _built(w)
    result = validate_addresses(campaign=w.campaign, batch_size=3)
    bad = {o.address_id for o in orders if o.pk in {orders[i].pk for i in (1, 2, 4, 6, 7)}}
    assert sorted(i for ids in calls for i in ids) == sorted(bad)
    assert result.emails_queued == 5


@pytest.mark.django_db(transaction=True)
def test_a_writer_error_is_raised_and_stops_the_check(w, monkeypatch):
    _built(w)
    write = addresses._write_batch_sql
    calls = []

    def failing(batch, result, now):
        calls.append(batch)
        if len(calls) == 2:
            raise DatabaseError("disk full")
        write(batch, result, now)

    monkeypatch.setattr(addresses, "_write_batch_sql", failing)
    with pytest.raises(DatabaseError):
        validate_addresses(campaign=w.campaign, batch_size=2, send_emails=False)
    checked = OrderAddress.objects.filter(
        order__campaign=w.campaign, checked_at__isnull=False
    ).count()
    assert checked < 8
