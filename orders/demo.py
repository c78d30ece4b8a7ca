"""Demo orders: every backer's order built from the seeded survey, addresses checked,
a review rule, and some balances paid through the test gateway (with their invoices),
so the Orders, Payments and Invoices pages have something to show. Safe to run again."""

from __future__ import annotations

from dataclasses import dataclass

from djmoney.money import Money

from .errors_payments import TestGatewayRefused
from .models import Gateway, Order, OrderState, Payment, ReviewRules
from .payments.gateway import gateway_named
from .services.addresses import validate_addresses
from .services.bulk_building import build_orders
from .services.payments import handle_gateway_event, start_checkout

PAID_IN_DEMO = 25  # balances the demo pays (the rest stay on hold `payment_due`)
TEST_CARD = "4242424242424242"


@dataclass
class OrdersDemo:
    orders: int
    ready: int
    on_hold: int
    paid_now: int


def _pay(order: Order) -> bool:
    start_checkout(order=order, success_url="/", cancel_url="/")
    payment = order.payments.filter(gateway=Gateway.TEST, status="pending").latest("pk")
    gateway = gateway_named(Gateway.TEST)
    payload, signature = gateway.page_event(payment=payment, card_number=TEST_CARD, approve=True)
    return handle_gateway_event(gateway=gateway, event=gateway.parse_webhook(payload, signature))


def _test_gateway_allowed() -> bool:
    """Seeding with DEBUG off (and the test gateway not enabled) pays nothing."""
    try:
        gateway_named(Gateway.TEST)
    except TestGatewayRefused:
        return False
    return True


def seed_orders_demo(campaign) -> OrdersDemo:
    ReviewRules.objects.get_or_create(
        campaign=campaign, defaults={"value_above": Money(400, campaign.currency)}
    )
    build_orders(campaign=campaign)
    validate_addresses(campaign=campaign, send_emails=False)
    paid_now = 0
    if _test_gateway_allowed() and not Payment.objects.filter(order__campaign=campaign).exists():
        due = Order.objects.filter(
            campaign=campaign, state=OrderState.SUBMITTED, balance_due__gt=0
        ).order_by("number")[:PAID_IN_DEMO]
        paid_now = sum(_pay(order) for order in due)
    orders = Order.objects.filter(campaign=campaign)
    return OrdersDemo(
        orders=orders.count(),
        ready=orders.filter(state=OrderState.READY).count(),
        on_hold=orders.filter(state=OrderState.SUBMITTED).count(),
        paid_now=paid_now,
    )
