import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.deconstruct import deconstructible
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
    # The SKU map (rewards, choices, regional editions, stretch goals, add-ons)
    # is locked before surveys go out; see SkuMapEvent for who and why.
    sku_map_locked_at = models.DateTimeField(null=True, blank=True)
    sku_map_locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
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
    # No index of its own: the identity constraint below starts with campaign.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="backers", db_index=False
    )
    platform = models.CharField(max_length=20, choices=Platform.choices)
    platform_backer_id = models.CharField(max_length=64)
    backer_number = models.PositiveIntegerField(null=True, blank=True)
    name = models.CharField(max_length=300, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    # Lower-cased, trimmed: what duplicates are found by.
    email_normalized = models.CharField(max_length=254, blank=True)
    source = models.CharField(
        max_length=20, choices=BackerSource.choices, default=BackerSource.CAMPAIGN
    )
    first_import_run = models.ForeignKey(
        "ImportRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        # Provenance, written for every backer of every import and read per backer
        # only: no index, and no database-side check (Django still nulls it when a
        # run is deleted). Each check costs the import a lookup per row.
        db_index=False,
        db_constraint=False,
    )
    last_import_run = models.ForeignKey(
        "ImportRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        # Provenance, written for every backer of every import and read per backer
        # only: no index, and no database-side check (Django still nulls it when a
        # run is deleted). Each check costs the import a lookup per row.
        db_index=False,
        db_constraint=False,
    )
    duplicate_group = models.ForeignKey(
        "DuplicateGroup",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="backers",
        db_index=False,  # partial index below: almost every backer has none
    )
    # Set when the creator merged this backer into another one (same person).
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged_backers",
        db_index=False,  # partial index below
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["backer_number", "pk"]
        indexes = [
            models.Index(fields=["campaign", "email_normalized"]),
            # Partial: imports insert hundreds of thousands of backers with neither set,
            # and an index over NULLs would be written for every one of them.
            models.Index(
                fields=["duplicate_group"],
                condition=models.Q(duplicate_group__isnull=False),
                name="backer_in_duplicate_group",
            ),
            models.Index(
                fields=["merged_into"],
                condition=models.Q(merged_into__isnull=False),
                name="backer_merged_into",
            ),
        ]
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
    # RESTRICT: a reward with pledges cannot be deleted alone, only with its campaign.
    reward = models.ForeignKey(
        Reward, on_delete=models.RESTRICT, null=True, blank=True, related_name="pledges"
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
        constraints = [
            # One pledge per platform identity: re-imports update it in place.
            models.UniqueConstraint(fields=["backer"], name="pledge_one_per_backer")
        ]

    def __str__(self):
        return f"{self.backer} – {self.reward or 'no reward'}"


@deconstructible
class PrivateStorage(FileSystemStorage):
    """Where uploaded reports live: PRIVATE_MEDIA_ROOT, outside MEDIA_ROOT, never
    served by any URL; read only through the import pages and tasks."""

    base_url = None

    @property
    def base_location(self):
        return settings.PRIVATE_MEDIA_ROOT

    @property
    def location(self):
        return os.path.abspath(self.base_location)


def import_upload_path(instance, filename: str) -> str:
    # Files live under their organization's folder, named by the run, never by
    # what the uploader typed (no path tricks).
    return f"imports/org-{instance.campaign.organization_id}/run-{instance.pk or 'new'}.upload"


class ImportFormat(models.TextChoices):
    AUTO = "auto", "Detect from the header"
    KICKSTARTER = "kickstarter", "Kickstarter backer report"
    KICKSTARTER_ITEMIZED = "kickstarter_itemized", "Kickstarter (itemized rewards layout)"
    KICKSTARTER_NO_REWARD = "kickstarter_no_reward", "Kickstarter (no reward file)"
    INDIEGOGO = "indiegogo", "Indiegogo contributions"
    MAPPED = "mapped", "Other CSV/XLSX (column mapping)"


class ImportState(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded"
    NEEDS_MAPPING = "needs_mapping", "Needs column mapping"
    PREVIEWING = "previewing", "Checking (dry run)"
    PREVIEWED = "previewed", "Ready to apply"
    BLOCKED = "blocked", "Has blocking problems"
    APPLYING = "applying", "Applying"
    APPLIED = "applied", "Applied"
    FAILED = "failed", "Failed"


class ImportRun(models.Model):
    """One uploaded backer report and what importing it did (or would do)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="import_runs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    file = models.FileField(upload_to=import_upload_path, storage=PrivateStorage(), max_length=300)
    source = models.CharField(
        max_length=20, choices=BackerSource.choices, default=BackerSource.CAMPAIGN
    )
    original_name = models.CharField(max_length=300)
    file_hash = models.CharField(max_length=64, db_index=True)
    file_size = models.BigIntegerField(default=0)
    format = models.CharField(
        max_length=30, choices=ImportFormat.choices, default=ImportFormat.AUTO
    )
    detected_format = models.CharField(max_length=30, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    state = models.CharField(
        max_length=20, choices=ImportState.choices, default=ImportState.UPLOADED
    )
    # progress of the current step, for the bar
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    # results: {"rows", "new", "updated", "unchanged", "problems", "blocking", ...}
    counts = models.JSONField(default=dict, blank=True)
    samples = models.JSONField(default=dict, blank=True)
    diff = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Import #{self.pk} of {self.original_name}"

    @property
    def progress_percent(self) -> int:
        if not self.rows_total:
            return 0
        return min(100, round(100 * self.rows_done / self.rows_total))

    @property
    def is_running(self) -> bool:
        return self.state in {ImportState.UPLOADED, ImportState.PREVIEWING, ImportState.APPLYING}


class ImportProblem(models.Model):
    """A problem found in a file: where (file, line, column) and what."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="problems")
    file = models.CharField(max_length=300, blank=True)
    line = models.PositiveIntegerField(null=True, blank=True)
    column = models.CharField(max_length=300, blank=True)
    message = models.TextField()
    blocking = models.BooleanField(default=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        where = ", ".join(
            p for p in [self.file, f"line {self.line}" if self.line else "", self.column] if p
        )
        return f"{where}: {self.message}" if where else self.message


class ImportMapping(models.Model):
    """The column mapping a creator saved for "other" files of a campaign."""

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, related_name="import_mapping"
    )
    mapping = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Column mapping of {self.campaign}"


class DuplicateReason(models.TextChoices):
    SAME_EMAIL = "same_email", "Same email under several backer ids"
    SAME_PERSON = "same_person", "Same name and address on several platforms"


class DuplicateStatus(models.TextChoices):
    OPEN = "open", "To review"
    MERGED = "merged", "Merged"
    KEPT_APART = "kept_apart", "Kept apart"


class DuplicateGroup(models.Model):
    """Backers that look like one person. Flagged for review, never merged silently."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="duplicate_groups"
    )
    reason = models.CharField(max_length=20, choices=DuplicateReason.choices)
    key = models.CharField(max_length=400)
    status = models.CharField(
        max_length=20, choices=DuplicateStatus.choices, default=DuplicateStatus.OPEN
    )
    member_count = models.PositiveIntegerField(default=0)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "reason", "key"], name="duplicate_group_unique_key"
            )
        ]

    def __str__(self):
        return f"{self.get_reason_display()}: {self.key}"


class BackerEvent(models.Model):
    """What happened to a backer: imported, updated by an import, merged, kept apart."""

    backer = models.ForeignKey(Backer, on_delete=models.CASCADE, related_name="events")
    run = models.ForeignKey(
        ImportRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=30)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.action} {self.backer_id}"


# ---------------------------------------------------------------------------
# The SKU map: what each reward turns into. Everything downstream (surveys,
# orders, demand) reads it through inventory.bom.


class RewardItem(models.Model):
    """A fixed component of a reward: SKU × quantity."""

    reward = models.ForeignKey(Reward, on_delete=models.CASCADE, related_name="items")
    sku = models.ForeignKey("inventory.Sku", on_delete=models.PROTECT, related_name="reward_items")
    quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["reward", "sku"], name="reward_item_once_per_sku")
        ]

    def __str__(self):
        return f"{self.quantity} × {self.sku}"


class ChoiceGroup(models.Model):
    """A choice a backer makes for a reward or an add-on: "Colour: pick 1 of 3".

    `picks` options are chosen; the options flagged default are what ships
    when the backer never chooses (the map cannot lock without them)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="choice_groups")
    reward = models.ForeignKey(
        Reward, on_delete=models.CASCADE, null=True, blank=True, related_name="choice_groups"
    )
    addon_offer = models.ForeignKey(
        "surveys.AddOnOffer",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="choice_groups",
    )
    name = models.CharField(max_length=120)
    picks = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    # May the same option be picked more than once ("2 sleeves packs, any colours")?
    allow_repeats = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(reward__isnull=False, addon_offer__isnull=True)
                    | models.Q(reward__isnull=True, addon_offer__isnull=False)
                ),
                name="choice_group_for_reward_or_addon",
            )
        ]

    def __str__(self):
        return self.name


