"""VAT invoices and credit notes: issued once per paid order, numbered per campaign,
agreeing with the order to the cent, printed to PDF with the seller, the numbers,
the lines, the tax breakdown and the legal wording."""

import io
import sys
import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from djmoney.money import Money
from pypdf import PdfReader

from orders.errors_invoices import (
    InvoiceError,
    InvoiceMissing,
    OrderNotPaid,
    PdfRendererMissing,
    RefundNotCreditable,
)
from orders.models import (
    EventKind,
    Invoice,
    InvoiceKind,
    Payment,
    Refund,
)
from orders.services.invoices import (
    issue_credit_note,
    issue_invoice,
    render_invoice_pdf,
)

from .conftest_invoices import (
    IOSS,
    SELLER_VAT,
    VALID_DE_VAT,
    make_order,
    tax_campaign,
)

D = Decimal


def pdf_text(invoice) -> str:
    reader = PdfReader(io.BytesIO(render_invoice_pdf(invoice)))
    return "\n".join(page.extract_text() for page in reader.pages)


def refund_of(order, amount, *, key="r1"):
    payment = Payment.objects.create(
        order=order,
        gateway="test",
        idempotency_key=f"pay-{order.pk}-{key}",
        amount=order.total,
        captured=order.total,
        status="succeeded",
    )
    return Refund.objects.create(
        payment=payment,
        idempotency_key=f"refund-{order.pk}-{key}",
        amount=Money(D(amount), order.currency),
        reason="Damaged playmat",
        status="succeeded",
    )


@pytest.fixture
def eur_campaign(organization):
    return tax_campaign(organization)


# --- issuing -----------------------------------------------------------------------------


def test_invoice_agrees_with_the_order_to_the_cent(eur_campaign):
    order = make_order(eur_campaign)

    invoice = issue_invoice(order=order)

    assert (invoice.total, invoice.tax_total) == (order.total, order.tax_total)
    # 2 × 15.00 + 10.00 shipping, German VAT 19 % under IOSS.
    assert invoice.total == Money(D("47.60"), "EUR")
    assert invoice.snapshot["breakdown"] == [
        {"name": "VAT", "rate": "19", "net": "40.00", "tax": "7.60"}
    ]


def test_stored_figures_win_when_the_engine_disagrees(eur_campaign):
    order = make_order(eur_campaign)
    order.tax_total = Money(D("5.00"), "EUR")  # priced by other rules than today's table
    order.total = Money(D("45.00"), "EUR")
    order.paid_total = order.total
    order.save()

    invoice = issue_invoice(order=order)

    assert (invoice.total, invoice.tax_total) == (order.total, order.tax_total)
    assert invoice.snapshot["breakdown"] == [
        {"name": "Tax", "rate": "", "net": "40.00", "tax": "5.00"}
    ]


def test_issuing_twice_returns_the_same_invoice(eur_campaign):
    order = make_order(eur_campaign)

    first = issue_invoice(order=order)
    second = issue_invoice(order=order)

    assert first.pk == second.pk
    assert Invoice.objects.filter(order=order).count() == 1


def test_issuing_writes_an_invoice_event(eur_campaign):
    order = make_order(eur_campaign)

    invoice = issue_invoice(order=order)

    event = order.events.get(kind=EventKind.INVOICE)
    assert event.after["invoice"] == invoice.number


def test_an_order_with_a_balance_due_gets_no_invoice(eur_campaign):
    order = make_order(eur_campaign, paid=False)

    with pytest.raises(OrderNotPaid) as refused:
        issue_invoice(order=order)

    assert refused.value.code == "order_not_paid"
    assert not Invoice.objects.exists()


def test_numbers_are_sequential_per_campaign(eur_campaign):
    numbers = [issue_invoice(order=make_order(eur_campaign)).number for _ in range(3)]

    assert numbers == [1, 2, 3]


def test_two_campaigns_count_their_invoices_separately(eur_campaign, organization):
    other = tax_campaign(organization)

    a1 = issue_invoice(order=make_order(eur_campaign))
    b1 = issue_invoice(order=make_order(other))
    a2 = issue_invoice(order=make_order(eur_campaign))

    assert (a1.number, a2.number, b1.number) == (1, 2, 1)


def test_a_credit_note_takes_the_next_number_and_never_reuses_one(eur_campaign):
    first = make_order(eur_campaign)
    invoice = issue_invoice(order=first)
    note = issue_credit_note(refund=refund_of(first, "47.60"))
    later = issue_invoice(order=make_order(eur_campaign))

    assert (invoice.number, note.number, later.number) == (1, 2, 3)


def test_seller_buyer_and_regime_are_frozen_in_the_snapshot(eur_campaign):
    order = make_order(eur_campaign)

    snapshot = issue_invoice(order=order).snapshot

    assert snapshot["seller"]["name"] == "Meeple Forge LLC"
    assert snapshot["seller"]["vat_id"] == SELLER_VAT
    assert (snapshot["seller"]["customs_label"], snapshot["seller"]["customs_number"]) == (
        "IOSS number",
        IOSS,
    )
    assert snapshot["buyer"]["address_version"] == 1
    assert snapshot["tax_regime"] == "eu_ioss"


def test_a_pledged_reward_taxed_shows_as_paid_on_the_platform(eur_campaign):
    order = make_order(eur_campaign, with_reward=True)

    snapshot = issue_invoice(order=order).snapshot

    reward = snapshot["lines"][0]
    assert reward["paid_on_platform"] is True
    assert "paid on Kickstarter" in reward["description"]
    # The reward's 59.00 was paid on the platform: the invoice charges the rest.
    assert D(snapshot["gross_total"]) - D(snapshot["paid_on_platform"]) == order.total.amount


