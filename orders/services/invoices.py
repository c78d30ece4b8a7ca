"""VAT invoices and credit notes: numbered per campaign, frozen as a snapshot when
issued, rendered to PDF from the snapshot (so a later change of the seller's details,
the rates or the order never changes an issued document).

Rules:
- One invoice per order, for a paid order (nothing left to pay); issuing again returns
  the same invoice. Numbers come from the campaign's counter and are never reused.
- The invoice agrees with the order to the cent: its total is `order.total`, its tax
  `order.tax_total`. The breakdown per rate comes from the tax engine for the order's
  lines and destination on the day the order was priced; should the engine disagree
  with the stored figures (an order priced by other rules), the stored figures win and
  the breakdown is one row of them.
- Reverse charge and IOSS (or UK VAT / VOEC / ABN) wording as the order's regime needs.
- A credit note corrects one refund: negative amounts, the tax split in proportion to
  the invoice's rates, referring to the invoice it corrects; one per refund.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from djmoney.money import Money

from pledges.models import Campaign

from .. import tax
from ..errors import OrdersError
from ..errors_invoices import (
    InvoiceMissing,
    OrderNotPaid,
    PdfRendererMissing,
    RefundNotCreditable,
)
from ..events import order_event_create
from ..models import (
    EventKind,
    Invoice,
    InvoiceKind,
    LedgerEntry,
    Order,
    OrderState,
    Refund,
)
from .jobs import CampaignJob
from .numbering import take_invoice_number
from .repricing import (
    PricedLine,
    RewardPart,
    all_digital,
    charged_total,
    order_tax_lines,
    part_of_reward,
)
from .taxes import tax_quote, tax_settings_for

ZERO = Decimal("0")
REVERSE_CHARGE_NOTE = gettext_noop(
    "Reverse charge: VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)"
)
# The regimes whose number the invoice shows, and how it calls it.
CUSTOMS_NUMBER_LABELS = {
    tax.Regime.EU_IOSS: "IOSS number",
    tax.Regime.UK_POINT_OF_SALE: "UK VAT number",
    tax.Regime.NO_VOEC: "VOEC number",
    tax.Regime.AU_GST: "ABN",
}


def _text(amount: Decimal) -> str:
    return str(amount)


def _address_lines(order: Order) -> list[str]:
    address = order.address
    if address is None:
        return []
    lines = [address.company] if address.company else []
    lines += [line for line in address.street_address.splitlines() if line.strip()]
    lines.append(" ".join(p for p in (address.postal_code, address.city) if p))
    lines += [p for p in (address.city_area, address.country_area) if p]
    return [line for line in lines if line.strip()]


def _seller(campaign: Campaign, order: Order) -> dict:
    settings = tax_settings_for(campaign=campaign)
    seller = {
        "name": settings.seller_name or campaign.organization.name,
        "address": settings.seller_address,
        "country": str(settings.seller_country or ""),
        "vat_id": settings.seller_vat_id,
        "customs_label": "",
        "customs_number": "",
    }
    label = CUSTOMS_NUMBER_LABELS.get(order.tax_regime)
    if label:
        number = order.customs_number or {
            tax.Regime.EU_IOSS: settings.ioss_number,
            tax.Regime.UK_POINT_OF_SALE: settings.uk_vat_number,
            tax.Regime.NO_VOEC: settings.voec_number,
            tax.Regime.AU_GST: settings.abn,
        }.get(order.tax_regime, "")
        seller.update(customs_label=label, customs_number=number)
    return seller


def _buyer(order: Order) -> dict:
    return {
        "name": (order.address.name if order.address and order.address.name else order.name),
        "email": order.email,
        "address_lines": _address_lines(order),
        "country": order.country,
        "vat_number": order.vat_number,
        "address_version": order.address.version if order.address else None,
    }


def _order_lines(order: Order) -> tuple[list[PricedLine], RewardPart | None]:
    priced = []
    reward_skus = []
    for line in order.lines.select_related("sku"):
        digital = bool(line.sku and line.sku.is_digital)
        if part_of_reward(line.source, line.line_total.amount):
            reward_skus.append(line.sku)
        if line.line_total.amount > 0:
            priced.append(
                PricedLine(
                    line.description or line.sku_code,
                    line.quantity,
                    line.unit_price.amount,
                    line.line_total.amount,
                    digital,
                )
            )
    reward = None
    if order.reward_id:
        reward = RewardPart(
            order.reward.title,
            order.reward.minimum.amount,
            all_digital(reward_skus),
        )
    return priced, reward


def _line_row(taxed: tax.TaxedLine, *, quantity: int, platform: str) -> dict:
    line = taxed.line
    if line.kind == tax.LineKind.SHIPPING:
        description = _("Shipping")
    elif line.is_pledged_reward:
        description = _("%(reward)s (paid on %(platform)s)") % {
            "reward": line.description,
            "platform": platform,
        }
    else:
        description = line.description
    return {
        "description": description,
        "quantity": quantity,
        "net": _text(taxed.net),
        "rate": taxed.percent,
        "tax_name": taxed.tax_name,
        "tax": _text(taxed.tax),
        "gross": _text(taxed.total),
        "paid_on_platform": line.is_pledged_reward,
    }


def _breakdown(taxed_lines: list[tax.TaxedLine]) -> list[dict]:
    """Net and tax per rate (untaxed lines last)."""
    rows: dict[tuple, dict] = {}
    for taxed in taxed_lines:
        key = (taxed.tax_name, taxed.percent)
        row = rows.setdefault(
            key, {"name": taxed.tax_name, "rate": taxed.percent, "net": ZERO, "tax": ZERO}
        )
        row["net"] += taxed.net
        row["tax"] += taxed.tax
    return [
        {**row, "net": _text(row["net"]), "tax": _text(row["tax"])}
        for _key, row in sorted(rows.items(), key=lambda kv: (kv[0][1] == "", kv[0]))
    ]


def _money_part(order: Order) -> dict:
    """Lines and tax breakdown that agree with the order's stored totals."""
    priced, reward = _order_lines(order)
    platform = order.campaign.get_platform_display()
    lines = order_tax_lines(
        priced_lines=priced,
        goods_total=order.goods_total.amount,
        shipping_fee=order.shipping_fee.amount,
        reward=reward,
    )
    on = timezone.localdate(order.priced_at) if order.priced_at else timezone.localdate()
    try:
        quote = tax_quote(
            campaign=order.campaign,
            destination=tax.Destination(
                order.country, order.address.country_area if order.address else ""
            ),
            lines=lines,
            on=on,
            vat_number=order.vat_number,
        )
    except OrdersError:
        quote = None
    quantities = {(p.description, p.line_total): p.quantity for p in priced}

    def quantity(line: tax.Line) -> int:
        return quantities.get((line.description, line.amount), 1)

    if quote is not None and (
        quote.tax_total == order.tax_total.amount
        and charged_total(quote, prices_include_tax=order.prices_include_tax) == order.total.amount
    ):
        # A pledged reward shows only when it is taxed: then its tax is charged here.
        shown = [t for t in quote.lines if not t.line.is_pledged_reward or t.taxed]
        rows = [_line_row(t, quantity=quantity(t.line), platform=platform) for t in shown]
        breakdown = _breakdown(shown)
        platform_paid = sum((t.line.amount for t in shown if t.line.is_pledged_reward), ZERO)
    else:
        # The stored figures are what the backer was charged: show them as they are.
        rows = [
            {
                "description": line.description or _("Shipping"),
                "quantity": quantity(line),
                "net": _text(line.amount),
                "rate": "",
                "tax_name": "",
                "tax": "0.00",
                "gross": _text(line.amount),
                "paid_on_platform": False,
            }
            for line in lines
            if not line.is_pledged_reward
        ]
        net = order.total.amount - order.tax_total.amount
        breakdown = [
            {"name": _("Tax"), "rate": "", "net": _text(net), "tax": _text(order.tax_total.amount)}
        ]
        platform_paid = ZERO
    return {
        "lines": rows,
        "breakdown": breakdown,
        "tax_total": _text(order.tax_total.amount),
        "gross_total": _text(order.total.amount + platform_paid),
        "paid_on_platform": _text(platform_paid),
        "platform": platform,
        "total": _text(order.total.amount),
    }


