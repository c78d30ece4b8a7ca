"""Money into and out of orders: checkout of the balance, cards saved for the charge at
lock, refunds, gateway events, and the ledger that says what has paid for an order.

Rules:
- The ledger is the truth. `order.credit_applied` is the sum of its credit_applied
  entries, `order.paid_total` of its charges and refunds, and `order.balance_due` is
  total − both (never below zero). `sync_order_money` keeps the three true.
- The idempotency key of every gateway create is stored (Payment / Refund row,
  committed) before the call, so a retry sends the same key and gets the same object.
- A refund never takes back more than captured − refunded: the payment row is locked
  and the amount reserved on it before the gateway is asked; a failed refund gives the
  reservation back.
- Each gateway event is handled once: its WebhookEvent row is written first, in the
  same transaction as its effect; a replay finds it and does nothing.
- Rows are locked refund → payment → order, in that order everywhere.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from djmoney.money import Money

from pledges.models import Campaign
from surveys.links import invite_token, survey_url
from surveys.models import SurveyInvite, SurveyResponse

from ..errors_payments import (
    GatewayFailed,
    NothingToPay,
    PaymentNotRefundable,
    RefundAmountInvalid,
    RefundExceedsCaptured,
)
from ..events import order_event_create
from ..models import (
    EventKind,
    Gateway,
    HoldReason,
    InvoiceKind,
    LedgerEntry,
    LedgerKind,
    Order,
    Payment,
    PaymentKind,
    PaymentSettings,
    PaymentStatus,
    Refund,
    WebhookEvent,
)
from ..payments.amounts import from_minor_units, round_amount, to_minor_units
from ..payments.gateway import (
    METADATA_PAYMENT,
    METADATA_REFUND,
    GatewayEvent,
    PaymentGateway,
    SavedCard,
    gateway_for,
    gateway_named,
)
from .holds import clear_holds, open_hold
from .invoices import issue_credit_note, issue_invoice

ZERO = Decimal("0")
LOCK_KEY_PREFIX = "pp-lock-"
REFUND_FAILED = frozenset({"failed", "canceled"})


def _user(actor):
    """A User actor, or None for a label ("gateway", "backer", "lock job")."""
    return actor if actor is not None and not isinstance(actor, str) else None


def _money(amount: Decimal, currency: str) -> Money:
    return Money(round_amount(amount, currency), currency)


# --- settings --------------------------------------------------------------------------


def payment_settings_for(*, campaign: Campaign) -> PaymentSettings:
    """The campaign's payment settings; the defaults (unsaved: test gateway, no charge
    at lock) until the creator saves them."""
    found = PaymentSettings.objects.filter(campaign=campaign).first()
    return found or PaymentSettings(campaign=campaign)


def update_payment_settings(
    *, campaign: Campaign, gateway: str, charge_at_lock: bool, statement_descriptor: str = ""
) -> PaymentSettings:
    """Choose the campaign's gateway and whether cards are charged at lock."""
    with transaction.atomic():
        payment_settings, _created = PaymentSettings.objects.select_for_update().get_or_create(
            campaign=campaign
        )
        payment_settings.gateway = gateway
        payment_settings.charge_at_lock = charge_at_lock
        payment_settings.statement_descriptor = statement_descriptor
        payment_settings.save()
    return payment_settings


# --- the ledger ------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerRow:
    entry: LedgerEntry
    running: Money


def ledger_for(order: Order) -> list[LedgerRow]:
    """The order's ledger, oldest first, each entry with the running total (the last
    one is what the order shows as credit applied + paid)."""
    rows, running = [], ZERO
    entries = LedgerEntry.objects.filter(order=order).select_related("payment", "refund")
    for entry in entries.order_by("created_at", "pk"):
        running += entry.amount.amount
        rows.append(LedgerRow(entry=entry, running=Money(running, order.currency)))
    return rows


def _ledger_sums(order: Order) -> tuple[Decimal, Decimal, Decimal]:
    """(credit applied, paid = charges + refunds, refunded = −refunds) of the ledger."""
    credit = paid = refunds = ZERO
    for kind, amount in LedgerEntry.objects.filter(order=order).values_list("kind", "amount"):
        if kind == LedgerKind.CREDIT_APPLIED:
            credit += amount
        else:
            paid += amount
            if kind == LedgerKind.REFUND:
                refunds += amount
    return credit, paid, -refunds


