"""The reward composition pages over HTTP: the reward map, the editor (with and
without htmx), add-on choices, regional editions and stretch goals — roles, the
lock, other organizations' SKUs, and constant query counts."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from djmoney.money import Money

from accounts.models import Role
from pledges.models import (
    ChoiceGroup,
    ChoiceOption,
    PaymentStatus,
    RegionalRule,
    RewardItem,
    StretchGoal,
)
from tests.conftest import member
from tests.factories import (
    AddOnOfferFactory,
    BackerFactory,
    PledgeFactory,
    RewardFactory,
    RewardItemFactory,
    SkuFactory,
)
from tests.pledges.tenant_urls_catalog import URLS

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def catalog(campaign, organization):
    """A small composed campaign: two tiers, a colour choice, a rule, a goal, an offer."""
    core = SkuFactory(organization=organization, code="CORE-BOX", name="Core box")
    core_de = SkuFactory(organization=organization, code="CORE-DE", name="Core box (German)")
    dice = [
        SkuFactory(
            organization=organization, code=f"DICE-{c.upper()}", attributes={"colour": c.lower()}
        )
        for c in ("Red", "Blue", "Green")
    ]
    coins = SkuFactory(organization=organization, code="COINS", name="Metal coins")
    base = RewardFactory(campaign=campaign, title="Core Game", minimum=Money(59, "USD"))
    deluxe = RewardFactory(campaign=campaign, title="Deluxe", minimum=Money(149, "USD"))
    empty = RewardFactory(campaign=campaign, title="Print & Play", minimum=Money(15, "USD"))
    item = RewardItem.objects.create(reward=deluxe, sku=core, quantity=2)
    RewardItem.objects.create(reward=base, sku=core, quantity=1)
    group = ChoiceGroup.objects.create(campaign=campaign, reward=deluxe, name="Colour")
    options = [
        ChoiceOption.objects.create(group=group, label=s.attributes["colour"], sku=s, position=i)
        for i, s in enumerate(dice)
    ]
    offer = AddOnOfferFactory(campaign=campaign, name="Dice tower")
    rule = RegionalRule.objects.create(
        campaign=campaign,
        name="German edition",
        countries=["DE", "AT"],
        from_sku=core,
        to_sku=core_de,
    )
    goal = StretchGoal.objects.create(
        campaign=campaign, name="Coins", sku=coins, from_reward=deluxe
    )
    return {
        "campaign": campaign,
        "core": core,
        "core_de": core_de,
        "dice": dice,
        "coins": coins,
        "base": base,
        "deluxe": deluxe,
        "empty": empty,
        "item": item,
        "group": group,
        "options": options,
        "offer": offer,
        "rule": rule,
        "goal": goal,
    }


def kwargs(c):
    """The same names the tenancy registry uses, for this test's objects."""
    return {
        "campaign": c["campaign"],
        "compose_reward": c["deluxe"],
        "compose_item": c["item"],
        "compose_offer": c["offer"],
        "compose_group": c["group"],
        "compose_option": c["options"][0],
        "compose_rule": c["rule"],
        "compose_goal": c["goal"],
    }


def url(name, c, **extra):
    return reverse(name, kwargs={**URLS[name](kwargs(c)), **extra})


PAGES = [
    "reward-map",
    "reward-compose",
    "addon-choices",
    "regional-rule-list",
    "stretch-goal-list",
]
FORM_PAGES = [
    "regional-rule-create",
    "regional-rule-edit",
    "stretch-goal-create",
    "stretch-goal-edit",
]
POSTS = sorted(set(URLS) - set(PAGES) - {"reward-map"})


def snapshot():
    return (
        sorted(RewardItem.objects.values_list("pk", "reward_id", "sku_id", "quantity")),
        sorted(ChoiceGroup.objects.values_list("pk", "name", "picks", "allow_repeats")),
        sorted(ChoiceOption.objects.values_list("pk", "label", "sku_id", "quantity", "is_default")),
        sorted(RegionalRule.objects.values_list("pk", "name", "from_sku_id", "to_sku_id")),
        sorted(StretchGoal.objects.values_list("pk", "name", "sku_id", "quantity")),
    )


