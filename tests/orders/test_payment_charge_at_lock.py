"""Charge at lock: the saved card is charged the balance when the order locks; a
failure opens the `payment_failed` hold and emails the backer a link to pay again."""

import pytest
from django.core import mail
from djmoney.money import Money

from orders.models import Gateway, HoldReason, Payment, PaymentKind, PaymentStatus
from orders.services import payments
from surveys.models import SurveyResponse
from tests.factories import SurveyFactory, SurveyInviteFactory

from .conftest_payments import card_error, install_stripe_stub, order_due, payment_intent

OK_CARD = "test_pm_4242424242424242"
DECLINED_LATER = "test_pm_4000000000000341"


@pytest.fixture(autouse=True)
def _test_gateway_allowed(settings):
    settings.PLEDGEPORT_TEST_GATEWAY = True


@pytest.fixture
def order(db):
    invite = SurveyInviteFactory(survey=SurveyFactory(), email="backer@example.net")
    response = SurveyResponse.objects.create(invite=invite, backer=invite.backer)
    return order_due(backer=invite.backer, response=response, state="ready")


def save_card(order, method: str, *, gateway=Gateway.TEST, customer="test_cus_1"):
    return Payment.objects.create(
        order=order,
        gateway=gateway,
        kind=PaymentKind.SAVE_CARD,
        status=PaymentStatus.SUCCEEDED,
        idempotency_key=f"setup-{order.pk}-{method}",
        amount=order.balance_due,
        customer_id=customer,
        payment_method_id=method,
    )


def open_holds(order):
    return set(order.holds.filter(cleared_at__isnull=True).values_list("reason", flat=True))


def test_saved_card_is_charged_the_balance(order):
    save_card(order, OK_CARD)
    assert payments.charge_at_lock(order=order) is True
    order.refresh_from_db()
    assert order.balance_due == Money("0.00", "USD")
    charge = order.payments.get(kind=PaymentKind.CHARGE)
    assert charge.captured == Money("30.00", "USD")


def test_order_with_nothing_due_is_not_charged(order):
    order.credit_applied = order.total
    order.save()
    assert payments.charge_at_lock(order=order) is True
    assert not order.payments.exists()


def test_declined_charge_opens_the_payment_failed_hold(order):
    save_card(order, DECLINED_LATER)
    assert payments.charge_at_lock(order=order) is False
    assert HoldReason.PAYMENT_FAILED in open_holds(order)


def test_declined_charge_emails_a_link_to_pay_again(order, django_capture_on_commit_callbacks):
    save_card(order, DECLINED_LATER)
    with django_capture_on_commit_callbacks(execute=True):
        payments.charge_at_lock(order=order)
    (message,) = mail.outbox
    assert message.to == [order.email]
    assert "/pay/t/" in message.body
    assert "30.00" in message.body


def test_pay_again_link_opens_the_backers_pay_page(client, order):
    invite = order.response.invite
    link = payments.pay_link(invite)
    path = link.split("://", 1)[1].split("/", 1)[1]
    response = client.get("/" + path)
    assert response.status_code == 302
    assert response["Location"].endswith("/pay/")


def test_order_without_a_saved_card_goes_on_hold(order):
    assert payments.charge_at_lock(order=order) is False
    assert HoldReason.PAYMENT_FAILED in open_holds(order)


def test_stripe_decline_at_lock_is_a_failure_with_its_reason(order, monkeypatch, settings):
    stub = install_stripe_stub(monkeypatch, settings)
    declined = payment_intent(id="pi_declined", status="requires_payment_method")
    stub.on("post", "/v1/payment_intents", card_error(intent=declined), status=402)
    save_card(order, "pm_card_1", gateway=Gateway.STRIPE, customer="cus_1")
    assert payments.charge_at_lock(order=order) is False
    charge = order.payments.get(kind=PaymentKind.CHARGE)
    assert (charge.status, charge.failure_code) == (PaymentStatus.FAILED, "insufficient_funds")
    assert HoldReason.PAYMENT_FAILED in open_holds(order)


def test_stripe_charge_at_lock_sends_the_saved_card_off_session(order, monkeypatch, settings):
    stub = install_stripe_stub(monkeypatch, settings)
    stub.on("post", "/v1/payment_intents", payment_intent(id="pi_lock", amount=3000))
    save_card(order, "pm_card_1", gateway=Gateway.STRIPE, customer="cus_1")
    assert payments.charge_at_lock(order=order) is True
    (call,) = stub.calls
    assert call["params"]["customer"] == "cus_1"
    assert call["params"]["payment_method"] == "pm_card_1"
    assert call["params"]["amount"] == "3000"
    assert call["headers"]["Idempotency-Key"].startswith("pp-lock-")


def test_paying_after_a_failed_charge_clears_the_hold(order):
    save_card(order, DECLINED_LATER)
    payments.charge_at_lock(order=order)
    retry = Payment.objects.create(
        order=order, gateway=Gateway.TEST, idempotency_key="retry", amount=Money(30, "USD")
    )
    payments.record_payment_succeeded(
        payment=retry, intent_id="test_pi_retry", amount_received=Money("30.00", "USD")
    )
    assert HoldReason.PAYMENT_FAILED not in open_holds(order)


def test_money_refunded_before_the_lock_is_not_charged_again(order):
    """Paid in the survey, part refunded by the creator: the lock charges nothing."""
    from .conftest_payments import captured_payment

    payment = captured_payment(order, "30.00")
    payments.refund_payment(payment=payment, amount="5.00", actor="staff", reason="Goodwill")
    save_card(order, OK_CARD)
    assert payments.charge_at_lock(order=order) is True
    order.refresh_from_db()
    assert order.balance_due == Money("0.00", "USD")
    assert not order.payments.filter(kind=PaymentKind.CHARGE).exclude(pk=payment.pk).exists()
