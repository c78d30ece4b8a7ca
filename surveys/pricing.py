"""What a backer's survey costs: credit from the pledge, add-ons bought in the
survey, shipping and tax, and the balance due.

Credit is what the backer paid on the platform beyond what they got for it:
pledge amount − reward minimum − platform shipping − add-ons the platform sold
(at their offer price) − bonus support when the creator keeps it as a gift.
Credit pays for add-ons first (then shipping and tax); it is never paid out.

Shipping fees and tax are charged from the campaign's rate and tax tables
(shipping.services.quotes, orders.services.taxes); a campaign without them
charges neither, which the review page says in words rather than showing a
silent zero. Until the backer gives an address, the platform's shipping
country stands in (the page says the figures are an estimate).

A pledge whose money the platform never collected (dropped, errored, refunded,
cancelled: any status but collected) paid for nothing: it gives no credit and
no shipping paid on the platform, and the survey charges its reward like a late
pledge's (`reward_due`) — the reward's price plus the add-ons the platform
listed (they ship with it), or what was pledged less shipping when the reward
has no price. Shipping is charged in full from the campaign's rates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _
from djmoney.money import Money

from inventory import bom
from orders import tax as tax_engine
from orders.errors import TaxError
from orders.models import TaxRate
from orders.services.repricing import all_digital
from orders.services.taxes import tax_quote
from pledges.importers.addons import parse_addons_text
from pledges.models import PaymentStatus
from shipping.errors import ShippingError
from shipping.selectors import shipping_is_configured
from shipping.services.quotes import quote_shipping

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
    # What the platform collected and what it paid for: all zero for an uncollected pledge.
    pledge_amount: Decimal = ZERO
    reward_minimum: Decimal = ZERO
    shipping_paid: Decimal = ZERO
    platform_addons: Decimal = ZERO
    kept_bonus: Decimal = ZERO
    credit: Decimal = ZERO
    # The reward paid in the survey: a late pledge's price, or an uncollected pledge's reward.
    reward_due: Decimal = ZERO
    uncollected: bool = False  # the platform did not collect the pledge (pays here)
    lines: list[QuoteLine] = field(default_factory=list)
    addons_total: Decimal = ZERO
    shipping: Decimal = ZERO  # due in the survey: fee − shipping paid on the platform
    shipping_fee: Decimal = ZERO
    shipping_credited: Decimal = ZERO
    shipping_zone: str = ""
    shipping_method: str = ""
    weight_g: int = 0
    tax: Decimal = ZERO  # the tax on the order (added to the charges or inside the prices)
    tax_added: Decimal = ZERO  # what tax adds to the charges (0 with tax-inclusive prices)
    tax_included: bool = False
    tax_regime: str = ""
    tax_regime_label: str = ""
    tax_collected: bool = False
    import_tax_at_delivery: bool = False
    ddp: bool = False
    reverse_charge: bool = False
    customs_number: str = ""
    tax_note: str = ""
    tax_lines: list = field(default_factory=list)  # orders.tax.TaxedLine
    destination: str = ""  # the country the figures are for
    estimated: bool = False  # no survey address yet: the platform's country stands in
    shipping_configured: bool = False
    tax_configured: bool = False
    shipping_error: str = ""
    shipping_error_code: str = ""
    tax_error: str = ""

    @property
    def blocking_error(self) -> str:
        """What stops the order from being confirmed (the backer can change the
        address; a missing rate is the creator's to fix)."""
        return self.shipping_error or self.tax_error

    @property
    def charges(self) -> Decimal:
        return self.reward_due + self.addons_total + self.shipping + self.tax_added

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


def pledge_was_collected(pledge) -> bool:
    """Whether the platform collected the pledge's money (only then does it pay for
    anything: the reward, shipping, add-ons, credit)."""
    return pledge.payment_status == PaymentStatus.COLLECTED


def uncollected_reward_due(pledge, catalog: bom.Catalog) -> Decimal:
    """What the survey charges for an uncollected pledge's reward: the reward's price
    plus the add-ons the platform listed with it (they ship all the same); with no
    priced reward, what was pledged less the shipping (charged from the rates)."""
    price = pledge.reward.minimum.amount if pledge.reward_id else ZERO
    if price > 0:
        return _round(price + platform_addons_value(pledge.addons_text, catalog))
    return _round(max(ZERO, pledge.amount.amount - pledge.shipping_paid.amount))


def quote(*, response: SurveyResponse, pledge, survey, catalog: bom.Catalog, today=None) -> Quote:
    """The response's money, line by line, rounded half-up once per line.

    An uncollected pledge paid nothing on the platform: its reward becomes due
    (`uncollected_reward_due`); the confirmation stores it as the response's
    `reward_due`, so the order built from the response asks for it."""
    currency = str(pledge.amount.currency)
    result = Quote(currency=currency)
    if pledge_was_collected(pledge):
        _platform_payment(result, pledge=pledge, survey=survey, catalog=catalog)
        result.reward_due = response.reward_due.amount
    else:
        result.uncollected = True
        result.reward_due = uncollected_reward_due(pledge, catalog)
    for line in response.cart.select_related("offer"):
        unit = line.unit_price.amount
        total = _round(unit * line.quantity)
        result.lines.append(QuoteLine(line.offer_id, line.offer.name, line.quantity, unit, total))
        result.addons_total += total
    _add_shipping_and_tax(result, response=response, pledge=pledge, survey=survey, catalog=catalog)
    return result


def _platform_payment(result: Quote, *, pledge, survey, catalog: bom.Catalog) -> None:
    """What a collected pledge paid for on the platform, and the credit left over."""
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


def _destination(response: SurveyResponse, pledge) -> tuple[str, str, str, bool]:
    """(country, region, postal code, estimated) the figures are for."""
    address = response.address or {}
    country = (response.address_country or address.get("country_code") or "").upper()
    if country:
        return country, address.get("country_area", ""), address.get("postal_code", ""), False
    fallback = str(pledge.shipping_country or "").upper()
    return fallback, pledge.shipping_region or "", pledge.shipping_postal_code or "", True


def _add_shipping_and_tax(result: Quote, *, response, pledge, survey, catalog) -> None:
    campaign = survey.campaign
    country, region, postal_code, estimated = _destination(response, pledge)
    result.destination, result.estimated = country, estimated
    result.shipping_configured = shipping_is_configured(campaign=campaign)
    result.tax_configured = TaxRate.objects.filter(campaign=campaign).exists()
    if not country or not (result.shipping_configured or result.tax_configured):
        return
    cart = [(line.offer_id, line.quantity) for line in result.lines]
    lines = bom.explode(
        catalog=catalog,
        reward_id=pledge.reward_id,
        country=country,
        pledged_at=pledge.pledged_at,
        choices=response.choices,
        addons=cart,
        imported_addons_text=pledge.addons_text,
        regional_opt_outs=response.regional_opt_outs,
    )
    if result.shipping_configured:
        _add_shipping(result, campaign, country, region, postal_code, pledge, lines, cart, catalog)
    if result.tax_configured and not result.shipping_error:
        # The reward alone (no add-ons), as the order's lines will hold it: whether
        # it ships anything decides goods or digital for its tax.
        reward_lines = bom.explode(
            catalog=catalog,
            reward_id=pledge.reward_id,
            country=country,
            pledged_at=pledge.pledged_at,
            choices=response.choices,
            regional_opt_outs=response.regional_opt_outs,
        )
        reward_digital = all_digital(line.sku for line in reward_lines)
        _add_tax(result, campaign, country, region, response, pledge, catalog, reward_digital)


def _addon_units(cart, pledge, catalog: bom.Catalog) -> dict[int, int]:
    units: dict[int, int] = {}
    for offer_id, quantity in cart:
        units[offer_id] = units.get(offer_id, 0) + quantity
    for text, quantity in parse_addons_text(pledge.addons_text):
        mapping = catalog.imported.get(text)
        if mapping and mapping.offer_id and not mapping.included_in_reward:
            units[mapping.offer_id] = (
                units.get(mapping.offer_id, 0) + mapping.units_per_item * quantity
            )
    return units


def _add_shipping(result, campaign, country, region, postal_code, pledge, lines, cart, catalog):
    try:
        shipping = quote_shipping(
            campaign=campaign,
            country=country,
            region=region,
            postal_code=postal_code,
            reward_id=pledge.reward_id,
            lines=lines,
            addon_units=_addon_units(cart, pledge, catalog),
            platform_paid=result.shipping_paid,
        )
    except ShippingError as error:
        result.shipping_error, result.shipping_error_code = str(error.message), error.code
        return
    result.shipping = _round(shipping.due)
    result.shipping_fee = _round(shipping.fee)
    result.shipping_credited = _round(shipping.credited)
    result.shipping_zone = shipping.zone.name
    result.shipping_method = shipping.method
    result.weight_g = shipping.weight_g


def _is_digital(offer_id: int, catalog: bom.Catalog) -> bool:
    offer = catalog.offers.get(offer_id)
    skus = [catalog.skus.get(sku_id) for sku_id, _ in offer.items] if offer else []
    return bool(skus) and all(sku is not None and sku.is_digital for sku in skus)


def tax_lines_for(
    result: Quote, *, pledge, catalog: bom.Catalog, reward_digital: bool = False
) -> list[tax_engine.Line]:
    """The quote's lines as the tax engine sees them: the reward pledged on the
    platform (at its minimum) and what the survey charges (late-pledge reward,
    add-ons, shipping due) — the same lines an order is re-priced and invoiced from
    (orders.services.repricing.order_tax_lines), so the invoice agrees to the cent."""
    kind = tax_engine.LineKind
    lines: list[tax_engine.Line] = []
    title = pledge.reward.title if pledge.reward_id else ""
    reward_kind = kind.DIGITAL if reward_digital else kind.GOODS
    if result.reward_due:
        lines.append(tax_engine.Line(reward_kind, result.reward_due, False, title))
    elif result.reward_minimum:
        lines.append(tax_engine.Line(reward_kind, result.reward_minimum, True, title))
    for line in result.lines:
        line_kind = kind.DIGITAL if _is_digital(line.offer_id, catalog) else kind.GOODS
        lines.append(tax_engine.Line(line_kind, line.total, False, line.name))
    if result.shipping:
        lines.append(tax_engine.Line(kind.SHIPPING, result.shipping, False, _("Shipping")))
    return lines


def _add_tax(result, campaign, country, region, response, pledge, catalog, reward_digital) -> None:
    try:
        taxed = tax_quote(
            campaign=campaign,
            destination=tax_engine.Destination(country=country, region=region),
            lines=tax_lines_for(
                result, pledge=pledge, catalog=catalog, reward_digital=reward_digital
            ),
            vat_number=response.vat_number,
        )
    except TaxError as error:
        result.tax_error = str(error.message)
        return
    result.tax_lines = list(taxed.lines)
    result.tax = taxed.tax_total
    result.tax_added = sum((t.total - t.line.amount for t in taxed.lines), ZERO)
    result.tax_included = taxed.tax_total > 0 and result.tax_added == 0
    result.tax_regime = str(taxed.regime)
    result.tax_regime_label = str(taxed.regime_label)
    result.tax_collected = taxed.collected_at_checkout
    result.import_tax_at_delivery = taxed.import_vat_at_delivery
    result.ddp = taxed.ddp
    result.reverse_charge = taxed.reverse_charge
    result.customs_number = taxed.customs_number
    result.tax_note = str(taxed.invoice_note)
