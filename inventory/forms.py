from django import forms
from django.conf import settings
from djmoney.money import Money

from .models import Sku
from .services.skus import (
    MAX_IMPORT_BYTES,
    SkuImportRefused,
    campaigns_locking,
    ensure_import_size,
    format_attributes,
    locked_map_refusal,
    normalize_barcode,
    normalize_hs_code,
    parse_attributes,
)


class SkuForm(forms.ModelForm):
    """Create or edit one SKU of an organization.

    Attributes are typed one per line (``colour = red``); HS codes accept dots and
    spaces and are stored as digits; barcodes must be GTINs with a right check digit;
    the customs value is in the campaign's currency unless another is picked."""

    attributes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "colour = red\nsize = L"}),
        help_text="Variant attributes, one per line: colour = red (or colour: red).",
    )
    hs_code = forms.CharField(
        label="HS tariff code",
        required=False,
        max_length=20,
        help_text="6 to 10 digits, as on the customs declaration: 9504.90 or 9504 90 is fine.",
    )
    customs_amount = forms.DecimalField(
        label="Customs unit value",
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text="What one unit is worth on a customs declaration.",
    )
    customs_currency = forms.ChoiceField(
        label="Customs value currency", choices=[(c, c) for c in settings.CURRENCIES]
    )
    barcode = forms.CharField(
        label="Barcode / GTIN",
        required=False,
        max_length=20,
        help_text="EAN-13, UPC-A (12 digits), EAN-8 or GTIN-14; the check digit is verified.",
    )

    class Meta:
        model = Sku
        fields = [
            "code",
            "name",
            "attributes",
            "weight_g",
            "length_mm",
            "width_mm",
            "height_mm",
            "hs_code",
            "country_of_origin",
            "customs_description",
            "barcode",
            "is_digital",
        ]
        help_texts = {
            "code": "Unique in your organization; letters, digits and . _ / - (no spaces).",
            "customs_description": "Plain words a customs officer understands: “Board game”.",
            "is_digital": "A download or a code: nothing to weigh, pack or declare.",
        }

    def __init__(self, *args, organization, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        if self.instance.pk is None:
            self.instance.organization = organization
        self.order_fields(
            [
                *self.Meta.fields[: self.Meta.fields.index("customs_description") + 1],
                "customs_amount",
                "customs_currency",
            ]
        )
        self.fields["country_of_origin"].label = "Country of origin"
        value = self.instance.customs_value
        self.initial["attributes"] = format_attributes(
            self.instance.attributes, separator="\n", joiner=" = "
        )
        self.initial["customs_amount"] = value.amount if value is not None else None
        self.initial["customs_currency"] = (
            value.currency.code if value is not None else campaign.currency
        )

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        taken = Sku.objects.filter(organization=self.organization, code=code)
        if self.instance.pk is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(
                f"{self.organization.name} already has a SKU with the code {code}; "
                "pick another code or edit that SKU."
            )
        return code

    def clean_attributes(self):
        try:
            return parse_attributes(self.cleaned_data["attributes"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_hs_code(self):
        try:
            return normalize_hs_code(self.cleaned_data["hs_code"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_barcode(self):
        try:
            return normalize_barcode(self.cleaned_data["barcode"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is not None and not self.errors:
            after = Sku(
                weight_g=cleaned.get("weight_g"),
                hs_code=cleaned.get("hs_code") or "",
                country_of_origin=cleaned.get("country_of_origin") or "",
                is_digital=bool(cleaned.get("is_digital")),
            )
            refusal = locked_map_refusal(
                before=self.instance,
                after_missing=after.missing_shipping_data,
                after_digital=after.is_digital,
                campaigns=campaigns_locking(sku_ids=[self.instance.pk]).get(self.instance.pk),
            )
            if refusal:
                raise forms.ValidationError(refusal)
        amount = cleaned.get("customs_amount")
        currency = cleaned.get("customs_currency")
        if amount is not None and currency:
            self.instance.customs_value = Money(amount, currency)
        elif amount is None:
            self.instance.customs_value = None
        return cleaned


class SkuImportForm(forms.Form):
    file = forms.FileField(
        label="SKU list",
        help_text=(
            "CSV (or Excel .xlsx) with the header Code, Name, Attributes, Weight (g), "
            "Length (mm), Width (mm), Height (mm), HS code, Country of origin, Customs "
            "description, Customs value, Customs currency, Barcode, Digital — the same as "
            f"the export. At most {MAX_IMPORT_BYTES // (1024 * 1024)} MB."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            ensure_import_size(upload.size)
        except SkuImportRefused as exc:
            raise forms.ValidationError(exc.message) from None
        return upload