def sync_order_money(order: Order, *, actor=None) -> Order:
    """Make the order's money figures the ledger's: pledge credit the order applies
    becomes a credit_applied entry (the difference, when the figure changed), then
    paid_total = charges + refunds, refunded_total = −refunds and balance_due =
    total − credit − paid − refunded (≥ 0): money refunded was the creator's to give
    back, it is not due again. An order that becomes fully paid by a charge gets
    settled (`_settle_paid`)."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        currency = order.currency
        credit, paid, refunded = _ledger_sums(order)
        wanted_credit = order.credit_applied.amount
        if wanted_credit != credit:
            LedgerEntry.objects.create(
                order=order,
                kind=LedgerKind.CREDIT_APPLIED,
                amount=Money(wanted_credit - credit, currency),
                memo="Pledge credit applied" if credit == ZERO else "Pledge credit changed",
            )
            credit = wanted_credit
        due = max(ZERO, order.total.amount - credit - paid - refunded)
        before_due = order.balance_due.amount
        if (
            order.paid_total.amount != paid
            or order.refunded_total.amount != refunded
            or before_due != due
        ):
            order.paid_total = Money(paid, currency)
            order.refunded_total = Money(refunded, currency)
            order.balance_due = Money(due, currency)
            order.save(update_fields=["paid_total", "refunded_total", "balance_due", "updated_at"])
        if due == ZERO and paid > ZERO and before_due > ZERO:
            _settle_paid(order, actor=actor)
    return order


def _settle_paid(order: Order, *, actor=None) -> None:
    """Fully paid: the payment holds go, the survey response is marked paid, and the
    invoice is issued once the payment is committed (a payment is never undone
    because its invoice could not be made; `robust` logs that instead)."""
    for reason in (HoldReason.PAYMENT_DUE, HoldReason.PAYMENT_FAILED):
        clear_holds(order=order, reason=reason, actor=actor or "gateway", note="Paid in full.")
    if order.response_id:
        SurveyResponse.objects.filter(pk=order.response_id, paid_at__isnull=True).update(
            paid_at=timezone.now()
        )
    transaction.on_commit(lambda: issue_invoice(order=order), robust=True)


# --- paying the balance ----------------------------------------------------------------


def _finished_attempts(order: Order, kind: str) -> int:
    return order.payments.filter(kind=kind).exclude(status=PaymentStatus.PENDING).count()


def _metadata(payment: Payment, order: Order) -> dict[str, str]:
    return {METADATA_PAYMENT: str(payment.pk), "order": str(order.number)}


def _prepared_payment(*, order: Order, gateway: PaymentGateway, kind: str, key: str, amount):
    """The Payment row of this key, committed before the gateway is called (a second
    click finds it and sends the same key, so the gateway returns the same session)."""
    with transaction.atomic():
        payment, _created = Payment.objects.get_or_create(
            idempotency_key=key,
            defaults={"order": order, "gateway": gateway.name, "kind": kind, "amount": amount},
        )
    return payment


def start_checkout(*, order: Order, success_url: str, cancel_url: str) -> str:
    """A hosted payment page for the order's balance due; returns its address.

    Raises NothingToPay when nothing is due, TestGatewayRefused / GatewayNotConfigured
    for an unusable gateway, GatewayFailed when the gateway refused."""
    gateway = gateway_for(order.campaign)
    order = sync_order_money(order)
    if order.balance_due.amount <= ZERO:
        raise NothingToPay("Nothing is left to pay on this order.")
    amount = _money(order.balance_due.amount, order.currency)
    attempt = _finished_attempts(order, PaymentKind.CHARGE)
    key = (
        f"pp-checkout-{gateway.name}-{order.pk}-{to_minor_units(amount)}{order.currency}-{attempt}"
    )
    payment = _prepared_payment(
        order=order, gateway=gateway, kind=PaymentKind.CHARGE, key=key, amount=amount
    )
    page = gateway.create_checkout(
        order=order,
        amount=amount,
        idempotency_key=key,
        success_url=success_url,
        cancel_url=cancel_url,
        metadata=_metadata(payment, order),
    )
    if payment.intent_id != page.session_id:
        # The session's id until the payment completes; then its PaymentIntent's.
        Payment.objects.filter(pk=payment.pk).update(intent_id=page.session_id)
    return page.url


def save_card_for_later(*, order: Order, success_url: str, cancel_url: str) -> str:
    """A hosted page saving the backer's card for the charge at lock; returns its
    address. The amount on the row is the balance at the time, for the pages."""
    gateway = gateway_for(order.campaign)
    order = sync_order_money(order)
    amount = _money(order.balance_due.amount, order.currency)
    attempt = _finished_attempts(order, PaymentKind.SAVE_CARD)
    key = f"pp-setup-{gateway.name}-{order.pk}-{attempt}"
    payment = _prepared_payment(
        order=order, gateway=gateway, kind=PaymentKind.SAVE_CARD, key=key, amount=amount
    )
    page = gateway.create_setup(
        order=order,
        idempotency_key=key,
        success_url=success_url,
        cancel_url=cancel_url,
        metadata=_metadata(payment, order),
    )
    if payment.intent_id != page.session_id:
        Payment.objects.filter(pk=payment.pk).update(intent_id=page.session_id)
    return page.url


def saved_card_of(order: Order) -> Payment | None:
    """The card saved most recently for this order's charge at lock, if any."""
    return (
        order.payments.filter(kind=PaymentKind.SAVE_CARD, status=PaymentStatus.SUCCEEDED)
        .exclude(payment_method_id="")
        .order_by("-created_at", "-pk")
        .first()
    )