def _notes(order: Order, seller: dict) -> list[str]:
    notes = []
    if order.reverse_charge:
        notes.append(_(REVERSE_CHARGE_NOTE))
    if order.tax_regime == tax.Regime.EU_IOSS and seller["customs_number"]:
        notes.append(
            _("VAT collected under IOSS, IOSS number %(number)s")
            % {"number": seller["customs_number"]}
        )
    elif seller["customs_number"]:
        notes.append(
            _("Tax collected at the point of sale, %(label)s %(number)s")
            % {"label": _(seller["customs_label"]), "number": seller["customs_number"]}
        )
    if order.import_tax_at_delivery:
        notes.append(_("Import tax and duty are paid by the recipient on delivery."))
    return notes


def _payments(order: Order) -> dict:
    entries = [
        {
            "kind": entry.get_kind_display(),
            "amount": _text(entry.amount.amount),
            "memo": entry.memo,
            "date": entry.created_at.date().isoformat(),
        }
        for entry in LedgerEntry.objects.filter(order=order).order_by("created_at", "pk")
    ]
    return {
        "credit_applied": _text(order.credit_applied.amount),
        "paid_total": _text(order.paid_total.amount),
        "balance_due": _text(order.balance_due.amount),
        "entries": entries,
    }


def issue_invoice(*, order: Order) -> Invoice:
    """The order's VAT invoice, issued once (the order row is locked while it is
    taken, so two callers get the same invoice). Refuses an order with a balance due
    (OrderNotPaid). Writes an "invoice" event."""
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("campaign__organization", "address", "reward")
            .get(pk=order.pk)
        )
        existing = order.invoices.filter(kind=InvoiceKind.INVOICE).first()
        if existing is not None:
            return existing
        if order.balance_due.amount > 0:
            raise OrderNotPaid(
                _("Order %(number)s still has %(due)s to pay: it gets its invoice once paid.")
                % {"number": order.number, "due": order.balance_due}
            )
        campaign = order.campaign
        with translation.override(order.language or "en"):
            seller = _seller(campaign, order)
            snapshot = {
                "kind": InvoiceKind.INVOICE.value,
                "currency": order.currency,
                "order_number": order.number,
                "seller": seller,
                "buyer": _buyer(order),
                **_money_part(order),
                "tax_regime": order.tax_regime,
                "reverse_charge": order.reverse_charge,
                "notes": _notes(order, seller),
                "payments": _payments(order),
                "language": order.language or "en",
            }
        number = take_invoice_number(campaign_id=campaign.pk)
        invoice = Invoice.objects.create(
            campaign=campaign,
            order=order,
            kind=InvoiceKind.INVOICE,
            number=number,
            issued_at=timezone.now(),
            total=order.total,
            tax_total=order.tax_total,
            snapshot={**snapshot, "number": number},
        )
        order_event_create(
            order=order,
            kind=EventKind.INVOICE,
            message=f"Invoice {number} issued",
            after={"invoice": number, "total": str(order.total.amount)},
        )
    return invoice


