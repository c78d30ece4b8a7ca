"""Helpers for the orders back-office page tests: orders of one campaign with
holds, addresses, lines and tags, built straight from the models."""

from __future__ import annotations

from django.utils import timezone

from orders.models import AddressSource, AddressStatus, OrderAddress, OrderHold
from tests.factories import (
    BackerFactory,
    MembershipFactory,
    OrderFactory,
    OrderLineFactory,
    PledgeFactory,
)


def order_in(campaign, **fields):
    """A submitted order of a new backer of `campaign` (numbers from the factory)."""
    backer = PledgeFactory(backer=BackerFactory(campaign=campaign)).backer
    return OrderFactory(backer=backer, campaign=campaign, **fields)


def hold_on(order, reason, detail=""):
    """An open hold written straight to the table (no readiness change)."""
    return OrderHold.objects.create(
        order=order, reason=reason, detail=detail, opened_at=timezone.now()
    )


def address_of(order, *, status=AddressStatus.INVALID, problems=None, **fields):
    """A new current address version of `order`."""
    version = order.addresses.count() + 1
    values = {
        "name": order.name,
        "street_address": "Storgatan 1",
        "city": "Tyresö",
        "postal_code": "13540",
        "country": order.country or "SE",
        **fields,
    }
    address = OrderAddress.objects.create(
        order=order,
        version=version,
        source=AddressSource.SURVEY,
        status=status,
        problems=problems if problems is not None else {},
        **values,
    )
    order.address = address
    order.address_status = status
    order.save(update_fields=["address", "address_status"])
    return address


def addon_line(order, code):
    return OrderLineFactory(order=order, source="addon", sku_code=code, description=code)


def client_as(client, organization, role):
    user = MembershipFactory(organization=organization, role=role).user
    client.force_login(user)
    return user