# --- what the gateway says happened (webhooks and the test gateway's page) -------------


def record_payment_succeeded(
    *, payment: Payment, intent_id: str, amount_received: Money, actor="gateway"
) -> Payment:
    """A charge was captured: the payment succeeds, the ledger gets the charge, the
    order's figures follow. Idempotent: a payment already succeeded is left alone."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status == PaymentStatus.SUCCEEDED:
            return payment
        captured = _money(amount_received.amount, str(amount_received.currency))
        payment.status = PaymentStatus.SUCCEEDED
        payment.intent_id = intent_id or payment.intent_id
        payment.captured = captured
        payment.failure_code = payment.failure_message = ""
        payment.save()
        # Pledge credit first, so the ledger reads in the order money arrived.
        sync_order_money(Order(pk=payment.order_id), actor=actor)
        LedgerEntry.objects.create(
            order_id=payment.order_id,
            kind=LedgerKind.CHARGE,
            amount=captured,
            payment=payment,
            memo=f"{payment.get_gateway_display()} {payment.intent_id}",
        )
        order = Order.objects.get(pk=payment.order_id)
        order_event_create(
            order=order,
            kind=EventKind.PAYMENT,
            actor=actor,
            message=f"Payment of {captured} received.",
            after={"payment": payment.pk, "status": payment.status, "amount": str(captured)},
        )
        sync_order_money(order, actor=actor)
    return payment


def record_payment_failed(
    *,
    payment: Payment,
    failure_code: str,
    failure_message: str,
    intent_id: str = "",
    actor="gateway",
) -> Payment:
    """A charge (or card setup) was declined. Idempotent; a payment that already
    succeeded stays succeeded. A failed charge at lock opens the `payment_failed`
    hold and emails the backer a link to pay again."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.FAILED):
            return payment
        payment.status = PaymentStatus.FAILED
        payment.intent_id = intent_id or payment.intent_id
        payment.failure_code = failure_code[:80]
        payment.failure_message = failure_message
        payment.save()
        order = Order.objects.get(pk=payment.order_id)
        what = "Card setup" if payment.kind == PaymentKind.SAVE_CARD else "Payment"
        order_event_create(
            order=order,
            kind=EventKind.PAYMENT,
            actor=actor,
            message=f"{what} failed: {failure_message or failure_code}",
            after={"payment": payment.pk, "status": payment.status, "code": failure_code},
        )
        if payment.idempotency_key.startswith(LOCK_KEY_PREFIX):
            _lock_charge_failed(order=order, detail=failure_message or failure_code, actor=actor)
    return payment


