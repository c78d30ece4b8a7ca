from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django_countries.fields import CountryField
from djmoney.models.fields import MoneyField

hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #1f6feb.")


class Platform(models.TextChoices):
    KICKSTARTER = "kickstarter", "Kickstarter"
    INDIEGOGO = "indiegogo", "Indiegogo"
    GAMEFOUND = "gamefound", "Gamefound"
    OTHER = "other", "Other"


class Campaign(models.Model):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="campaigns"
    )
    name = models.CharField(max_length=200)
    # Globally unique: it names the campaign in commands and in survey URLs (/s/<slug>/).
    slug = models.SlugField(max_length=80, unique=True)
    platform = models.CharField(
        max_length=20, choices=Platform.choices, default=Platform.KICKSTARTER
    )
    currency = models.CharField(
        max_length=3, choices=[(c, c) for c in settings.CURRENCIES], default="USD"
    )
    closed_on = models.DateField("campaign close date", null=True, blank=True)
    survey_lock_at = models.DateTimeField("survey lock date", null=True, blank=True)
    logo = models.ImageField(upload_to="campaign-logos/", blank=True)
    primary_colour = models.CharField(max_length=7, default="#1f4e79", validators=[hex_colour])
    accent_colour = models.CharField(max_length=7, default="#e07a1f", validators=[hex_colour])
    intro_text = models.TextField(blank=True)
    sender_name = models.CharField(max_length=120, blank=True)
    sender_email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("campaign-overview", args=[self.slug])


class Reward(models.Model):
    """A reward tier as the platform defined it (SKU composition comes later)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="rewards")
    platform_reward_id = models.CharField(max_length=64, blank=True)
    title = models.CharField(max_length=300)
    minimum = MoneyField(max_digits=12, decimal_places=2, default_currency="USD")
    backer_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["minimum", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "platform_reward_id"],
                condition=~models.Q(platform_reward_id=""),
                name="reward_unique_platform_id",
            )
        ]

    def __str__(self):
        return self.title


class BackerSource(models.TextChoices):
    CAMPAIGN = "campaign", "Campaign"
    LATE_PLEDGE = "late_pledge", "Late pledge"
    MANUAL = "manual", "Manual"


class Backer(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="backers")
    platform = models.CharField(max_length=20, choices=Platform.choices)
    platform_backer_id = models.CharField(max_length=64)
    backer_number = models.PositiveIntegerField(null=True, blank=True)
    name = models.CharField(max_length=300, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    # Lower-cased, trimmed: what duplicates are found by.
    email_normalized = models.CharField(max_length=254, blank=True, db_index=True)
    source = models.CharField(
        max_length=20, choices=BackerSource.choices, default=BackerSource.CAMPAIGN
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["backer_number", "pk"]
        constraints = [
            # The platform's id is the identity: re-imports update, never duplicate.
            models.UniqueConstraint(
                fields=["campaign", "platform", "platform_backer_id"],
                name="backer_platform_identity",
            )
        ]

    def __str__(self):
        return self.name or self.email or self.platform_backer_id


class PaymentStatus(models.TextChoices):
    COLLECTED = "collected", "Collected"
    DROPPED = "dropped", "Dropped"
    ERRORED = "errored", "Errored"
    REFUNDED = "refunded", "Refunded"
    CANCELLED = "cancelled", "Cancelled"


class Pledge(models.Model):
    """What a backer pledged on the platform, as the report says."""

    backer = models.ForeignKey(Backer, on_delete=models.CASCADE, related_name="pledges")
    reward = models.ForeignKey(
        Reward, on_delete=models.PROTECT, null=True, blank=True, related_name="pledges"
    )
    amount = MoneyField(max_digits=12, decimal_places=2, default_currency="USD")
    shipping_paid = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)
    bonus_support = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)
    addons_text = models.TextField("add-ons as the platform wrote them", blank=True)
    pledged_at = models.DateTimeField(null=True, blank=True)
    payment_status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.COLLECTED
    )
    # Shipping address as collected by the platform (the order's address starts here).
    shipping_name = models.CharField(max_length=300, blank=True)
    shipping_address_1 = models.CharField(max_length=300, blank=True)
    shipping_address_2 = models.CharField(max_length=300, blank=True)
    shipping_city = models.CharField(max_length=200, blank=True)
    shipping_region = models.CharField(max_length=200, blank=True)
    shipping_postal_code = models.CharField(max_length=40, blank=True)
    shipping_country = CountryField(blank=True)
    shipping_phone = models.CharField(max_length=60, blank=True)
    # Columns the platform added that we do not model (survey answers, add-on
    # quantities, anything new): kept verbatim, header → value.
    extra = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["payment_status"])]

    def __str__(self):
        return f"{self.backer} – {self.reward or 'no reward'}"
