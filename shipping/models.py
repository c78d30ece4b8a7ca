"""Shipping fees charged to backers: where a campaign ships (zones, excluded
countries), how the fee is computed (per reward, by weight, reward plus add-ons)
and what carriers would charge (rate cards), for the margin check.

The rules that involve several rows (a country in one zone only, one rest of
world) live in shipping.services.zones; what a single row can check is here."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField


class ShippingMethod(models.TextChoices):
    FLAT_PER_REWARD = "flat_per_reward", _("Flat fee per reward and zone")
    WEIGHT_BANDS = "weight_bands", _("By total weight (bands per zone)")
    REWARD_PLUS_ADDONS = "reward_plus_addons", _("Reward fee plus a fee per add-on")


DEFAULT_VOLUMETRIC_DIVISOR = 5000  # cm³ per kg, what most couriers use


class ShippingProfile(models.Model):
    """How a campaign charges shipping: the method, where it never ships, and
    whether shipping paid on the platform counts towards the fee."""

    campaign = models.OneToOneField(
        "pledges.Campaign", on_delete=models.CASCADE, related_name="shipping_profile"
    )
    method = models.CharField(
        max_length=30, choices=ShippingMethod.choices, default=ShippingMethod.FLAT_PER_REWARD
    )
    # ISO 3166-1 alpha-2 codes the campaign does not ship to, even via rest of world.
    excluded_countries = models.JSONField(default=list, blank=True)
    # Couriers charge the larger of the real and the volumetric weight.
    use_volumetric = models.BooleanField(default=False)
    volumetric_divisor = models.PositiveIntegerField(
        default=DEFAULT_VOLUMETRIC_DIVISOR,
        validators=[MinValueValidator(1)],
        help_text="cm³ per kg",
    )
    credit_platform_shipping = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Shipping of {self.campaign_id}: {self.get_method_display()}"


class ShippingZone(models.Model):
    """A set of destinations sharing fees: countries, regions ("US-AK") and
    postal-code prefixes ("GB:BT"); or the rest of the world."""

    campaign = models.ForeignKey(
        "pledges.Campaign", on_delete=models.CASCADE, related_name="shipping_zones"
    )
    name = models.CharField(max_length=120)
    countries = models.JSONField(default=list, blank=True)  # ["DE", "FR"]
    regions = models.JSONField(default=list, blank=True)  # ISO 3166-2: ["US-AK", "US-HI"]
    postal_prefixes = models.JSONField(default=list, blank=True)  # ["GB:BT", "GB:HS"]
    is_rest_of_world = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="shipping_zone_unique_name"),
            models.UniqueConstraint(
                fields=["campaign"],
                condition=models.Q(is_rest_of_world=True),
                name="shipping_zone_one_rest_of_world",
            ),
        ]

    def __str__(self):
        return self.name


class RewardZoneFee(models.Model):
    """What shipping a reward to a zone costs the backer."""

    reward = models.ForeignKey(
        "pledges.Reward", on_delete=models.CASCADE, related_name="shipping_fees"
    )
    zone = models.ForeignKey(ShippingZone, on_delete=models.CASCADE, related_name="reward_fees")
    fee = MoneyField(max_digits=12, decimal_places=2, default_currency="USD")

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["reward", "zone"], name="reward_zone_fee_once")
        ]

    def __str__(self):
        return f"{self.reward_id} → {self.zone_id}: {self.fee}"


class AddOnZoneFee(models.Model):
    """What each unit of an add-on adds to the shipping fee in a zone."""

    offer = models.ForeignKey(
        "surveys.AddOnOffer", on_delete=models.CASCADE, related_name="shipping_fees"
    )
    zone = models.ForeignKey(ShippingZone, on_delete=models.CASCADE, related_name="addon_fees")
    fee = MoneyField("fee per unit", max_digits=12, decimal_places=2, default_currency="USD")

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["offer", "zone"], name="addon_zone_fee_once")
        ]

    def __str__(self):
        return f"{self.offer_id} → {self.zone_id}: {self.fee}"


class WeightBand(models.Model):
    """A parcel up to `up_to_g` grams shipped to the zone costs `fee`."""

    zone = models.ForeignKey(ShippingZone, on_delete=models.CASCADE, related_name="weight_bands")
    up_to_g = models.PositiveIntegerField("up to (g)", validators=[MinValueValidator(1)])
    fee = MoneyField(max_digits=12, decimal_places=2, default_currency="USD")

    class Meta:
        ordering = ["up_to_g", "pk"]
        constraints = [models.UniqueConstraint(fields=["zone", "up_to_g"], name="weight_band_once")]

    def __str__(self):
        return f"≤ {self.up_to_g} g: {self.fee}"


class RateCard(models.Model):
    """A carrier's prices as uploaded (CSV): what shipping really costs."""

    campaign = models.ForeignKey(
        "pledges.Campaign", on_delete=models.CASCADE, related_name="rate_cards"
    )
    name = models.CharField(max_length=120)
    currency = models.CharField(max_length=3)
    original_name = models.CharField("uploaded file name", max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.name


class RateCardRow(models.Model):
    """One price of a rate card: to a zone or to one country, up to a weight."""

    card = models.ForeignKey(RateCard, on_delete=models.CASCADE, related_name="rows")
    zone = models.ForeignKey(
        ShippingZone, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    country = models.CharField(max_length=2, blank=True)
    up_to_g = models.PositiveIntegerField("up to (g)", validators=[MinValueValidator(1)])
    cost = MoneyField(max_digits=12, decimal_places=2, default_currency="USD")

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(zone__isnull=False, country="")
                    | (models.Q(zone__isnull=True) & ~models.Q(country=""))
                ),
                name="rate_card_row_zone_or_country",
            )
        ]

    def __str__(self):
        return f"{self.zone_id or self.country} ≤ {self.up_to_g} g: {self.cost}"
