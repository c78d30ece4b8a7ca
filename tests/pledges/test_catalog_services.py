"""The reward composition services: items, choice groups and options, copying,
regional rules and stretch goals — their rules, the organization check and the lock."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from pledges.errors import SkuMapLocked
from pledges.models import ChoiceGroup, ChoiceOption, RegionalRule, RewardItem, StretchGoal
from pledges.services import catalog as services
from pledges.services.catalog import CatalogRefused
from tests.factories import (
    AddOnOfferFactory,
    CampaignFactory,
    RewardFactory,
    RewardItemFactory,
    SkuFactory,
)


@pytest.fixture
def reward(campaign):
    return RewardFactory(campaign=campaign, title="Core Game")


@pytest.fixture
def sku(organization):
    return SkuFactory(organization=organization, code="CORE-BOX")


@pytest.fixture
def dice(organization):
    return [
        SkuFactory(
            organization=organization, code=f"DICE-{c[:3].upper()}", attributes={"colour": c}
        )
        for c in ("red", "blue", "green")
    ]


@pytest.fixture
def foreign_sku(db):
    return SkuFactory(code="THEIRS")


def lock(campaign):
    campaign.sku_map_locked_at = timezone.now()
    campaign.save(update_fields=["sku_map_locked_at"])


# --- reward items -------------------------------------------------------------------


def test_add_items_adds_each_sku_once(campaign, reward, sku, dice):
    result = services.add_reward_items(campaign=campaign, reward=reward, skus=[sku, dice[0]])
    assert {(i.sku.code, i.quantity) for i in reward.items.all()} == {
        ("CORE-BOX", 1),
        ("DICE-RED", 1),
    }
    assert len(result.added) == 2 and result.increased == []


def test_adding_a_sku_already_in_the_reward_adds_one_unit(campaign, reward, sku):
    RewardItemFactory(reward=reward, sku=sku, quantity=2)
    result = services.add_reward_items(campaign=campaign, reward=reward, skus=[sku])
    assert reward.items.get().quantity == 3
    assert result.added == [] and len(result.increased) == 1


def test_adding_nothing_is_refused(campaign, reward):
    with pytest.raises(CatalogRefused) as error:
        services.add_reward_items(campaign=campaign, reward=reward, skus=[])
    assert error.value.field == "skus"


def test_foreign_organization_sku_is_refused_and_nothing_added(campaign, reward, sku, foreign_sku):
    with pytest.raises(CatalogRefused) as error:
        services.add_reward_items(campaign=campaign, reward=reward, skus=[sku, foreign_sku])
    assert error.value.field == "skus"
    assert not RewardItem.objects.exists()


def test_reward_of_another_campaign_is_refused(campaign, sku):
    elsewhere = RewardFactory(campaign=CampaignFactory(organization=campaign.organization))
    with pytest.raises(CatalogRefused):
        services.add_reward_items(campaign=campaign, reward=elsewhere, skus=[sku])
    assert not RewardItem.objects.exists()


def test_update_quantity(campaign, reward, sku):
    item = RewardItemFactory(reward=reward, sku=sku)
    services.update_reward_item(campaign=campaign, item=item, quantity=4)
    item.refresh_from_db()
    assert item.quantity == 4


@pytest.mark.parametrize("quantity", [0, -1, 10_000])
def test_quantity_out_of_range_is_refused(campaign, reward, sku, quantity):
    item = RewardItemFactory(reward=reward, sku=sku, quantity=2)
    with pytest.raises(CatalogRefused) as error:
        services.update_reward_item(campaign=campaign, item=item, quantity=quantity)
    assert error.value.field == "quantity"
    item.refresh_from_db()
    assert item.quantity == 2


def test_remove_item(campaign, reward, sku):
    item = RewardItemFactory(reward=reward, sku=sku)
    services.remove_reward_item(campaign=campaign, item=item)
    assert not RewardItem.objects.exists()


# --- choice groups and options ---------------------------------------------------------


def test_create_group_on_a_reward(campaign, reward):
    group = services.create_choice_group(
        campaign=campaign, reward=reward, name="Colour", picks=1, allow_repeats=False
    )
    assert (group.reward, group.addon_offer, group.picks) == (reward, None, 1)


def test_groups_are_positioned_in_creation_order(campaign, reward):
    first = services.create_choice_group(campaign=campaign, reward=reward, name="A")
    second = services.create_choice_group(campaign=campaign, reward=reward, name="B")
    assert second.position > first.position
    assert list(reward.choice_groups.values_list("name", flat=True)) == ["A", "B"]


def test_create_group_on_an_addon_offer(campaign):
    offer = AddOnOfferFactory(campaign=campaign)
    group = services.create_choice_group(campaign=campaign, addon_offer=offer, name="Colour")
    assert (group.reward, group.addon_offer) == (None, offer)


def test_group_needs_exactly_one_owner(campaign, reward):
    offer = AddOnOfferFactory(campaign=campaign)
    with pytest.raises(CatalogRefused):
        services.create_choice_group(campaign=campaign, name="Colour")
    with pytest.raises(CatalogRefused):
        services.create_choice_group(
            campaign=campaign, reward=reward, addon_offer=offer, name="Colour"
        )


def test_addon_offer_of_another_campaign_is_refused(campaign):
    offer = AddOnOfferFactory(campaign=CampaignFactory(organization=campaign.organization))
    with pytest.raises(CatalogRefused):
        services.create_choice_group(campaign=campaign, addon_offer=offer, name="Colour")
    assert not ChoiceGroup.objects.exists()


@pytest.mark.parametrize(("name", "picks", "field"), [("  ", 1, "name"), ("Colour", 0, "picks")])
def test_group_name_and_picks_are_checked(campaign, reward, name, picks, field):
    with pytest.raises(CatalogRefused) as error:
        services.create_choice_group(campaign=campaign, reward=reward, name=name, picks=picks)
    assert error.value.field == field


def test_group_from_skus_labels_options_by_the_attribute_that_differs(campaign, reward, dice):
    for sku in dice:
        sku.attributes["language"] = "en"
        sku.save()
    group = services.create_choice_group_from_skus(
        campaign=campaign, reward=reward, name="Dice colour", skus=dice
    )
    options = list(group.options.order_by("position"))
    assert [(o.label, o.sku.code, o.quantity, o.is_default) for o in options] == [
        ("Red", "DICE-RED", 1, False),
        ("Blue", "DICE-BLU", 1, False),
        ("Green", "DICE-GRE", 1, False),
    ]


def test_group_from_skus_without_attributes_uses_names(campaign, reward, organization):
    skus = [
        SkuFactory(organization=organization, name="Sleeves, clear"),
        SkuFactory(organization=organization, name="Sleeves, matte"),
    ]
    group = services.create_choice_group_from_skus(
        campaign=campaign, reward=reward, name="Sleeves", skus=skus
    )
    assert sorted(group.options.values_list("label", flat=True)) == [
        "Sleeves, clear",
        "Sleeves, matte",
    ]


def test_group_from_skus_refuses_a_foreign_sku(campaign, reward, dice, foreign_sku):
    with pytest.raises(CatalogRefused) as error:
        services.create_choice_group_from_skus(
            campaign=campaign, reward=reward, name="Colour", skus=[dice[0], foreign_sku]
        )
    assert error.value.field == "skus"
    assert not ChoiceGroup.objects.exists()


def test_group_from_a_single_sku_is_refused(campaign, reward, dice):
    with pytest.raises(CatalogRefused):
        services.create_choice_group_from_skus(
            campaign=campaign, reward=reward, name="Colour", skus=[dice[0]]
        )


@pytest.fixture
def colour(campaign, reward, dice):
    return services.create_choice_group_from_skus(
        campaign=campaign, reward=reward, name="Colour", skus=dice
    )


def test_update_group(campaign, colour):
    services.update_choice_group(
        campaign=campaign, group=colour, name="Dice colour", picks=2, allow_repeats=True
    )
    colour.refresh_from_db()
    assert (colour.name, colour.picks, colour.allow_repeats) == ("Dice colour", 2, True)


def test_picks_cannot_fall_below_the_defaults(campaign, colour):
    services.update_choice_group(
        campaign=campaign, group=colour, name="Colour", picks=2, allow_repeats=False
    )
    for option in colour.options.all()[:2]:
        services.make_option_default(campaign=campaign, option=option)
    with pytest.raises(CatalogRefused) as error:
        services.update_choice_group(
            campaign=campaign, group=colour, name="Colour", picks=1, allow_repeats=False
        )
    assert error.value.field == "picks"
    colour.refresh_from_db()
    assert colour.picks == 2


def test_delete_group_deletes_its_options(campaign, colour):
    services.delete_choice_group(campaign=campaign, group=colour)
    assert not ChoiceGroup.objects.exists()
    assert not ChoiceOption.objects.exists()


def test_add_option(campaign, colour, organization):
    black = SkuFactory(organization=organization, code="DICE-BLK")
    option = services.add_choice_option(
        campaign=campaign, group=colour, label="Black", sku=black, quantity=2, is_default=True
    )
    assert (option.label, option.quantity, option.is_default) == ("Black", 2, True)
    assert option.position == max(colour.options.values_list("position", flat=True))


def test_add_option_refuses_a_foreign_sku(campaign, colour, foreign_sku):
    with pytest.raises(CatalogRefused) as error:
        services.add_choice_option(campaign=campaign, group=colour, label="X", sku=foreign_sku)
    assert error.value.field == "sku"
    assert colour.options.count() == 3


def test_update_option(campaign, colour, organization):
    option = colour.options.first()
    other = SkuFactory(organization=organization, code="DICE-RED-2")
    services.update_choice_option(
        campaign=campaign, option=option, label="Crimson", sku=other, quantity=3, is_default=True
    )
    option.refresh_from_db()
    assert (option.label, option.sku, option.quantity, option.is_default) == (
        "Crimson",
        other,
        3,
        True,
    )


def test_update_option_refuses_a_foreign_sku(campaign, colour, foreign_sku):
    option = colour.options.first()
    with pytest.raises(CatalogRefused):
        services.update_choice_option(
            campaign=campaign,
            option=option,
            label="X",
            sku=foreign_sku,
            quantity=1,
            is_default=False,
        )
    option.refresh_from_db()
    assert option.label == "Red"


def test_delete_option(campaign, colour):
    option = colour.options.first()
    services.delete_choice_option(campaign=campaign, option=option)
    assert colour.options.count() == 2


def test_with_one_pick_a_new_default_replaces_the_old(campaign, colour):
    red, blue, _ = colour.options.order_by("position")
    services.make_option_default(campaign=campaign, option=red)
    services.make_option_default(campaign=campaign, option=blue)
    assert list(colour.options.filter(is_default=True)) == [blue]


def test_with_two_picks_two_defaults_fit_and_a_third_is_refused(campaign, colour):
    services.update_choice_group(
        campaign=campaign, group=colour, name="Colour", picks=2, allow_repeats=False
    )
    red, blue, green = colour.options.order_by("position")
    services.make_option_default(campaign=campaign, option=red)
    services.make_option_default(campaign=campaign, option=blue)
    with pytest.raises(CatalogRefused):
        services.make_option_default(campaign=campaign, option=green)
    assert set(colour.options.filter(is_default=True)) == {red, blue}


def test_editing_an_option_to_default_follows_the_same_rule(campaign, colour):
    red, blue, _ = colour.options.order_by("position")
    services.make_option_default(campaign=campaign, option=red)
    services.update_choice_option(
        campaign=campaign, option=blue, label="Blue", sku=blue.sku, quantity=1, is_default=True
    )
    assert list(colour.options.filter(is_default=True)) == [blue]


def test_group_of_another_campaign_is_refused(campaign, colour):
    other = CampaignFactory(organization=campaign.organization)
    with pytest.raises(CatalogRefused):
        services.delete_choice_group(campaign=other, group=colour)
    assert ChoiceGroup.objects.filter(pk=colour.pk).exists()


# --- copy ---------------------------------------------------------------------------


def test_copy_replaces_items_and_groups(campaign, reward, sku, colour, organization):
    RewardItemFactory(reward=reward, sku=sku, quantity=2)
    services.make_option_default(campaign=campaign, option=colour.options.first())
    target = RewardFactory(campaign=campaign, title="Deluxe")
    RewardItemFactory(reward=target, sku=SkuFactory(organization=organization, code="OLD"))
    services.create_choice_group(campaign=campaign, reward=target, name="Old choice")

    result = services.copy_composition(
        campaign=campaign, source=reward, target=target, replace=True
    )

    assert (result.items, result.groups) == (1, 1)
    assert list(target.items.values_list("sku__code", "quantity")) == [("CORE-BOX", 2)]
    copied = target.choice_groups.get()
    assert copied.name == "Colour" and copied.pk != colour.pk
    assert list(copied.options.values_list("label", "sku__code", "is_default")) == [
        ("Red", "DICE-RED", True),
        ("Blue", "DICE-BLU", False),
        ("Green", "DICE-GRE", False),
    ]
    # the source is untouched
    assert reward.items.count() == 1 and colour.options.count() == 3


def test_copy_without_replace_adds_up_and_appends(campaign, reward, sku, colour):
    RewardItemFactory(reward=reward, sku=sku, quantity=2)
    target = RewardFactory(campaign=campaign, title="Deluxe")
    RewardItemFactory(reward=target, sku=sku, quantity=1)
    services.create_choice_group(campaign=campaign, reward=target, name="Own choice")

    services.copy_composition(campaign=campaign, source=reward, target=target, replace=False)

    assert target.items.get().quantity == 3
    assert list(target.choice_groups.values_list("name", flat=True)) == ["Own choice", "Colour"]


def test_copy_from_itself_or_an_empty_reward_is_refused(campaign, reward, sku):
    RewardItemFactory(reward=reward, sku=sku)
    empty = RewardFactory(campaign=campaign)
    with pytest.raises(CatalogRefused):
        services.copy_composition(campaign=campaign, source=reward, target=reward, replace=True)
    with pytest.raises(CatalogRefused) as error:
        services.copy_composition(campaign=campaign, source=empty, target=reward, replace=True)
    assert error.value.field == "source"
    assert reward.items.count() == 1


def test_copy_from_another_campaigns_reward_is_refused(campaign, reward):
    stranger = RewardItemFactory().reward
    with pytest.raises(CatalogRefused):
        services.copy_composition(campaign=campaign, source=stranger, target=reward, replace=True)
    assert not reward.items.exists()


# --- regional rules -----------------------------------------------------------------


@pytest.fixture
def editions(organization):
    return (
        SkuFactory(organization=organization, code="CORE-EN"),
        SkuFactory(organization=organization, code="CORE-DE"),
    )


def test_create_regional_rule(campaign, editions):
    en, de = editions
    rule = services.create_regional_rule(
        campaign=campaign,
        name="German edition",
        countries=["DE", "AT", "CH"],
        from_sku=en,
        to_sku=de,
        backer_can_override=True,
    )
    rule.refresh_from_db()
    assert sorted(c.code for c in rule.countries) == ["AT", "CH", "DE"]
    assert (rule.from_sku, rule.to_sku, rule.backer_can_override) == (en, de, True)


def test_regional_rule_needs_two_different_skus(campaign, editions):
    with pytest.raises(CatalogRefused) as error:
        services.create_regional_rule(
            campaign=campaign, name="X", countries=["DE"], from_sku=editions[0], to_sku=editions[0]
        )
    assert error.value.field == "to_sku"


def test_regional_rule_needs_a_country(campaign, editions):
    with pytest.raises(CatalogRefused) as error:
        services.create_regional_rule(
            campaign=campaign, name="X", countries=[], from_sku=editions[0], to_sku=editions[1]
        )
    assert error.value.field == "countries"


def test_regional_rule_refuses_a_foreign_sku(campaign, editions, foreign_sku):
    with pytest.raises(CatalogRefused) as error:
        services.create_regional_rule(
            campaign=campaign, name="X", countries=["DE"], from_sku=editions[0], to_sku=foreign_sku
        )
    assert error.value.field == "to_sku"
    assert not RegionalRule.objects.exists()


def test_two_rules_cannot_replace_one_sku_for_the_same_country(campaign, editions, organization):
    en, de = editions
    services.create_regional_rule(
        campaign=campaign, name="German", countries=["DE", "AT"], from_sku=en, to_sku=de
    )
    french = SkuFactory(organization=organization, code="CORE-FR")
    with pytest.raises(CatalogRefused) as error:
        services.create_regional_rule(
            campaign=campaign, name="French", countries=["FR", "AT"], from_sku=en, to_sku=french
        )
    assert error.value.field == "countries" and "AT" in error.value.message
    # other countries are fine
    services.create_regional_rule(
        campaign=campaign, name="French", countries=["FR", "BE"], from_sku=en, to_sku=french
    )


def test_update_and_delete_regional_rule(campaign, editions):
    en, de = editions
    rule = services.create_regional_rule(
        campaign=campaign, name="German", countries=["DE"], from_sku=en, to_sku=de
    )
    services.update_regional_rule(
        campaign=campaign,
        rule=rule,
        name="German edition",
        countries=["DE", "AT"],
        from_sku=en,
        to_sku=de,
        backer_can_override=True,
    )
    rule.refresh_from_db()
    assert rule.name == "German edition" and len(rule.countries) == 2
    services.delete_regional_rule(campaign=campaign, rule=rule)
    assert not RegionalRule.objects.exists()


# --- stretch goals ------------------------------------------------------------------


def test_create_stretch_goal(campaign, reward, sku):
    before = datetime(2026, 10, 3, tzinfo=UTC)
    goal = services.create_stretch_goal(
        campaign=campaign,
        name="Metal coins",
        sku=sku,
        quantity=2,
        from_reward=reward,
        pledged_before=before,
    )
    goal.refresh_from_db()
    assert (goal.sku, goal.quantity, goal.from_reward, goal.pledged_before) == (
        sku,
        2,
        reward,
        before,
    )


def test_stretch_goal_refuses_foreign_sku_and_foreign_tier(campaign, sku, foreign_sku):
    with pytest.raises(CatalogRefused) as error:
        services.create_stretch_goal(campaign=campaign, name="Coins", sku=foreign_sku)
    assert error.value.field == "sku"
    stranger = RewardFactory()
    with pytest.raises(CatalogRefused) as error:
        services.create_stretch_goal(campaign=campaign, name="Coins", sku=sku, from_reward=stranger)
    assert error.value.field == "from_reward"
    assert not StretchGoal.objects.exists()


def test_update_and_delete_stretch_goal(campaign, sku):
    goal = services.create_stretch_goal(campaign=campaign, name="Coins", sku=sku)
    services.update_stretch_goal(
        campaign=campaign,
        goal=goal,
        name="Metal coins",
        sku=sku,
        quantity=3,
        from_reward=None,
        pledged_before=None,
    )
    goal.refresh_from_db()
    assert (goal.name, goal.quantity) == ("Metal coins", 3)
    services.delete_stretch_goal(campaign=campaign, goal=goal)
    assert not StretchGoal.objects.exists()


# --- the lock -----------------------------------------------------------------------


def test_every_change_is_refused_while_the_map_is_locked(campaign, reward, sku, colour, editions):
    item = RewardItemFactory(reward=reward, sku=sku)
    option = colour.options.first()
    rule = services.create_regional_rule(
        campaign=campaign, name="German", countries=["DE"], from_sku=editions[0], to_sku=editions[1]
    )
    goal = services.create_stretch_goal(campaign=campaign, name="Coins", sku=sku)
    other = RewardFactory(campaign=campaign)
    lock(campaign)
    # the caller's campaign object may be stale: the service reads the lock itself
    campaign.sku_map_locked_at = None
    calls = [
        lambda: services.add_reward_items(campaign=campaign, reward=reward, skus=[sku]),
        lambda: services.update_reward_item(campaign=campaign, item=item, quantity=5),
        lambda: services.remove_reward_item(campaign=campaign, item=item),
        lambda: services.create_choice_group(campaign=campaign, reward=reward, name="New"),
        lambda: services.create_choice_group_from_skus(
            campaign=campaign, reward=reward, name="New", skus=editions
        ),
        lambda: services.update_choice_group(
            campaign=campaign, group=colour, name="X", picks=1, allow_repeats=False
        ),
        lambda: services.delete_choice_group(campaign=campaign, group=colour),
        lambda: services.add_choice_option(campaign=campaign, group=colour, label="X", sku=sku),
        lambda: services.update_choice_option(
            campaign=campaign, option=option, label="X", sku=sku, quantity=1, is_default=True
        ),
        lambda: services.make_option_default(campaign=campaign, option=option),
        lambda: services.delete_choice_option(campaign=campaign, option=option),
        lambda: services.copy_composition(
            campaign=campaign, source=reward, target=other, replace=True
        ),
        lambda: services.create_regional_rule(
            campaign=campaign,
            name="X",
            countries=["FR"],
            from_sku=editions[0],
            to_sku=editions[1],
        ),
        lambda: services.update_regional_rule(
            campaign=campaign,
            rule=rule,
            name="X",
            countries=["FR"],
            from_sku=editions[0],
            to_sku=editions[1],
            backer_can_override=False,
        ),
        lambda: services.delete_regional_rule(campaign=campaign, rule=rule),
        lambda: services.create_stretch_goal(campaign=campaign, name="X", sku=sku),
        lambda: services.update_stretch_goal(
            campaign=campaign,
            goal=goal,
            name="X",
            sku=sku,
            quantity=1,
            from_reward=None,
            pledged_before=None,
        ),
        lambda: services.delete_stretch_goal(campaign=campaign, goal=goal),
    ]
    snapshot = _snapshot()
    for call in calls:
        with pytest.raises(SkuMapLocked):
            call()
    assert _snapshot() == snapshot


def _snapshot():
    return (
        sorted(RewardItem.objects.values_list("pk", "reward_id", "sku_id", "quantity")),
        sorted(ChoiceGroup.objects.values_list("pk", "name", "picks", "allow_repeats")),
        sorted(ChoiceOption.objects.values_list("pk", "label", "sku_id", "is_default")),
        sorted(RegionalRule.objects.values_list("pk", "name", "from_sku_id", "to_sku_id")),
        sorted(StretchGoal.objects.values_list("pk", "name", "sku_id", "quantity")),
    )
