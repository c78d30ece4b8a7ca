"""Refunds: full or partial, through the payment's gateway, never more than was
captured (a property over sequences of partial refunds), and what the order shows."""

from decimal import Decimal

import pytest
from djmoney.money import Money
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from orders.errors_payments import (
    GatewayFailed,
    PaymentNotRefundable,
    RefundAmountInvalid,
    RefundExceedsCaptured,
)
from orders.models import Gateway, LedgerEntry, LedgerKind, Payment, PaymentStatus, Refund
from orders.services import payments

from .conftest_payments import captured_payment, install_stripe_stub, order_due, refund_object


@pytest.fixture(autouse=True)
def _test_gateway_allowed(settings):
    settings.PLEDGEPORT_TEST_GATEWAY = True


@pytest.fixture
def order(db):
    return order_due(total="80.00", credit="50.00")


@pytest.fixture
def payment(order):
    return captured_payment(order, "30.00")


def test_full_refund_returns_everything_captured(payment, order):
    refund = payments.refund_payment(payment=payment, amount="30.00", actor="staff", reason="x")
    assert refund.status == "succeeded"
    order.refresh_from_db()
    assert order.paid_total == Money("0.00", "USD")
    assert order.refunded_total == Money("30.00", "USD")
    # Money the creator gave back is not due again.
    assert order.balance_due == Money("0.00", "USD")


def test_partial_refund_lowers_what_the_order_shows_paid(payment, order):
    payments.refund_payment(payment=payment, amount="12.50", actor="staff", reason="Damaged box")
    order.refresh_from_db()
    payment.refresh_from_db()
    assert payment.refunded == Money("12.50", "USD")
    assert order.paid_total == Money("17.50", "USD")


def test_refund_is_a_negative_ledger_entry(payment):
    refund = payments.refund_payment(payment=payment, amount="5.00", actor="staff", reason="x")
    entry = LedgerEntry.objects.get(refund=refund)
    assert (entry.kind, entry.amount) == (LedgerKind.REFUND, Money("-5.00", "USD"))


def test_refund_above_what_is_left_is_refused(payment):
    payments.refund_payment(payment=payment, amount="20.00", actor="staff", reason="x")
    with pytest.raises(RefundExceedsCaptured):
        payments.refund_payment(payment=payment, amount="10.01", actor="staff", reason="x")
    payment.refresh_from_db()
    assert payment.refunded == Money("20.00", "USD")


def test_refund_of_zero_is_refused(payment):
    with pytest.raises(RefundAmountInvalid):
        payments.refund_payment(payment=payment, amount="0", actor="staff", reason="x")


def test_uncaptured_payment_cannot_be_refunded(order):
    pending = Payment.objects.create(
        order=order, gateway=Gateway.TEST, idempotency_key="p-pending", amount=Money(30, "USD")
    )
    with pytest.raises(PaymentNotRefundable):
        payments.refund_payment(payment=pending, amount="1.00", actor="staff", reason="x")


def test_same_form_key_refunds_once(payment):
    first = payments.refund_payment(
        payment=payment, amount="5.00", actor="staff", reason="x", idempotency_key="form-1"
    )
    again = payments.refund_payment(
        payment=payment, amount="5.00", actor="staff", reason="x", idempotency_key="form-1"
    )
    assert first.pk == again.pk
    assert Refund.objects.count() == 1


def test_refund_key_is_stored_before_stripe_is_called(db, monkeypatch, settings):
    stub = install_stripe_stub(monkeypatch, settings)
    order = order_due(total="80.00", credit="50.00")
    payment = captured_payment(order, "30.00", gateway=Gateway.STRIPE, intent_id="pi_1")
    seen = {}

    def answer(params):
        seen["stored"] = list(Refund.objects.values_list("idempotency_key", flat=True))
        return 200, refund_object(id="re_1", amount=int(params["amount"]))

    stub.on("post", "/v1/refunds", answer)
    refund = payments.refund_payment(payment=payment, amount="7.00", actor="staff", reason="x")
    (call,) = stub.calls_to("/v1/refunds")
    assert seen["stored"] == [refund.idempotency_key]
    assert call["headers"]["Idempotency-Key"] == refund.idempotency_key
    assert call["params"]["amount"] == "700"
    assert refund.refund_id == "re_1"


def test_gateway_failure_gives_the_reserved_amount_back(db, monkeypatch, settings):
    stub = install_stripe_stub(monkeypatch, settings)
    order = order_due(total="80.00", credit="50.00")
    payment = captured_payment(order, "30.00", gateway=Gateway.STRIPE, intent_id="pi_1")
    stub.on(
        "post",
        "/v1/refunds",
        {"error": {"type": "invalid_request_error", "message": "Charge already refunded"}},
        status=400,
    )
    with pytest.raises(GatewayFailed):
        payments.refund_payment(payment=payment, amount="7.00", actor="staff", reason="x")
    payment.refresh_from_db()
    assert payment.refunded == Money("0.00", "USD")
    assert Refund.objects.get().status == "failed"


@hypothesis_settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    captured_cents=st.integers(min_value=1, max_value=50_000),
    requests=st.lists(st.integers(min_value=1, max_value=60_000), min_size=1, max_size=8),
)
def test_refunds_never_exceed_what_was_captured(db, captured_cents, requests):
    order = order_due(total="600.00", credit="0.00")
    captured = Decimal(captured_cents) / 100
    payment = captured_payment(order, str(captured))
    accepted = Decimal("0")
    for cents in requests:
        amount = Decimal(cents) / 100
        try:
            payments.refund_payment(payment=payment, amount=amount, actor="staff", reason="p")
        except RefundExceedsCaptured:
            assert accepted + amount > captured
        else:
            accepted += amount
        payment.refresh_from_db()
        assert payment.refunded.amount == accepted <= captured
    order.refresh_from_db()
    assert order.paid_total.amount == captured - accepted
    # Refunded money is settled: what is due depends on what was captured only.
    assert order.refunded_total.amount == accepted
    assert order.balance_due.amount == max(Decimal("0"), Decimal("600.00") - captured)
    assert payment.status == PaymentStatus.SUCCEEDED


def test_a_refund_of_an_invoiced_order_issues_a_credit_note(
    payment, order, django_capture_on_commit_callbacks
):
    from orders.models import InvoiceKind
    from orders.services.invoices import issue_invoice

    order.refresh_from_db()
    issue_invoice(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        refund = payments.refund_payment(payment=payment, amount="10.00", actor="staff", reason="x")
    note = order.invoices.get(kind=InvoiceKind.CREDIT_NOTE)
    assert note.refund == refund and note.total == Money("-10.00", "USD")


def test_a_refund_of_an_order_without_invoice_issues_no_credit_note(
    payment, order, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        payments.refund_payment(payment=payment, amount="10.00", actor="staff", reason="x")
    assert not order.invoices.exists()


def test_a_partial_refund_leaves_nothing_due(payment, order):
    payments.refund_payment(payment=payment, amount="5.00", actor="staff", reason="Goodwill")
    order.refresh_from_db()
    assert (order.paid_total, order.refunded_total, order.balance_due) == (
        Money("25.00", "USD"),
        Money("5.00", "USD"),
        Money("0.00", "USD"),
    )