def record_card_saved(
    *, payment: Payment, setup_intent_id: str, customer_id: str, payment_method_id: str
) -> Payment:
    """A card setup completed: the card is kept for the charge at lock. Idempotent."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status == PaymentStatus.SUCCEEDED:
            return payment
        payment.status = PaymentStatus.SUCCEEDED
        payment.intent_id = setup_intent_id or payment.intent_id
        payment.customer_id = customer_id
        payment.payment_method_id = payment_method_id
        payment.failure_code = payment.failure_message = ""
        payment.save()
        order_event_create(
            order=Order.objects.get(pk=payment.order_id),
            kind=EventKind.PAYMENT,
            actor="gateway",
            message="Card saved for the charge at lock.",
            after={"payment": payment.pk, "status": payment.status},
        )
    return payment


def _mark_processing(payment: Payment, intent_id: str) -> None:
    Payment.objects.filter(
        pk=payment.pk, status__in=[PaymentStatus.PENDING, PaymentStatus.FAILED]
    ).update(status=PaymentStatus.PROCESSING, intent_id=intent_id or payment.intent_id)


# --- charge at lock --------------------------------------------------------------------


def charge_at_lock(*, order: Order, actor=None) -> bool:
    """Charge the balance due with the card the backer saved (campaigns with
    PaymentSettings.charge_at_lock; the lock service calls this).

    True when nothing was due, the charge succeeded or is still processing (its
    webhook settles it). False when it failed, or no card was saved: the order then
    has an open `payment_failed` hold and the backer an email with a link to pay."""
    actor = actor or "lock job"
    order = sync_order_money(order)
    if order.balance_due.amount <= ZERO:
        return True
    card = saved_card_of(order)
    if card is None:
        with transaction.atomic():
            _lock_charge_failed(order=order, detail="No card was saved.", actor=actor)
        return False
    gateway = gateway_named(card.gateway)
    amount = _money(order.balance_due.amount, order.currency)
    prefix = f"{LOCK_KEY_PREFIX}{order.pk}-"
    # A charge whose answer was lost (crash after the call) is retried with its own key.
    pending = order.payments.filter(
        idempotency_key__startswith=prefix, status=PaymentStatus.PROCESSING, amount=amount
    ).first()
    if pending is not None:
        payment = pending
    else:
        attempt = order.payments.filter(idempotency_key__startswith=prefix).count()
        with transaction.atomic():
            payment = Payment.objects.create(
                order=order,
                gateway=card.gateway,
                kind=PaymentKind.CHARGE,
                status=PaymentStatus.PROCESSING,
                idempotency_key=f"{prefix}{to_minor_units(amount)}{order.currency}-{attempt}",
                amount=amount,
                customer_id=card.customer_id,
                payment_method_id=card.payment_method_id,
            )
    try:
        result = gateway.charge_saved_card(
            order=order,
            amount=amount,
            customer_id=card.customer_id,
            payment_method_id=card.payment_method_id,
            idempotency_key=payment.idempotency_key,
            metadata=_metadata(payment, order),
        )
    except GatewayFailed as exc:
        record_payment_failed(
            payment=payment, failure_code="gateway_failed", failure_message=exc.message
        )
        return False
    if result.status == PaymentStatus.SUCCEEDED:
        record_payment_succeeded(
            payment=payment,
            intent_id=result.intent_id,
            amount_received=result.amount_received or amount,
            actor=actor,
        )
        return True
    if result.status == PaymentStatus.PROCESSING:
        Payment.objects.filter(pk=payment.pk).update(intent_id=result.intent_id)
        return True
    record_payment_failed(
        payment=payment,
        intent_id=result.intent_id,
        failure_code=result.failure_code,
        failure_message=result.failure_message,
        actor=actor,
    )
    return False


def _lock_charge_failed(*, order: Order, detail: str, actor) -> None:
    """Inside the caller's transaction: the hold now, the email once committed."""
    open_hold(order=order, reason=HoldReason.PAYMENT_FAILED, detail=detail, actor=actor)
    transaction.on_commit(lambda: send_pay_again_email(order=order))


def _invite_of(order: Order) -> SurveyInvite | None:
    invites = SurveyInvite.objects.select_related("survey__campaign", "backer")
    if order.response_id:
        return invites.filter(response__pk=order.response_id).first()
    return invites.filter(backer_id=order.backer_id, survey__campaign_id=order.campaign_id).first()


def pay_link(invite: SurveyInvite) -> str:
    """A magic link that opens the backer's pay page (surveys.links signs it)."""
    return survey_url(invite.survey, f"pay/t/{invite_token(invite)}/")