# --- roles --------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER, Role.SUPPORT, Role.WAREHOUSE])
@pytest.mark.parametrize("page", PAGES)
def test_every_role_sees_the_pages(client, organization, catalog, role, page):
    client.force_login(member(organization, role))
    response = client.get(url(page, catalog))
    assert response.status_code == 200
    editable = role in (Role.OWNER, Role.MANAGER)
    assert ("Create the choice" in response.content.decode()) is (
        editable and page in ("reward-compose", "addon-choices")
    )


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
@pytest.mark.parametrize("page", FORM_PAGES)
def test_owners_and_managers_open_the_rule_and_goal_forms(
    client, organization, catalog, role, page
):
    client.force_login(member(organization, role))
    assert client.get(url(page, catalog)).status_code == 200


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.WAREHOUSE])
@pytest.mark.parametrize("name", POSTS)
def test_reading_roles_get_403_on_every_change(client, organization, catalog, role, name):
    client.force_login(member(organization, role))
    before = snapshot()
    response = client.post(url(name, catalog), {"add-skus": [catalog["coins"].pk], "name": "X"})
    assert response.status_code == 403
    assert snapshot() == before


def test_support_sees_the_composition_read_only(client, organization, catalog):
    client.force_login(member(organization, Role.SUPPORT))
    html = client.get(url("reward-compose", catalog)).content.decode()
    assert "CORE-BOX" in html and "DICE-RED" in html
    assert "an owner or manager changes it" in html
    assert "Add the ticked SKUs" not in html


# --- the reward map -----------------------------------------------------------------


def test_reward_map_summarises_components_backers_and_status(owner_client, catalog):
    deluxe = catalog["deluxe"]
    for status in [PaymentStatus.COLLECTED] * 3 + [PaymentStatus.DROPPED]:
        PledgeFactory(
            backer=BackerFactory(campaign=catalog["campaign"]), reward=deluxe, payment_status=status
        )
    response = owner_client.get(url("reward-map", catalog))
    html = response.content.decode()
    deluxe_row = html.split(f'id="reward-{deluxe.pk}"')[1].split("</tr>")[0]
    assert "2 × CORE-BOX, Colour: pick 1 of 3" in deluxe_row
    assert ">3<" in deluxe_row  # collected pledges only
    assert "mapped" in deluxe_row
    assert "has no default" in deluxe_row
    empty_row = html.split(f'id="reward-{catalog["empty"].pk}"')[1].split("</tr>")[0]
    assert "no components" in empty_row


def _reward_with_composition(campaign, organization, n):
    reward = RewardFactory(campaign=campaign, minimum=Money(Decimal(10 + n), "USD"))
    RewardItemFactory(reward=reward, sku=SkuFactory(organization=organization), quantity=2)
    group = ChoiceGroup.objects.create(campaign=campaign, reward=reward, name=f"Choice {n}")
    for _ in range(2):
        ChoiceOption.objects.create(
            group=group, label="x", sku=SkuFactory(organization=organization)
        )
    PledgeFactory(backer=BackerFactory(campaign=campaign), reward=reward)
    offer = AddOnOfferFactory(campaign=campaign)
    ChoiceGroup.objects.create(campaign=campaign, addon_offer=offer, name="Colour")


