"""/webhooks/stripe/: signatures checked with Stripe's own signing code, each event
handled once, and what each event type does to payments, refunds and the order."""

import pytest
import stripe
from django.urls import reverse
from djmoney.money import Money

from orders.models import (
    Gateway,
    HoldReason,
    LedgerEntry,
    LedgerKind,
    Payment,
    PaymentKind,
    PaymentStatus,
    Refund,
    WebhookEvent,
)
from orders.services import payments
from orders.services.holds import open_hold
from tests.factories import CampaignFactory

from .conftest_payments import (
    checkout_session,
    event,
    install_stripe_stub,
    order_due,
    payment_intent,
    post_webhook,
    refund_object,
    signed,
    use_gateway,
)


@pytest.fixture
def stub(db, monkeypatch, settings):
    return install_stripe_stub(monkeypatch, settings)


@pytest.fixture
def order(stub):
    campaign = CampaignFactory()
    use_gateway(campaign, Gateway.STRIPE)
    return order_due(campaign, total="80.00", credit="50.00")


@pytest.fixture
def payment(stub, order):
    """A checkout started through the service (so the session id is stored)."""
    stub.on("post", "/v1/checkout/sessions", checkout_session(id="cs_test_a1"))
    payments.start_checkout(
        order=order, success_url="https://x.test/ok", cancel_url="https://x.test/no"
    )
    return Payment.objects.get(order=order)


def completed(payment, *, event_id="evt_1", amount=3000):
    session = checkout_session(
        id="cs_test_a1",
        amount=amount,
        metadata={"pledgeport_payment": str(payment.pk)},
        status="complete",
        payment_status="paid",
        payment_intent="pi_test_1",
    )
    return event("checkout.session.completed", session, id=event_id)


def test_completed_checkout_marks_the_payment_succeeded(client, payment):
    response = post_webhook(client, completed(payment))
    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.intent_id == "pi_test_1"
    assert payment.captured == Money("30.00", "USD")


def test_completed_checkout_pays_the_order(client, payment, order):
    post_webhook(client, completed(payment))
    order.refresh_from_db()
    assert order.paid_total == Money("30.00", "USD")
    assert order.balance_due == Money("0.00", "USD")


def test_replayed_event_has_one_effect(client, payment):
    first = post_webhook(client, completed(payment))
    again = post_webhook(client, completed(payment))
    assert (first.status_code, again.status_code) == (200, 200)
    assert LedgerEntry.objects.filter(kind=LedgerKind.CHARGE).count() == 1
    assert WebhookEvent.objects.filter(event_id="evt_1").count() == 1


def test_forged_signature_is_refused(client, payment):
    response = post_webhook(client, completed(payment), secret="whsec_somebody_else")
    assert response.status_code == 400
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert not WebhookEvent.objects.exists()


def test_missing_signature_is_refused(client, payment):
    response = post_webhook(client, completed(payment), signature="missing")
    assert response.status_code == 400


def test_body_changed_after_signing_is_refused(client, payment):
    body = completed(payment)
    _payload, header = signed(body)
    body["data"]["object"]["amount_total"] = 1
    response = post_webhook(client, body, signature=header)
    assert response.status_code == 400


def test_signed_body_that_is_not_json_is_refused(client, stub):
    header = stripe.WebhookSignature.generate_signature_header("not json", "whsec_test_pledgeport")
    response = client.post(
        reverse("webhook-stripe"),
        data="not json",
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )
    assert response.status_code == 400


def test_get_is_not_allowed(client, stub):
    assert client.get(reverse("webhook-stripe")).status_code == 405


def test_unknown_event_type_is_recorded_and_answered(client, stub):
    response = post_webhook(client, event("customer.created", {"id": "cus_1"}, id="evt_u"))
    assert response.status_code == 200
    record = WebhookEvent.objects.get(event_id="evt_u")
    assert record.processed_at is not None


def test_payment_intent_succeeded_alone_pays(client, payment):
    intent = payment_intent(metadata={"pledgeport_payment": str(payment.pk)})
    post_webhook(client, event("payment_intent.succeeded", intent, id="evt_pi"))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_session_then_intent_succeeded_charges_once(client, payment):
    post_webhook(client, completed(payment))
    intent = payment_intent(metadata={"pledgeport_payment": str(payment.pk)})
    post_webhook(client, event("payment_intent.succeeded", intent, id="evt_pi"))
    assert LedgerEntry.objects.filter(kind=LedgerKind.CHARGE).count() == 1


def test_payment_failed_records_the_decline(client, payment):
    intent = payment_intent(
        status="requires_payment_method",
        metadata={"pledgeport_payment": str(payment.pk)},
        last_payment_error={"code": "card_declined", "message": "Your card was declined."},
    )
    post_webhook(client, event("payment_intent.payment_failed", intent, id="evt_f"))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_code == "card_declined"


