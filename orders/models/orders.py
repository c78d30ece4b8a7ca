"""An order: what one backer gets shipped, its lines, holds, address versions and
timeline, plus the creator's tags, saved segments and review rules.

State changes only through `orders.services.states.change_state()`, which checks
`TRANSITIONS` and writes an `OrderEvent`."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from djmoney.models.fields import MoneyField
from djmoney.money import Money


class OrderState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    READY = "ready", "Ready"
    LOCKED = "locked", "Locked"
    RELEASED = "released", "Released"
    IN_FULFILLMENT = "in_fulfillment", "In fulfillment"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"


S = OrderState
# The allowed moves. READY ⇄ SUBMITTED follows the holds (a hold opened on a ready
# order sends it back); LOCKED → READY/SUBMITTED is staff unlocking one order.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.CANCELLED}),
    S.SUBMITTED: frozenset({S.DRAFT, S.READY, S.CANCELLED}),
    S.READY: frozenset({S.SUBMITTED, S.LOCKED, S.CANCELLED}),
    S.LOCKED: frozenset({S.READY, S.SUBMITTED, S.RELEASED, S.CANCELLED}),
    S.RELEASED: frozenset({S.IN_FULFILLMENT}),
    S.IN_FULFILLMENT: frozenset({S.SHIPPED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset(),
    S.CANCELLED: frozenset(),
}
# Backers may change address and choices only in these states.
BACKER_EDITABLE = frozenset({S.DRAFT, S.SUBMITTED, S.READY})


class OrderKind(models.TextChoices):
    STANDARD = "standard", "Order"
    REPLACEMENT = "replacement", "Replacement"


class AddressStatus(models.TextChoices):
    UNCHECKED = "unchecked", "Not checked yet"
    VALID = "valid", "Valid"
    INVALID = "invalid", "Invalid"
    ACCEPTED = "accepted", "Accepted as is"


class Order(models.Model):
    """One order per backer per campaign (plus replacement orders)."""

    # Indexed through order_number_per_campaign (campaign first): no index of its own,
    # since every index is written again on each non-HOT update (re-pricing).
    campaign = models.ForeignKey(
        "pledges.Campaign", on_delete=models.CASCADE, related_name="orders", db_index=False
    )
    backer = models.ForeignKey("pledges.Backer", on_delete=models.PROTECT, related_name="orders")
    response = models.OneToOneField(
        "surveys.SurveyResponse",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="order",
    )
    number = models.PositiveIntegerField(help_text="Sequential per campaign.")
    kind = models.CharField(max_length=20, choices=OrderKind.choices, default=OrderKind.STANDARD)
    original = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="replacements",
        help_text="For a replacement: the order it replaces.",
    )
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="merged_orders",
        help_text="Set when the creator merged this order into another (it is then cancelled).",
    )
    state = models.CharField(max_length=20, choices=OrderState.choices, default=OrderState.DRAFT)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    name = models.CharField(max_length=300, blank=True)
    language = models.CharField(max_length=10, default="en")
    reward = models.ForeignKey(
        "pledges.Reward", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The current address version (all versions: `addresses`).
    address = models.ForeignKey(
        "orders.OrderAddress",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    address_status = models.CharField(
        max_length=20, choices=AddressStatus.choices, default=AddressStatus.UNCHECKED
    )
    country = models.CharField(max_length=2, blank=True)
    vat_number = models.CharField("VAT number", max_length=40, blank=True)

    # Money, in the campaign's currency. total = goods_total + shipping_fee + tax_total
    # (tax-exclusive prices; with tax-inclusive prices tax_total is part of the others
    # and `prices_include_tax` says so). balance_due = total − credit_applied − paid.
    currency = models.CharField(max_length=3, default="USD")
    prices_include_tax = models.BooleanField(default=False)
    pledge_amount = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)
    credit = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)
    goods_total = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)
    shipping_fee = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)
    tax_total = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)
    total = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)
    credit_applied = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)
    paid_total = MoneyField(
        max_digits=12,
        decimal_places=2,
        default_currency="USD",
        default=0,
        help_text="Captured minus refunded, from the payment ledger.",
    )
    # Refunds are money the creator gave back: settled, never asked for again (the
    # balance due counts what was paid, refunded or not).
    refunded_total = MoneyField(
        max_digits=12,
        decimal_places=2,
        default_currency="USD",
        default=0,
        help_text="Refunded to the backer, from the payment ledger.",
    )
    balance_due = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)
    # Tax treatment of the consignment (orders.tax regimes).
    tax_regime = models.CharField(max_length=30, blank=True)
    tax_collected_at_checkout = models.BooleanField(default=False)
    import_tax_at_delivery = models.BooleanField(default=False)
    ddp = models.BooleanField("delivered duty paid", default=False)
    reverse_charge = models.BooleanField(default=False)
    customs_number = models.CharField(
        max_length=20, blank=True, help_text="IOSS / UK VAT / VOEC / ABN number for customs."
    )
    shipping_method = models.CharField(max_length=120, blank=True)
    shipping_zone = models.CharField(max_length=120, blank=True)
    weight_g = models.PositiveIntegerField(default=0)
    priced_at = models.DateTimeField(null=True, blank=True)
    # When the backer confirmed the survey this order was built from: a rebuild keeps a
    # re-pricing only while that confirmation is the current one (repriced_money).
    survey_confirmed_at = models.DateTimeField(null=True, blank=True)

    # Digest of what the order was last built from (pledge, survey answers, SKU map,
    # review rules): a bulk rebuild skips orders whose inputs did not change.
    build_fingerprint = models.CharField(max_length=40, blank=True, editable=False)
    submitted_at = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    lock_notice_sent_at = models.DateTimeField(null=True, blank=True)
    # The lock date that notice announced: a moved date is announced again.
    lock_notice_for = models.DateTimeField(null=True, blank=True)
    exported_at = models.DateTimeField(null=True, blank=True)
    export_count = models.PositiveIntegerField(default=0)
    tags = models.ManyToManyField("orders.Tag", blank=True, related_name="orders")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["campaign", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "number"], name="order_number_per_campaign"
            ),
            models.UniqueConstraint(
                fields=["campaign", "backer"],
                condition=Q(kind="standard"),
                name="one_standard_order_per_backer",
            ),
        ]
        indexes = [
            # The state is deliberately in no index: the lock, validation and build move
            # hundreds of thousands of orders between states at once, and with no indexed
            # column changing (and fillfactor 50) PostgreSQL rewrites each row in place
            # (HOT) instead of adding an entry to every index. Lists filter the state
            # while walking a campaign's orders in id order.
            models.Index(fields=["campaign", "id"], name="order_campaign"),
            models.Index(fields=["campaign", "country"], name="order_campaign_country"),
            # Deleting an order (or an address version) checks that no order points at
            # it: these make that a lookup instead of a scan of the table per row; the
            # partial ones cost nothing to the orders that point nowhere.
            models.Index(fields=["address"], name="order_address"),
            models.Index(
                fields=["merged_into"],
                condition=models.Q(merged_into__isnull=False),
                name="order_merged_into",
            ),
            models.Index(
                fields=["original"],
                condition=models.Q(original__isnull=False),
                name="order_original",
            ),
        ]

    def __str__(self):
        return f"Order {self.number}"

    @property
    def paid_gross(self) -> Money:
        """What the backer paid, refunds included (refunded money is settled too)."""
        return Money(self.paid_total.amount + self.refunded_total.amount, self.paid_total.currency)

    @property
    def is_backer_editable(self) -> bool:
        return self.state in BACKER_EDITABLE


class LineSource(models.TextChoices):
    REWARD = "reward", "Reward"
    CHOICE = "choice", "Choice"
    CHOICE_PENDING = "choice_pending", "Choice not made"
    STRETCH_GOAL = "stretch_goal", "Stretch goal"
    ADDON = "addon", "Add-on"
    ADDON_UNMAPPED = "addon_unmapped", "Add-on not mapped"
    REGIONAL = "regional", "Regional substitution"
    REPLACEMENT = "replacement", "Replacement"


class OrderLine(models.Model):
    """One SKU line. `sku` is empty only for a choice not made yet or an unmapped
    platform add-on, both of which keep the order on hold (`missing_choice`)."""

    # No foreign-key constraint in the database (migration 0012): lines are written only
    # by the order builds, with their order, in one transaction, and leave with it
    # through Django's cascade; a SKU in use is kept by Django's PROTECT. The row checks
    # at commit were about 11 s of a 250,000-order build (1.5 million lines, two each).
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="lines", db_constraint=False
    )
    position = models.PositiveIntegerField(default=0)
    sku = models.ForeignKey(
        "inventory.Sku",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,  # orderline_sku (sku, order) serves lookups by SKU
    )
    sku_code = models.CharField(max_length=64, blank=True)
    description = models.CharField(max_length=300, blank=True)
    quantity = models.PositiveIntegerField()
    source = models.CharField(max_length=20, choices=LineSource.choices)
    detail = models.CharField(max_length=300, blank=True, help_text="Reward, option, goal, offer.")
    unit_weight_g = models.PositiveIntegerField(default=0)
    customs_value = MoneyField(
        "customs unit value", max_digits=12, decimal_places=2, default_currency="USD", default=0
    )
    hs_code = models.CharField(max_length=10, blank=True)
    country_of_origin = models.CharField(max_length=2, blank=True)
    # What the backer pays for this line in the survey (add-ons); 0 for pledged items.
    unit_price = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)
    line_total = MoneyField(max_digits=12, decimal_places=2, default_currency="USD", default=0)

    class Meta:
        ordering = ["order", "position", "id"]
        indexes = [models.Index(fields=["sku", "order"], name="orderline_sku")]

    def __str__(self):
        return f"{self.quantity} × {self.sku_code or self.detail}"


class HoldReason(models.TextChoices):
    ADDRESS_INVALID = "address_invalid", "Address invalid"
    PAYMENT_DUE = "payment_due", "Payment due"
    PAYMENT_FAILED = "payment_failed", "Payment failed"
    MISSING_CHOICE = "missing_choice", "Missing choice"
    DUPLICATE_BACKER = "duplicate_backer", "Possible duplicate backer"
    MANUAL_REVIEW = "manual_review", "Manual review"
    OUT_OF_STOCK = "out_of_stock", "Out of stock"


class OrderHold(models.Model):
    """A reason the order cannot become ready. At most one open hold per reason."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="holds")
    reason = models.CharField(max_length=30, choices=HoldReason.choices)
    detail = models.TextField(blank=True)
    opened_at = models.DateTimeField()
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    clear_note = models.TextField(blank=True)

    class Meta:
        ordering = ["order", "opened_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "reason"],
                condition=Q(cleared_at__isnull=True),
                name="one_open_hold_per_reason",
            )
        ]
        indexes = [
            models.Index(
                fields=["reason", "order"],
                condition=Q(cleared_at__isnull=True),
                name="orderhold_open",
            )
        ]

    def __str__(self):
        return f"{self.get_reason_display()} on order {self.order_id}"

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None


