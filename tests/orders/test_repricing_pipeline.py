"""Re-pricing outside a transaction on PostgreSQL writes each batch on its own
connection while the next batch is priced: every order still changes once with its
event, and a failed write stops the run with the error."""

import threading
from decimal import Decimal

import pytest
from djmoney.money import Money

from orders.models import EventKind, OrderEvent
from orders.services import repricing
from orders.services.repricing import reprice_orders

from .conftest_invoices import make_order, tax_campaign
from .test_repricing import TODAY, raise_german_vat

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def eur_campaign(organization):
    return tax_campaign(organization)


def test_batches_written_by_the_writer_thread_all_change(eur_campaign, monkeypatch):
    orders = [make_order(eur_campaign, paid=False) for _ in range(7)]
    raise_german_vat(eur_campaign)
    threads = set()
    real = repricing._write

    def spy(updates, *, now):
        threads.add(threading.current_thread().name)
        return real(updates, now=now)

    monkeypatch.setattr(repricing, "_write", spy)

    result = reprice_orders(campaign=eur_campaign, on=TODAY, batch_size=2)

    assert result.changed == 7 and result.orders == 7
    assert threads and "MainThread" not in threads  # four batches, none written inline
    for order in orders:
        order.refresh_from_db()
        assert order.total == Money(Decimal("48.40"), "EUR")
    events = OrderEvent.objects.filter(order__campaign=eur_campaign, kind=EventKind.PRICED)
    assert sorted(events.values_list("order_id", flat=True)) == sorted(o.pk for o in orders)
    assert {e.after["total"] for e in events} == {"48.40"}


def test_a_failed_batch_write_stops_the_run_with_its_error(eur_campaign, monkeypatch):
    for _ in range(5):
        make_order(eur_campaign, paid=False)
    raise_german_vat(eur_campaign)

    def broken(updates, *, now):
        raise RuntimeError("disk full")

    monkeypatch.setattr(repricing, "_write", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        reprice_orders(campaign=eur_campaign, on=TODAY, batch_size=2)
