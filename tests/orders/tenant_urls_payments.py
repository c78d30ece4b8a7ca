"""Payment URLs for the tenancy test (tests/accounts/test_tenancy.py)."""

from djmoney.money import Money

from orders.models import Payment, PaymentKind, PaymentStatus
from tests.factories import OrderFactory


def _slug(o):
    return {"slug": o["campaign"].slug}


def _order(o):
    return {"slug": o["campaign"].slug, "number": o["paid_order"].number}


URLS = {
    "payment-list": _slug,
    "payment-settings": _slug,
    "order-payments": _order,
    "payment-refund": lambda o: {**_order(o), "payment_id": o["payment"].pk},
}


def build(victim: dict) -> dict:
    order = OrderFactory(backer=victim["backer"])
    payment = Payment.objects.create(
        order=order,
        gateway="test",
        kind=PaymentKind.CHARGE,
        status=PaymentStatus.SUCCEEDED,
        idempotency_key=f"tenancy-{order.pk}",
        intent_id="test_pi_tenancy",
        amount=Money("10.00", order.currency),
        captured=Money("10.00", order.currency),
    )
    return {"paid_order": order, "payment": payment}