# --- credit notes ------------------------------------------------------------------------


def test_a_full_refund_credits_the_whole_invoice_negatively(eur_campaign):
    order = make_order(eur_campaign)
    invoice = issue_invoice(order=order)

    note = issue_credit_note(refund=refund_of(order, "47.60"))

    assert note.kind == InvoiceKind.CREDIT_NOTE
    assert (note.total, note.tax_total) == (-invoice.total, -invoice.tax_total)
    assert note.snapshot["refers_to"] == invoice.number


def test_a_partial_refund_splits_its_tax_at_the_invoice_rate(eur_campaign):
    order = make_order(eur_campaign)
    issue_invoice(order=order)

    note = issue_credit_note(refund=refund_of(order, "11.90"))

    assert note.total == Money(D("-11.90"), "EUR")
    assert note.tax_total == Money(D("-1.90"), "EUR")


def test_a_credit_note_is_issued_once_per_refund(eur_campaign):
    order = make_order(eur_campaign)
    issue_invoice(order=order)
    refund = refund_of(order, "10.00")

    assert issue_credit_note(refund=refund).pk == issue_credit_note(refund=refund).pk


def test_credit_notes_never_credit_more_than_the_invoice(eur_campaign):
    order = make_order(eur_campaign)
    issue_invoice(order=order)
    issue_credit_note(refund=refund_of(order, "40.00", key="a"))

    with pytest.raises(RefundNotCreditable):
        issue_credit_note(refund=refund_of(order, "10.00", key="b"))


def test_a_refund_of_an_order_without_invoice_is_refused(eur_campaign):
    order = make_order(eur_campaign)

    with pytest.raises(InvoiceMissing):
        issue_credit_note(refund=refund_of(order, "10.00"))


# --- the PDF -----------------------------------------------------------------------------


def test_pdf_shows_number_seller_numbers_lines_and_breakdown(eur_campaign):
    order = make_order(eur_campaign)
    invoice = issue_invoice(order=order)

    text = pdf_text(invoice)

    for expected in (
        "VAT invoice",
        f"Invoice number\n{invoice.number}",
        "Meeple Forge LLC",
        SELLER_VAT,
        f"IOSS number: {IOSS}",
        "Playmat",
        "Shipping",
        "Tax breakdown",
        "19 %",
        "€7.60",
        "€47.60",
        f"VAT collected under IOSS, IOSS number {IOSS}",
    ):
        assert expected in text, expected


def test_pdf_of_a_reverse_charge_sale_says_so(organization):
    campaign = tax_campaign(organization)
    order = make_order(campaign, vat_number=VALID_DE_VAT)
    invoice = issue_invoice(order=order)

    text = " ".join(pdf_text(invoice).split())

    assert order.reverse_charge
    assert invoice.tax_total == Money(0, "EUR")
    assert (
        "Reverse charge: VAT to be accounted for by the recipient "
        "(Art. 196 Directive 2006/112/EC)" in text
    )
    assert VALID_DE_VAT in text


def test_pdf_of_a_credit_note_refers_to_the_invoice(eur_campaign):
    order = make_order(eur_campaign)
    invoice = issue_invoice(order=order)
    note = issue_credit_note(refund=refund_of(order, "11.90"))

    text = " ".join(pdf_text(note).split())

    assert "Credit note" in text
    assert f"Corrects invoice {invoice.number}" in text
    assert "-€11.90" in text or "−€11.90" in text
    assert "Damaged playmat" in text


def test_without_weasyprint_the_pdf_is_refused_with_a_clear_error(eur_campaign, monkeypatch):
    invoice = issue_invoice(order=make_order(eur_campaign))
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint → ImportError

    with pytest.raises(PdfRendererMissing) as refused:
        render_invoice_pdf(invoice)

    assert refused.value.code == "pdf_renderer_missing"


# --- the command -------------------------------------------------------------------------


def test_command_issues_the_missing_invoices_of_paid_orders(eur_campaign):
    paid = make_order(eur_campaign)
    unpaid = make_order(eur_campaign, paid=False)
    issue_invoice(order=make_order(eur_campaign))  # already has one

    call_command("issue_invoices", eur_campaign.slug, verbosity=0)

    assert paid.invoices.count() == 1
    assert not unpaid.invoices.exists()
    assert Invoice.objects.filter(campaign=eur_campaign).count() == 2


def test_command_run_twice_issues_nothing_new(eur_campaign):
    make_order(eur_campaign)
    call_command("issue_invoices", eur_campaign.slug, verbosity=0)

    call_command("issue_invoices", eur_campaign.slug, verbosity=0)

    assert Invoice.objects.filter(campaign=eur_campaign).count() == 1


def test_command_exits_non_zero_when_an_order_is_refused(eur_campaign, monkeypatch):
    make_order(eur_campaign)

    def refuse(*, order):
        raise InvoiceError("Seller details missing.")

    monkeypatch.setattr("orders.services.invoices.issue_invoice", refuse)

    with pytest.raises(CommandError, match="1 orders got no invoice"):
        call_command("issue_invoices", eur_campaign.slug, verbosity=0)


def test_command_refuses_an_unknown_campaign(db):
    with pytest.raises(CommandError, match="No campaign"):
        call_command("issue_invoices", "nope", verbosity=0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_callers_at_once_get_one_invoice():
    campaign = tax_campaign()
    order = make_order(campaign)
    barrier = threading.Barrier(2)
    numbers, errors = [], []

    def issue():
        try:
            barrier.wait(timeout=10)
            numbers.append(issue_invoice(order=order).number)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert numbers == [1, 1]
    assert Invoice.objects.filter(order=order).count() == 1