def send_pay_again_email(*, order: Order, failed: bool = True) -> bool:
    """Email the backer that the charge failed (`failed`) or that the balance is due,
    with a magic link to the pay page. False when the order has no survey invite to
    link to."""
    invite = _invite_of(order)
    if invite is None:
        return False
    campaign = invite.survey.campaign
    order = Order.objects.get(pk=order.pk)
    context = {
        "campaign": campaign,
        "backer": invite.backer,
        "order": order,
        "link": pay_link(invite),
        "language": order.language or "en",
        "failed": failed,
    }
    with translation.override(order.language or "en"):
        subject = render_to_string("orders/pay/email/pay_again_subject.txt", context)
        text = render_to_string("orders/pay/email/pay_again.txt", context)
        html = render_to_string("orders/pay/email/pay_again.html", context)
    sender = formataddr(
        (campaign.sender_name or campaign.name, parseaddr(settings.DEFAULT_FROM_EMAIL)[1])
    )
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=text,
        from_email=sender,
        to=[order.email or invite.email],
        reply_to=[campaign.sender_email] if campaign.sender_email else None,
    )
    message.attach_alternative(html, "text/html")
    message.send()
    order_event_create(
        order=order,
        kind=EventKind.EMAIL,
        actor="system",
        message=(
            "Payment failed: link to pay again sent."
            if failed
            else "Balance due: link to pay sent."
        ),
        after={"to": order.email or invite.email},
    )
    return True


# --- refunds ---------------------------------------------------------------------------


def refundable(payment: Payment) -> Money:
    """What can still be refunded: captured − refunded (refunds under way included)."""
    if payment.kind != PaymentKind.CHARGE or payment.status != PaymentStatus.SUCCEEDED:
        return Money(ZERO, payment.captured.currency)
    return payment.captured - payment.refunded


def refund_payment(
    *,
    payment: Payment,
    amount: Decimal | Money,
    actor,
    reason: str = "",
    idempotency_key: str | None = None,
) -> Refund:
    """Refund `amount` of a captured charge through its gateway.

    Never more than captured − refunded (RefundExceedsCaptured): the payment row is
    locked and the amount reserved before the call. The refund's idempotency key is
    committed before the call; a form sent twice with the same key gets the same
    refund. A gateway failure gives the reservation back and raises GatewayFailed."""
    if idempotency_key:
        existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    currency = str(payment.captured.currency)
    value = amount.amount if isinstance(amount, Money) else Decimal(amount)
    value = round_amount(value, currency)
    if value <= ZERO:
        raise RefundAmountInvalid("A refund must be more than zero.")
    gateway = gateway_named(payment.gateway)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.kind != PaymentKind.CHARGE or payment.status != PaymentStatus.SUCCEEDED:
            raise PaymentNotRefundable("Only a captured payment can be refunded.")
        left = refundable(payment)
        if value > left.amount:
            raise RefundExceedsCaptured(
                f"At most {left} of this payment can still be refunded "
                f"({payment.captured} captured, {payment.refunded} refunded)."
            )
        payment.refunded = payment.refunded + Money(value, currency)
        payment.save(update_fields=["refunded", "updated_at"])
        refund = Refund.objects.create(
            payment=payment,
            idempotency_key=idempotency_key or f"pp-refund-{payment.pk}-{uuid.uuid4().hex}",
            amount=Money(value, currency),
            reason=reason,
            status="pending",
            created_by=_user(actor),
        )
        order_event_create(
            order=Order.objects.get(pk=payment.order_id),
            kind=EventKind.REFUND,
            actor=actor,
            message=f"Refund of {refund.amount} requested" + (f": {reason}" if reason else "."),
            after={"refund": refund.pk, "payment": payment.pk, "amount": str(refund.amount)},
        )
    try:
        result = gateway.refund(
            payment=payment,
            amount=refund.amount,
            idempotency_key=refund.idempotency_key,
            metadata={METADATA_REFUND: str(refund.pk), METADATA_PAYMENT: str(payment.pk)},
        )
    except GatewayFailed:
        apply_refund_status(refund=refund, refund_id="", status="failed", actor=actor)
        raise
    return apply_refund_status(
        refund=refund, refund_id=result.refund_id, status=result.status, actor=actor
    )


