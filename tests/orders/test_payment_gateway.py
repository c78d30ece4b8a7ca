"""The gateway adapter: what StripeGateway sends to Stripe (through a stubbed HTTP
layer), amounts in minor units, and which gateway a campaign may use."""

from decimal import Decimal

import pytest
from djmoney.money import Money

from orders.errors_payments import GatewayFailed, GatewayNotConfigured, TestGatewayRefused
from orders.models import Gateway
from orders.payments.amounts import from_minor_units, round_amount, to_minor_units
from orders.payments.gateway import StripeGateway, TestGateway, gateway_for
from tests.factories import CampaignFactory, OrderFactory

from .conftest_payments import (
    card_error,
    checkout_session,
    install_stripe_stub,
    payment_intent,
    refund_object,
    use_gateway,
)


@pytest.fixture
def stub(monkeypatch, settings):
    return install_stripe_stub(monkeypatch, settings)


@pytest.fixture
def gateway(stub):
    return StripeGateway(api_key="sk_test_x", webhook_secret="whsec_x", http_client=stub)


@pytest.fixture
def order(db):
    return OrderFactory()


def test_checkout_session_is_created_in_payment_mode_with_the_idempotency_key(stub, gateway, order):
    stub.on("post", "/v1/checkout/sessions", checkout_session(id="cs_test_9"))
    page = gateway.create_checkout(
        order=order,
        amount=Money("30.00", "USD"),
        idempotency_key="pp-checkout-1",
        success_url="https://example.com/ok",
        cancel_url="https://example.com/cancel",
        metadata={"pledgeport_payment": "7"},
    )
    (call,) = stub.calls_to("/v1/checkout/sessions")
    assert call["headers"]["Idempotency-Key"] == "pp-checkout-1"
    assert call["params"]["mode"] == "payment"
    assert call["params"]["line_items[0][price_data][unit_amount]"] == "3000"
    assert call["params"]["line_items[0][price_data][currency]"] == "usd"
    assert call["params"]["metadata[pledgeport_payment]"] == "7"
    assert call["params"]["payment_intent_data[metadata][pledgeport_payment]"] == "7"
    assert page.session_id == "cs_test_9"
    assert page.url == "https://checkout.stripe.com/c/pay/cs_test_9"


def test_yen_are_sent_without_decimals(stub, gateway, order):
    stub.on("post", "/v1/checkout/sessions", checkout_session(currency="jpy", amount=1500))
    gateway.create_checkout(
        order=order,
        amount=Money("1500", "JPY"),
        idempotency_key="k-jpy",
        success_url="https://example.com/ok",
        cancel_url="https://example.com/cancel",
        metadata={},
    )
    (call,) = stub.calls_to("/v1/checkout/sessions")
    assert call["params"]["line_items[0][price_data][unit_amount]"] == "1500"
    assert call["params"]["line_items[0][price_data][currency]"] == "jpy"


def test_setup_creates_a_customer_then_a_setup_session_each_with_a_key(stub, gateway, order):
    stub.on("post", "/v1/customers", {"id": "cus_test_1", "object": "customer"})
    stub.on("post", "/v1/checkout/sessions", checkout_session(id="cs_setup", mode="setup"))
    page = gateway.create_setup(
        order=order,
        idempotency_key="pp-setup-1",
        success_url="https://example.com/ok",
        cancel_url="https://example.com/cancel",
        metadata={},
    )
    customer_call, session_call = stub.calls
    assert customer_call["path"] == "/v1/customers"
    assert customer_call["headers"]["Idempotency-Key"] == "pp-setup-1-customer"
    assert session_call["params"]["mode"] == "setup"
    assert session_call["params"]["customer"] == "cus_test_1"
    assert session_call["headers"]["Idempotency-Key"] == "pp-setup-1"
    assert page.session_id == "cs_setup"


def test_saved_card_is_read_from_the_setup_intent(stub, gateway):
    stub.on(
        "get",
        "/v1/setup_intents/seti_1",
        {"id": "seti_1", "object": "setup_intent", "customer": "cus_1", "payment_method": "pm_1"},
    )
    card = gateway.saved_card(setup_intent_id="seti_1")
    assert (card.customer_id, card.payment_method_id) == ("cus_1", "pm_1")


def test_saved_card_is_charged_off_session(stub, gateway, order):
    stub.on("post", "/v1/payment_intents", payment_intent(id="pi_ok", amount=2500))
    result = gateway.charge_saved_card(
        order=order,
        amount=Money("25.00", "USD"),
        customer_id="cus_1",
        payment_method_id="pm_1",
        idempotency_key="pp-lock-1",
        metadata={},
    )
    (call,) = stub.calls
    assert call["params"]["off_session"] == "true"
    assert call["params"]["confirm"] == "true"
    assert call["params"]["payment_method"] == "pm_1"
    assert call["headers"]["Idempotency-Key"] == "pp-lock-1"
    assert result.status == "succeeded"
    assert result.amount_received == Money("25.00", "USD")


