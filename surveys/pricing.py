"""What a backer's survey costs: credit from the pledge, add-ons bought in the
survey, shipping and tax, and the balance due.

Credit is what the backer paid on the platform beyond what they got for it:
pledge amount − reward minimum − platform shipping − add-ons the platform sold
(at their offer price) − bonus support when the creator keeps it as a gift.
Credit pays for add-ons first (then shipping and tax); it is never paid out.

Shipping fees and tax are charged from the campaign's rate and tax tables
(the shipping/tax module); a campaign without them charges neither, which the
review page says in words rather than showing a silent zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from djmoney.money import Money

from inventory import bom
from pledges.importers.addons import parse_addons_text

from .models import SurveyResponse

ZERO = Decimal("0")
CENT = Decimal("0.01")


def _round(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class QuoteLine:
    offer_id: int
    name: str
    quantity: int
    unit_price: Decimal
    total: Decimal


@dataclass
class Quote:
    currency: str
    pledge_amount: Decimal = ZERO
    reward_minimum: Decimal = ZERO
    shipping_paid: Decimal = ZERO
    platform_addons: Decimal = ZERO
    kept_bonus: Decimal = ZERO
    credit: Decimal = ZERO
    reward_due: Decimal = ZERO  # a late pledge's reward price, not paid on a platform
    lines: list[QuoteLine] = field(default_factory=list)
    addons_total: Decimal = ZERO
    shipping: Decimal = ZERO
    tax: Decimal = ZERO
    shipping_configured: bool = False
    tax_configured: bool = False

    @property
    def charges(self) -> Decimal:
        return self.reward_due + self.addons_total + self.shipping + self.tax

    @property
    def credit_applied(self) -> Decimal:
        return min(self.credit, self.charges)

    @property
    def credit_left(self) -> Decimal:
        return self.credit - self.credit_applied

    @property
    def balance_due(self) -> Decimal:
        return self.charges - self.credit_applied

    def money(self, amount: Decimal) -> Money:
        return Money(amount, self.currency)


def platform_addons_value(text: str, catalog: bom.Catalog) -> Decimal:
    """Add-ons the platform sold, valued at the mapped offers' prices."""
    total = ZERO
    for label, quantity in parse_addons_text(text):
        mapping = catalog.imported.get(label)
        if mapping is None or mapping.included_in_reward or not mapping.offer_id:
            continue
        offer = catalog.offers.get(mapping.offer_id)
        if offer is not None and offer.price is not None:
            total += offer.price * quantity * mapping.units_per_item
    return total


def quote(*, response: SurveyResponse, pledge, survey, catalog: bom.Catalog) -> Quote:
    """The response's money, line by line, rounded half-up once per line."""
    currency = str(pledge.amount.currency)
    result = Quote(currency=currency)
    result.pledge_amount = pledge.amount.amount
    result.reward_minimum = pledge.reward.minimum.amount if pledge.reward_id else ZERO
    result.shipping_paid = pledge.shipping_paid.amount
    result.platform_addons = _round(platform_addons_value(pledge.addons_text, catalog))
    if not survey.bonus_support_is_credit:
        result.kept_bonus = pledge.bonus_support.amount
    result.credit = max(
        ZERO,
        result.pledge_amount
        - result.reward_minimum
        - result.shipping_paid
        - result.platform_addons
        - result.kept_bonus,
    )
    result.reward_due = response.reward_due.amount
    for line in response.cart.select_related("offer"):
        unit = line.unit_price.amount
        total = _round(unit * line.quantity)
        result.lines.append(QuoteLine(line.offer_id, line.offer.name, line.quantity, unit, total))
        result.addons_total += total
    return result
