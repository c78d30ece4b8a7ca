"""Forms of the tax pages: settings, one rate, an exchange rate, the calculator."""

from decimal import Decimal

from django import forms
from django.utils import timezone
from django_countries import countries
from stdnum.au import abn as au_abn
from stdnum.gb import vat as gb_vat

from pledges.forms import DateInput

from . import tax
from .models import TaxRate, TaxSettings
from .services.taxes import RATE_FIELDS, SETTINGS_FIELDS


def _squeeze(value: str) -> str:
    """Customs numbers are typed with spaces, dots and dashes; they are stored without."""
    return "".join(ch for ch in (value or "").upper() if ch.isalnum())


class TaxSettingsForm(forms.ModelForm):
    # Wider than the stored numbers: "IM 276 000 0001" is fine and stored as IM2760000001.
    ioss_number = forms.CharField(
        label="IOSS number",
        required=False,
        max_length=30,
        help_text="IM and 10 digits. Without it, EU parcels are taxed at import.",
    )
    uk_vat_number = forms.CharField(
        label="UK VAT number",
        required=False,
        max_length=30,
        help_text="GB and 9 digits; needed to charge UK VAT on parcels up to £135.",
    )
    voec_number = forms.CharField(
        label="VOEC number",
        required=False,
        max_length=30,
        help_text="VOEC and 7 digits; needed to charge Norwegian VAT up to NOK 3,000.",
    )
    abn = forms.CharField(
        label="ABN",
        required=False,
        max_length=30,
        help_text="Australian Business Number, 11 digits; needed to charge GST up to A$1,000.",
    )

    class Meta:
        model = TaxSettings
        fields = list(SETTINGS_FIELDS)
        widgets = {"seller_address": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "seller_name": "As it should appear on invoices.",
            "seller_vat_id": "Printed on invoices.",
        }

    def clean_ioss_number(self):
        return _squeeze(self.cleaned_data["ioss_number"])

    def clean_voec_number(self):
        return _squeeze(self.cleaned_data["voec_number"])

    def clean_uk_vat_number(self):
        number = _squeeze(self.cleaned_data["uk_vat_number"])
        if not number:
            return ""
        number = gb_vat.compact(number)
        return number if number[:2].isalpha() else f"GB{number}"

    def clean_abn(self):
        return au_abn.compact(self.cleaned_data["abn"] or "")

    def clean_seller_vat_id(self):
        return _squeeze(self.cleaned_data["seller_vat_id"])


class TaxRateForm(forms.ModelForm):
    class Meta:
        model = TaxRate
        fields = list(RATE_FIELDS)
        widgets = {"valid_from": DateInput, "region": forms.TextInput(attrs={"size": 6})}
        help_texts = {"rate": "Percent: 19 or 25.5."}
        labels = {
            "applies_to_goods": "Applies to goods",
            "applies_to_shipping": "Applies to shipping",
            "applies_to_digital": "Applies to digital items",
        }

    def clean(self):
        data = super().clean()
        country = str(data.get("country") or "")
        # "ON" means CA-ON; the model's clean() then checks the normalized code.
        data["region"] = tax.normalize_region(country, data.get("region", ""))
        return data


class ExchangeRateForm(forms.Form):
    quote_currency = forms.ChoiceField(label="Into")
    rate = forms.DecimalField(
        min_value=Decimal("0.00000001"),
        max_digits=18,
        decimal_places=8,
        help_text="What one unit of the campaign's currency is worth in it.",
    )
    valid_from = forms.DateField(widget=DateInput)

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quote_currency"].choices = [
            (c, c) for c in tax.SCHEME_CURRENCIES if c != currency
        ]
        self.fields["rate"].label = f"Rate (1 {currency} =)"


KIND_CHOICES = [
    (tax.LineKind.GOODS.value, "Goods"),
    (tax.LineKind.SHIPPING.value, "Shipping"),
    (tax.LineKind.DIGITAL.value, "Digital"),
]


class TaxCalculatorForm(forms.Form):
    country = forms.ChoiceField(choices=[("", "Choose a country")] + list(countries))
    region = forms.CharField(
        required=False, max_length=6, help_text="Province or state code if it matters: ON."
    )
    on = forms.DateField(label="Date", widget=DateInput)
    vat_number = forms.CharField(
        label="Backer's VAT number",
        required=False,
        max_length=30,
        help_text="For a business in the EU: reverse charge.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"on": timezone.localdate()})
        super().__init__(*args, **kwargs)

    def destination(self) -> tax.Destination:
        return tax.Destination(self.cleaned_data["country"], self.cleaned_data["region"])


class TaxLineForm(forms.Form):
    kind = forms.ChoiceField(choices=KIND_CHOICES)
    description = forms.CharField(required=False, max_length=100)
    amount = forms.DecimalField(required=False, min_value=0, max_digits=12, decimal_places=2)
    is_pledged_reward = forms.BooleanField(label="Pledged on the platform", required=False)

    def line(self) -> tax.Line | None:
        """The line, or None for a row left empty."""
        amount = self.cleaned_data.get("amount")
        if amount is None:
            return None
        return tax.Line(
            kind=self.cleaned_data["kind"],
            amount=amount,
            is_pledged_reward=self.cleaned_data["is_pledged_reward"],
            description=self.cleaned_data["description"],
        )


CALCULATOR_LINES = 6
TaxLineFormSet = forms.formset_factory(
    TaxLineForm, extra=0, max_num=CALCULATOR_LINES, validate_max=True, absolute_max=20
)
CALCULATOR_INITIAL = [
    {"kind": "goods", "description": "Pledged reward", "is_pledged_reward": True},
    {"kind": "goods", "description": "Add-ons"},
    {"kind": "shipping", "description": "Shipping"},
    {"kind": "digital", "description": "Digital add-on"},
    {"kind": "goods"},
    {"kind": "goods"},
]
