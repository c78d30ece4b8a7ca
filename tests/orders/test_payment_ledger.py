"""The payment ledger of an order: charges, refunds and applied pledge credit, always
summing to what the order shows; settling a fully paid order."""

from decimal import Decimal

import pytest
from djmoney.money import Money

from orders.models import HoldReason, Invoice, LedgerEntry, LedgerKind
from orders.services import payments
from orders.services.holds import open_hold
from surveys.models import SurveyResponse
from tests.factories import SurveyFactory, SurveyInviteFactory

from .conftest_payments import captured_payment, order_due


@pytest.fixture(autouse=True)
def _test_gateway_allowed(settings):
    settings.PLEDGEPORT_TEST_GATEWAY = True


@pytest.fixture
def order(db):
    return order_due(total="80.00", credit="50.00")


def _ledger_sum(order) -> Decimal:
    return sum((e.amount.amount for e in LedgerEntry.objects.filter(order=order)), Decimal("0"))


def test_pledge_credit_becomes_a_credit_applied_entry(order):
    payments.sync_order_money(order)
    entry = LedgerEntry.objects.get(order=order)
    assert (entry.kind, entry.amount) == (LedgerKind.CREDIT_APPLIED, Money("50.00", "USD"))


def test_changed_credit_adds_the_difference(order):
    payments.sync_order_money(order)
    order.credit_applied = Money("45.00", "USD")
    order.save()
    payments.sync_order_money(order)
    assert _ledger_sum(order) == Decimal("45.00")
    assert LedgerEntry.objects.filter(order=order).count() == 2


def test_ledger_sums_to_credit_plus_paid_after_charges_and_refunds(order):
    payment = captured_payment(order, "30.00")
    payments.refund_payment(payment=payment, amount="4.00", actor="staff", reason="x")
    order.refresh_from_db()
    assert _ledger_sum(order) == order.credit_applied.amount + order.paid_total.amount
    assert order.paid_total == Money("26.00", "USD")
    assert order.refunded_total == Money("4.00", "USD")
    assert order.balance_due == Money("0.00", "USD")


def test_running_total_ends_at_the_order_figures(order):
    payment = captured_payment(order, "30.00")
    payments.refund_payment(payment=payment, amount="10.00", actor="staff", reason="x")
    order.refresh_from_db()
    rows = payments.ledger_for(order)
    assert [r.entry.kind for r in rows] == ["credit_applied", "charge", "refund"]
    assert [r.running.amount for r in rows] == [Decimal("50"), Decimal("80"), Decimal("70")]
    assert rows[-1].running.amount == order.credit_applied.amount + order.paid_total.amount


def test_balance_due_never_goes_below_zero(order):
    captured_payment(order, "45.00")
    order.refresh_from_db()
    assert order.balance_due == Money("0.00", "USD")
    assert order.paid_total == Money("45.00", "USD")


def test_fully_paid_order_clears_its_payment_due_hold(order):
    open_hold(order=order, reason=HoldReason.PAYMENT_DUE, detail="30 USD due")
    captured_payment(order, "30.00")
    assert not order.holds.filter(reason=HoldReason.PAYMENT_DUE, cleared_at__isnull=True).exists()


def test_fully_paid_order_marks_the_survey_response_paid(db):
    invite = SurveyInviteFactory(survey=SurveyFactory())
    response = SurveyResponse.objects.create(invite=invite, backer=invite.backer)
    order = order_due(backer=invite.backer, response=response)
    captured_payment(order, "30.00")
    response.refresh_from_db()
    assert response.paid_at is not None


def test_partly_paid_order_keeps_its_payment_due_hold(order):
    open_hold(order=order, reason=HoldReason.PAYMENT_DUE, detail="30 USD due")
    captured_payment(order, "10.00")
    assert order.holds.filter(reason=HoldReason.PAYMENT_DUE, cleared_at__isnull=True).exists()


def test_fully_paid_order_gets_its_invoice_after_commit(order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        captured_payment(order, "30.00")
    assert callbacks
    assert Invoice.objects.filter(order=order).count() == 1


def test_recording_the_same_success_twice_charges_once(order):
    payment = captured_payment(order, "30.00")
    payments.record_payment_succeeded(
        payment=payment, intent_id=payment.intent_id, amount_received=Money("30.00", "USD")
    )
    assert LedgerEntry.objects.filter(order=order, kind=LedgerKind.CHARGE).count() == 1