def orders_missing_invoice(*, campaign: Campaign):
    """Paid orders of the campaign without an invoice yet: something was charged
    (total above 0), nothing is left to pay, not a draft and not cancelled."""
    return (
        Order.objects.filter(campaign=campaign, total__gt=0, balance_due__lte=0)
        .exclude(state__in=[OrderState.DRAFT, OrderState.CANCELLED])
        .exclude(invoices__kind=InvoiceKind.INVOICE)
        .order_by("pk")
    )


@dataclass
class IssueResult:
    issued: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)  # (order number, why)


def issue_missing_invoices(
    *, campaign: Campaign, progress: Callable[[int], None] | None = None
) -> IssueResult:
    """Issue the invoice of every paid order that lacks one (each in its own
    transaction, so one refused order does not stop the others)."""
    result = IssueResult()
    for order in orders_missing_invoice(campaign=campaign).iterator(chunk_size=500):
        try:
            issue_invoice(order=order)
        except OrdersError as exc:
            result.failed.append((order.number, exc.message))
        else:
            result.issued += 1
        if progress is not None:
            progress(1)
    return result


# --- issuing the missing ones from the back office, in the background ------------------


def issuing_job(*, campaign: Campaign) -> CampaignJob:
    return CampaignJob("invoices", campaign.pk)


