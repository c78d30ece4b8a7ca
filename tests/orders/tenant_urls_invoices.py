"""Invoice URLs for the tenancy test (tests/accounts/test_tenancy.py)."""

from django.utils import timezone

from orders.models import Invoice
from tests.factories import OrderFactory


def _slug(o):
    return {"slug": o["campaign"].slug}


URLS = {
    "invoice-list": _slug,
    "invoice-pdf": lambda o: {"slug": o["campaign"].slug, "number": o["invoice"].number},
    "invoices-issue": _slug,
    "invoices-issue-progress": _slug,
}


def build(victim: dict) -> dict:
    campaign = victim["campaign"]
    order = OrderFactory(campaign=campaign, backer=victim["twin"])
    invoice = Invoice.objects.create(
        campaign=campaign,
        order=order,
        number=1,
        issued_at=timezone.now(),
        total=order.total,
        snapshot={"number": 1, "buyer": {"name": "Victim buyer"}},
    )
    return {"invoice": invoice}
