"""Forms of the payment pages: settings, refunds, the payments filter, and the card
field of the test gateway's page."""

import uuid
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import PaymentSettings, PaymentStatus
from .payments.gateway import card_digits


class PaymentSettingsForm(forms.ModelForm):
    class Meta:
        model = PaymentSettings
        fields = ["gateway", "charge_at_lock", "statement_descriptor"]
        widgets = {"gateway": forms.RadioSelect}
        help_texts = {
            "statement_descriptor": "What the backer's bank statement shows (up to 22 characters).",
        }


class RefundForm(forms.Form):
    FULL, PARTIAL = "full", "partial"
    mode = forms.ChoiceField(
        label="Refund",
        choices=[(FULL, "Everything still refundable"), (PARTIAL, "Part of it")],
        initial=FULL,
        widget=forms.RadioSelect,
    )
    amount = forms.DecimalField(
        label="Amount",
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        help_text="Only for a partial refund.",
    )
    reason = forms.CharField(
        label="Reason", max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
    # One key per form shown: the same form sent twice refunds once.
    key = forms.CharField(widget=forms.HiddenInput, max_length=80)

    def __init__(self, *args, refundable: Decimal, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("key", f"pp-refund-form-{uuid.uuid4().hex}")
        super().__init__(*args, **kwargs)
        self.refundable = refundable

    def clean(self):
        data = super().clean()
        if data.get("mode") == self.PARTIAL and data.get("amount") is None:
            self.add_error("amount", "Enter the amount to refund.")
        return data

    def refund_amount(self) -> Decimal:
        if self.cleaned_data["mode"] == self.FULL:
            return self.refundable
        return self.cleaned_data["amount"]


class PaymentFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *PaymentStatus.choices], required=False)

    def filters(self) -> dict:
        if not self.is_valid():
            return {"status": ""}
        return {"status": self.cleaned_data["status"]}


class TestCardForm(forms.Form):
    """The card number on the test gateway's page (Stripe's test numbers behave alike)."""

    __test__ = False
    card_number = forms.CharField(
        label=_("Card number"),
        max_length=30,
        initial="4242 4242 4242 4242",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean_card_number(self):
        digits = card_digits(self.cleaned_data["card_number"])
        if not 12 <= len(digits) <= 19:
            raise forms.ValidationError(_("Enter a card number (12 to 19 digits)."))
        return digits
