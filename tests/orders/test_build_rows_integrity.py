"""Order lines and address versions keep no foreign-key constraint in the database
(migration orders/0012, for the bulk build): Django's cascade and PROTECT keep them
whole instead."""

import pytest
from django.db.models import ProtectedError

from orders.models import Order, OrderAddress, OrderLine
from orders.services.bulk_building import build_orders

from .conftest_bld import bld_fresh_catalog_cache, bld_world, make_response  # noqa: F401

pytestmark = pytest.mark.django_db


def test_deleting_an_order_removes_its_lines_and_address_versions(w):
    make_response(w, completed=True)
    kept = make_response(w, cart=[(w.offer, 1)], completed=True)
    build_orders(campaign=w.campaign)
    order = Order.objects.exclude(backer=kept.backer).get()
    assert order.lines.exists() and order.addresses.exists()
    order_pk = order.pk
    Order.objects.filter(pk=order_pk).update(address=None)
    order.refresh_from_db()
    order.delete()
    assert not OrderLine.objects.filter(order_id=order_pk).exists()
    assert not OrderAddress.objects.filter(order_id=order_pk).exists()
    other = Order.objects.get(backer=kept.backer)
    assert other.lines.count() == 5 and other.addresses.count() == 1


def test_a_sku_on_an_order_line_cannot_be_deleted(w):
    make_response(w, completed=True)
    build_orders(campaign=w.campaign)
    assert OrderLine.objects.filter(sku=w.box).exists()
    with pytest.raises(ProtectedError):
        w.box.delete()
    assert OrderLine.objects.filter(sku=w.box).exists()
