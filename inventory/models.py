from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django_countries.fields import CountryField
from djmoney.models.fields import MoneyField

sku_code = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._/-]*$",
    "Use letters, digits and . _ / - (no spaces), starting with a letter or digit.",
)
hs_code = RegexValidator(
    r"^\d{6,10}$", "An HS tariff code has 6 to 10 digits (write it without dots)."
)


class Sku(models.Model):
    """A stock-keeping unit: one physical (or digital) thing a warehouse picks.

    Codes are unique per organization, so campaigns of one creator share their
    catalog (a reprint of the same game is the same SKU)."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="skus"
    )
    code = models.CharField(max_length=64, validators=[sku_code])
    name = models.CharField(max_length=200)
    # Variant attributes as the creator names them: {"colour": "red", "language": "de"}.
    attributes = models.JSONField(default=dict, blank=True)
    weight_g = models.PositiveIntegerField("weight (g)", null=True, blank=True)
    length_mm = models.PositiveIntegerField("length (mm)", null=True, blank=True)
    width_mm = models.PositiveIntegerField("width (mm)", null=True, blank=True)
    height_mm = models.PositiveIntegerField("height (mm)", null=True, blank=True)
    hs_code = models.CharField("HS tariff code", max_length=10, blank=True, validators=[hs_code])
    country_of_origin = CountryField(blank=True)
    customs_description = models.CharField(max_length=200, blank=True)
    customs_value = MoneyField(
        "customs unit value",
        max_digits=12,
        decimal_places=2,
        default_currency="USD",
        null=True,
        blank=True,
    )
    barcode = models.CharField("barcode / GTIN", max_length=14, blank=True)
    is_digital = models.BooleanField("digital (nothing to ship)", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "SKU"
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="sku_code_per_org")
        ]

    def __str__(self):
        return f"{self.code} – {self.name}"

    @property
    def missing_shipping_data(self) -> list[str]:
        """What a customs declaration or a label needs and this SKU lacks."""
        if self.is_digital:
            return []
        missing = []
        if not self.weight_g:
            missing.append("weight")
        if not self.hs_code:
            missing.append("HS code")
        if not self.country_of_origin:
            missing.append("country of origin")
        return missing


class SkuImportState(models.TextChoices):
    PREVIEWED = "previewed", "Previewed"
    BLOCKED = "blocked", "Blocked by problems"
    APPLIED = "applied", "Applied"


class SkuImport(models.Model):
    """One SKU CSV upload: previewed first, applied all-or-nothing."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="sku_imports"
    )
    campaign = models.ForeignKey(
        "pledges.Campaign", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    original_name = models.CharField(max_length=300)
    file_hash = models.CharField(max_length=64)
    # SKU lists are small (thousands of rows); the bytes stay with the run so
    # "apply" re-reads exactly what was previewed.
    data = models.BinaryField()
    state = models.CharField(
        max_length=20, choices=SkuImportState.choices, default=SkuImportState.PREVIEWED
    )
    counts = models.JSONField(default=dict, blank=True)
    samples = models.JSONField(default=dict, blank=True)
    # [{"line": 4, "column": "Weight (g)", "message": "…"}]
    problems = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.original_name} ({self.state})"
