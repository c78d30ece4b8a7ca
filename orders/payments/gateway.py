"""The payment gateway adapter: one small interface, two implementations.

- `StripeGateway`: the Stripe SDK (`stripe.StripeClient`). Checkout Sessions in mode
  "payment" for the balance and "setup" to save a card for charge at lock; an
  off-session PaymentIntent charges the saved card. Every create carries an
  idempotency key, so a retry (double click, task retry) returns the same object.
- `TestGateway`: no network, for the demo and development. Its hosted page lives in
  Pledgeport and says "no real money moves"; what the backer does there comes back
  as an event in Stripe's shapes, handled by the same code as a Stripe webhook.

Amounts cross the adapter as `Money`; gateways see integers in minor units."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import stripe
from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac
from djmoney.money import Money

from ..errors_payments import (
    GatewayFailed,
    GatewayNotConfigured,
    TestGatewayRefused,
    WebhookInvalid,
)
from ..models import Gateway, PaymentSettings
from .amounts import from_minor_units, to_minor_units

# Gateway objects carry these so a webhook finds our rows whatever the object's id.
METADATA_PAYMENT = "pledgeport_payment"
METADATA_REFUND = "pledgeport_refund"

# The HTTP layer StripeGateway hands the SDK; None is the SDK's own. Tests put a stub
# here that answers in Stripe's documented shapes (no network).
STRIPE_HTTP_CLIENT: stripe.HTTPClient | None = None


@dataclass(frozen=True)
class HostedPage:
    """Where the backer goes to pay (or save a card): a Checkout Session."""

    session_id: str
    url: str


@dataclass(frozen=True)
class SavedCard:
    customer_id: str
    payment_method_id: str


@dataclass(frozen=True)
class ChargeResult:
    """What an off-session charge did: `status` is a PaymentStatus value."""

    intent_id: str
    status: str
    amount_received: Money | None = None
    failure_code: str = ""
    failure_message: str = ""


@dataclass(frozen=True)
class RefundResult:
    refund_id: str
    status: str  # Stripe's: pending, requires_action, succeeded, failed, canceled


@dataclass(frozen=True)
class GatewayEvent:
    """A verified gateway event: its id, type and the object it is about."""

    id: str
    type: str
    object: dict[str, Any]
    payload: dict[str, Any] = field(default_factory=dict)


class PaymentGateway(ABC):
    name: str
    is_test: bool = False

    @abstractmethod
    def create_checkout(
        self,
        *,
        order,
        amount: Money,
        idempotency_key: str,
        success_url: str,
        cancel_url: str,
        metadata: dict[str, str],
    ) -> HostedPage:
        """A hosted page charging `amount` once."""

    @abstractmethod
    def create_setup(
        self,
        *,
        order,
        idempotency_key: str,
        success_url: str,
        cancel_url: str,
        metadata: dict[str, str],
    ) -> HostedPage:
        """A hosted page saving a card for a later off-session charge."""

    @abstractmethod
    def saved_card(self, *, setup_intent_id: str) -> SavedCard:
        """The customer and payment method a completed setup saved."""

    @abstractmethod
    def charge_saved_card(
        self,
        *,
        order,
        amount: Money,
        customer_id: str,
        payment_method_id: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> ChargeResult:
        """Charge a saved card with nobody at the keyboard; a decline is a result,
        not an exception (GatewayFailed only when the gateway could not answer)."""

    @abstractmethod
    def refund(
        self, *, payment, amount: Money, idempotency_key: str, metadata: dict[str, str]
    ) -> RefundResult:
        """Give back `amount` of a captured payment."""

    @abstractmethod
    def parse_webhook(self, payload: bytes, signature_header: str | None) -> GatewayEvent:
        """The event in a webhook body whose signature verifies; WebhookInvalid otherwise."""


def _description(order) -> str:
    return f"{order.campaign.name} · order {order.number}"


# Stripe refuses these in a statement descriptor.
_DESCRIPTOR_REFUSED = str.maketrans("", "", "<>\\'\"*")


def statement_suffix(order) -> str:
    """The campaign's statement descriptor (payment settings) as Stripe's card suffix:
    what the backer's bank statement shows after the account's prefix ("" for none)."""
    from ..models import PaymentSettings

    text = (
        PaymentSettings.objects.filter(campaign_id=order.campaign_id)
        .values_list("statement_descriptor", flat=True)
        .first()
    )
    return " ".join((text or "").translate(_DESCRIPTOR_REFUSED).split())[:22]


# --- Stripe ----------------------------------------------------------------------------


class StripeGateway(PaymentGateway):
    name = Gateway.STRIPE

    def __init__(
        self, *, api_key: str, webhook_secret: str, http_client: stripe.HTTPClient | None = None
    ):
        self.webhook_secret = webhook_secret
        self.client = stripe.StripeClient(api_key or "sk_missing", http_client=http_client)

    def _call(self, create, params: dict, idempotency_key: str | None = None):
        options = {"idempotency_key": idempotency_key} if idempotency_key else {}
        try:
            return create(params, options)
        except stripe.StripeError as exc:
            message = getattr(exc, "user_message", None) or str(exc) or type(exc).__name__
            raise GatewayFailed(f"Stripe: {message}") from exc

    def create_checkout(
        self, *, order, amount, idempotency_key, success_url, cancel_url, metadata
    ) -> HostedPage:
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": str(amount.currency).lower(),
                        "unit_amount": to_minor_units(amount),
                        "product_data": {"name": _description(order)},
                    },
                }
            ],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": str(order.pk),
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
        }
        suffix = statement_suffix(order)
        if suffix:
            params["payment_intent_data"]["statement_descriptor_suffix"] = suffix
        if order.email:
            params["customer_email"] = order.email
        session = self._call(self.client.v1.checkout.sessions.create, params, idempotency_key)
        return HostedPage(session_id=session.id, url=session.url)

    def create_setup(
        self, *, order, idempotency_key, success_url, cancel_url, metadata
    ) -> HostedPage:
        # An off-session charge needs the card attached to a customer.
        customer_params: dict[str, Any] = {"name": order.name, "metadata": metadata}
        if order.email:
            customer_params["email"] = order.email
        customer = self._call(
            self.client.v1.customers.create, customer_params, f"{idempotency_key}-customer"
        )
        params = {
            "mode": "setup",
            "currency": order.currency.lower(),
            "customer": customer.id,
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": str(order.pk),
            "metadata": metadata,
            "setup_intent_data": {"metadata": metadata},
        }
        session = self._call(self.client.v1.checkout.sessions.create, params, idempotency_key)
        return HostedPage(session_id=session.id, url=session.url)

    def saved_card(self, *, setup_intent_id: str) -> SavedCard:
        def retrieve(params, options):
            return self.client.v1.setup_intents.retrieve(setup_intent_id, params, options)

        intent = self._call(retrieve, {}).to_dict()
        return SavedCard(
            customer_id=_id_of(intent.get("customer")),
            payment_method_id=_id_of(intent.get("payment_method")),
        )

    def charge_saved_card(
        self, *, order, amount, customer_id, payment_method_id, idempotency_key, metadata
    ) -> ChargeResult:
        params = {
            "amount": to_minor_units(amount),
            "currency": str(amount.currency).lower(),
            "customer": customer_id,
            "payment_method": payment_method_id,
            "off_session": True,
            "confirm": True,
            "description": _description(order),
            "metadata": metadata,
        }
        suffix = statement_suffix(order)
        if suffix:
            params["statement_descriptor_suffix"] = suffix
        try:
            intent = self.client.v1.payment_intents.create(
                params, {"idempotency_key": idempotency_key}
            )
        except stripe.CardError as exc:
            error = exc.error.to_dict() if exc.error else {}
            return ChargeResult(
                intent_id=_id_of(error.get("payment_intent")),
                status="failed",
                failure_code=error.get("decline_code") or error.get("code") or "card_declined",
                failure_message=exc.user_message or str(exc),
            )
        except stripe.StripeError as exc:
            raise GatewayFailed(f"Stripe: {exc.user_message or exc}") from exc
        return _charge_result(intent.to_dict())

    def refund(self, *, payment, amount, idempotency_key, metadata) -> RefundResult:
        params = {
            "payment_intent": payment.intent_id,
            "amount": to_minor_units(amount),
            "metadata": metadata,
        }
        refund = self._call(self.client.v1.refunds.create, params, idempotency_key)
        return RefundResult(refund_id=refund.id, status=refund.status or "pending")

    def parse_webhook(self, payload: bytes, signature_header: str | None) -> GatewayEvent:
        try:
            stripe.Webhook.construct_event(payload, signature_header, self.webhook_secret)
            data = json.loads(payload)
            return GatewayEvent(
                id=data["id"], type=data["type"], object=data["data"]["object"], payload=data
            )
        except stripe.SignatureVerificationError as exc:
            raise WebhookInvalid("The Stripe signature does not verify.") from exc
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise WebhookInvalid("The webhook body is not a Stripe event.") from exc


def _id_of(value) -> str:
    """A Stripe reference is an id or, expanded, an object with one."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return str(value.get("id", ""))


