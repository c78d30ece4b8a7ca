"""Money moving: the campaign's payment settings, gateway payments (charges and
saved cards), refunds, the per-order ledger, processed webhook events and VAT
invoices."""

from django.conf import settings
from django.db import models
from djmoney.models.fields import MoneyField


class Gateway(models.TextChoices):
    TEST = "test", "Test gateway (no real money)"
    STRIPE = "stripe", "Stripe"


class PaymentSettings(models.Model):
    campaign = models.OneToOneField(
        "pledges.Campaign", on_delete=models.CASCADE, related_name="payment_settings"
    )
    gateway = models.CharField(max_length=20, choices=Gateway.choices, default=Gateway.TEST)
    charge_at_lock = models.BooleanField(
        "charge at lock",
        default=False,
        help_text="Save the backer's card in the survey and charge it when the order locks.",
    )
    statement_descriptor = models.CharField(max_length=22, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Payment settings of {self.campaign_id}"


class PaymentKind(models.TextChoices):
    CHARGE = "charge", "Charge"
    SAVE_CARD = "save_card", "Card saved for later"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the backer"
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Cancelled"


class Payment(models.Model):
    """One gateway object: a PaymentIntent (charge) or a SetupIntent (saved card)."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="payments")
    gateway = models.CharField(max_length=20, choices=Gateway.choices)
    kind = models.CharField(max_length=20, choices=PaymentKind.choices, default=PaymentKind.CHARGE)
    status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    client_secret = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=80, unique=True)
    amount = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)
    captured = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)
    refunded = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)
    customer_id = models.CharField(max_length=255, blank=True)
    payment_method_id = models.CharField(max_length=255, blank=True)
    failure_code = models.CharField(max_length=80, blank=True)
    failure_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "created_at", "id"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.intent_id or self.pk} ({self.status})"


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    refund_id = models.CharField(max_length=255, blank=True, db_index=True)
    idempotency_key = models.CharField(max_length=80, unique=True)
    amount = MoneyField(max_digits=12, decimal_places=2, default_currency="USD")
    reason = models.TextField(blank=True)
    status = models.CharField(max_length=20, default="pending")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["payment", "created_at", "id"]

    def __str__(self):
        return f"Refund {self.refund_id or self.pk}"


class LedgerKind(models.TextChoices):
    CREDIT_APPLIED = "credit_applied", "Pledge credit applied"
    CHARGE = "charge", "Charge"
    REFUND = "refund", "Refund"


class LedgerEntry(models.Model):
    """What has paid for an order. Charges and applied credit are positive,
    refunds negative; the sum is what the order shows as paid (credit_applied +
    paid_total)."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=20, choices=LedgerKind.choices)
    amount = MoneyField(max_digits=12, decimal_places=2, default_currency="USD")
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    refund = models.OneToOneField(
        Refund, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entry"
    )
    memo = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "created_at", "id"]
        verbose_name_plural = "ledger entries"

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount}"


class WebhookEvent(models.Model):
    """A gateway event handled once: its id is unique, a replay finds it and stops."""

    gateway = models.CharField(max_length=20, choices=Gateway.choices)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=120)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "event_id"], name="webhook_event_once")
        ]

    def __str__(self):
        return f"{self.type} {self.event_id}"


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


class Invoice(models.Model):
    """A VAT invoice (or credit note) as issued: numbered per campaign, with a frozen
    snapshot of seller, buyer, lines and tax breakdown that the PDF renders."""

    campaign = models.ForeignKey(
        "pledges.Campaign", on_delete=models.PROTECT, related_name="invoices"
    )
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="invoices")
    kind = models.CharField(max_length=20, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE)
    number = models.PositiveIntegerField()
    issued_at = models.DateTimeField()
    total = MoneyField(max_digits=12, decimal_places=2, default_currency="USD")
    tax_total = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)
    snapshot = models.JSONField(default=dict)
    refund = models.OneToOneField(
        Refund, on_delete=models.PROTECT, null=True, blank=True, related_name="credit_note"
    )

    class Meta:
        ordering = ["campaign", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "number"], name="invoice_number_per_campaign"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.number}"
