"""A campaign ready for the backer survey: a reward with a SKU and a colour
choice, two add-ons (one stock-limited), a question, and backers with invites.
Helpers to open an invite's magic link in a test client."""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse
from djmoney.money import Money

from pledges.models import ChoiceGroup, ChoiceOption
from surveys.links import invite_token
from tests.factories import (
    AddOnOfferFactory,
    BackerFactory,
    PledgeFactory,
    QuestionFactory,
    RewardFactory,
    RewardItemFactory,
    SkuFactory,
    SurveyFactory,
    SurveyInviteFactory,
)


class World:
    """What the survey tests work with (attributes set in `build_world`)."""


def build_world(campaign) -> World:
    w = World()
    w.campaign = campaign
    w.survey = SurveyFactory(campaign=campaign, status="live")
    w.reward = RewardFactory(campaign=campaign, title="Core box", minimum=Money("59.00", "USD"))
    org = campaign.organization
    w.box = SkuFactory(organization=org, code="BOX", name="Core box game")
    RewardItemFactory(reward=w.reward, sku=w.box)
    w.red = SkuFactory(organization=org, code="DICE-R", name="Red dice")
    w.blue = SkuFactory(organization=org, code="DICE-B", name="Blue dice")
    w.group = ChoiceGroup.objects.create(campaign=campaign, reward=w.reward, name="Dice colour")
    w.opt_red = ChoiceOption.objects.create(group=w.group, label="Red", sku=w.red, is_default=True)
    w.opt_blue = ChoiceOption.objects.create(group=w.group, label="Blue", sku=w.blue)
    w.mat = AddOnOfferFactory(
        campaign=campaign, name="Playmat", price=Money("15.00", "USD"), per_backer_limit=3
    )
    w.mat.items.create(sku=SkuFactory(organization=org, code="MAT", name="Playmat"), quantity=1)
    w.coin = AddOnOfferFactory(
        campaign=campaign, name="Metal coins", price=Money("20.00", "USD"), stock_limit=10
    )
    w.coin.items.create(sku=SkuFactory(organization=org, code="COIN", name="Coins"), quantity=1)
    w.question = QuestionFactory(
        survey=w.survey, kind="short_text", label="Name on the box", required=True
    )
    w.alice = new_invite(w, email="alice@example.net", amount="100.00", shipping="10.00")
    w.bob = new_invite(w, email="bob@example.net", amount="59.00")
    return w


def new_invite(
    w: World,
    *,
    email: str,
    amount: str = "59.00",
    shipping: str = "0",
    country: str = "DE",
    reward=None,
):
    backer = BackerFactory(
        campaign=w.campaign,
        email=email,
        email_normalized=email.lower(),
        name=email.split("@")[0].title(),
    )
    PledgeFactory(
        backer=backer,
        reward=reward or w.reward,
        amount=Money(Decimal(amount), "USD"),
        shipping_paid=Money(Decimal(shipping), "USD"),
        shipping_country=country,
        shipping_city="Berlin",
        shipping_postal_code="10115",
        shipping_address_1="Invalidenstraße 116",
    )
    return SurveyInviteFactory(survey=w.survey, backer=backer, email=email)


def link_path(invite) -> str:
    return reverse(
        "survey-open", kwargs={"slug": invite.survey.campaign.slug, "token": invite_token(invite)}
    )


def step_path(campaign, step: str) -> str:
    return reverse("survey-step", kwargs={"slug": campaign.slug, "step": step})


def open_survey(client, invite):
    response = client.get(link_path(invite))
    assert response.status_code == 302
    return client


GERMAN_ADDRESS = {
    "name": "Alice Example",
    "company_name": "",
    "street_address": "Invalidenstraße 116",
    "city": "Berlin",
    "postal_code": "10115",
    "country_code": "DE",
    "phone": "",
}


def ready_to_confirm(w: World, invite, *, answer: str = "Bob"):
    """`invite`'s response with every step but review done (German address, red dice,
    the question answered): what the review confirms."""
    from surveys.services.responses import open_invite, save_address

    response = open_invite(invite=invite)
    save_address(response=response, survey=w.survey, address=GERMAN_ADDRESS)
    response.choices = {str(w.group.pk): [w.opt_red.pk]}
    response.answers = {str(w.question.pk): answer}
    return all_steps_done(w, response)


def all_steps_done(w: World, response):
    """`response` with every step of its survey marked done (after a test changed
    what it holds, such as the cart), saved."""
    from inventory import bom
    from surveys.services.responses import pledge_of, steps_for

    response.steps_done = list(
        steps_for(
            response=response,
            survey=w.survey,
            pledge=pledge_of(response),
            catalog=bom.load_catalog(campaign=w.campaign),
        )
    )
    response.save()
    return response
