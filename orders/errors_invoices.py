"""Refused actions of invoicing and re-pricing (stable `code`s, like orders.errors)."""

from .errors import OrdersError


class InvoiceError(OrdersError):
    code = "invoice_error"


class OrderNotPaid(InvoiceError):
    """A VAT invoice is issued for a paid order only (nothing left to pay)."""

    code = "order_not_paid"


class InvoiceMissing(InvoiceError):
    """A credit note corrects an invoice: the refunded order has none yet."""

    code = "invoice_missing"


class RefundNotCreditable(InvoiceError):
    """A refund that did not succeed, or for more than the invoice, cannot be credited."""

    code = "refund_not_creditable"


class PdfRendererMissing(InvoiceError):
    """WeasyPrint or the Pango libraries it needs are not installed on this machine."""

    code = "pdf_renderer_missing"