def test_declined_off_session_charge_is_a_failed_result(stub, gateway, order):
    declined = payment_intent(id="pi_no", status="requires_payment_method")
    stub.on("post", "/v1/payment_intents", card_error(intent=declined), status=402)
    result = gateway.charge_saved_card(
        order=order,
        amount=Money("25.00", "USD"),
        customer_id="cus_1",
        payment_method_id="pm_1",
        idempotency_key="pp-lock-2",
        metadata={},
    )
    assert result.status == "failed"
    assert result.intent_id == "pi_no"
    assert result.failure_code == "insufficient_funds"


def test_refund_names_the_payment_intent_amount_and_key(stub, gateway, order):
    stub.on("post", "/v1/refunds", refund_object(id="re_1", amount=500))
    payment = order.payments.create(
        gateway=Gateway.STRIPE, intent_id="pi_1", idempotency_key="p1", amount=Money(30, "USD")
    )
    result = gateway.refund(
        payment=payment, amount=Money("5.00", "USD"), idempotency_key="r1", metadata={}
    )
    (call,) = stub.calls
    assert call["params"] == {"payment_intent": "pi_1", "amount": "500"}
    assert call["headers"]["Idempotency-Key"] == "r1"
    assert (result.refund_id, result.status) == ("re_1", "succeeded")


def test_stripe_refusal_is_a_gateway_failure(stub, gateway, order):
    stub.on(
        "post",
        "/v1/checkout/sessions",
        {"error": {"type": "invalid_request_error", "message": "Amount too small"}},
        status=400,
    )
    with pytest.raises(GatewayFailed):
        gateway.create_checkout(
            order=order,
            amount=Money("0.10", "USD"),
            idempotency_key="k",
            success_url="https://example.com/ok",
            cancel_url="https://example.com/cancel",
            metadata={},
        )


def test_minor_units_round_half_up_once():
    assert round_amount(Decimal("10.005"), "USD") == Decimal("10.01")
    assert to_minor_units(Money("10.005", "USD")) == 1001
    assert to_minor_units(Money("1499.5", "JPY")) == 1500
    assert from_minor_units(1234, "usd") == Money("12.34", "USD")


def test_test_gateway_is_refused_with_debug_off(db, settings):
    settings.DEBUG = False
    settings.PLEDGEPORT_TEST_GATEWAY = False
    with pytest.raises(TestGatewayRefused):
        gateway_for(CampaignFactory())


def test_test_gateway_is_allowed_when_enabled_explicitly(db, settings):
    settings.DEBUG = False
    settings.PLEDGEPORT_TEST_GATEWAY = True
    assert isinstance(gateway_for(CampaignFactory()), TestGateway)


def test_test_gateway_is_allowed_in_debug(db, settings):
    settings.DEBUG = True
    settings.PLEDGEPORT_TEST_GATEWAY = False
    assert isinstance(gateway_for(CampaignFactory()), TestGateway)


def test_stripe_without_a_secret_key_is_not_configured(db, settings):
    settings.STRIPE_SECRET_KEY = ""
    campaign = CampaignFactory()
    use_gateway(campaign, Gateway.STRIPE)
    with pytest.raises(GatewayNotConfigured):
        gateway_for(campaign)


def test_stripe_with_a_key_is_the_campaigns_gateway(db, stub):
    campaign = CampaignFactory()
    use_gateway(campaign, Gateway.STRIPE)
    assert isinstance(gateway_for(campaign), StripeGateway)


def _descriptor(order, text):
    from orders.models import PaymentSettings

    PaymentSettings.objects.update_or_create(
        campaign=order.campaign, defaults={"statement_descriptor": text}
    )


def test_checkout_sends_the_campaigns_statement_descriptor(stub, gateway, order):
    _descriptor(order, 'SKYFORGE "PM"*')
    stub.on("post", "/v1/checkout/sessions", checkout_session(id="cs_test_d"))
    gateway.create_checkout(
        order=order,
        amount=Money("30.00", "USD"),
        idempotency_key="pp-checkout-d",
        success_url="https://example.com/ok",
        cancel_url="https://example.com/cancel",
        metadata={},
    )
    (call,) = stub.calls_to("/v1/checkout/sessions")
    assert call["params"]["payment_intent_data[statement_descriptor_suffix]"] == "SKYFORGE PM"


def test_a_charge_at_lock_sends_the_statement_descriptor(stub, gateway, order):
    _descriptor(order, "SKYFORGE")
    stub.on("post", "/v1/payment_intents", payment_intent(id="pi_d", amount=2500))
    gateway.charge_saved_card(
        order=order,
        amount=Money("25.00", "USD"),
        customer_id="cus_1",
        payment_method_id="pm_1",
        idempotency_key="pp-lock-d",
        metadata={},
    )
    (call,) = stub.calls
    assert call["params"]["statement_descriptor_suffix"] == "SKYFORGE"


def test_without_a_descriptor_none_is_sent(stub, gateway, order):
    stub.on("post", "/v1/payment_intents", payment_intent(id="pi_n", amount=2500))
    gateway.charge_saved_card(
        order=order,
        amount=Money("25.00", "USD"),
        customer_id="cus_1",
        payment_method_id="pm_1",
        idempotency_key="pp-lock-n",
        metadata={},
    )
    (call,) = stub.calls
    assert "statement_descriptor_suffix" not in call["params"]
