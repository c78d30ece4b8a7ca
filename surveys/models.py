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
    # None = unlimited: units the survey store may sell (platform sales are not
    # counted against it).
    stock_limit = models.PositiveIntegerField(null=True, blank=True)
    # Units in backers' carts (test responses excluded): kept by update_cart under
    # this row's lock, so checking stock reads one number instead of summing cart lines.
    sold_units = models.PositiveIntegerField(default=0)
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


# --- the survey a campaign sends its backers ---------------------------------


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SMOKE_TEST = "smoke_test", "Smoke test (team only)"
    LIVE = "live", "Live"
    CLOSED = "closed", "Closed"


class PhonePolicy(models.TextChoices):
    OPTIONAL = "optional", "Optional"
    REQUIRED = "required", "Required (the carrier needs it)"


def default_reminder_days() -> list[int]:
    return [3, 7, 14]


def default_languages() -> list[str]:
    return ["en"]


class Survey(models.Model):
    """A campaign's backer survey: how it is sent, reminded and shown.

    Branding (logo, colours, intro, sender) lives on the campaign; this row
    holds what only the survey needs."""

    campaign = models.OneToOneField(
        "pledges.Campaign", on_delete=models.CASCADE, related_name="survey"
    )
    status = models.CharField(
        max_length=20, choices=SurveyStatus.choices, default=SurveyStatus.DRAFT
    )
    # The campaign's own host name (pledge.example.com); empty = /s/<slug>/.
    host_name = models.CharField(max_length=253, blank=True)
    languages = models.JSONField(default=default_languages)
    # Per language: {"de": {"intro": "…"}}; English falls back to the campaign's intro.
    texts = models.JSONField(default=dict, blank=True)
    link_max_age_days = models.PositiveIntegerField(default=120, validators=[MinValueValidator(1)])
    include_dropped = models.BooleanField("invite dropped and errored pledges too", default=False)
    # Reminders: days after the invite, then weekly, at most `reminder_limit` in all.
    reminder_days = models.JSONField(default=default_reminder_days, blank=True)
    reminder_weekly = models.BooleanField(default=True)
    reminder_limit = models.PositiveSmallIntegerField(default=6)
    send_per_minute = models.PositiveIntegerField(
        "emails per minute", default=300, validators=[MinValueValidator(1)]
    )
    phone_policy = models.CharField(
        max_length=20, choices=PhonePolicy.choices, default=PhonePolicy.OPTIONAL
    )
    bonus_support_is_credit = models.BooleanField("bonus support becomes credit", default=True)
    late_pledges_enabled = models.BooleanField(default=False)
    # Bumped by every change to what the survey pages cache per process: the
    # campaign's SKU map, add-on offers, questions (inventory.bom.catalog_changed).
    catalog_version = models.PositiveIntegerField(default=0, editable=False)
    opened_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["host_name"], condition=~models.Q(host_name=""), name="survey_host_once"
            )
        ]

    def __str__(self):
        return f"Survey of {self.campaign}"

    def save(self, *args, **kwargs):
        # catalog_version only moves forward in SQL (inventory.bom.catalog_changed);
        # a full save of a copy read before a bump must not write the old number back.
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name != "catalog_version"
            ]
        super().save(*args, **kwargs)


class QuestionKind(models.TextChoices):
    SHORT_TEXT = "short_text", "Short text"
    LONG_TEXT = "long_text", "Long text"
    SINGLE_CHOICE = "single_choice", "Single choice"
    MULTI_CHOICE = "multi_choice", "Multiple choice"
    CHECKBOX = "checkbox", "Checkbox"
    NUMBER = "number", "Number"
    DATE = "date", "Date"


CHOICE_KINDS = (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTI_CHOICE)


class Question(models.Model):
    """A custom question of the survey, optionally only for some tiers."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    kind = models.CharField(max_length=20, choices=QuestionKind.choices)
    label = models.CharField(max_length=300)
    help_text = models.CharField(max_length=500, blank=True)
    options = models.JSONField(default=list, blank=True)  # choice kinds: the labels
    required = models.BooleanField(default=False)
    tiers = models.ManyToManyField("pledges.Reward", blank=True, related_name="+")
    # Per language: {"de": {"label": "…", "help_text": "…", "options": ["…"]}}
    translations = models.JSONField(default=dict, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return self.label

    def text(self, language: str) -> dict:
        """Label, help text and options in `language`, English where not translated."""
        own = self.translations.get(language) or {}
        options = own.get("options") or []
        return {
            "label": own.get("label") or self.label,
            "help_text": own.get("help_text") or self.help_text,
            "options": [
                (options[i] if i < len(options) and options[i] else option)
                for i, option in enumerate(self.options)
            ],
        }


class LateReward(models.Model):
    """A reward sold on the late-pledge store, at its late price and stock."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="late_rewards")
    reward = models.OneToOneField(
        "pledges.Reward", on_delete=models.CASCADE, related_name="late_offer"
    )
    price = MoneyField(max_digits=12, decimal_places=2, default_currency="USD")
    shipping_included = models.BooleanField(default=False)
    # None = unlimited; sold = late-pledge backers on this reward.
    stock_limit = models.PositiveIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["price", "pk"]

    def __str__(self):
        return f"{self.reward} (late pledge)"