def _queries(client, target) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(target).status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "page", ["reward-map", "regional-rule-list", "stretch-goal-list", "reward-compose"]
)
def test_list_pages_run_a_constant_number_of_queries(
    owner_client, campaign, organization, catalog, page, django_assert_max_num_queries
):
    target = url(page, catalog)
    _reward_with_composition(campaign, organization, 99)  # one of each kind of row first
    few = _queries(owner_client, target)
    for n in range(6):
        _reward_with_composition(campaign, organization, n)
        sku = SkuFactory(organization=organization)
        RegionalRule.objects.create(
            campaign=campaign,
            name=f"Rule {n}",
            countries=["FR"],
            from_sku=sku,
            to_sku=catalog["core"],
        )
        StretchGoal.objects.create(
            campaign=campaign,
            name=f"Goal {n}",
            sku=sku,
            pledged_before=datetime(2026, 10, n + 1, tzinfo=UTC),
        )
        group = ChoiceGroup.objects.create(
            campaign=campaign, reward=catalog["deluxe"], name=f"G{n}"
        )
        ChoiceOption.objects.create(group=group, label="y", sku=sku)
        RewardItemFactory(reward=catalog["deluxe"], sku=sku)
    many = _queries(owner_client, target)
    assert many == few
    with django_assert_max_num_queries(16):
        owner_client.get(target)


# --- the editor: items --------------------------------------------------------------


