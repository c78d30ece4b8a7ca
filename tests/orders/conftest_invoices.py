"""Orders priced by the tax engine, for the invoice and re-pricing tests.

A EUR campaign sold from the US (so deliveries to the EU fall under IOSS), with
German, French and Swedish VAT in its table and an IOSS number set."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone
from djmoney.money import Money

from orders import tax
from orders.models import OrderAddress, TaxRate, TaxSettings
from orders.services.repricing import (
    PricedLine,
    RewardPart,
    charged_total,
    order_tax_lines,
    treatment_of,
)
from orders.services.taxes import tax_quote
from tests.factories import CampaignFactory, OrderFactory, OrderLineFactory, PledgeFactory

D = Decimal
IOSS = "IM2760000001"
SELLER_VAT = "US12-3456789"
VALID_DE_VAT = "DE136695976"
RATE_START = date(2020, 1, 1)


def set_up_tax(campaign, *, seller_country="US"):
    TaxSettings.objects.create(
        campaign=campaign,
        seller_name="Meeple Forge LLC",
        seller_address="12 Harbor Road\nPortland, OR 97201",
        seller_country=seller_country,
        seller_vat_id=SELLER_VAT,
        ioss_number=IOSS,
    )
    for country, rate in (("DE", "19.00"), ("FR", "20.00"), ("SE", "25.00")):
        TaxRate.objects.create(
            campaign=campaign, country=country, rate=D(rate), valid_from=RATE_START
        )


def tax_campaign(organization=None, **kwargs):
    extra = {"organization": organization} if organization is not None else {}
    campaign = CampaignFactory(currency="EUR", **extra, **kwargs)
    set_up_tax(campaign)
    return campaign


def price(order, *, on=None):
    """Set the order's money as the engine computes it (as building the order does)."""
    lines = [
        PricedLine(line.description, line.quantity, line.unit_price.amount, line.line_total.amount)
        for line in order.lines.all()
        if line.line_total.amount > 0
    ]
    reward = None
    if order.reward_id:
        reward = RewardPart(order.reward.title, order.reward.minimum.amount)
    tax_lines = order_tax_lines(
        priced_lines=lines,
        goods_total=order.goods_total.amount,
        shipping_fee=order.shipping_fee.amount,
        reward=reward,
    )
    quote = tax_quote(
        campaign=order.campaign,
        destination=tax.Destination(order.country),
        lines=tax_lines,
        on=on,
        vat_number=order.vat_number,
    )
    total = charged_total(quote, prices_include_tax=order.prices_include_tax)
    currency = order.currency
    order.tax_total = Money(quote.tax_total, currency)
    order.total = Money(total, currency)
    order.balance_due = Money(
        total - order.credit_applied.amount - order.paid_total.amount, currency
    )
    order.priced_at = timezone.now() if on is None else timezone.now() - timedelta(days=1)
    for name, value in treatment_of(quote).items():
        setattr(order, name, value)
    order.save()
    return quote


def make_order(
    campaign,
    *,
    country="DE",
    addons=(("Playmat", 2, "15.00"),),
    shipping="10.00",
    vat_number="",
    with_reward=False,
    paid=True,
    state="submitted",
    **fields,
):
    """An order of `campaign` to `country` with priced add-on lines, priced and (by
    default) fully paid."""
    pledge = PledgeFactory(backer__campaign=campaign)
    order = OrderFactory(
        backer=pledge.backer,
        campaign=campaign,
        country=country,
        currency=campaign.currency,
        vat_number=vat_number,
        state=state,
        reward=pledge.reward if with_reward else None,
        name="Zoë Åberg",
        **fields,
    )
    goods = D("0")
    for position, (description, quantity, unit) in enumerate(addons):
        total = D(unit) * quantity
        goods += total
        OrderLineFactory(
            order=order,
            position=position,
            description=description,
            quantity=quantity,
            source="addon",
            unit_price=Money(D(unit), campaign.currency),
            line_total=Money(total, campaign.currency),
        )
    order.address = OrderAddress.objects.create(
        order=order,
        version=1,
        name="Zoë Åberg",
        street_address="Hauptstraße 5",
        city="Berlin",
        postal_code="10115",
        country=country,
        source="survey",
    )
    order.goods_total = Money(goods, campaign.currency)
    order.shipping_fee = Money(D(shipping), campaign.currency)
    order.save()
    price(order)
    if paid:
        order.paid_total = order.total
        order.balance_due = Money(0, campaign.currency)
        order.save()
    return order