class ChoiceOption(models.Model):
    group = models.ForeignKey(ChoiceGroup, on_delete=models.CASCADE, related_name="options")
    label = models.CharField(max_length=120)
    sku = models.ForeignKey(
        "inventory.Sku", on_delete=models.PROTECT, related_name="choice_options"
    )
    quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    is_default = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return self.label


class RegionalRule(models.Model):
    """Ship another SKU to some destinations: the German edition to DE/AT/CH,
    the EU plug instead of the US plug."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="regional_rules")
    name = models.CharField(max_length=120)
    countries = CountryField(multiple=True)
    from_sku = models.ForeignKey("inventory.Sku", on_delete=models.PROTECT, related_name="+")
    to_sku = models.ForeignKey("inventory.Sku", on_delete=models.PROTECT, related_name="+")
    # The backer may keep the original (an English speaker living in Germany).
    backer_can_override = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return self.name


class StretchGoal(models.Model):
    """An unlocked item added to every reward at or above a tier and/or to
    every pledge made before a date. Pledges without a reward get none."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="stretch_goals")
    name = models.CharField(max_length=120)
    sku = models.ForeignKey("inventory.Sku", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    # Rewards whose minimum is at least this tier's minimum get the item.
    from_reward = models.ForeignKey(
        Reward, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    pledged_before = models.DateTimeField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return self.name


class SkuMapEvent(models.Model):
    """The SKU map was locked or unlocked (with the reason), by whom."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="sku_map_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=20)  # "locked" | "unlocked"
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.action} {self.created_at:%Y-%m-%d}"
