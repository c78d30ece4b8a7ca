"""Invoice pages: the campaign's invoices and credit notes (back office), and the PDF
downloads for the creator's team and for the backer in the survey.

The back office needs `payments.view` (another organization's campaign is a 404);
a backer reaches only the invoices of their own order, found through the survey
session exactly as the survey pages find the response."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.permissions import role_can
from pledges.selectors import campaign_for
from surveys.backer_views import SESSION_KEY, campaign_of

from .errors_invoices import PdfRendererMissing
from .models import Invoice, InvoiceKind
from .order_views import orders_context
from .selectors import backer_invoices_for
from .services.invoices import (
    issuing_job,
    orders_missing_invoice,
    render_invoice_pdf,
    start_issuing_invoices,
)

VIEW = "payments.view"
ISSUE = "payments.refund"
PAGE_SIZE = 50
KINDS = {kind.value: kind.label for kind in InvoiceKind}


def _after(request) -> int:
    try:
        return max(0, int(request.GET.get("after", "")))
    except ValueError:
        return 0


def _pdf_response(invoice: Invoice) -> HttpResponse:
    try:
        pdf = render_invoice_pdf(invoice)
    except PdfRendererMissing as exc:
        return HttpResponse(exc.message, status=503, content_type="text/plain; charset=utf-8")
    prefix = "credit-note" if invoice.kind == InvoiceKind.CREDIT_NOTE else "invoice"
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="{prefix}-{invoice.campaign.slug}-{invoice.number}.pdf"'
    )
    return response


@login_required
def invoice_list(request, slug):
    """Invoices and credit notes by number, 50 a page (?after=<number>), ?kind= filter."""
    campaign, role = campaign_for(user=request.user, slug=slug, action=VIEW)
    kind = request.GET.get("kind", "")
    after = _after(request)
    rows = Invoice.objects.filter(campaign=campaign).select_related("order").order_by("number")
    if kind in KINDS:
        rows = rows.filter(kind=kind)
    else:
        kind = ""
    if after:
        rows = rows.filter(number__gt=after)
    page = list(rows[: PAGE_SIZE + 1])
    has_next = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    context = orders_context(campaign, role, active="invoice-list")
    context.update(
        missing=orders_missing_invoice(campaign=campaign).count(),
        job=issuing_job(campaign=campaign).get(),
        can_issue=role_can(role, ISSUE),
        invoices=page,
        kind=kind,
        kinds=[("", "All"), *KINDS.items()],
        next_after=page[-1].number if has_next else None,
        paged=bool(after),
    )
    return render(request, "orders/invoices/list.html", context)


@login_required
@require_POST
def invoices_issue(request, slug):
    """Issue the invoice of every paid order that has none, in the background."""
    campaign, _role = campaign_for(user=request.user, slug=slug, action=ISSUE)
    count = start_issuing_invoices(campaign=campaign)
    if count:
        messages.success(request, f"Issuing {count} missing invoices; the bar shows how far.")
    else:
        messages.info(request, "Every paid order has its invoice.")
    return redirect("invoice-list", slug=campaign.slug)


@login_required
def invoices_issue_progress(request, slug):
    """The progress box, polled by htmx every 2 s while invoices are being issued."""
    campaign, _role = campaign_for(user=request.user, slug=slug, action=VIEW)
    return render(
        request,
        "orders/invoices/_issue_progress.html",
        {"campaign": campaign, "job": issuing_job(campaign=campaign).get()},
    )


@login_required
def invoice_pdf(request, slug, number):
    campaign, _role = campaign_for(user=request.user, slug=slug, action=VIEW)
    invoice = get_object_or_404(
        Invoice.objects.select_related("campaign"), campaign=campaign, number=number
    )
    return _pdf_response(invoice)


def backer_invoice_pdf(request, number, slug=None):
    """The backer's own invoice or credit note; any other number is a 404."""
    campaign, _survey = campaign_of(request, slug)
    invite_id = request.session.get(SESSION_KEY, {}).get(str(campaign.pk))
    if invite_id is None:
        raise Http404("No survey session.")
    invoice = get_object_or_404(
        backer_invoices_for(invite_id=invite_id).select_related("campaign"),
        campaign=campaign,
        number=number,
    )
    return _pdf_response(invoice)