class AddressSource(models.TextChoices):
    SURVEY = "survey", "Survey"
    IMPORT = "import", "Backer report"
    BACKER_FIX = "backer_fix", "Backer corrected it"
    STAFF = "staff", "Staff"


class OrderAddress(models.Model):
    """One version of an order's shipping address; versions are never changed
    (validation results aside), a change is a new version."""

    # Append-only versions, written with their order: no constraint in the database
    # (see OrderLine.order), and no index of its own (address_version_per_order leads
    # with the order).
    order = models.ForeignKey(
        Order,
        on_delete=models.CASCADE,
        related_name="addresses",
        db_constraint=False,
        db_index=False,
    )
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=300, blank=True)
    company = models.CharField(max_length=200, blank=True)
    street_address = models.TextField(blank=True, help_text="One line per line.")
    city = models.CharField(max_length=200, blank=True)
    city_area = models.CharField(max_length=200, blank=True)
    country_area = models.CharField("region / state", max_length=200, blank=True)
    postal_code = models.CharField(max_length=40, blank=True)
    sorting_code = models.CharField(max_length=40, blank=True)
    country = models.CharField(max_length=2, blank=True)
    phone = models.CharField(max_length=60, blank=True)
    source = models.CharField(max_length=20, choices=AddressSource.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # orderaddress_created_by: only the versions staff wrote
    )
    # Validation (a Celery task per version): the result, problems per field
    # ({"postal_code": "invalid"}) and the normalised form it proposed.
    status = models.CharField(
        max_length=20, choices=AddressStatus.choices, default=AddressStatus.UNCHECKED
    )
    problems = models.JSONField(default=dict, blank=True)
    normalized = models.JSONField(default=dict, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # orderaddress_accepted_by: only accepted versions
    )
    accept_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["order", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["order", "version"], name="address_version_per_order")
        ]
        # Most versions come from builds and backers: index only those a user wrote or
        # accepted (a user's deletion looks them up).
        indexes = [
            models.Index(
                fields=["created_by"],
                name="orderaddress_created_by",
                condition=models.Q(created_by__isnull=False),
            ),
            models.Index(
                fields=["accepted_by"],
                name="orderaddress_accepted_by",
                condition=models.Q(accepted_by__isnull=False),
            ),
        ]

    def __str__(self):
        return f"Address v{self.version} of order {self.order_id}"

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in ADDRESS_FIELDS}


