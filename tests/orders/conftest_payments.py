"""What the payment tests share: a stubbed HTTP layer for the Stripe SDK that answers
in Stripe's documented shapes (no network), webhook bodies signed with the SDK's own
signing code, and orders with a balance due."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import stripe
from django.urls import reverse
from django.utils import timezone
from djmoney.money import Money

from orders.models import PaymentSettings
from orders.payments import gateway as gateway_module
from tests.factories import OrderFactory, PledgeFactory

WEBHOOK_SECRET = "whsec_test_pledgeport"
SECRET_KEY = "sk_test_pledgeport"


class StripeStub(stripe.HTTPClient):
    """Answers the SDK's requests from `routes` ((method, path) → (status, body) or a
    function of the form params returning one) and records every request."""

    name = "stub"

    def __init__(self):
        super().__init__()
        self.routes: dict[tuple[str, str], object] = {}
        self.calls: list[dict] = []

    def on(self, method: str, path: str, answer, status: int = 200):
        self.routes[(method, path)] = answer if callable(answer) else (status, answer)

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        parts = urlsplit(url)
        params = dict(parse_qsl(post_data or parts.query, keep_blank_values=True))
        call = {"method": method, "path": parts.path, "headers": dict(headers), "params": params}
        self.calls.append(call)
        answer = self.routes.get((method, parts.path))
        if answer is None:
            return json.dumps({"error": {"type": "invalid_request_error"}}), 404, {}
        status, body = answer(params) if callable(answer) else answer
        return json.dumps(body), status, {"Request-Id": f"req_{len(self.calls)}"}

    def close(self):
        pass

    def calls_to(self, path: str) -> list[dict]:
        return [c for c in self.calls if c["path"] == path]


def install_stripe_stub(monkeypatch, settings) -> StripeStub:
    """Stripe configured from the environment, its HTTP layer stubbed (call it from a
    fixture with pytest's `monkeypatch` and pytest-django's `settings`)."""
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    stub = StripeStub()
    monkeypatch.setattr(gateway_module, "STRIPE_HTTP_CLIENT", stub)
    return stub


def use_gateway(campaign, gateway: str, *, charge_at_lock: bool = False) -> None:
    PaymentSettings.objects.update_or_create(
        campaign=campaign, defaults={"gateway": gateway, "charge_at_lock": charge_at_lock}
    )


def order_due(campaign=None, *, total="80.00", credit="50.00", **fields):
    """A submitted order of `total` with `credit` from the pledge: balance = the rest."""
    if campaign is not None and "backer" not in fields:
        fields["backer"] = PledgeFactory(backer__campaign=campaign).backer
    order = OrderFactory(**fields)
    currency = order.currency
    due = Decimal(total) - Decimal(credit)
    order.total = Money(total, currency)
    order.goods_total = Money(total, currency)
    order.credit = Money(credit, currency)
    order.credit_applied = Money(credit, currency)
    order.balance_due = Money(due, currency)
    order.save()
    return order


# --- Stripe's objects, as its API reference documents them ---------------------------


def checkout_session(
    *, id="cs_test_a1", mode="payment", amount=3000, currency="usd", metadata=None, **extra
):
    return {
        "id": id,
        "object": "checkout.session",
        "mode": mode,
        "status": "open",
        "payment_status": "unpaid",
        "url": f"https://checkout.stripe.com/c/pay/{id}",
        "amount_total": amount if mode == "payment" else None,
        "currency": currency,
        "payment_intent": None,
        "setup_intent": None,
        "customer": None,
        "metadata": metadata or {},
        "livemode": False,
        **extra,
    }


def payment_intent(*, id="pi_test_1", amount=3000, currency="usd", status="succeeded", **extra):
    return {
        "id": id,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount if status == "succeeded" else 0,
        "currency": currency,
        "status": status,
        "customer": extra.pop("customer", None),
        "payment_method": extra.pop("payment_method", None),
        "metadata": extra.pop("metadata", {}),
        "last_payment_error": extra.pop("last_payment_error", None),
        "livemode": False,
        **extra,
    }


def refund_object(*, id="re_test_1", amount=1000, currency="usd", status="succeeded", **extra):
    return {
        "id": id,
        "object": "refund",
        "amount": amount,
        "currency": currency,
        "status": status,
        "payment_intent": extra.pop("payment_intent", "pi_test_1"),
        "metadata": extra.pop("metadata", {}),
        **extra,
    }


def card_error(*, decline_code="insufficient_funds", intent=None):
    return {
        "error": {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": decline_code,
            "message": "Your card has insufficient funds.",
            "payment_intent": intent,
        }
    }


def event(event_type: str, obj: dict, *, id="evt_test_1") -> dict:
    return {
        "id": id,
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": event_type,
        "data": {"object": obj},
    }


def signed(body: dict, secret: str = WEBHOOK_SECRET) -> tuple[str, str]:
    """The JSON body and its Stripe-Signature header, made by the SDK's signing code."""
    payload = json.dumps(body)
    return payload, stripe.WebhookSignature.generate_signature_header(payload, secret)


def post_webhook(client, body: dict, *, secret: str = WEBHOOK_SECRET, signature=None):
    payload, header = signed(body, secret)
    headers = {} if signature == "missing" else {"HTTP_STRIPE_SIGNATURE": signature or header}
    return client.post(
        reverse("webhook-stripe"), data=payload, content_type="application/json", **headers
    )


def completed_response(order):
    """The order's survey response, completed (the pay page needs it)."""
    response = order.response
    response.completed_at = timezone.now()
    response.save(update_fields=["completed_at"])
    return response


def captured_payment(order, amount: str, *, gateway: str = "test", intent_id: str = ""):
    """A charge of `amount` captured on `order` (recorded as a gateway would report it)."""
    from orders.models import Payment, PaymentKind
    from orders.services.payments import record_payment_succeeded

    payment = Payment.objects.create(
        order=order,
        gateway=gateway,
        kind=PaymentKind.CHARGE,
        idempotency_key=f"test-charge-{order.pk}-{Payment.objects.count()}",
        amount=Money(amount, order.currency),
    )
    return record_payment_succeeded(
        payment=payment,
        intent_id=intent_id or f"pi_captured_{payment.pk}",
        amount_received=Money(amount, order.currency),
    )