def test_unpaid_completed_session_waits_as_processing(client, payment):
    session = checkout_session(
        id="cs_test_a1",
        metadata={"pledgeport_payment": str(payment.pk)},
        status="complete",
        payment_status="unpaid",
        payment_intent="pi_sepa",
    )
    post_webhook(client, event("checkout.session.completed", session, id="evt_s"))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PROCESSING
    assert payment.intent_id == "pi_sepa"


def test_completed_setup_session_saves_the_card(client, stub, order):
    stub.on("post", "/v1/customers", {"id": "cus_1", "object": "customer"})
    stub.on("post", "/v1/checkout/sessions", checkout_session(id="cs_setup", mode="setup"))
    stub.on(
        "get",
        "/v1/setup_intents/seti_1",
        {"id": "seti_1", "object": "setup_intent", "customer": "cus_1", "payment_method": "pm_1"},
    )
    payments.save_card_for_later(
        order=order, success_url="https://x.test/ok", cancel_url="https://x.test/no"
    )
    setup = Payment.objects.get(order=order, kind=PaymentKind.SAVE_CARD)
    session = checkout_session(
        id="cs_setup",
        mode="setup",
        status="complete",
        setup_intent="seti_1",
        customer="cus_1",
        metadata={"pledgeport_payment": str(setup.pk)},
    )
    post_webhook(client, event("checkout.session.completed", session, id="evt_setup"))
    setup.refresh_from_db()
    assert setup.status == PaymentStatus.SUCCEEDED
    assert (setup.customer_id, setup.payment_method_id) == ("cus_1", "pm_1")


def test_refund_made_in_the_stripe_dashboard_is_recorded(client, payment, order):
    post_webhook(client, completed(payment))
    refund = refund_object(id="re_dash", amount=1000, payment_intent="pi_test_1")
    post_webhook(client, event("refund.updated", refund, id="evt_r"))
    recorded = Refund.objects.get(refund_id="re_dash")
    assert recorded.amount == Money("10.00", "USD")
    order.refresh_from_db()
    assert order.paid_total == Money("20.00", "USD")


def test_refund_event_for_our_refund_does_not_count_twice(client, stub, payment, order):
    post_webhook(client, completed(payment))
    stub.on("post", "/v1/refunds", refund_object(id="re_ours", amount=1000))
    ours = payments.refund_payment(payment=payment, amount="10.00", actor="test", reason="Damaged")
    body = refund_object(id="re_ours", amount=1000, metadata={"pledgeport_refund": str(ours.pk)})
    post_webhook(client, event("refund.updated", body, id="evt_r2"))
    assert Refund.objects.count() == 1
    assert LedgerEntry.objects.filter(kind=LedgerKind.REFUND).count() == 1
    order.refresh_from_db()
    assert order.paid_total == Money("20.00", "USD")


def test_refund_failing_later_gives_the_money_back_to_the_ledger(client, stub, payment, order):
    post_webhook(client, completed(payment))
    stub.on("post", "/v1/refunds", refund_object(id="re_x", amount=1000))
    ours = payments.refund_payment(payment=payment, amount="10.00", actor="test", reason="x")
    body = refund_object(
        id="re_x", amount=1000, status="failed", metadata={"pledgeport_refund": str(ours.pk)}
    )
    post_webhook(client, event("refund.updated", body, id="evt_r3"))
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.refunded == Money("0.00", "USD")
    assert order.paid_total == Money("30.00", "USD")


def test_charge_refunded_with_its_refund_list_applies_each_refund(client, payment, order):
    post_webhook(client, completed(payment))
    charge = {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": "pi_test_1",
        "amount": 3000,
        "amount_refunded": 3000,
        "refunded": True,
        "currency": "usd",
        "refunds": {
            "object": "list",
            "data": [refund_object(id="re_all", amount=3000, payment_intent="pi_test_1")],
        },
    }
    post_webhook(client, event("charge.refunded", charge, id="evt_ch"))
    order.refresh_from_db()
    assert order.paid_total == Money("0.00", "USD")


def test_payment_of_a_fully_paid_order_clears_its_payment_hold(client, payment, order):
    open_hold(order=order, reason=HoldReason.PAYMENT_DUE, detail="30 USD due")
    post_webhook(client, completed(payment))
    assert not order.holds.filter(reason=HoldReason.PAYMENT_DUE, cleared_at__isnull=True).exists()


def test_expired_session_lets_the_next_checkout_start_afresh(client, stub, payment, order):
    session = checkout_session(
        id="cs_test_a1", status="expired", metadata={"pledgeport_payment": str(payment.pk)}
    )
    post_webhook(client, event("checkout.session.expired", session, id="evt_exp"))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELED
    payments.start_checkout(
        order=order, success_url="https://x.test/ok", cancel_url="https://x.test/no"
    )
    keys = [c["headers"]["Idempotency-Key"] for c in stub.calls_to("/v1/checkout/sessions")]
    assert len(set(keys)) == 2
