"""A rebuild keeps what re-pricing set: an order re-priced after it was built from the
backer's confirmation keeps its shipping fee, tax and tax treatment when a changed
reward map or rule rebuilds it (bulk and one by one alike), until the backer confirms
again; a re-pricing of the order built from an earlier confirmation never wins over a
newer one. A re-pricing alone leaves the order's fingerprint standing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Order
from orders.services.building import build_order_for_backer
from orders.services.bulk_building import build_orders

from .conftest_bld import bld_fresh_catalog_cache, bld_world, make_response  # noqa: F401

pytestmark = pytest.mark.django_db
D = Decimal


def _reprice(order, *, shipping, tax, regime="eu_vat"):
    """What reprice_orders writes for an order whose rates changed."""
    order.refresh_from_db()
    total = order.goods_total.amount + D(shipping) + D(tax)
    Order.objects.filter(pk=order.pk).update(
        shipping_fee=D(shipping),
        tax_total=D(tax),
        total=total,
        balance_due=max(D(0), total - order.credit_applied.amount - order.paid_total.amount),
        tax_regime=regime,
        priced_at=timezone.now() + timedelta(seconds=1),
    )


def _change_the_map(w):
    """Something every order's build reads: the box gets heavier (a new catalog)."""
    w.box.weight_g = 1300
    w.box.save()


def _money(order):
    order.refresh_from_db()
    return (order.shipping_fee.amount, order.tax_total.amount, order.total.amount, order.tax_regime)


def test_a_bulk_rebuild_keeps_the_re_priced_fee_tax_and_regime(w):
    response = make_response(w, completed=True, shipping=D("8.00"))
    build_orders(campaign=w.campaign)
    order = Order.objects.get(response=response)
    goods = order.goods_total.amount
    _reprice(order, shipping="9.50", tax="4.20")
    _change_the_map(w)
    result = build_orders(campaign=w.campaign)
    assert result.updated == 1
    assert _money(order) == (D("9.50"), D("4.20"), goods + D("13.70"), "eu_vat")
    assert order.weight_g > 1300  # the rebuild did happen


def test_a_single_rebuild_keeps_it_too_and_agrees_with_the_bulk_one(w):
    response = make_response(w, completed=True, shipping=D("8.00"))
    build_orders(campaign=w.campaign)
    order = Order.objects.get(response=response)
    _reprice(order, shipping="9.50", tax="4.20")
    _change_the_map(w)
    build_order_for_backer(backer=response.backer)
    single = (_money(order), order.build_fingerprint)
    assert single[0][:2] == (D("9.50"), D("4.20"))
    # The bulk build reads the same inputs: nothing left to change.
    result = build_orders(campaign=w.campaign)
    assert (result.unchanged, result.updated) == (1, 0)
    assert (_money(order), order.build_fingerprint) == single


def test_a_confirmation_after_the_re_pricing_counts_again(w):
    response = make_response(w, completed=True, shipping=D("8.00"))
    build_orders(campaign=w.campaign)
    order = Order.objects.get(response=response)
    _reprice(order, shipping="9.50", tax="4.20")
    # The backer reopens and confirms again: the survey quoted with today's rates.
    response.refresh_from_db()
    response.shipping_total = D("11.00")
    response.completed_at = timezone.now() + timedelta(minutes=5)
    response.save()
    build_orders(campaign=w.campaign)
    assert _money(order)[:2] == (D("11.00"), D("0.00"))


def test_an_order_never_re_priced_takes_the_survey_figures(w):
    response = make_response(w, completed=True, shipping=D("8.00"))
    build_orders(campaign=w.campaign)
    order = Order.objects.get(response=response)
    response.refresh_from_db()
    response.shipping_total = D("12.00")
    response.save()
    build_orders(campaign=w.campaign)
    assert _money(order)[:2] == (D("12.00"), D("0.00"))


def test_a_re_pricing_of_the_order_built_from_an_older_confirmation_does_not_win(w):
    """The backer confirms again (a bigger fee) and the rebuild is still queued when a
    re-pricing job prices the order built from the confirmation before."""
    response = make_response(w, completed=True, shipping=D("8.00"))
    build_orders(campaign=w.campaign)
    order = Order.objects.get(response=response)
    response.refresh_from_db()
    response.shipping_total = D("15.00")
    response.completed_at = timezone.now() + timedelta(minutes=5)
    response.save()
    _reprice(order, shipping="9.50", tax="4.20")  # priced the old order, later still
    Order.objects.filter(pk=order.pk).update(priced_at=timezone.now() + timedelta(minutes=9))
    build_order_for_backer(backer=response.backer)  # the queued rebuild
    assert _money(order)[:2] == (D("15.00"), D("0.00"))
    order.refresh_from_db()
    assert order.survey_confirmed_at == response.completed_at


def test_a_re_pricing_alone_leaves_the_orders_unchanged_for_the_next_build(w):
    for _ in range(3):
        make_response(w, completed=True, shipping=D("8.00"))
    build_orders(campaign=w.campaign)
    for order in Order.objects.all():
        _reprice(order, shipping="9.50", tax="4.20")
    result = build_orders(campaign=w.campaign)
    assert (result.unchanged, result.updated) == (3, 0)
    assert {_money(o)[:2] for o in Order.objects.all()} == {(D("9.50"), D("4.20"))}


def test_the_bulk_build_records_the_confirmation_it_built_from(w):
    response = make_response(w, completed=True)
    draft = make_response(w)
    build_orders(campaign=w.campaign)
    response.refresh_from_db()
    assert Order.objects.get(response=response).survey_confirmed_at == response.completed_at
    assert Order.objects.get(response=draft).survey_confirmed_at is None
