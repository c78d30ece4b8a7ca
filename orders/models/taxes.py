"""Orders and what they are taxed by. So far: the tax tables of a campaign (its
settings, its dated rate per destination, the exchange rates its creator sets)."""

import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django_countries.fields import CountryField
from stdnum.au import abn as au_abn
from stdnum.gb import vat as gb_vat

from .. import tax

IOSS_NUMBER = re.compile(r"IM\d{10}")
VOEC_NUMBER = re.compile(r"VOEC\d{7}")
REGION_CODE = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}")


def validate_ioss_number(value: str) -> None:
    if not IOSS_NUMBER.fullmatch(value):
        raise ValidationError("An IOSS number is IM followed by 10 digits: IM2760000001.")


def validate_uk_vat_number(value: str) -> None:
    if not gb_vat.is_valid(value):
        raise ValidationError("Not a valid UK VAT number (GB and 9 digits: GB980780684).")


def validate_voec_number(value: str) -> None:
    if not VOEC_NUMBER.fullmatch(value):
        raise ValidationError("A VOEC number is VOEC followed by 7 digits: VOEC2012345.")


def validate_abn(value: str) -> None:
    if not au_abn.is_valid(value):
        raise ValidationError("Not a valid ABN (11 digits with a valid check: 51824753556).")


class TaxSettings(models.Model):
    """How a campaign charges tax, and the numbers customs documents and invoices need."""

    campaign = models.OneToOneField(
        "pledges.Campaign", on_delete=models.CASCADE, related_name="tax_settings"
    )
    prices_include_tax = models.BooleanField(
        "prices include tax",
        default=False,
        help_text="On: tax is taken out of the prices backers see. Off: it is added at checkout.",
    )
    tax_on_pledged_rewards = models.BooleanField(
        "tax the pledged rewards too",
        default=True,
        help_text="Off: only what backers buy in the survey is taxed; the rewards they "
        "pledged on the platform still count toward the import limits.",
    )
    ddp_above_threshold = models.BooleanField(
        "ship DDP when tax is due at import",
        default=False,
        help_text="On: you pay import tax and duty at the border (delivered duty paid). "
        "Off: the backer pays them on delivery.",
    )
    seller_name = models.CharField(max_length=200, blank=True)
    seller_address = models.TextField(blank=True)
    seller_country = CountryField(
        blank=True,
        help_text="Where you are established for VAT and ship from. Deliveries inside the "
        "same country, or EU to EU, are charged the destination's rate without customs.",
    )
    seller_vat_id = models.CharField("seller VAT id", max_length=30, blank=True)
    ioss_number = models.CharField(
        "IOSS number", max_length=12, blank=True, validators=[validate_ioss_number]
    )
    uk_vat_number = models.CharField(
        "UK VAT number", max_length=14, blank=True, validators=[validate_uk_vat_number]
    )
    voec_number = models.CharField(
        "VOEC number", max_length=11, blank=True, validators=[validate_voec_number]
    )
    abn = models.CharField("ABN", max_length=11, blank=True, validators=[validate_abn])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "tax settings"

    def __str__(self):
        return f"Tax settings of {self.campaign_id}"

    def policy(self, *, currency: str) -> tax.TaxPolicy:
        return tax.TaxPolicy(
            currency=currency,
            prices_include_tax=self.prices_include_tax,
            tax_on_pledged_rewards=self.tax_on_pledged_rewards,
            ddp_above_threshold=self.ddp_above_threshold,
            seller_country=str(self.seller_country or ""),
            ioss_number=self.ioss_number,
            uk_vat_number=self.uk_vat_number,
            voec_number=self.voec_number,
            abn=self.abn,
        )


class TaxRate(models.Model):
    """One dated rate of a destination in a campaign's own, editable table.

    A region row (an HST province) replaces its country's row for that region. A
    row without `valid_from` is in force until a dated row of the same destination
    takes over."""

    campaign = models.ForeignKey(
        "pledges.Campaign", on_delete=models.CASCADE, related_name="tax_rates"
    )
    country = CountryField()
    region = models.CharField(
        max_length=6,
        blank=True,
        help_text="Empty for the whole country, or an ISO 3166-2 code: CA-ON.",
    )
    name = models.CharField(max_length=20, default="VAT", help_text="VAT, GST, HST…")
    rate = models.DecimalField(
        "rate (%)",
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("99.99"))],
    )
    applies_to_goods = models.BooleanField("goods", default=True)
    applies_to_shipping = models.BooleanField("shipping", default=True)
    applies_to_digital = models.BooleanField("digital items", default=True)
    valid_from = models.DateField(
        null=True, blank=True, help_text="Empty: in force until a dated rate replaces it."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["country", "region", models.F("valid_from").asc(nulls_first=True)]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "country", "region", "valid_from"],
                name="tax_rate_unique_date",
            ),
            # NULLs are distinct in a unique index: one undated row per destination.
            models.UniqueConstraint(
                fields=["campaign", "country", "region"],
                condition=models.Q(valid_from__isnull=True),
                name="tax_rate_unique_undated",
            ),
        ]

    def __str__(self):
        return f"{self.region or self.country} {self.name} {self.percent} %"

    @property
    def percent(self) -> str:
        return tax.plain_number(self.rate)

    def clean(self):
        super().clean()
        if self.region and not REGION_CODE.fullmatch(self.region):
            raise ValidationError({"region": "A region code looks like CA-ON."})
        if self.region and self.country and not self.region.startswith(f"{self.country}-"):
            raise ValidationError(
                {"region": f"A region of {self.country} starts with {self.country}-."}
            )

    def as_row(self) -> tax.RateRow:
        return tax.RateRow(
            country=str(self.country),
            region=self.region,
            rate=self.rate,
            name=self.name,
            goods=self.applies_to_goods,
            shipping=self.applies_to_shipping,
            digital=self.applies_to_digital,
            valid_from=self.valid_from,
        )


class ExchangeRate(models.Model):
    """The creator's rate from the campaign's currency into a threshold currency,
    valid from a day until the next one."""

    campaign = models.ForeignKey(
        "pledges.Campaign", on_delete=models.CASCADE, related_name="exchange_rates"
    )
    base_currency = models.CharField(max_length=3)
    quote_currency = models.CharField(max_length=3, choices=[(c, c) for c in tax.SCHEME_CURRENCIES])
    rate = models.DecimalField(
        max_digits=18,
        decimal_places=8,
        validators=[MinValueValidator(Decimal("0.00000001"))],
        help_text="What one unit of the campaign's currency is worth.",
    )
    valid_from = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["quote_currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "base_currency", "quote_currency", "valid_from"],
                name="exchange_rate_unique_date",
            )
        ]

    def __str__(self):
        return (
            f"1 {self.base_currency} = {self.rate_shown} {self.quote_currency} "
            f"from {self.valid_from}"
        )

    @property
    def rate_shown(self) -> str:
        return tax.plain_number(self.rate)

    def as_row(self) -> tax.ExchangeRateRow:
        return tax.ExchangeRateRow(
            base=self.base_currency,
            quote=self.quote_currency,
            rate=self.rate,
            valid_from=self.valid_from,
        )