def apply_refund_status(*, refund: Refund, refund_id: str, status: str, actor="gateway") -> Refund:
    """The gateway's word on a refund. Succeeded: the ledger gets the (negative)
    refund. Failed or cancelled: the reservation on the payment is given back (and a
    refund that had succeeded is reversed in the ledger). Idempotent."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
        before = refund.status
        if refund_id and refund.refund_id != refund_id:
            refund.refund_id = refund_id
        if status == before:
            refund.save(update_fields=["refund_id"])
            return refund
        if before in REFUND_FAILED:
            # A refund that did not go through stays so; Stripe never revives one.
            return refund
        order = Order.objects.get(pk=payment.order_id)
        if status == "succeeded":
            LedgerEntry.objects.get_or_create(
                refund=refund,
                defaults={
                    "order": order,
                    "kind": LedgerKind.REFUND,
                    "amount": -refund.amount,
                    "payment": payment,
                    "memo": f"Refund {refund.refund_id}".strip(),
                },
            )
            if order.invoices.filter(kind=InvoiceKind.INVOICE).exists():
                # The invoice is corrected by a credit note once the refund is committed.
                transaction.on_commit(lambda: issue_credit_note(refund=refund), robust=True)
        elif status in REFUND_FAILED:
            payment.refunded = payment.refunded - refund.amount
            payment.save(update_fields=["refunded", "updated_at"])
            if before == "succeeded":
                LedgerEntry.objects.create(
                    order=order,
                    kind=LedgerKind.REFUND,
                    amount=refund.amount,
                    payment=payment,
                    memo=f"Refund {refund.refund_id} failed: the money stayed with you",
                )
        refund.status = status
        refund.save(update_fields=["refund_id", "status"])
        order_event_create(
            order=order,
            kind=EventKind.REFUND,
            actor=actor,
            message=f"Refund of {refund.amount} {status}.",
            before={"status": before},
            after={"refund": refund.pk, "status": status},
        )
        sync_order_money(order)
    return refund


# --- gateway events --------------------------------------------------------------------


def handle_gateway_event(*, gateway: PaymentGateway, event: GatewayEvent) -> bool:
    """Apply a verified gateway event once. Returns False for a replay (the event id
    is known): nothing happens again. Unknown types are recorded and ignored."""
    if WebhookEvent.objects.filter(gateway=gateway.name, event_id=event.id).exists():
        return False
    card = None
    obj = event.object
    if (
        event.type == "checkout.session.completed"
        and obj.get("mode") == "setup"
        and isinstance(obj.get("setup_intent"), str)
    ):
        # The session names its SetupIntent; the card is on it (a read, before the
        # transaction, so no row waits on the network).
        card = gateway.saved_card(setup_intent_id=obj["setup_intent"])
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = WebhookEvent.objects.create(
                    gateway=gateway.name, event_id=event.id, type=event.type, payload=event.payload
                )
        except IntegrityError:
            return False  # the same event delivered twice at once: the other one has it
        _apply_event(gateway.name, event, card)
        record.processed_at = timezone.now()
        record.save(update_fields=["processed_at"])
    return True


def _payment_of(gateway_name: str, obj: dict) -> Payment | None:
    payments = Payment.objects.filter(gateway=gateway_name)
    ours = (obj.get("metadata") or {}).get(METADATA_PAYMENT, "")
    if str(ours).isdigit():
        found = payments.filter(pk=int(ours)).first()
        if found is not None:
            return found
    ids = {_id_of(obj.get("id")), _id_of(obj.get("payment_intent"))} - {""}
    return payments.filter(intent_id__in=ids).first() if ids else None


def _id_of(value) -> str:
    if isinstance(value, dict):
        return str(value.get("id", ""))
    return str(value or "")


def _error_of(obj: dict, key: str) -> tuple[str, str]:
    error = obj.get(key) or {}
    code = error.get("decline_code") or error.get("code") or "declined"
    return code, error.get("message") or ""


def _apply_event(gateway_name: str, event: GatewayEvent, card: SavedCard | None) -> None:
    obj, kind = event.object, event.type
    # charge.refunded lists its refunds only in API versions before 2022-11-15; later
    # ones announce each refund as refund.created / refund.updated, handled the same.
    if kind in ("charge.refunded", "refund.created", "refund.updated", "refund.failed"):
        refunds = (obj.get("refunds") or {}).get("data", []) if kind == "charge.refunded" else [obj]
        for refund in refunds:
            _apply_refund_object(gateway_name, refund)
        return
    payment = _payment_of(gateway_name, obj)
    if payment is None:
        return  # not one of ours (another integration on the same Stripe account)
    if kind == "checkout.session.completed":
        if obj.get("mode") == "setup":
            setup = obj.get("setup_intent")
            if isinstance(setup, dict):
                card = SavedCard(
                    customer_id=_id_of(setup.get("customer")),
                    payment_method_id=_id_of(setup.get("payment_method")),
                )
            if card is not None:
                record_card_saved(
                    payment=payment,
                    setup_intent_id=_id_of(setup),
                    customer_id=card.customer_id or _id_of(obj.get("customer")),
                    payment_method_id=card.payment_method_id,
                )
        elif obj.get("payment_status") == "paid":
            record_payment_succeeded(
                payment=payment,
                intent_id=_id_of(obj.get("payment_intent")),
                amount_received=from_minor_units(obj.get("amount_total", 0), obj["currency"]),
            )
        else:  # a bank debit or voucher: payment_intent.succeeded follows
            _mark_processing(payment, _id_of(obj.get("payment_intent")))
    elif kind == "checkout.session.expired":
        # The next attempt needs a new key: the old one would return this dead session.
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(
            status=PaymentStatus.CANCELED
        )
    elif kind == "payment_intent.succeeded":
        record_payment_succeeded(
            payment=payment,
            intent_id=obj["id"],
            amount_received=from_minor_units(obj.get("amount_received", 0), obj["currency"]),
        )
    elif kind == "payment_intent.processing":
        _mark_processing(payment, obj["id"])
    elif kind == "payment_intent.payment_failed":
        code, message = _error_of(obj, "last_payment_error")
        record_payment_failed(
            payment=payment, intent_id=obj["id"], failure_code=code, failure_message=message
        )
    elif kind == "setup_intent.setup_failed":
        code, message = _error_of(obj, "last_setup_error")
        record_payment_failed(payment=payment, failure_code=code, failure_message=message)


def _apply_refund_object(gateway_name: str, obj: dict) -> None:
    """A Refund object from the gateway: ours (by metadata or id) gets its status; one
    made outside Pledgeport (the Stripe dashboard) is recorded as a refund too."""
    refund_id = obj.get("id", "")
    ours = (obj.get("metadata") or {}).get(METADATA_REFUND, "")
    refunds = Refund.objects.filter(payment__gateway=gateway_name)
    refund = refunds.filter(pk=int(ours)).first() if str(ours).isdigit() else None
    if refund is None and refund_id:
        refund = refunds.filter(refund_id=refund_id).first()
    if refund is None:
        payment = _payment_of(gateway_name, {"payment_intent": obj.get("payment_intent")})
        if payment is None or not refund_id:
            return
        currency = obj.get("currency") or str(payment.captured.currency)
        amount = from_minor_units(obj.get("amount", 0), currency)
        with transaction.atomic():
            locked = Payment.objects.select_for_update().get(pk=payment.pk)
            refund, created = Refund.objects.get_or_create(
                idempotency_key=f"gateway-{refund_id}",
                defaults={
                    "payment": locked,
                    "refund_id": refund_id,
                    "amount": amount,
                    "reason": "Refunded outside Pledgeport.",
                    "status": "pending",
                },
            )
            if created:
                locked.refunded = locked.refunded + amount
                locked.save(update_fields=["refunded", "updated_at"])
    apply_refund_status(refund=refund, refund_id=refund_id, status=obj.get("status", "pending"))


# --- reads for the pages ---------------------------------------------------------------


def campaign_payments(*, campaign: Campaign, status: str = "") -> QuerySet[Payment]:
    """The campaign's payments, newest first (keyset pages on -pk), with their order."""
    payments = Payment.objects.filter(order__campaign=campaign).select_related("order")
    if status:
        payments = payments.filter(status=status)
    return payments.order_by("-pk")


def order_payments(order: Order) -> list[Payment]:
    return list(order.payments.order_by("created_at", "pk").prefetch_related("refunds__created_by"))


def latest_charge(order: Order) -> Payment | None:
    return order.payments.filter(kind=PaymentKind.CHARGE).order_by("-created_at", "-pk").first()


def gateway_label(name: str) -> str:
    return Gateway(name).label
