"""Reads of add-on offers and of the add-ons imported as text, each in a fixed
number of queries whatever the number of offers, texts or pledges."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Prefetch,
    QuerySet,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from djmoney.money import Money

from pledges.importers.addons import parse_addons_text
from pledges.models import Campaign, ChoiceGroup, ChoiceOption, PaymentStatus, Pledge, Reward

from .models import AddOnOffer, AddOnOfferItem, ImportedAddOn

CENT = Decimal("0.01")
_MONEY = DecimalField(max_digits=14, decimal_places=2)


# --- add-on offers -----------------------------------------------------------


def offer_components(offer: AddOnOffer) -> str:
    """ "1 × MAT" for a single SKU, "Bundle: 1 × MAT, 2 × SLV" for several, "" for none
    (reads the prefetched items)."""
    parts = [f"{item.quantity} × {item.sku.code}" for item in offer.items.all()]
    if len(parts) > 1:
        return "Bundle: " + ", ".join(parts)
    return parts[0] if parts else ""


def offer_status(offer: AddOnOffer, now=None) -> str:
    """ "inactive", "scheduled" (opens later), "closed" or "open", at `now`."""
    now = now or timezone.now()
    if not offer.is_active:
        return "inactive"
    if offer.opens_at and now < offer.opens_at:
        return "scheduled"
    if offer.closes_at and now >= offer.closes_at:
        return "closed"
    return "open"


@dataclass(frozen=True)
class Holding:
    """Imported backers who already bought an offer on the platform."""

    backers: int = 0
    units: int = 0


def addon_offers(*, campaign: Campaign) -> list[AddOnOffer]:
    """The campaign's offers with their components (SKUs), tiers, choice group count,
    status and imported holdings (`held`), in five queries for any number."""
    offers = list(
        AddOnOffer.objects.filter(campaign=campaign)
        .annotate(choice_group_count=Count("choice_groups"))
        .prefetch_related(
            Prefetch("items", queryset=AddOnOfferItem.objects.select_related("sku")),
            Prefetch("tiers", queryset=Reward.objects.order_by("minimum", "title")),
        )
        .order_by("position", "name", "pk")
    )
    holdings = offer_holdings(campaign=campaign)
    now = timezone.now()
    for offer in offers:
        offer.components = offer_components(offer)
        offer.status = offer_status(offer, now)
        offer.held = holdings.get(offer.pk, Holding())
    return offers


def addon_offer_choices(*, campaign: Campaign) -> QuerySet[AddOnOffer]:
    """Offers for a select, in list order."""
    return AddOnOffer.objects.filter(campaign=campaign).order_by("position", "name", "pk")


def addon_choice_groups(*, offer: AddOnOffer) -> list[ChoiceGroup]:
    """The offer's choice groups with their options and SKUs, in two queries."""
    return list(
        ChoiceGroup.objects.filter(addon_offer=offer).prefetch_related(
            Prefetch("options", queryset=ChoiceOption.objects.select_related("sku"))
        )
    )


def offer_holdings(*, campaign: Campaign) -> dict[int, Holding]:
    """Offer id → imported backers holding it and units they hold, through the
    mapped add-on texts of collected pledges (a backer counts once per offer even
    when two of their texts map to it)."""
    mapped = {
        text: (offer_id, units)
        for text, offer_id, units in ImportedAddOn.objects.filter(
            campaign=campaign, offer__isnull=False
        ).values_list("text", "offer_id", "units_per_item")
    }
    if not mapped:
        return {}
    backers: Counter[int] = Counter()
    units: Counter[int] = Counter()
    for text, pledges in _addons_text_counts(campaign):
        per_offer: Counter[int] = Counter()
        for label, quantity in parse_addons_text(text):
            if label in mapped:
                offer_id, units_per_item = mapped[label]
                per_offer[offer_id] += quantity * units_per_item
        for offer_id, held_units in per_offer.items():
            backers[offer_id] += pledges
            units[offer_id] += held_units * pledges
    return {offer_id: Holding(backers[offer_id], units[offer_id]) for offer_id in backers}


# --- add-ons imported as text -----------------------------------------------


def _collected_pledges(campaign: Campaign) -> QuerySet[Pledge]:
    return Pledge.objects.filter(backer__campaign=campaign, payment_status=PaymentStatus.COLLECTED)


def _addons_text_counts(campaign: Campaign) -> list[tuple[str, int]]:
    """(add-ons text as stored, collected pledges with exactly that text), empty text
    included. Grouped in SQL: a campaign has few distinct texts even with 250,000
    pledges, so only those are split in Python."""
    return list(
        _collected_pledges(campaign)
        .values("addons_text")
        .annotate(pledges=Count("pk"))
        .order_by()
        .values_list("addons_text", "pledges")
    )