ADDRESS_FIELDS = (
    "name",
    "company",
    "street_address",
    "city",
    "city_area",
    "country_area",
    "postal_code",
    "sorting_code",
    "country",
    "phone",
)


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    STATE = "state", "State changed"
    HOLD_OPENED = "hold_opened", "Hold opened"
    HOLD_CLEARED = "hold_cleared", "Hold cleared"
    ADDRESS = "address", "Address changed"
    ADDRESS_CHECKED = "address_checked", "Address checked"
    ADDRESS_ACCEPTED = "address_accepted", "Address accepted as is"
    LINES = "lines", "Lines changed"
    PRICED = "priced", "Re-priced"
    PAYMENT = "payment", "Payment"
    REFUND = "refund", "Refund"
    INVOICE = "invoice", "Invoice issued"
    LOCK = "lock", "Locked"
    UNLOCK = "unlock", "Unlocked"
    LOCK_NOTICE = "lock_notice", "Lock notice sent"
    EXPORT = "export", "Exported"
    MERGE = "merge", "Merged"
    TAG = "tag", "Tags changed"
    EMAIL = "email", "Email sent"
    NOTE = "note", "Note"


class OrderEvent(models.Model):
    """One entry of an order's timeline: who did what, with before/after."""

    # Indexed by orderevent_order_time (order first); bulk jobs write one event per order,
    # so the table carries no index it does not need. Nor a foreign-key constraint in
    # PostgreSQL: events are only ever added (by services, for an order they hold) and
    # leave with their order through Django's cascade, while each row's check at commit
    # cost a bulk job (lock, export, validation: 250,000 events) about 3 s.
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="events", db_index=False, db_constraint=False
    )
    kind = models.CharField(max_length=30, choices=EventKind.choices)
    created_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    # Who, when there is no user: "system", "backer", "3PL <name>", "lock job".
    actor_label = models.CharField(max_length=120, blank=True)
    message = models.TextField(blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["order", "created_at", "id"]
        indexes = [
            models.Index(fields=["order", "created_at"], name="orderevent_order_time"),
            # Most events have no user (system, backer, jobs): index only those that do.
            models.Index(
                fields=["actor"],
                condition=models.Q(actor__isnull=False),
                name="orderevent_actor",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} on order {self.order_id}"


class Tag(models.Model):
    campaign = models.ForeignKey("pledges.Campaign", on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=60)
    colour = models.CharField(max_length=7, default="#6b7280")

    class Meta:
        ordering = ["campaign", "name"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="tag_per_campaign")
        ]

    def __str__(self):
        return self.name


class Segment(models.Model):
    """A saved filter over a campaign's orders, e.g. "EU pilot": the filter form's
    values (country, reward, add-on SKU, hold reason, state, tags) as JSON."""

    campaign = models.ForeignKey(
        "pledges.Campaign", on_delete=models.CASCADE, related_name="segments"
    )
    name = models.CharField(max_length=80)
    filters = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign", "name"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="segment_per_campaign")
        ]

    def __str__(self):
        return self.name