def test_add_several_skus_at_once_and_come_back(owner_client, catalog):
    base = catalog["base"]
    response = owner_client.post(
        url("reward-item-add", catalog, reward_id=base.pk),
        {"add-skus": [catalog["coins"].pk, catalog["core"].pk]},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(
        reverse("reward-compose", args=[catalog["campaign"].slug, base.pk])
    )
    assert dict(base.items.values_list("sku__code", "quantity")) == {"CORE-BOX": 2, "COINS": 1}
    page = owner_client.get(response["Location"]).content.decode()
    assert "Added COINS; one more of CORE-BOX (now 2)." in page


def test_a_sku_of_another_organization_is_a_form_error(owner_client, catalog):
    stranger = SkuFactory(code="NOT-OURS")
    before = snapshot()
    response = owner_client.post(url("reward-item-add", catalog), {"add-skus": [stranger.pk]})
    assert response.status_code == 400
    assert "not one of the available choices" in response.content.decode()
    assert snapshot() == before


def test_a_bad_quantity_is_shown_next_to_the_field_with_the_input_kept(owner_client, catalog):
    item = catalog["item"]
    response = owner_client.post(
        url("reward-item-update", catalog), {f"item{item.pk}-quantity": "0"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_item{item.pk}-quantity_error"' in html
    assert f'name="item{item.pk}-quantity" value="0"' in html
    item.refresh_from_db()
    assert item.quantity == 2


def test_change_quantity_and_remove_item(owner_client, catalog):
    item = catalog["item"]
    owner_client.post(url("reward-item-update", catalog), {f"item{item.pk}-quantity": "5"})
    item.refresh_from_db()
    assert item.quantity == 5
    response = owner_client.post(url("reward-item-delete", catalog))
    assert response.status_code == 302
    assert not RewardItem.objects.filter(pk=item.pk).exists()


def test_htmx_gets_the_editor_partial_with_the_message(owner_client, catalog):
    item = catalog["item"]
    response = owner_client.post(
        url("reward-item-update", catalog), {f"item{item.pk}-quantity": "3"}, **HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="composition"')
    assert "<html" not in html
    assert "CORE-BOX: 3 per reward." in html


def test_htmx_refusal_comes_back_as_a_swappable_partial_with_the_error(owner_client, catalog):
    item = catalog["item"]
    response = owner_client.post(
        url("reward-item-update", catalog), {f"item{item.pk}-quantity": "-4"}, **HTMX
    )
    assert response.status_code == 200  # htmx swaps 2xx only
    html = response.content.decode()
    assert 'id="composition"' in html and "field-error" in html and "<html" not in html


# --- the editor: choices ------------------------------------------------------------


def test_create_a_choice_from_skus(owner_client, catalog):
    base = catalog["base"]
    response = owner_client.post(
        url("reward-choice-group-from-skus", catalog, reward_id=base.pk),
        {
            "fromskus-name": "Dice colour",
            "fromskus-picks": "1",
            "fromskus-skus": [s.pk for s in catalog["dice"]],
        },
    )
    assert response.status_code == 302
    group = base.choice_groups.get()
    # one option per SKU, in catalog (code) order, labelled by the colour attribute
    assert list(group.options.values_list("label", "sku__code")) == [
        ("Blue", "DICE-BLUE"),
        ("Green", "DICE-GREEN"),
        ("Red", "DICE-RED"),
    ]


def test_create_an_empty_choice_and_add_options(owner_client, catalog):
    base = catalog["base"]
    owner_client.post(
        url("reward-choice-group-create", catalog, reward_id=base.pk),
        {"newgroup-name": "Sleeves", "newgroup-picks": "2", "newgroup-allow_repeats": "on"},
    )
    group = base.choice_groups.get()
    assert (group.picks, group.allow_repeats) == (2, True)
    response = owner_client.post(
        reverse("choice-option-add", args=[base.campaign.slug, group.pk]),
        {
            f"newopt{group.pk}-label": "Clear",
            f"newopt{group.pk}-sku": catalog["coins"].pk,
            f"newopt{group.pk}-quantity": "2",
            f"newopt{group.pk}-is_default": "on",
        },
    )
    assert response.status_code == 302
    assert list(group.options.values_list("label", "quantity", "is_default")) == [
        ("Clear", 2, True)
    ]


def test_option_with_a_foreign_sku_is_refused_next_to_the_field(owner_client, catalog):
    group = catalog["group"]
    stranger = SkuFactory(code="NOT-OURS")
    response = owner_client.post(
        url("choice-option-add", catalog),
        {
            f"newopt{group.pk}-label": "Gold",
            f"newopt{group.pk}-sku": stranger.pk,
            f"newopt{group.pk}-quantity": "1",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_newopt{group.pk}-sku_error"' in html
    assert 'value="Gold"' in html
    assert group.options.count() == 3


def test_edit_mark_default_and_delete_options_and_groups(owner_client, catalog):
    group, (red, blue, _) = catalog["group"], catalog["options"]
    owner_client.post(url("choice-option-default", catalog, option_id=blue.pk))
    blue.refresh_from_db()
    assert blue.is_default
    owner_client.post(
        url("choice-option-update", catalog, option_id=red.pk),
        {
            f"opt{red.pk}-label": "Crimson",
            f"opt{red.pk}-sku": red.sku_id,
            f"opt{red.pk}-quantity": "2",
            f"opt{red.pk}-is_default": "on",
        },
    )
    red.refresh_from_db()
    blue.refresh_from_db()
    assert (red.label, red.quantity, red.is_default, blue.is_default) == ("Crimson", 2, True, False)
    owner_client.post(
        url("choice-group-update", catalog),
        {f"group{group.pk}-name": "Dice colour", f"group{group.pk}-picks": "1"},
    )
    group.refresh_from_db()
    assert group.name == "Dice colour"
    owner_client.post(url("choice-option-delete", catalog, option_id=red.pk))
    assert group.options.count() == 2
    owner_client.post(url("choice-group-delete", catalog))
    assert not ChoiceGroup.objects.filter(pk=group.pk).exists()


def test_copy_composition_from_another_reward(owner_client, catalog):
    empty = catalog["empty"]
    response = owner_client.post(
        url("reward-copy", catalog, reward_id=empty.pk),
        {"copy-source": catalog["deluxe"].pk, "copy-replace": "on"},
    )
    assert response.status_code == 302
    assert list(empty.items.values_list("sku__code", "quantity")) == [("CORE-BOX", 2)]
    assert empty.choice_groups.get().options.count() == 3


def test_copy_from_a_reward_of_another_campaign_is_a_form_error(owner_client, catalog):
    stranger = RewardItemFactory().reward
    response = owner_client.post(
        url("reward-copy", catalog, reward_id=catalog["empty"].pk), {"copy-source": stranger.pk}
    )
    assert response.status_code == 400
    assert not catalog["empty"].items.exists()


def test_addon_offer_choices_use_the_same_editor(owner_client, catalog):
    offer = catalog["offer"]
    response = owner_client.post(
        url("addon-choice-group-from-skus", catalog),
        {
            "fromskus-name": "Colour",
            "fromskus-picks": "1",
            "fromskus-skus": [s.pk for s in catalog["dice"]],
        },
    )
    assert response.status_code == 302
    assert response["Location"].startswith(url("addon-choices", catalog))
    group = offer.choice_groups.get()
    assert group.reward is None and group.options.count() == 3
    html = owner_client.get(url("addon-choices", catalog)).content.decode()
    assert "Colour" in html and "pick 1 of 3" in html
    option = group.options.first()
    owner_client.post(
        reverse("choice-option-default", args=[offer.campaign.slug, group.pk, option.pk])
    )
    option.refresh_from_db()
    assert option.is_default


def test_an_option_of_another_group_is_404(owner_client, catalog):
    other = ChoiceGroup.objects.create(
        campaign=catalog["campaign"], reward=catalog["base"], name="Other"
    )
    response = owner_client.post(
        reverse(
            "choice-option-delete",
            args=[catalog["campaign"].slug, other.pk, catalog["options"][0].pk],
        )
    )
    assert response.status_code == 404
    assert ChoiceOption.objects.filter(pk=catalog["options"][0].pk).exists()


# --- the lock -----------------------------------------------------------------------


@pytest.fixture
def locked(catalog):
    campaign = catalog["campaign"]
    campaign.sku_map_locked_at = timezone.now()
    campaign.save(update_fields=["sku_map_locked_at"])
    return catalog


@pytest.mark.parametrize("name", POSTS + FORM_PAGES)
def test_every_post_is_refused_with_the_lock_message_while_locked(owner_client, locked, name):
    before = snapshot()
    group, item = locked["group"], locked["item"]
    data = {
        "add-skus": [locked["coins"].pk],
        f"item{item.pk}-quantity": "7",
        "copy-source": locked["base"].pk,
        "newgroup-name": "New",
        "fromskus-name": "New",
        "fromskus-skus": [s.pk for s in locked["dice"]],
        f"group{group.pk}-name": "Renamed",
        f"group{group.pk}-picks": "1",
        f"newopt{group.pk}-label": "New",
        f"newopt{group.pk}-sku": locked["coins"].pk,
        "name": "Renamed",
        "countries": ["FR"],
        "from_sku": locked["coins"].pk,
        "to_sku": locked["core"].pk,
        "sku": locked["coins"].pk,
        "quantity": "1",
    }
    response = owner_client.post(url(name, locked), data, follow=True)
    assert response.status_code == 200
    assert "The SKU map is locked" in response.content.decode()
    assert snapshot() == before


def test_htmx_post_while_locked_answers_with_the_partial_and_the_message(owner_client, locked):
    response = owner_client.post(url("reward-item-delete", locked), **HTMX)
    assert response.status_code == 200
    assert "The SKU map is locked" in response.content.decode()
    assert RewardItem.objects.filter(pk=locked["item"].pk).exists()


@pytest.mark.parametrize("page", PAGES + FORM_PAGES)
def test_pages_are_read_only_while_locked(owner_client, locked, page):
    html = owner_client.get(url(page, locked)).content.decode()
    assert "SKU map locked" in html or "The SKU map is locked" in html
    for needle in (
        "Add the ticked SKUs",
        "Create the choice",
        "Save rule",
        "Create rule",
        "Save stretch goal",
        ">New regional rule</a>",
        ">New stretch goal</a>",
        "Make default",
        "Delete “",
    ):
        assert needle not in html


# --- regional editions ------------------------------------------------------------------


def test_regional_list_shows_what_a_rule_touches_and_pledges_there(owner_client, catalog):
    campaign = catalog["campaign"]
    ChoiceOption.objects.create(group=catalog["group"], label="Core", sku=catalog["core"])
    for country in ["DE", "AT", "FR"]:
        PledgeFactory(
            backer=BackerFactory(campaign=campaign),
            reward=catalog["base"],
            shipping_country=country,
        )
    html = owner_client.get(url("regional-rule-list", catalog)).content.decode()
    row = html.split(f'id="rule-{catalog["rule"].pk}"')[1].split("</tr>")[0]
    assert "Core Game" in row and "Deluxe" in row
    assert '<td class="num">2</td>' in row
    assert "CORE-BOX</code> → <code>CORE-DE" in row


def test_create_regional_rule_with_a_preset(owner_client, catalog):
    other = SkuFactory(organization=catalog["campaign"].organization, code="PLUG-EU")
    plug = SkuFactory(organization=catalog["campaign"].organization, code="PLUG-US")
    response = owner_client.post(
        url("regional-rule-create", catalog),
        {
            "name": "EU plug",
            "presets": ["eu27"],
            "countries": ["GB"],
            "from_sku": plug.pk,
            "to_sku": other.pk,
            "backer_can_override": "",
        },
    )
    assert response.status_code == 302
    rule = RegionalRule.objects.get(name="EU plug")
    codes = {c.code for c in rule.countries}
    assert len(codes) == 28 and {"DE", "FR", "GB"} <= codes
    assert not rule.backer_can_override


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"countries": ["DE"], "to": "from"}, "to_sku"),
        ({"countries": []}, "countries"),
        ({"countries": ["AT"], "presets": [], "from": "core"}, "countries"),  # overlaps the rule
    ],
)
def test_regional_rule_errors_are_next_to_the_field(owner_client, catalog, data, field):
    from_sku = catalog["core"] if data.get("from") == "core" else catalog["coins"]
    to_sku = from_sku if data.get("to") == "from" else catalog["dice"][0]
    response = owner_client.post(
        url("regional-rule-create", catalog),
        {
            "name": "Try",
            "countries": data["countries"],
            "from_sku": from_sku.pk,
            "to_sku": to_sku.pk,
        },
    )
    assert response.status_code == 400
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not RegionalRule.objects.filter(name="Try").exists()


def test_regional_rule_with_a_foreign_sku_is_a_form_error(owner_client, catalog):
    response = owner_client.post(
        url("regional-rule-create", catalog),
        {
            "name": "Try",
            "countries": ["DE"],
            "from_sku": catalog["coins"].pk,
            "to_sku": SkuFactory().pk,
        },
    )
    assert response.status_code == 400
    assert 'id="id_to_sku_error"' in response.content.decode()


def test_edit_and_delete_regional_rule(owner_client, catalog):
    rule = catalog["rule"]
    response = owner_client.post(
        url("regional-rule-edit", catalog),
        {
            "name": "German edition",
            "presets": ["dach"],
            "from_sku": rule.from_sku_id,
            "to_sku": rule.to_sku_id,
            "backer_can_override": "on",
        },
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert sorted(c.code for c in rule.countries) == ["AT", "CH", "DE"]
    assert rule.backer_can_override
    owner_client.post(url("regional-rule-delete", catalog))
    assert not RegionalRule.objects.filter(pk=rule.pk).exists()


# --- stretch goals ------------------------------------------------------------------


def test_stretch_goal_list_counts_qualifying_collected_pledges(owner_client, catalog):
    campaign = catalog["campaign"]
    early = StretchGoal.objects.create(
        campaign=campaign,
        name="Early bird",
        sku=catalog["coins"],
        pledged_before=datetime(2026, 10, 3, tzinfo=UTC),
    )
    both = StretchGoal.objects.create(
        campaign=campaign,
        name="Early deluxe",
        sku=catalog["coins"],
        from_reward=catalog["deluxe"],
        pledged_before=datetime(2026, 10, 3, tzinfo=UTC),
    )
    on_day = lambda d: datetime(2026, 10, d, 12, tzinfo=UTC)  # noqa: E731
    rows = [
        (catalog["base"], on_day(1), PaymentStatus.COLLECTED),  # early only
        (catalog["deluxe"], on_day(2), PaymentStatus.COLLECTED),  # all three
        (catalog["deluxe"], on_day(9), PaymentStatus.COLLECTED),  # tier only
        (catalog["deluxe"], on_day(1), PaymentStatus.DROPPED),  # not collected: none
        (None, on_day(1), PaymentStatus.COLLECTED),  # no reward: none
    ]
    for reward, when, status in rows:
        PledgeFactory(
            backer=BackerFactory(campaign=campaign),
            reward=reward,
            pledged_at=when,
            payment_status=status,
        )
    html = owner_client.get(url("stretch-goal-list", catalog)).content.decode()

    def count(goal):
        row = html.split(f'id="goal-{goal.pk}"')[1].split("</tr>")[0]
        return row.split('<td class="num">')[1].split("<")[0]

    assert (count(catalog["goal"]), count(early), count(both)) == ("2", "2", "1")


def test_create_edit_and_delete_stretch_goal(owner_client, catalog):
    response = owner_client.post(
        url("stretch-goal-create", catalog),
        {
            "name": "Early bird promo",
            "sku": catalog["coins"].pk,
            "quantity": "1",
            "from_reward": "",
            "pledged_before": "2026-10-03T00:00",
        },
    )
    assert response.status_code == 302
    goal = StretchGoal.objects.get(name="Early bird promo")
    assert goal.pledged_before == datetime(2026, 10, 3, tzinfo=UTC) and goal.from_reward is None
    owner_client.post(
        reverse("stretch-goal-edit", args=[catalog["campaign"].slug, goal.pk]),
        {
            "name": "Promo",
            "sku": catalog["coins"].pk,
            "quantity": "2",
            "from_reward": catalog["deluxe"].pk,
        },
    )
    goal.refresh_from_db()
    assert (goal.name, goal.quantity, goal.from_reward, goal.pledged_before) == (
        "Promo",
        2,
        catalog["deluxe"],
        None,
    )
    owner_client.post(reverse("stretch-goal-delete", args=[catalog["campaign"].slug, goal.pk]))
    assert not StretchGoal.objects.filter(pk=goal.pk).exists()


def test_stretch_goal_with_foreign_sku_or_tier_is_a_form_error(owner_client, catalog):
    response = owner_client.post(
        url("stretch-goal-create", catalog),
        {"name": "X", "sku": SkuFactory().pk, "quantity": "1", "from_reward": RewardFactory().pk},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_sku_error"' in html and 'id="id_from_reward_error"' in html
    assert StretchGoal.objects.count() == 1


# --- other organizations ------------------------------------------------------------


def test_outsider_posts_change_nothing(outsider_client, catalog):
    before = snapshot()
    for name in POSTS:
        response = outsider_client.post(url(name, catalog), {"name": "X", "add-skus": [1]})
        assert response.status_code == 404
    assert snapshot() == before


def test_rule_form_spells_out_the_chosen_countries(owner_client, catalog):
    html = owner_client.get(url("regional-rule-edit", catalog)).content.decode()
    assert "Chosen: Austria, Germany." in html


def test_editor_warns_like_the_map_check_when_picks_lack_defaults(owner_client, catalog):
    group, (red, *_rest) = catalog["group"], catalog["options"]
    ChoiceGroup.objects.filter(pk=group.pk).update(picks=2)
    ChoiceOption.objects.filter(pk=red.pk).update(is_default=True)
    html = owner_client.get(url("reward-compose", catalog)).content.decode()
    assert "“Colour” has 1 default for 2 picks" in html
    ChoiceGroup.objects.filter(pk=group.pk).update(allow_repeats=True)
    html = owner_client.get(url("reward-compose", catalog)).content.decode()
    assert "default for 2 picks" not in html