def _implied_prices(campaign: Campaign) -> dict[str, Counter[Decimal]]:
    """Item text → histogram of the unit price its backers paid: for pledges whose
    add-ons are that one item, (amount − reward minimum − shipping − bonus support)
    ÷ quantity. Grouped in SQL by (text, remainder)."""
    remainder = ExpressionWrapper(
        F("amount")
        - Coalesce(F("reward__minimum"), Value(Decimal("0")), output_field=_MONEY)
        - F("shipping_paid")
        - F("bonus_support"),
        output_field=_MONEY,
    )
    rows = (
        _collected_pledges(campaign)
        .exclude(addons_text="")
        .exclude(addons_text__contains=";")  # several items: the split is unknown
        .filter(amount_currency=campaign.currency)
        .annotate(remainder=remainder)
        .values("addons_text", "remainder")
        .annotate(pledges=Count("pk"))
        .order_by()
        .values_list("addons_text", "remainder", "pledges")
    )
    prices: dict[str, Counter[Decimal]] = defaultdict(Counter)
    for text, rest, pledges in rows:
        items = parse_addons_text(text)
        if len(items) != 1 or rest is None:
            continue
        label, quantity = items[0]
        unit = (Decimal(rest) / quantity).quantize(CENT, ROUND_HALF_UP)
        prices[label][unit] += pledges
    return prices


def median(histogram: Counter[Decimal]) -> Decimal | None:
    """The median of values given as value → count, to the cent (half up)."""
    total = sum(histogram.values())
    if not total:
        return None
    low_index, high_index = (total - 1) // 2, total // 2
    seen, low = 0, None
    for value in sorted(histogram):
        seen += histogram[value]
        if low is None and seen > low_index:
            low = value
        if seen > high_index:
            return ((low + value) / 2).quantize(CENT, ROUND_HALF_UP)
    raise AssertionError("unreachable: the histogram's counts add up to total")


@dataclass
class ImportedAddOnRow:
    """One distinct add-on item text of the backer report and what it maps to."""

    text: str
    backers: int
    units: int
    mapping: ImportedAddOn | None
    median_price: Money | None
    priced_pledges: int
    share: int = 0  # bar length, percent of the most held text

    @property
    def offer(self) -> AddOnOffer | None:
        return self.mapping.offer if self.mapping else None

    @property
    def included_in_reward(self) -> bool:
        return bool(self.mapping and self.mapping.included_in_reward)

    @property
    def units_per_item(self) -> int:
        return self.mapping.units_per_item if self.mapping else 1

    @property
    def is_mapped(self) -> bool:
        return bool(self.mapping and self.mapping.is_mapped)

    @property
    def expected_price(self) -> Money | None:
        """What one item costs at the mapped offer's price."""
        if self.offer is None:
            return None
        return self.offer.price * self.units_per_item

    @property
    def price_mismatch(self) -> bool:
        expected = self.expected_price
        if expected is None or self.median_price is None:
            return False
        return abs(self.median_price.amount - expected.amount) > CENT

    @property
    def mismatch_message(self) -> str:
        if not self.price_mismatch:
            return ""
        units = f" × {self.units_per_item}" if self.units_per_item > 1 else ""
        return (
            f"Imported at about {self.median_price}, offer priced {self.offer.price}{units}: "
            "backers will see a stray credit or balance."
        )


@dataclass
class ImportedAddOnSummary:
    rows: list[ImportedAddOnRow] = field(default_factory=list)
    pledges_with_addons: int = 0
    pledges_without_addons: int = 0

    @property
    def text_count(self) -> int:
        return len(self.rows)

    @property
    def unmapped_count(self) -> int:
        return sum(1 for row in self.rows if not row.is_mapped)

    @property
    def mismatch_count(self) -> int:
        return sum(1 for row in self.rows if row.price_mismatch)


def imported_addon_summary(*, campaign: Campaign) -> ImportedAddOnSummary:
    """Every distinct add-on item text in the campaign's collected pledges with its
    backers, units, current mapping and price check (median implied unit price vs
    the mapped offer's price), most held first; three queries at any size."""
    summary = ImportedAddOnSummary()
    backers: Counter[str] = Counter()
    units: Counter[str] = Counter()
    for text, pledges in _addons_text_counts(campaign):
        items = parse_addons_text(text)
        if not items:
            summary.pledges_without_addons += pledges
            continue
        summary.pledges_with_addons += pledges
        for label, quantity in items:
            backers[label] += pledges
            units[label] += quantity * pledges
    if not backers:
        return summary
    prices = _implied_prices(campaign)
    mappings = {
        row.text: row
        for row in ImportedAddOn.objects.filter(campaign=campaign).select_related("offer")
    }
    top = max(backers.values())
    for text in sorted(backers, key=lambda t: (-backers[t], t.casefold(), t)):
        price = median(prices.get(text, Counter()))
        summary.rows.append(
            ImportedAddOnRow(
                text=text,
                backers=backers[text],
                units=units[text],
                mapping=mappings.get(text),
                median_price=Money(price, campaign.currency) if price is not None else None,
                priced_pledges=sum(prices.get(text, Counter()).values()),
                share=round(100 * backers[text] / top),
            )
        )
    return summary
