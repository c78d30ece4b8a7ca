"""Buying an add-on that has choice groups leads to the Choices step."""

import pytest
from djmoney.money import Money

from pledges.models import ChoiceGroup, ChoiceOption
from surveys.models import AddOnOffer
from tests.factories import AddOnOfferFactory, SkuFactory

from .backer_setup import build_world, open_survey, step_path


@pytest.fixture
def w(campaign):
    return build_world(campaign)


@pytest.fixture
def bundle(w):
    org = w.campaign.organization
    offer = AddOnOfferFactory(
        campaign=w.campaign, name="Accessory bundle", price=Money("25.00", "USD")
    )
    offer.items.create(sku=SkuFactory(organization=org, code="BAG", name="Dice bag"), quantity=1)
    group = ChoiceGroup.objects.create(campaign=w.campaign, addon_offer=offer, name="Dice colour")
    ChoiceOption.objects.create(
        group=group,
        label="Green",
        sku=SkuFactory(organization=org, code="DICE-G", name="Green dice"),
        is_default=True,
    )
    ChoiceOption.objects.create(
        group=group, label="White", sku=SkuFactory(organization=org, code="DICE-W", name="White")
    )
    return offer, group


def _to_addons(client, w):
    open_survey(client, w.alice)
    client.post(step_path(w.campaign, "reward"))
    client.post(step_path(w.campaign, "choices"), {f"group_{w.group.pk}": str(w.opt_blue.pk)})


def _buy(client, w, offer):
    """Post the add-ons step with one unit of `offer` and none of the others."""
    quantities = {f"offer_{o.pk}": "0" for o in AddOnOffer.objects.filter(campaign=w.campaign)}
    quantities[f"offer_{offer.pk}"] = "1"
    return client.post(step_path(w.campaign, "addons"), quantities)


def test_buying_an_addon_with_a_choice_group_goes_to_the_choices_step(client, w, bundle):
    offer, _group = bundle
    _to_addons(client, w)
    r = _buy(client, w, offer)
    assert r.status_code == 302 and r.url == step_path(w.campaign, "choices")


def test_choices_step_then_asks_for_the_bought_addon_group(client, w, bundle):
    offer, group = bundle
    _to_addons(client, w)
    _buy(client, w, offer)
    page = client.get(step_path(w.campaign, "choices")).content.decode()
    assert f'name="group_{group.pk}"' in page


def test_buying_an_addon_without_choice_groups_goes_on_to_questions(client, w, bundle):
    _to_addons(client, w)
    r = _buy(client, w, w.mat)
    assert r.status_code == 302 and r.url == step_path(w.campaign, "questions")