class ReviewRules(models.Model):
    """The creator's rules that put an order on `manual_review`."""

    campaign = models.OneToOneField(
        "pledges.Campaign", on_delete=models.CASCADE, related_name="review_rules"
    )
    value_above = MoneyField(
        "order value above",
        max_digits=12,
        decimal_places=2,
        default_currency="USD",
        null=True,
        blank=True,
        help_text="Orders worth more than this (total) wait for a person to look.",
    )
    countries = models.JSONField(
        default=list, blank=True, help_text="Destinations (ISO codes) that always need a look."
    )
    refuse_po_boxes = models.BooleanField(
        "carrier refuses PO boxes",
        default=False,
        help_text="Orders to a PO box / Packstation wait for review.",
    )
    lock_notice_hours = models.PositiveIntegerField(default=48)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "review rules"

    def __str__(self):
        return f"Review rules of {self.campaign_id}"


class OrderCounter(models.Model):
    """Per campaign: the next order and invoice numbers (row locked to take one)."""

    campaign = models.OneToOneField(
        "pledges.Campaign", on_delete=models.CASCADE, related_name="order_counter"
    )
    next_order_number = models.PositiveIntegerField(default=1)
    next_invoice_number = models.PositiveIntegerField(default=1)

    def __str__(self):
        return f"Counters of {self.campaign_id}"