def _charge_result(intent: dict) -> ChargeResult:
    """A PaymentIntent (as a dict) after confirmation, as a ChargeResult."""
    status = intent.get("status")
    currency = intent.get("currency", "usd")
    if status == "succeeded":
        return ChargeResult(
            intent_id=intent["id"],
            status="succeeded",
            amount_received=from_minor_units(intent.get("amount_received", 0), currency),
        )
    if status == "processing":
        return ChargeResult(intent_id=intent["id"], status="processing")
    error = intent.get("last_payment_error") or {}
    return ChargeResult(
        intent_id=intent["id"],
        status="failed",
        failure_code=error.get("decline_code") or error.get("code") or str(status),
        failure_message=error.get("message") or "The card needs the backer to confirm it.",
    )


# --- the built-in test gateway ---------------------------------------------------------

TEST_CARD_OK = "4242424242424242"
# As Stripe's test cards: 0002 is declined at once; 0341 saves fine and is declined
# when charged later (the card that tests charge at lock failing).
TEST_CARD_DECLINED = "4000000000000002"
TEST_CARD_DECLINED_LATER = "4000000000000341"
_SIGNING_SALT = "pledgeport.orders.test-gateway"


def card_digits(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())


class TestGateway(PaymentGateway):
    """Records intents as Payment rows (the services do) and answers from its own
    page; ids derive from the idempotency key, so a retry gets the same object."""

    __test__ = False
    name = Gateway.TEST
    is_test = True

    @staticmethod
    def _id(prefix: str, key: str) -> str:
        return f"{prefix}_{hashlib.sha256(key.encode()).hexdigest()[:24]}"

    @staticmethod
    def page_url(order, session_id: str) -> str:
        from surveys.links import survey_url
        from surveys.models import Survey

        survey = Survey.objects.select_related("campaign").get(campaign_id=order.campaign_id)
        return survey_url(survey, f"pay/test/{session_id}/")

    def create_checkout(
        self, *, order, amount, idempotency_key, success_url, cancel_url, metadata
    ) -> HostedPage:
        session_id = self._id("test_cs", idempotency_key)
        return HostedPage(session_id=session_id, url=self.page_url(order, session_id))

    def create_setup(
        self, *, order, idempotency_key, success_url, cancel_url, metadata
    ) -> HostedPage:
        session_id = self._id("test_cs", idempotency_key)
        return HostedPage(session_id=session_id, url=self.page_url(order, session_id))

    def saved_card(self, *, setup_intent_id: str) -> SavedCard:
        raise GatewayFailed("The test gateway sends the saved card with its event.")

    def charge_saved_card(
        self, *, order, amount, customer_id, payment_method_id, idempotency_key, metadata
    ) -> ChargeResult:
        intent_id = self._id("test_pi", idempotency_key)
        card = payment_method_id.removeprefix("test_pm_")
        if card in (TEST_CARD_DECLINED, TEST_CARD_DECLINED_LATER):
            return ChargeResult(
                intent_id=intent_id,
                status="failed",
                failure_code="card_declined",
                failure_message="Your card was declined.",
            )
        return ChargeResult(intent_id=intent_id, status="succeeded", amount_received=amount)

    def refund(self, *, payment, amount, idempotency_key, metadata) -> RefundResult:
        return RefundResult(refund_id=self._id("test_re", idempotency_key), status="succeeded")

    # Events: what the hosted page did, signed so parse_webhook can check it like
    # Stripe's (a forged one is refused the same way).

    @staticmethod
    def sign(payload: bytes) -> str:
        return salted_hmac(_SIGNING_SALT, payload, algorithm="sha256").hexdigest()

    def parse_webhook(self, payload: bytes, signature_header: str | None) -> GatewayEvent:
        if not signature_header or not constant_time_compare(self.sign(payload), signature_header):
            raise WebhookInvalid("The test gateway signature does not verify.")
        try:
            data = json.loads(payload)
            return GatewayEvent(
                id=data["id"], type=data["type"], object=data["data"]["object"], payload=data
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise WebhookInvalid("The webhook body is not an event.") from exc

    def page_event(self, *, payment, card_number: str, approve: bool) -> tuple[bytes, str]:
        """The signed event for what the backer did on the hosted page: pay (or save
        the card) with `card_number`, or decline. Shapes as Stripe sends them."""
        card = card_digits(card_number)
        declined = not approve or card == TEST_CARD_DECLINED
        metadata = {METADATA_PAYMENT: str(payment.pk)}
        currency = str(payment.amount.currency).lower()
        key = payment.idempotency_key
        if payment.kind == "save_card":
            if declined:
                event_type = "setup_intent.setup_failed"
                obj = {
                    "id": self._id("test_si", key),
                    "object": "setup_intent",
                    "status": "requires_payment_method",
                    "metadata": metadata,
                    "last_setup_error": _decline_error(),
                }
            else:
                event_type = "checkout.session.completed"
                obj = {
                    "id": payment.intent_id,
                    "object": "checkout.session",
                    "mode": "setup",
                    "status": "complete",
                    "currency": currency,
                    "customer": self._id("test_cus", key),
                    "metadata": metadata,
                    "setup_intent": {
                        "id": self._id("test_si", key),
                        "object": "setup_intent",
                        "status": "succeeded",
                        "customer": self._id("test_cus", key),
                        "payment_method": f"test_pm_{card}",
                    },
                }
        elif declined:
            event_type = "payment_intent.payment_failed"
            obj = {
                "id": self._id("test_pi", key),
                "object": "payment_intent",
                "amount": to_minor_units(payment.amount),
                "currency": currency,
                "status": "requires_payment_method",
                "metadata": metadata,
                "last_payment_error": _decline_error(),
            }
        else:
            event_type = "checkout.session.completed"
            obj = {
                "id": payment.intent_id,
                "object": "checkout.session",
                "mode": "payment",
                "status": "complete",
                "payment_status": "paid",
                "amount_total": to_minor_units(payment.amount),
                "currency": currency,
                "payment_intent": self._id("test_pi", key),
                "metadata": metadata,
            }
        event = {
            "id": self._id("evt_test", f"{key}:{event_type}"),
            "object": "event",
            "type": event_type,
            "data": {"object": obj},
        }
        payload = json.dumps(event).encode()
        return payload, self.sign(payload)


def _decline_error() -> dict:
    return {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": "generic_decline",
        "message": "Your card was declined.",
    }


# --- which gateway ---------------------------------------------------------------------


def is_test_gateway_allowed() -> bool:
    return bool(settings.DEBUG or getattr(settings, "PLEDGEPORT_TEST_GATEWAY", False))


def stripe_configured() -> bool:
    return bool(getattr(settings, "STRIPE_SECRET_KEY", ""))


def stripe_gateway() -> StripeGateway:
    """Stripe with the keys of the environment (the webhook needs only the secret)."""
    return StripeGateway(
        api_key=getattr(settings, "STRIPE_SECRET_KEY", ""),
        webhook_secret=getattr(settings, "STRIPE_WEBHOOK_SECRET", ""),
        http_client=STRIPE_HTTP_CLIENT,
    )


def gateway_named(name: str) -> PaymentGateway:
    """The gateway a payment went through (refunds go back the same way)."""
    if name == Gateway.STRIPE:
        if not stripe_configured():
            raise GatewayNotConfigured(
                "Stripe is not configured: set STRIPE_SECRET_KEY in the environment."
            )
        return stripe_gateway()
    if not is_test_gateway_allowed():
        raise TestGatewayRefused(
            "The test gateway moves no real money and is off in production: choose Stripe "
            "in the payment settings, or set PLEDGEPORT_TEST_GATEWAY=true to use it anyway."
        )
    return TestGateway()


def gateway_for(campaign) -> PaymentGateway:
    """The campaign's gateway (the test gateway until the creator chooses Stripe).
    Raises TestGatewayRefused with DEBUG off unless PLEDGEPORT_TEST_GATEWAY=true,
    GatewayNotConfigured for Stripe without a secret key."""
    chosen = (
        PaymentSettings.objects.filter(campaign=campaign).values_list("gateway", flat=True).first()
    )
    return gateway_named(chosen or Gateway.TEST)