class SurveyInvite(models.Model):
    """One backer's invitation: the magic link points at this row.

    A test invite (smoke-test mode) goes to a team member and answers as a
    sample backer; its response is marked test and counts nowhere."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invites")
    backer = models.ForeignKey(
        "pledges.Backer", on_delete=models.CASCADE, related_name="survey_invites"
    )
    email = models.EmailField(max_length=254)
    is_test = models.BooleanField(default=False)
    # Bumped to void every link sent so far.
    token_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    send_error = models.CharField(max_length=300, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    last_reminder_at = models.DateTimeField(null=True, blank=True)
    next_reminder_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["backer"], condition=models.Q(is_test=False), name="invite_once_per_backer"
            )
        ]
        indexes = [
            models.Index(fields=["survey", "sent_at"], name="invite_survey_sent"),
            models.Index(fields=["next_reminder_at"], name="invite_next_reminder"),
        ]

    def __str__(self):
        return f"Invite {self.pk} → {self.email}"


class SurveyStep(models.TextChoices):
    REWARD = "reward", "Reward"
    CHOICES = "choices", "Choices"
    ADDONS = "addons", "Add-ons"
    QUESTIONS = "questions", "Questions"
    ADDRESS = "address", "Shipping address"
    REVIEW = "review", "Review"


class SurveyResponse(models.Model):
    """What one invite's backer answered; every step saves here."""

    invite = models.OneToOneField(SurveyInvite, on_delete=models.CASCADE, related_name="response")
    backer = models.ForeignKey(
        "pledges.Backer",
        on_delete=models.CASCADE,
        related_name="survey_responses",
        db_index=False,  # response_backer below
    )
    is_test = models.BooleanField(default=False)
    language = models.CharField(max_length=10, default="en")
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    reward_confirmed_at = models.DateTimeField(null=True, blank=True)
    steps_done = models.JSONField(default=list, blank=True)
    # {choice group id: [option ids]} as inventory.bom.explode takes them.
    choices = models.JSONField(default=dict, blank=True)
    regional_opt_outs = models.JSONField(default=list, blank=True)
    # {question id: value}
    answers = models.JSONField(default=dict, blank=True)
    # surveys.address.ADDRESS_KEYS; country kept apart for reports.
    address = models.JSONField(default=dict, blank=True)
    address_country = models.CharField(max_length=2, blank=True)
    vat_number = models.CharField(max_length=40, blank=True)
    # A late pledge pays its reward here (the platform took nothing): the late price.
    reward_due = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)
    # Filled when the backer confirms the review step.
    completed_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    credit = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)
    addons_total = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)
    shipping_total = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)
    tax_total = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)
    balance_due = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)
    # The tax treatment of the confirmed quote (orders.tax regimes), copied to the order
    # with the money so its invoice and export carry it before any re-pricing.
    tax_regime = models.CharField(max_length=30, blank=True)
    tax_collected_at_checkout = models.BooleanField(default=False)
    import_tax_at_delivery = models.BooleanField(default=False)
    ddp = models.BooleanField("delivered duty paid", default=False)
    reverse_charge = models.BooleanField(default=False)
    customs_number = models.CharField(max_length=20, blank=True)
    # Set when the order is locked (orders app); the survey is read-only after.
    locked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["backer"], name="response_backer")]

    def __str__(self):
        return f"Response of {self.backer}"


class CartLine(models.Model):
    """An add-on the backer put in the survey cart (a unit count, at its price then)."""

    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="cart")
    offer = models.ForeignKey(AddOnOffer, on_delete=models.PROTECT, related_name="cart_lines")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = MoneyField(max_digits=12, decimal_places=2, default_currency="USD")
    is_test = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["response", "offer"], name="cart_line_once_per_offer")
        ]
        indexes = [models.Index(fields=["offer", "is_test"], name="cart_offer_sold")]

    def __str__(self):
        return f"{self.quantity} × {self.offer}"
