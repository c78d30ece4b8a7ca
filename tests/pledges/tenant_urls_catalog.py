"""Reward composition URLs for the tenancy test (tests/accounts/test_tenancy.py):
another organization's people get 404 on every one of them."""

from pledges.models import ChoiceGroup, ChoiceOption, RegionalRule, StretchGoal
from tests.factories import AddOnOfferFactory, RewardFactory, RewardItemFactory, SkuFactory


def _slug(o):
    return {"slug": o["campaign"].slug}


def _reward(o):
    return {**_slug(o), "reward_id": o["compose_reward"].pk}


def _item(o):
    return {**_reward(o), "item_id": o["compose_item"].pk}


def _offer(o):
    return {**_slug(o), "offer_id": o["compose_offer"].pk}


def _group(o):
    return {**_slug(o), "group_id": o["compose_group"].pk}


def _option(o):
    return {**_group(o), "option_id": o["compose_option"].pk}


URLS = {
    "reward-map": _slug,
    "reward-compose": _reward,
    "reward-item-add": _reward,
    "reward-item-update": _item,
    "reward-item-delete": _item,
    "reward-copy": _reward,
    "reward-choice-group-create": _reward,
    "reward-choice-group-from-skus": _reward,
    "addon-choices": _offer,
    "addon-choice-group-create": _offer,
    "addon-choice-group-from-skus": _offer,
    "choice-group-update": _group,
    "choice-group-delete": _group,
    "choice-option-add": _group,
    "choice-option-update": _option,
    "choice-option-default": _option,
    "choice-option-delete": _option,
    "regional-rule-list": _slug,
    "regional-rule-create": _slug,
    "regional-rule-edit": lambda o: {**_slug(o), "rule_id": o["compose_rule"].pk},
    "regional-rule-delete": lambda o: {**_slug(o), "rule_id": o["compose_rule"].pk},
    "stretch-goal-list": _slug,
    "stretch-goal-create": _slug,
    "stretch-goal-edit": lambda o: {**_slug(o), "goal_id": o["compose_goal"].pk},
    "stretch-goal-delete": lambda o: {**_slug(o), "goal_id": o["compose_goal"].pk},
}


def build(victim: dict) -> dict:
    campaign = victim["campaign"]
    organization = campaign.organization
    reward = RewardFactory(campaign=campaign)
    item = RewardItemFactory(reward=reward, sku=SkuFactory(organization=organization))
    offer = AddOnOfferFactory(campaign=campaign)
    sku = SkuFactory(organization=organization)
    group = ChoiceGroup.objects.create(campaign=campaign, reward=reward, name="Colour")
    option = ChoiceOption.objects.create(group=group, label="Red", sku=sku)
    rule = RegionalRule.objects.create(
        campaign=campaign, name="German edition", countries=["DE"], from_sku=item.sku, to_sku=sku
    )
    goal = StretchGoal.objects.create(campaign=campaign, name="Coins", sku=sku)
    return {
        "compose_reward": reward,
        "compose_item": item,
        "compose_offer": offer,
        "compose_group": group,
        "compose_option": option,
        "compose_rule": rule,
        "compose_goal": goal,
    }
