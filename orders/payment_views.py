"""Back-office payment pages: the campaign's payment settings, its payments list, an
order's payments panel (payments, refunds, ledger) and the refund form."""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.permissions import role_can
from config.forms import add_refusal
from config.paging import after_param, query_with
from pledges.navigation import campaign_context
from pledges.selectors import campaign_for

from .errors_payments import PaymentError
from .models import Order, Payment, PaymentKind
from .payment_forms import PaymentFilterForm, PaymentSettingsForm, RefundForm
from .payments.gateway import is_test_gateway_allowed, stripe_configured
from .services import payments as services

VIEW, REFUND = "payments.view", "payments.refund"
PER_PAGE = 50
INVALID = 400

PAYMENT_PAGES = [
    ("Payments", "payment-list"),
    ("Payment settings", "payment-settings"),
]


def payments_context(campaign, role, active: str) -> dict:
    context = campaign_context(campaign, role, active="payment-list")
    context["payments_nav"] = [
        {"label": label, "url": reverse(name, args=[campaign.slug]), "active": name == active}
        for label, name in PAYMENT_PAGES
    ]
    context["can_refund"] = role_can(role, REFUND)
    return context


@login_required
@require_http_methods(["GET", "POST"])
def payment_settings(request, slug):
    """Gateway and charge at lock. Keys are the environment's, never shown."""
    campaign, role = campaign_for(
        user=request.user, slug=slug, action=REFUND if request.method == "POST" else VIEW
    )
    current = services.payment_settings_for(campaign=campaign)
    form = PaymentSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        services.update_payment_settings(campaign=campaign, **form.cleaned_data)
        messages.success(request, "Payment settings saved.")
        return redirect("payment-settings", campaign.slug)
    context = payments_context(campaign, role, "payment-settings")
    context.update(
        form=form,
        stripe_configured=stripe_configured(),
        test_gateway_allowed=is_test_gateway_allowed(),
        webhook_url=request.build_absolute_uri(reverse("webhook-stripe")),
    )
    status = INVALID if form.errors else 200
    return render(request, "orders/payments/settings.html", context, status=status)


@login_required
def payment_list(request, slug):
    """The campaign's payments, newest first, a page at a time (keyset: ?after=<pk>)."""
    campaign, role = campaign_for(user=request.user, slug=slug, action=VIEW)
    form = PaymentFilterForm(request.GET or None)
    filters = form.filters()
    payments = services.campaign_payments(campaign=campaign, **filters)
    after = after_param(request)
    if after:
        payments = payments.filter(pk__lt=after)
    page = list(payments[: PER_PAGE + 1])
    has_next = len(page) > PER_PAGE
    page = page[:PER_PAGE]
    context = payments_context(campaign, role, "payment-list")
    context.update(
        form=form,
        payments=page,
        filtered=bool(filters["status"]),
        next_query=query_with(request, after=str(page[-1].pk)) if has_next else None,
        first_query=query_with(request, after=None) if after else None,
        paged=bool(after),
    )
    return render(request, "orders/payments/list.html", context)


def _order(campaign, number) -> Order:
    return get_object_or_404(
        Order.objects.select_related("campaign"), campaign=campaign, number=number
    )


@login_required
def order_payments(request, slug, number):
    """One order's payments and refunds, and its ledger with a running total that
    ends at what the order shows as credit applied + paid."""
    campaign, role = campaign_for(user=request.user, slug=slug, action=VIEW)
    order = _order(campaign, number)
    payments = services.order_payments(order)
    for payment in payments:
        payment.refundable_now = services.refundable(payment)
    ledger = services.ledger_for(order)
    ledger_total = ledger[-1].running.amount if ledger else Decimal("0")
    order_figure = order.credit_applied.amount + order.paid_total.amount
    context = payments_context(campaign, role, "payment-list")
    context.update(
        order=order,
        payments=payments,
        ledger=ledger,
        ledger_total=ledger_total,
        order_figure=order_figure,
        ledger_agrees=ledger_total == order_figure,
    )
    return render(request, "orders/payments/order_panel.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def payment_refund(request, slug, number, payment_id):
    """Refund all or part of a captured payment (never more than is left)."""
    campaign, role = campaign_for(user=request.user, slug=slug, action=REFUND)
    order = _order(campaign, number)
    payment = get_object_or_404(Payment, pk=payment_id, order=order, kind=PaymentKind.CHARGE)
    left = services.refundable(payment)
    form = RefundForm(request.POST or None, refundable=left.amount)
    if request.method == "POST" and form.is_valid():
        try:
            refund = services.refund_payment(
                payment=payment,
                amount=form.refund_amount(),
                actor=request.user,
                reason=form.cleaned_data["reason"],
                idempotency_key=form.cleaned_data["key"],
            )
        except PaymentError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"Refund of {refund.amount}: {refund.status}.")
            return redirect("order-payments", campaign.slug, order.number)
    context = payments_context(campaign, role, "payment-list")
    context.update(order=order, payment=payment, refundable=left, form=form)
    status = INVALID if form.errors else 200
    return render(request, "orders/payments/refund_form.html", context, status=status)
