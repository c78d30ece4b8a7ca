"""The bill of materials: each explosion rule alone, then together, and the
query budget of one order (≤ 5 queries whatever its size)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from djmoney.money import Money

from inventory.bom import (
    BomLine,
    InvalidAddOn,
    InvalidChoice,
    UnknownReward,
    bom_for_pledge,
    explode,
    load_catalog,
    sku_totals,
)
from pledges.models import ChoiceGroup, ChoiceOption, Pledge, RegionalRule, StretchGoal
from surveys.models import AddOnOfferItem, ImportedAddOn
from tests.factories import (
    AddOnOfferFactory,
    BackerFactory,
    CampaignFactory,
    PledgeFactory,
    RewardFactory,
    RewardItemFactory,
    SkuFactory,
)

EARLY = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
DEADLINE = datetime(2024, 3, 2, 0, 0, tzinfo=UTC)
LATE = datetime(2024, 3, 5, 12, 0, tzinfo=UTC)


# --- small builders (shared with the map check and preview tests) --------------


def sku(campaign, code, **fields):
    return SkuFactory(organization=campaign.organization, code=code, name=f"{code} item", **fields)


def reward(campaign, title="Core", minimum="59.00"):
    return RewardFactory(
        campaign=campaign, title=title, minimum=Money(Decimal(minimum), campaign.currency)
    )


def group(owner, name, options, *, picks=1, allow_repeats=False, defaults=(0,)):
    """A choice group on a reward or an add-on offer; `options` are (label, sku[, qty])."""
    campaign = owner.campaign
    is_offer = owner.__class__.__name__ == "AddOnOffer"
    created = ChoiceGroup.objects.create(
        campaign=campaign,
        reward=None if is_offer else owner,
        addon_offer=owner if is_offer else None,
        name=name,
        picks=picks,
        allow_repeats=allow_repeats,
    )
    for position, (label, option_sku, *quantity) in enumerate(options):
        ChoiceOption.objects.create(
            group=created,
            label=label,
            sku=option_sku,
            quantity=quantity[0] if quantity else 1,
            is_default=position in defaults,
            position=position,
        )
    return created


def option(created_group, label):
    return created_group.options.get(label=label)


def offer(campaign, name, items):
    created = AddOnOfferFactory(campaign=campaign, name=name)
    for item_sku, quantity in items:
        AddOnOfferItem.objects.create(offer=created, sku=item_sku, quantity=quantity)
    return created


def rule(campaign, name, countries, from_sku, to_sku, *, override=False, position=0):
    return RegionalRule.objects.create(
        campaign=campaign,
        name=name,
        countries=countries,
        from_sku=from_sku,
        to_sku=to_sku,
        backer_can_override=override,
        position=position,
    )


def goal(campaign, name, goal_sku, *, quantity=1, from_reward=None, pledged_before=None):
    return StretchGoal.objects.create(
        campaign=campaign,
        name=name,
        sku=goal_sku,
        quantity=quantity,
        from_reward=from_reward,
        pledged_before=pledged_before,
    )


def run(campaign, reward_obj=None, *, country="US", pledged_at=EARLY, **kwargs):
    return explode(
        catalog=load_catalog(campaign=campaign),
        reward_id=reward_obj.pk if reward_obj else None,
        country=country,
        pledged_at=pledged_at,
        **kwargs,
    )


def summary(lines):
    """(source, sku code or None, quantity, detail) per line, in order."""
    return [(ln.source, ln.sku.code if ln.sku else None, ln.quantity, ln.detail) for ln in lines]


@pytest.fixture
def campaign(db):
    return CampaignFactory()


# --- reward items ----------------------------------------------------------------


def test_reward_items_times_their_quantity(campaign):
    core = reward(campaign, "Core box")
    RewardItemFactory(reward=core, sku=sku(campaign, "GAME"), quantity=1)
    RewardItemFactory(reward=core, sku=sku(campaign, "SLEEVES"), quantity=3)
    assert summary(run(campaign, core)) == [
        ("reward", "GAME", 1, "Core box"),
        ("reward", "SLEEVES", 3, "Core box"),
    ]


def test_only_the_pledges_reward_counts(campaign):
    core, deluxe = reward(campaign, "Core"), reward(campaign, "Deluxe", "99.00")
    RewardItemFactory(reward=core, sku=sku(campaign, "GAME"))
    RewardItemFactory(reward=deluxe, sku=sku(campaign, "DELUXE"))
    assert summary(run(campaign, deluxe)) == [("reward", "DELUXE", 1, "Deluxe")]


def test_pledge_without_reward_gets_nothing_from_rewards(campaign):
    RewardItemFactory(reward=reward(campaign), sku=sku(campaign, "GAME"))
    assert run(campaign, None) == []


def test_reward_of_another_campaign_is_refused(campaign):
    stranger = reward(CampaignFactory(), "Elsewhere")
    with pytest.raises(UnknownReward):
        run(campaign, stranger)


# --- reward choices --------------------------------------------------------------


def test_chosen_option_becomes_a_choice_line(campaign):
    core = reward(campaign)
    dice = group(
        core, "Dice colour", [("Red", sku(campaign, "D-RED")), ("Blue", sku(campaign, "D-BLU"))]
    )
    lines = run(campaign, core, choices={dice.pk: [option(dice, "Blue").pk]})
    assert summary(lines) == [("choice", "D-BLU", 1, "Dice colour: Blue")]
    assert lines[0].group_id == dice.pk


def test_option_quantity_and_allowed_repeats_add_up(campaign):
    core = reward(campaign)
    sleeves = group(
        core,
        "Sleeves",
        [("Black", sku(campaign, "SL-BLK"), 2), ("Clear", sku(campaign, "SL-CLR"), 2)],
        picks=3,
        allow_repeats=True,
    )
    black, clear = option(sleeves, "Black").pk, option(sleeves, "Clear").pk
    lines = run(campaign, core, choices={sleeves.pk: [black, clear, black]})
    assert summary(lines) == [
        ("choice", "SL-BLK", 4, "Sleeves: Black"),
        ("choice", "SL-CLR", 2, "Sleeves: Clear"),
    ]


def test_no_choice_yet_is_one_pending_line_with_the_first_default(campaign):
    core = reward(campaign)
    red, blue = sku(campaign, "D-RED"), sku(campaign, "D-BLU")
    dice = group(core, "Dice", [("Red", red), ("Blue", blue)], picks=2, defaults=(1, 0))
    for choices in (None, {dice.pk: []}):
        assert run(campaign, core, choices=choices) == [
            BomLine(
                sku=None,
                quantity=2,
                source="choice_pending",
                detail="Dice",
                group_id=dice.pk,
                default_sku=red,
            )
        ]


def test_pending_choice_without_default_has_no_default_sku(campaign):
    core = reward(campaign)
    group(core, "Dice", [("Red", sku(campaign, "D-RED"))], defaults=())
    (line,) = run(campaign, core)
    assert (line.source, line.sku, line.default_sku) == ("choice_pending", None, None)


@pytest.mark.parametrize(
    "picked, message",
    [
        (["other"], "is not an option of"),
        ([], None),  # empty = not chosen yet, no error
        (["red"], "needs exactly 2 options; 1 chosen"),
        (["red", "blue", "red"], "needs exactly 2 options; 3 chosen"),
        (["red", "red"], "does not allow the same option twice"),
        (["junk", "red"], "is not an option of"),
    ],
)
def test_invalid_choices_are_refused_with_a_clear_message(campaign, picked, message):
    core = reward(campaign)
    dice = group(
        core, "Dice", [("Red", sku(campaign, "D-RED")), ("Blue", sku(campaign, "D-BLU"))], picks=2
    )
    elsewhere = group(core, "Meeples", [("Wood", sku(campaign, "M-WOOD"))])
    ids = {"red": option(dice, "Red").pk, "blue": option(dice, "Blue").pk}
    ids["other"] = option(elsewhere, "Wood").pk
    choices = {dice.pk: [ids.get(p, p) for p in picked]}
    if message is None:
        assert run(campaign, core, choices=choices)[0].source == "choice_pending"
        return
    with pytest.raises(InvalidChoice, match=message) as error:
        run(campaign, core, choices=choices)
    assert isinstance(error.value, ValueError)
    assert "Dice" in error.value.message


def test_choice_for_a_group_of_another_campaign_is_refused(campaign):
    core = reward(campaign)
    other = CampaignFactory()
    foreign = group(reward(other), "Colour", [("Red", sku(other, "X-RED"))])
    with pytest.raises(InvalidChoice, match="not part of this campaign"):
        run(campaign, core, choices={foreign.pk: [option(foreign, "Red").pk]})


def test_choice_for_another_rewards_group_is_ignored(campaign):
    core, deluxe = reward(campaign, "Core"), reward(campaign, "Deluxe", "99.00")
    RewardItemFactory(reward=core, sku=sku(campaign, "GAME"))
    deluxe_dice = group(deluxe, "Metal dice", [("Gold", sku(campaign, "MD-GOLD"))])
    lines = run(campaign, core, choices={deluxe_dice.pk: [option(deluxe_dice, "Gold").pk]})
    assert summary(lines) == [("reward", "GAME", 1, "Core")]


# --- stretch goals -----------------------------------------------------------------


def test_tier_goal_reaches_rewards_at_or_above_the_tier(campaign):
    low, mid, high = (
        reward(campaign, "Low", "29.00"),
        reward(campaign, "Mid", "59.00"),
        reward(campaign, "High", "99.00"),
    )
    goal(campaign, "Extra hero", sku(campaign, "HERO"), quantity=2, from_reward=mid)
    assert run(campaign, low) == []
    assert summary(run(campaign, mid)) == [("stretch_goal", "HERO", 2, "Extra hero")]
    assert summary(run(campaign, high)) == [("stretch_goal", "HERO", 2, "Extra hero")]


def test_dated_goal_reaches_pledges_made_before_the_date(campaign):
    core = reward(campaign)
    goal(campaign, "Early bird coin", sku(campaign, "COIN"), pledged_before=DEADLINE)
    assert summary(run(campaign, core, pledged_at=EARLY)) == [
        ("stretch_goal", "COIN", 1, "Early bird coin")
    ]
    assert run(campaign, core, pledged_at=DEADLINE) == []
    assert run(campaign, core, pledged_at=LATE) == []
    assert run(campaign, core, pledged_at=None) == []


def test_goal_with_tier_and_date_needs_both(campaign):
    low, high = reward(campaign, "Low", "29.00"), reward(campaign, "High", "99.00")
    goal(campaign, "Promo", sku(campaign, "PROMO"), from_reward=high, pledged_before=DEADLINE)
    assert run(campaign, low, pledged_at=EARLY) == []
    assert run(campaign, high, pledged_at=LATE) == []
    assert summary(run(campaign, high, pledged_at=EARLY)) == [("stretch_goal", "PROMO", 1, "Promo")]


def test_goal_without_conditions_reaches_every_reward_but_no_rewardless_pledge(campaign):
    core = reward(campaign)
    goal(campaign, "Mini expansion", sku(campaign, "MINI"))
    assert summary(run(campaign, core, pledged_at=None)) == [
        ("stretch_goal", "MINI", 1, "Mini expansion")
    ]
    assert run(campaign, None) == []


# --- add-ons -------------------------------------------------------------------------


def test_survey_addon_bundle_times_quantity(campaign):
    tower, tray = sku(campaign, "TOWER"), sku(campaign, "TRAY")
    bundle = offer(campaign, "Tower bundle", [(tower, 1), (tray, 2)])
    assert summary(run(campaign, None, addons=[(bundle.pk, 3)])) == [
        ("addon", "TOWER", 3, "Tower bundle"),
        ("addon", "TRAY", 6, "Tower bundle"),
    ]


def test_unknown_or_negative_addon_is_refused(campaign):
    foreign = offer(CampaignFactory(), "Elsewhere", [])
    with pytest.raises(InvalidAddOn):
        run(campaign, None, addons=[(foreign.pk, 1)])
    mine = offer(campaign, "Mat", [(sku(campaign, "MAT"), 1)])
    with pytest.raises(InvalidAddOn, match="negative"):
        run(campaign, None, addons=[(mine.pk, -1)])
    assert run(campaign, None, addons=[(mine.pk, 0)]) == []


def test_addon_choice_groups_multiply_by_the_addon_quantity(campaign):
    red, blue = sku(campaign, "MAT-RED"), sku(campaign, "MAT-BLU")
    mat = offer(campaign, "Playmat", [])
    colour = group(mat, "Mat colour", [("Red", red), ("Blue", blue)])
    pending = run(campaign, None, addons=[(mat.pk, 3)])
    assert pending == [
        BomLine(
            sku=None,
            quantity=3,
            source="choice_pending",
            detail="Mat colour",
            group_id=colour.pk,
            default_sku=red,
        )
    ]
    chosen = run(
        campaign, None, addons=[(mat.pk, 3)], choices={colour.pk: [option(colour, "Blue").pk]}
    )
    assert summary(chosen) == [("choice", "MAT-BLU", 3, "Mat colour: Blue")]


def test_addon_choice_groups_without_the_addon_are_ignored(campaign):
    mat = offer(campaign, "Playmat", [(sku(campaign, "MAT"), 1)])
    group(mat, "Mat colour", [("Red", sku(campaign, "MAT-RED"))])
    assert run(campaign, None) == []


def test_imported_addons_map_through_units_per_item(campaign):
    tower, tray = sku(campaign, "TOWER"), sku(campaign, "TRAY")
    bundle = offer(campaign, "Tower bundle", [(tower, 1), (tray, 2)])
    ImportedAddOn.objects.create(
        campaign=campaign, text="Dice Tower", offer=bundle, units_per_item=2
    )
    lines = run(campaign, None, imported_addons_text="Dice Tower × 3")
    assert summary(lines) == [
        ("addon", "TOWER", 6, "Tower bundle"),
        ("addon", "TRAY", 12, "Tower bundle"),
    ]


def test_imported_addons_included_in_reward_give_nothing(campaign):
    ImportedAddOn.objects.create(campaign=campaign, text="Base game", included_in_reward=True)
    assert run(campaign, None, imported_addons_text="Base game × 1") == []


def test_unmapped_imported_addons_are_flagged_lines(campaign):
    ImportedAddOn.objects.create(campaign=campaign, text="Playmat")  # seen, no offer yet
    lines = run(campaign, None, imported_addons_text="Playmat × 2; Art book")
    assert lines == [
        BomLine(sku=None, quantity=2, source="addon_unmapped", detail="Playmat"),
        BomLine(sku=None, quantity=1, source="addon_unmapped", detail="Art book"),
    ]


def test_imported_addons_also_get_the_offers_choices(campaign):
    mat = offer(campaign, "Playmat", [])
    colour = group(mat, "Mat colour", [("Red", sku(campaign, "MAT-RED"))])
    ImportedAddOn.objects.create(campaign=campaign, text="Playmat", offer=mat)
    lines = run(
        campaign,
        None,
        addons=[(mat.pk, 1)],
        imported_addons_text="Playmat × 2",
        choices={colour.pk: [option(colour, "Red").pk]},
    )
    assert summary(lines) == [("choice", "MAT-RED", 3, "Mat colour: Red")]


# --- regional editions -------------------------------------------------------------


def test_regional_rule_substitutes_for_its_countries_only(campaign):
    core = reward(campaign, "Core")
    english, german = sku(campaign, "GAME-EN"), sku(campaign, "GAME-DE")
    RewardItemFactory(reward=core, sku=english)
    rule(campaign, "German edition", ["DE", "AT", "CH"], english, german)
    (line,) = run(campaign, core, country="AT")
    assert line == BomLine(
        sku=german,
        quantity=1,
        source="regional",
        detail="German edition (reward: Core)",
        replaced_sku=english,
    )
    assert summary(run(campaign, core, country="FR")) == [("reward", "GAME-EN", 1, "Core")]
    assert summary(run(campaign, core, country="")) == [("reward", "GAME-EN", 1, "Core")]


def test_backer_may_opt_out_of_a_rule_that_allows_it(campaign):
    core = reward(campaign, "Core")
    english, german = sku(campaign, "GAME-EN"), sku(campaign, "GAME-DE")
    RewardItemFactory(reward=core, sku=english)
    edition = rule(campaign, "German edition", ["DE"], english, german, override=True)
    assert summary(run(campaign, core, country="DE", regional_opt_outs=[edition.pk])) == [
        ("reward", "GAME-EN", 1, "Core")
    ]


def test_opting_out_of_a_rule_that_does_not_allow_it_is_ignored(campaign):
    core = reward(campaign, "Core")
    us_plug, eu_plug = sku(campaign, "PLUG-US"), sku(campaign, "PLUG-EU")
    RewardItemFactory(reward=core, sku=us_plug)
    plug = rule(campaign, "EU plug", ["DE", "FR"], us_plug, eu_plug, override=False)
    (line,) = run(campaign, core, country="FR", regional_opt_outs=[plug.pk])
    assert (line.source, line.sku, line.replaced_sku) == ("regional", eu_plug, us_plug)


def test_regional_rules_reach_choices_goals_and_addons(campaign):
    core = reward(campaign, "Core")
    english, german = sku(campaign, "BOOK-EN"), sku(campaign, "BOOK-DE")
    rule(campaign, "German edition", ["DE"], english, german)
    rulebook = group(core, "Rulebook", [("English", english)])
    goal(campaign, "Lore book", english)
    extra = offer(campaign, "Spare rulebook", [(english, 1)])
    lines = run(
        campaign,
        core,
        country="DE",
        choices={rulebook.pk: [option(rulebook, "English").pk]},
        addons=[(extra.pk, 2)],
    )
    assert summary(lines) == [
        ("regional", "BOOK-DE", 1, "German edition (choice: Rulebook: English)"),
        ("regional", "BOOK-DE", 1, "German edition (stretch goal: Lore book)"),
        ("regional", "BOOK-DE", 2, "German edition (add-on: Spare rulebook)"),
    ]
    assert all(line.replaced_sku == english for line in lines)
    assert lines[0].group_id == rulebook.pk


def test_pending_choice_default_gets_the_regional_edition(campaign):
    core = reward(campaign)
    english, german = sku(campaign, "BOOK-EN"), sku(campaign, "BOOK-DE")
    group(core, "Rulebook", [("English", english)])
    rule(campaign, "German edition", ["DE"], english, german)
    (line,) = run(campaign, core, country="DE")
    assert (line.source, line.sku, line.default_sku, line.replaced_sku) == (
        "choice_pending",
        None,
        german,
        english,
    )


def test_first_rule_by_position_wins_and_rules_do_not_chain(campaign):
    core = reward(campaign, "Core")
    a, b, c = sku(campaign, "A"), sku(campaign, "B"), sku(campaign, "C")
    RewardItemFactory(reward=core, sku=a)
    rule(campaign, "Second", ["DE"], a, c, position=2)
    rule(campaign, "First", ["DE"], a, b, position=1)
    rule(campaign, "Chain", ["DE"], b, c, position=3)
    (line,) = run(campaign, core, country="DE")
    assert (line.sku, line.detail) == (b, "First (reward: Core)")


def test_other_campaigns_rules_do_not_apply(campaign):
    core = reward(campaign, "Core")
    english = sku(campaign, "GAME-EN")
    RewardItemFactory(reward=core, sku=english)
    other = CampaignFactory(organization=campaign.organization)
    rule(other, "German edition", ["DE"], english, sku(campaign, "GAME-DE"))
    assert summary(run(campaign, core, country="DE")) == [("reward", "GAME-EN", 1, "Core")]


# --- everything together --------------------------------------------------------------


def test_choice_regional_stretch_goal_and_addons_in_one_pledge(campaign):
    deluxe = reward(campaign, "Deluxe", "99.00")
    game_en, game_de = sku(campaign, "GAME-EN"), sku(campaign, "GAME-DE")
    RewardItemFactory(reward=deluxe, sku=game_en)
    RewardItemFactory(reward=deluxe, sku=sku(campaign, "SLEEVES"), quantity=2)
    rule(campaign, "German edition", ["DE", "AT"], game_en, game_de, override=True)
    colour = group(
        deluxe, "Dice colour", [("Red", sku(campaign, "D-RED")), ("Blue", sku(campaign, "D-BLU"))]
    )
    goal(campaign, "Metal coins", sku(campaign, "COINS"), from_reward=deluxe)
    goal(campaign, "Early bird", sku(campaign, "EARLY"), pledged_before=DEADLINE)
    tower = offer(campaign, "Dice tower", [(sku(campaign, "TOWER"), 1)])
    mat = offer(campaign, "Playmat", [(sku(campaign, "MAT"), 1)])
    ImportedAddOn.objects.create(campaign=campaign, text="Playmat", offer=mat)
    ImportedAddOn.objects.create(campaign=campaign, text="Deluxe upgrade", included_in_reward=True)
    pledge = PledgeFactory(
        backer=BackerFactory(campaign=campaign),
        reward=deluxe,
        shipping_country="DE",
        pledged_at=EARLY,
        addons_text="Playmat × 2; Deluxe upgrade × 1; Art print",
    )
    pledge = Pledge.objects.select_related("backer").get(pk=pledge.pk)
    lines = bom_for_pledge(
        pledge=pledge,
        choices={colour.pk: [option(colour, "Red").pk]},
        addons=[(tower.pk, 1)],
    )
    assert summary(lines) == [
        ("regional", "GAME-DE", 1, "German edition (reward: Deluxe)"),
        ("reward", "SLEEVES", 2, "Deluxe"),
        ("choice", "D-RED", 1, "Dice colour: Red"),
        ("stretch_goal", "COINS", 1, "Metal coins"),
        ("stretch_goal", "EARLY", 1, "Early bird"),
        ("addon", "TOWER", 1, "Dice tower"),
        ("addon", "MAT", 2, "Playmat"),
        ("addon_unmapped", None, 1, "Art print"),
    ]
    codes = {line.sku.pk: line.sku.code for line in lines if line.sku}
    assert {codes[pk]: units for pk, units in sku_totals(lines).items()} == {
        "GAME-DE": 1,
        "SLEEVES": 2,
        "D-RED": 1,
        "COINS": 1,
        "EARLY": 1,
        "TOWER": 1,
        "MAT": 2,
    }
    edition = RegionalRule.objects.get(campaign=campaign)
    kept = bom_for_pledge(pledge=pledge, regional_opt_outs=[edition.pk])
    assert kept[0].source == "reward" and kept[0].sku == game_en


def test_sku_totals_sum_lines_and_skip_lines_without_sku(campaign):
    a, b = sku(campaign, "A"), sku(campaign, "B")
    lines = [
        BomLine(sku=a, quantity=2, source="reward", detail="Core"),
        BomLine(sku=b, quantity=1, source="addon", detail="Mat"),
        BomLine(sku=a, quantity=3, source="stretch_goal", detail="Goal"),
        BomLine(sku=None, quantity=4, source="choice_pending", detail="Dice", default_sku=b),
        BomLine(sku=None, quantity=1, source="addon_unmapped", detail="Art"),
    ]
    assert sku_totals(lines) == {a.pk: 5, b.pk: 1}


# --- query budget -----------------------------------------------------------------------


def _big_campaign(campaign, size):
    """A map with `size` of everything, and one pledge that uses most of it."""
    tiers = [reward(campaign, f"Tier {n}", f"{10 + n}.00") for n in range(size)]
    top = tiers[-1]
    skus = [sku(campaign, f"S{n:03d}") for n in range(size * 2 + 3)]
    for item_sku in skus[:size]:
        RewardItemFactory(reward=top, sku=item_sku, quantity=2)
    choices = {}
    for n in range(size):
        g = group(top, f"Choice {n}", [(f"O{m}", skus[-m - 1]) for m in range(3)])
        choices[g.pk] = [option(g, "O1").pk]
    addons, texts = [], []
    for n in range(size):
        o = offer(campaign, f"Offer {n}", [(skus[n], 1), (skus[size + n], 2)])
        group(o, f"Offer choice {n}", [("A", skus[-1]), ("B", skus[-2])])
        addons.append((o.pk, 2))
        ImportedAddOn.objects.create(campaign=campaign, text=f"Platform add-on {n}", offer=o)
        texts.append(f"Platform add-on {n} × 1")
        rule(campaign, f"Rule {n}", ["DE", "AT"], skus[size + n], skus[n], override=n % 2 == 0)
        goal(campaign, f"Goal {n}", skus[n], from_reward=tiers[n], pledged_before=DEADLINE)
    pledge = PledgeFactory(
        backer=BackerFactory(campaign=campaign),
        reward=top,
        shipping_country="DE",
        pledged_at=EARLY,
        addons_text="; ".join([*texts, "Unknown thing × 2"]),
    )
    return Pledge.objects.select_related("backer").get(pk=pledge.pk), choices, addons


@pytest.mark.parametrize("size", [1, 25])
def test_bom_for_one_order_takes_at_most_five_queries(
    campaign, size, django_assert_max_num_queries
):
    pledge, choices, addons = _big_campaign(campaign, size)
    with django_assert_max_num_queries(5):
        lines = bom_for_pledge(pledge=pledge, choices=choices, addons=addons)
    sources = {line.source for line in lines}
    assert {"reward", "choice", "stretch_goal", "addon", "addon_unmapped", "regional"} <= sources
    # every add-on (survey ×2 plus platform ×1) lands, bundles included
    assert sum(line.quantity for line in lines if "Offer" in line.detail) >= size * 9


def test_explode_runs_without_queries(campaign, django_assert_num_queries):
    pledge, choices, addons = _big_campaign(campaign, 5)
    catalog = load_catalog(campaign=campaign)
    with django_assert_num_queries(0):
        lines = explode(
            catalog=catalog,
            reward_id=pledge.reward_id,
            country="DE",
            pledged_at=EARLY,
            choices=choices,
            addons=addons,
            imported_addons_text=pledge.addons_text,
        )
        sku_totals(lines)
        [line.sku.code for line in lines if line.sku]
