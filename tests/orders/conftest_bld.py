"""A small campaign map for building orders: a reward with an item and a colour
choice, a stretch goal, an add-on offer (a bundle of two SKUs) and a regional
edition for Germany; plus a helper that makes a backer with a survey response."""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from djmoney.money import Money

from inventory import bom
from orders.models import ReviewRules
from pledges.models import ChoiceGroup, ChoiceOption, RegionalRule, StretchGoal
from surveys.models import AddOnOfferItem, CartLine, SurveyResponse
from tests.factories import (
    AddOnOfferFactory,
    PledgeFactory,
    RewardFactory,
    RewardItemFactory,
    SkuFactory,
    SurveyFactory,
    SurveyInviteFactory,
)

US_ADDRESS = {
    "name": "Ada Lovelace",
    "company_name": "",
    "street_address": "1600 Amphitheatre Pkwy",
    "city": "Mountain View",
    "city_area": "",
    "country_area": "CA",
    "postal_code": "94043",
    "sorting_code": "",
    "country_code": "US",
    "phone": "",
}


@dataclass
class World:
    campaign: object
    survey: object
    reward: object
    box: object
    red: object
    blue: object
    colour: object
    goal_sku: object
    goal: object
    offer: object
    dice: object
    bag: object
    box_de: object
    rule: object


@pytest.fixture(autouse=True)
def bld_fresh_catalog_cache():
    bom.forget_cached()
    yield
    bom.forget_cached()


@pytest.fixture(name="w")
def bld_world(campaign):
    org = campaign.organization
    survey = SurveyFactory(campaign=campaign)
    reward = RewardFactory(campaign=campaign, title="Core box", minimum=Money("59.00", "USD"))
    box = SkuFactory(organization=org, code="BOX", name="Core box", weight_g=1200)
    box.customs_value = Money("20.00", "USD")
    box.save()
    RewardItemFactory(reward=reward, sku=box)
    red = SkuFactory(organization=org, code="MEEPLE-RED", name="Red meeples", weight_g=50)
    blue = SkuFactory(organization=org, code="MEEPLE-BLUE", name="Blue meeples", weight_g=50)
    colour = ChoiceGroup.objects.create(campaign=campaign, reward=reward, name="Colour", picks=1)
    ChoiceOption.objects.create(group=colour, label="Red", sku=red, is_default=True)
    ChoiceOption.objects.create(group=colour, label="Blue", sku=blue, position=1)
    goal_sku = SkuFactory(organization=org, code="GOAL-1", name="Extra tiles", weight_g=100)
    goal = StretchGoal.objects.create(campaign=campaign, name="Extra tiles", sku=goal_sku)
    offer = AddOnOfferFactory(campaign=campaign, name="Dice pack", price=Money("15.00", "USD"))
    dice = SkuFactory(organization=org, code="DICE", name="Dice", weight_g=30)
    bag = SkuFactory(organization=org, code="BAG", name="Dice bag", weight_g=20)
    AddOnOfferItem.objects.create(offer=offer, sku=dice, quantity=2)
    AddOnOfferItem.objects.create(offer=offer, sku=bag, quantity=1)
    box_de = SkuFactory(organization=org, code="BOX-DE", name="Core box (German)", weight_g=1200)
    rule = RegionalRule.objects.create(
        campaign=campaign,
        name="German edition",
        countries=["DE", "AT"],
        from_sku=box,
        to_sku=box_de,
        backer_can_override=True,
    )
    return World(
        campaign,
        survey,
        reward,
        box,
        red,
        blue,
        colour,
        goal_sku,
        goal,
        offer,
        dice,
        bag,
        box_de,
        rule,
    )


def make_response(
    w: World,
    *,
    choices=None,
    address=None,
    cart=(),
    completed=False,
    paid=True,
    balance=Decimal("0"),
    addons_text="",
    shipping=Decimal("0"),
    language="en",
    **pledge_fields,
) -> SurveyResponse:
    """A backer of `w` with a pledge, an invite and a response (choices: {group: [options]})."""
    pledge = PledgeFactory(
        backer__campaign=w.campaign,
        reward=w.reward,
        addons_text=addons_text,
        **pledge_fields,
    )
    invite = SurveyInviteFactory(survey=w.survey, backer=pledge.backer)
    address = US_ADDRESS if address is None else address
    response = SurveyResponse.objects.create(
        invite=invite,
        backer=pledge.backer,
        language=language,
        choices={str(k): v for k, v in (choices or {}).items()},
        address=address,
        address_country=address.get("country_code", ""),
    )
    addons_total = Decimal("0")
    for offer, quantity in cart:
        CartLine.objects.create(
            response=response, offer=offer, quantity=quantity, unit_price=offer.price
        )
        addons_total += offer.price.amount * quantity
    if completed:
        from django.utils import timezone

        response.completed_at = timezone.now()
        response.addons_total = Money(addons_total, "USD")
        response.shipping_total = Money(shipping, "USD")
        response.balance_due = Money(balance, "USD")
        response.paid_at = timezone.now() if paid else None
        response.save()
    return response


def review_rules(campaign, **fields) -> ReviewRules:
    rules, _ = ReviewRules.objects.update_or_create(campaign=campaign, defaults=fields)
    return rules


def checked(order):
    """`order` after the check of its current address version (the Celery task that
    follows every address save; the order waits in submitted until then)."""
    from orders.services.addresses import validate_address

    if order.address_id is not None:
        validate_address(address_id=order.address_id)
    order.refresh_from_db()
    return order
