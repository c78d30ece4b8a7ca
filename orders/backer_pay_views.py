"""The backer's payment pages, inside the survey: pay the balance (or save a card for
the charge at lock), the landing after the gateway, and the test gateway's own page.

Who the backer is comes only from the session, as on the survey steps
(surveys.backer_views._visit): the order is always the session's backer's own; no
URL names an order, and the test gateway's page 404s for another backer's payment."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from surveys.backer_views import (
    Visit,
    _browser_language,
    _page,
    _visit,
    backer_reverse,
    campaign_of,
    remember_invite,
)
from surveys.errors import LinkInvalid
from surveys.links import invite_from_token
from surveys.services import responses as survey_services

from .errors import OrderLocked
from .errors_payments import (
    GatewayFailed,
    NothingToPay,
    PaymentError,
    TestGatewayRefused,
)
from .models import Gateway, HoldReason, Order, OrderKind, Payment, PaymentKind, PaymentStatus
from .payment_forms import TestCardForm
from .payments.gateway import gateway_for, gateway_named
from .services import payments as services
from .services.building import build_order


def _order_for(visit: Visit) -> Order | None:
    """The backer's order once the survey is complete (built on first need). A test
    response (preview, smoke test) has none: it never sees or pays the backer's
    real order."""
    if visit.response.completed_at is None or visit.response.is_test:
        return None
    order = (
        Order.objects.select_related("campaign")
        .filter(
            campaign=visit.campaign, backer_id=visit.response.backer_id, kind=OrderKind.STANDARD
        )
        .first()
    )
    if order is None:
        try:
            order = build_order(response=visit.response, actor="backer")
        except OrderLocked:
            return None
    if order.merged_into_id:
        order = Order.objects.select_related("campaign").get(pk=order.merged_into_id)
    return order


def _refusal(exc: PaymentError) -> str:
    """What the backer reads when paying is refused (the detail is for staff)."""
    if isinstance(exc, NothingToPay):
        return _("There is nothing left to pay on your order.")
    if isinstance(exc, GatewayFailed):
        return _("The payment provider could not be reached. Please try again in a moment.")
    return _("Payments are not available right now. Please try again later.")


def _absolute(request, name: str, slug: str, query: str = "", **kwargs) -> str:
    url = request.build_absolute_uri(backer_reverse(request, name, slug=slug, **kwargs))
    return f"{url}?{query}" if query else url


@require_http_methods(["GET", "POST"])
def pay(request, slug=None):
    visit = _visit(request, slug)
    if visit is None:
        return redirect(backer_reverse(request, "survey-home", slug=slug or ""))
    campaign = visit.campaign
    with translation.override(visit.language):
        order = _order_for(visit)
        payment_settings = services.payment_settings_for(campaign=campaign)
        error = ""
        try:
            gateway = gateway_for(campaign)
        except PaymentError as exc:
            gateway, error = None, _refusal(exc)
        if order is not None:
            order = services.sync_order_money(order)
        failed_at_lock = (
            order is not None
            and order.holds.filter(
                reason=HoldReason.PAYMENT_FAILED, cleared_at__isnull=True
            ).exists()
        )
        saved_card = services.saved_card_of(order) if order is not None else None
        can_save_card = (
            order is not None
            and payment_settings.charge_at_lock
            and order.is_backer_editable
            and not failed_at_lock
        )
        if request.method == "POST" and order is not None and gateway is not None:
            success = _absolute(request, "survey-pay-return", campaign.slug, "outcome=success")
            cancel = _absolute(request, "survey-pay-return", campaign.slug, "outcome=cancel")
            try:
                if request.POST.get("action") == "save_card" and can_save_card:
                    url = services.save_card_for_later(
                        order=order, success_url=success, cancel_url=cancel
                    )
                else:
                    url = services.start_checkout(
                        order=order, success_url=success, cancel_url=cancel
                    )
            except PaymentError as exc:
                error = _refusal(exc)
            else:
                return redirect(url)
        processing = (
            order is not None
            and order.payments.filter(
                kind=PaymentKind.CHARGE, status=PaymentStatus.PROCESSING
            ).exists()
        )
        context = {
            "order": order,
            "gateway": gateway,
            "error": error,
            "charge_at_lock": payment_settings.charge_at_lock,
            "can_save_card": can_save_card,
            "saved_card": saved_card,
            "failed_at_lock": failed_at_lock,
            "processing": processing,
        }
    status = 400 if error and request.method == "POST" else 200
    return _page(request, visit, "orders/pay/pay.html", context, status=status)


def pay_return(request, slug=None):
    """Where the gateway sends the backer back: received, processing or declined."""
    visit = _visit(request, slug)
    if visit is None:
        return redirect(backer_reverse(request, "survey-home", slug=slug or ""))
    with translation.override(visit.language):
        order = _order_for(visit)
        payment = (
            order.payments.order_by("-created_at", "-pk").first() if order is not None else None
        )
        outcome = request.GET.get("outcome", "")
        if payment is None:
            result = "none"
        elif payment.status == PaymentStatus.SUCCEEDED:
            result = "card_saved" if payment.kind == PaymentKind.SAVE_CARD else "received"
        elif payment.status == PaymentStatus.FAILED:
            result = "declined"
        elif outcome == "cancel" and payment.status == PaymentStatus.PENDING:
            result = "cancelled"
        else:
            result = "processing"
        context = {"order": order, "payment": payment, "result": result}
    return _page(request, visit, "orders/pay/return.html", context)


@require_http_methods(["GET", "POST"])
def test_gateway_page(request, session_id, slug=None):
    """The test gateway's hosted page: Pay / Decline, a card number where Stripe's
    decline card 4000 0000 0000 0002 declines. What the backer does goes through the
    same event handling as a Stripe webhook."""
    visit = _visit(request, slug)
    if visit is None:
        return redirect(backer_reverse(request, "survey-home", slug=slug or ""))
    if visit.response.is_test:
        raise Http404("A test response pays nothing.")
    payment = (
        Payment.objects.select_related("order")
        .filter(
            gateway=Gateway.TEST,
            intent_id=session_id,
            order__campaign=visit.campaign,
            order__backer_id=visit.response.backer_id,
        )
        .first()
    )
    if payment is None:
        raise Http404("No such payment.")
    with translation.override(visit.language):
        try:
            gateway = gateway_named(Gateway.TEST)
        except TestGatewayRefused:
            context = {"refused": True, "payment": payment}
            return _page(request, visit, "orders/pay/test_gateway.html", context, status=403)
        form = TestCardForm(request.POST if request.method == "POST" else None)
        open_ = payment.status == PaymentStatus.PENDING
        if request.method == "POST" and open_:
            approve = request.POST.get("action") != "decline"
            if not approve or form.is_valid():
                card = form.cleaned_data["card_number"] if approve else ""
                payload, signature = gateway.page_event(
                    payment=payment, card_number=card, approve=approve
                )
                event = gateway.parse_webhook(payload, signature)
                services.handle_gateway_event(gateway=gateway, event=event)
                query = "outcome=success" if approve else "outcome=declined"
                return redirect(
                    backer_reverse(request, "survey-pay-return", slug=visit.campaign.slug)
                    + f"?{query}"
                )
        context = {"payment": payment, "form": form, "open": open_, "refused": False}
    status = 400 if form.errors else 200
    return _page(request, visit, "orders/pay/test_gateway.html", context, status=status)


def pay_link(request, token, slug=None):
    """The magic link of the pay-again email: opens the backer's session like the
    survey link does, then the pay page."""
    campaign, survey = campaign_of(request, slug)
    try:
        invite = invite_from_token(token, survey=survey)
    except LinkInvalid as exc:
        return _page(
            request,
            (campaign, survey),
            "surveys/backer/link_invalid.html",
            {"message": exc.message, "expired": exc.code == "link_expired"},
            status=403,
        )
    response = survey_services.open_invite(
        invite=invite, language=_browser_language(request, survey)
    )
    remember_invite(request, campaign, invite, response.language)
    return redirect(backer_reverse(request, "survey-pay", slug=campaign.slug))
