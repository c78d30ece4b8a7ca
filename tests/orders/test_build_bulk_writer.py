"""On PostgreSQL outside a transaction, build_orders writes each batch on a second
connection while it plans the next: the orders are those of the inline path, every
batch lands, and a failed batch stops the build with its error."""

import threading

import pytest

from orders.models import Order, OrderCounter
from orders.services import bulk_building

from .conftest_bld import bld_fresh_catalog_cache, bld_world, make_response  # noqa: F401
from .test_build_bulk_memo import _mixed_campaign, _snapshot

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _threads(monkeypatch) -> list[str]:
    """The names of the threads that wrote batches."""
    names = []
    real = bulk_building._write_batch

    def write(*args):
        names.append(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(bulk_building, "_write_batch", write)
    return names


def test_batches_written_by_the_writer_thread_give_the_inline_orders(w, monkeypatch):
    _mixed_campaign(w)
    names = _threads(monkeypatch)
    progressed = []
    result = bulk_building.build_orders(
        campaign=w.campaign, batch_size=2, progress=progressed.append
    )
    assert len(names) == 5 and all(n.startswith("build-orders-writer") for n in names)
    assert (result.created, sum(progressed)) == (9, 9)
    threaded = _snapshot(w.campaign)
    numbers = sorted(Order.objects.values_list("number", flat=True))
    assert numbers == list(range(numbers[0], numbers[0] + 9))

    Order.objects.update(address=None)
    Order.objects.all().delete()
    OrderCounter.objects.all().delete()
    monkeypatch.setattr(bulk_building, "should_thread", lambda: False)
    names.clear()
    bulk_building.build_orders(campaign=w.campaign, batch_size=2)
    assert names == ["MainThread"] * 5
    assert _snapshot(w.campaign) == threaded


def test_a_failed_batch_stops_the_build_with_its_error_and_keeps_the_batches_before(w, monkeypatch):
    for _ in range(6):
        make_response(w, completed=True)
    real = bulk_building._write_batch
    calls = []

    def write(*args):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(*args)

    monkeypatch.setattr(bulk_building, "_write_batch", write)
    with pytest.raises(RuntimeError, match="disk full"):
        bulk_building.build_orders(campaign=w.campaign, batch_size=2)
    assert Order.objects.filter(campaign=w.campaign).count() == 2
    assert len(calls) in (2, 3)  # the third batch may have been planned, never written
    monkeypatch.setattr(bulk_building, "_write_batch", real)
    result = bulk_building.build_orders(campaign=w.campaign, batch_size=2)
    assert (result.created, result.unchanged) == (4, 2)


def test_an_error_in_the_planning_thread_lets_the_batch_in_flight_land_and_ends_the_writer(
    w, monkeypatch
):
    for _ in range(4):
        make_response(w, completed=True)

    def progress(count):
        raise KeyboardInterrupt  # the operator stops the command

    with pytest.raises(KeyboardInterrupt):
        bulk_building.build_orders(campaign=w.campaign, batch_size=2, progress=progress)
    assert Order.objects.filter(campaign=w.campaign).count() == 2
    assert not [t for t in threading.enumerate() if t.name.startswith("build-orders-writer")]
    result = bulk_building.build_orders(campaign=w.campaign, batch_size=2)
    assert (result.created, result.unchanged) == (2, 2)
