from django.core.validators import MinValueValidator
from django.db import models
from djmoney.models.fields import MoneyField


class AddOnOffer(models.Model):
    """Something a backer can buy on top of the reward: one SKU or a bundle."""

    campaign = models.ForeignKey(
        "pledges.Campaign", on_delete=models.CASCADE, related_name="addon_offers"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    price = MoneyField(max_digits=12, decimal_places=2, default_currency="USD")
    # None = unlimited. Sold units are counted from orders, never stored here.
    stock_limit = models.PositiveIntegerField(null=True, blank=True)
    per_backer_limit = models.PositiveIntegerField(null=True, blank=True)
    # Empty = every tier may buy it.
    tiers = models.ManyToManyField("pledges.Reward", blank=True, related_name="addon_offers")
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name


class AddOnOfferItem(models.Model):
    """A component of an add-on offer (one row = single SKU, several = bundle)."""

    offer = models.ForeignKey(AddOnOffer, on_delete=models.CASCADE, related_name="items")
    sku = models.ForeignKey("inventory.Sku", on_delete=models.PROTECT, related_name="offer_items")
    quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["offer", "sku"], name="offer_item_once_per_sku")
        ]

    def __str__(self):
        return f"{self.quantity} × {self.sku}"


class ImportedAddOn(models.Model):
    """How one add-on text from the platform's report maps to an offer.

    The import keeps add-ons as the platform wrote them ("Dice Tower × 2");
    each distinct item text is mapped once per campaign. `included_in_reward`
    marks itemized reward columns (Kickstarter's newer layout lists reward
    items next to add-ons) that the reward map already counts."""

    campaign = models.ForeignKey(
        "pledges.Campaign", on_delete=models.CASCADE, related_name="imported_addons"
    )
    text = models.CharField(max_length=300)
    offer = models.ForeignKey(
        AddOnOffer, on_delete=models.SET_NULL, null=True, blank=True, related_name="imported_texts"
    )
    units_per_item = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    included_in_reward = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["text"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "text"], name="imported_addon_text_once")
        ]

    def __str__(self):
        return self.text

    @property
    def is_mapped(self) -> bool:
        return self.included_in_reward or self.offer_id is not None