def start_issuing_invoices(*, campaign: Campaign) -> int:
    """Issue the missing invoices in a background task once this commits; returns how
    many orders lack one (0: nothing to do, no task). A run already going is left to
    finish (returns its total)."""
    from ..tasks import issue_missing_invoices_task

    return issuing_job(campaign=campaign).launch(
        count=orders_missing_invoice(campaign=campaign).count,
        task=issue_missing_invoices_task,
        args=(campaign.pk,),
    )


def run_issuing_job(*, campaign: Campaign) -> IssueResult:
    """The task's work: issue, recording progress for the page."""
    return issuing_job(campaign=campaign).run(
        lambda progress: issue_missing_invoices(campaign=campaign, progress=progress),
        summary=lambda result: {"issued": result.issued, "failed": len(result.failed)},
    )


def _round(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(tax.minor_unit(currency), rounding=ROUND_HALF_UP)


def _credited_breakdown(invoice: Invoice, amount: Decimal) -> list[dict]:
    """The refunded `amount` (gross) split over the invoice's rates in proportion to
    their gross; the last row takes the rounding remainder."""
    currency = invoice.snapshot.get("currency", str(invoice.total.currency))
    rows = invoice.snapshot.get("breakdown", [])
    if amount == invoice.total.amount:
        return [
            {**row, "net": _text(-Decimal(row["net"])), "tax": _text(-Decimal(row["tax"]))}
            for row in rows
        ]
    gross = [Decimal(row["net"]) + Decimal(row["tax"]) for row in rows]
    whole = sum(gross, ZERO)
    result, left = [], amount
    for n, (row, part) in enumerate(zip(rows, gross, strict=True)):
        share = left if n == len(rows) - 1 else _round(amount * part / whole, currency)
        left -= share
        rate = Decimal(row["rate"]) if row["rate"] else ZERO
        row_tax = _round(share * rate / (100 + rate), currency) if part else ZERO
        result.append({**row, "net": _text(-(share - row_tax)), "tax": _text(-row_tax)})
    return result


def issue_credit_note(*, refund: Refund) -> Invoice:
    """A credit note for a refund, correcting the order's invoice: negative amounts,
    numbered like invoices; one per refund (issuing again returns it). Raises
    InvoiceMissing when the order has no invoice, RefundNotCreditable for a failed
    refund or one that would credit more than the invoice."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("payment").get(pk=refund.pk)
        existing = Invoice.objects.filter(refund=refund).first()
        if existing is not None:
            return existing
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .get(pk=refund.payment.order_id)
        )
        invoice = order.invoices.filter(kind=InvoiceKind.INVOICE).first()
        if invoice is None:
            raise InvoiceMissing(
                _("Order %(number)s has no invoice to correct.") % {"number": order.number}
            )
        if refund.status in ("failed", "canceled"):
            raise RefundNotCreditable(_("A refund that did not go through is not credited."))
        amount = refund.amount.amount
        credited = -sum(
            (note.total.amount for note in order.invoices.filter(kind=InvoiceKind.CREDIT_NOTE)),
            ZERO,
        )
        if amount <= 0 or amount + credited > invoice.total.amount:
            raise RefundNotCreditable(
                _("%(amount)s is more than is left to credit on invoice %(number)s.")
                % {"amount": refund.amount, "number": invoice.number}
            )
        breakdown = _credited_breakdown(invoice, amount)
        tax_total = sum((Decimal(row["tax"]) for row in breakdown), ZERO)
        snapshot = {
            key: invoice.snapshot.get(key)
            for key in ("currency", "order_number", "seller", "buyer", "language", "platform")
        }
        with translation.override(snapshot.get("language") or "en"):
            snapshot.update(
                kind=InvoiceKind.CREDIT_NOTE.value,
                refers_to=invoice.number,
                refers_to_date=invoice.issued_at.date().isoformat(),
                reason=refund.reason,
                lines=[
                    {
                        "description": _("Refund for invoice %(number)s")
                        % {"number": invoice.number},
                        "quantity": 1,
                        "net": _text(sum((Decimal(r["net"]) for r in breakdown), ZERO)),
                        "rate": "",
                        "tax_name": "",
                        "tax": _text(tax_total),
                        "gross": _text(-amount),
                        "paid_on_platform": False,
                    }
                ],
                breakdown=breakdown,
                tax_total=_text(tax_total),
                gross_total=_text(-amount),
                paid_on_platform="0",
                total=_text(-amount),
                notes=[
                    _("Credit note for invoice %(number)s of %(date)s.")
                    % {"number": invoice.number, "date": invoice.issued_at.date().isoformat()}
                ]
                + [n for n in invoice.snapshot.get("notes", []) if "196" in n],
                reverse_charge=invoice.snapshot.get("reverse_charge", False),
            )
        number = take_invoice_number(campaign_id=order.campaign_id)
        note = Invoice.objects.create(
            campaign_id=order.campaign_id,
            order=order,
            kind=InvoiceKind.CREDIT_NOTE,
            number=number,
            issued_at=timezone.now(),
            total=-refund.amount,
            tax_total=Money(tax_total, refund.amount.currency),
            snapshot={**snapshot, "number": number},
            refund=refund,
        )
        order_event_create(
            order=order,
            kind=EventKind.INVOICE,
            message=f"Credit note {number} issued for invoice {invoice.number}",
            after={"credit_note": number, "invoice": invoice.number, "total": str(-amount)},
        )
    return note


def render_invoice_html(invoice: Invoice) -> str:
    """The invoice (or credit note) as the HTML the PDF is printed from."""
    campaign = invoice.campaign
    snapshot = invoice.snapshot
    logo = ""
    if campaign.logo:
        try:
            logo = campaign.logo.path
        except (NotImplementedError, ValueError):
            logo = ""
    with translation.override(snapshot.get("language") or "en"):
        return render_to_string(
            "orders/invoices/invoice.html",
            {
                "invoice": invoice,
                "s": snapshot,
                "campaign": campaign,
                "logo_path": logo,
                "is_credit_note": invoice.kind == InvoiceKind.CREDIT_NOTE,
                "currency": snapshot.get("currency") or str(invoice.total.currency),
            },
        )


def render_invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice as an A4 PDF (WeasyPrint). Raises PdfRendererMissing when WeasyPrint
    or its Pango libraries are not installed: the rest of the app runs without them."""
    try:
        import weasyprint  # heavy, and needs Pango: loaded only when a PDF is asked for
    except (ImportError, OSError) as exc:
        raise PdfRendererMissing(
            _("PDF invoices need WeasyPrint and the Pango libraries on the server (%(error)s).")
            % {"error": exc}
        ) from exc
    html = render_invoice_html(invoice)
    return weasyprint.HTML(string=html, base_url="/").write_pdf()
