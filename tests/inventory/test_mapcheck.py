"""The map check, the lock and unlock of the SKU map, and their page."""

import pytest
from django.urls import NoReverseMatch, reverse

from accounts.models import Role
from inventory.mapcheck import sku_map_problems
from pledges.errors import SkuMapBlocked, SkuMapLocked
from pledges.models import PaymentStatus, SkuMapEvent
from pledges.services.sku_map import (
    SkuMapRefused,
    ensure_sku_map_editable,
    lock_sku_map,
    unlock_sku_map,
)
from surveys.models import ImportedAddOn
from tests.conftest import member
from tests.factories import BackerFactory, PledgeFactory, RewardItemFactory

from .test_bom import goal, group, offer, reward, rule, sku


def kinds(campaign):
    return sorted((p.kind, p.message) for p in sku_map_problems(campaign=campaign))


@pytest.fixture
def clean_map(campaign):
    """A map with nothing to fix: a reward with an item and a choice with its default."""
    core = reward(campaign, "Core")
    RewardItemFactory(reward=core, sku=sku(campaign, "GAME"))
    group(core, "Dice", [("Red", sku(campaign, "D-RED")), ("Blue", sku(campaign, "D-BLU"))])
    return core


def pledge_with_addons(campaign, text, status=PaymentStatus.COLLECTED):
    return PledgeFactory(
        backer=BackerFactory(campaign=campaign),
        reward=None,
        addons_text=text,
        payment_status=status,
    )


# --- the check -----------------------------------------------------------------------


def test_clean_map_has_no_problem(campaign, clean_map):
    assert sku_map_problems(campaign=campaign) == []


def test_reward_without_items_or_choices_is_a_problem(campaign, clean_map):
    reward(campaign, "Digital tier")
    only_choice = reward(campaign, "Pick one", "79.00")
    group(only_choice, "Colour", [("Red", sku(campaign, "C-RED"))])
    assert kinds(campaign) == [
        ("reward_unmapped", "Reward “Digital tier” has no SKU and no choice: add its items.")
    ]


def test_unmapped_imported_addon_texts_are_problems(campaign, clean_map):
    tower = offer(campaign, "Dice tower", [(sku(campaign, "TOWER"), 1)])
    ImportedAddOn.objects.create(campaign=campaign, text="Dice Tower", offer=tower)
    ImportedAddOn.objects.create(campaign=campaign, text="Base game", included_in_reward=True)
    ImportedAddOn.objects.create(campaign=campaign, text="Playmat")  # seen, not mapped yet
    pledge_with_addons(campaign, "Dice Tower × 2; Playmat × 1; Base game")
    pledge_with_addons(campaign, "Playmat × 3; Art book")
    pledge_with_addons(campaign, "Playmat × 3; Art book")
    pledge_with_addons(campaign, "Coaster", status=PaymentStatus.DROPPED)
    assert kinds(campaign) == [
        (
            "addon_text_unmapped",
            "Add-on “Art book” (2 pledges) is not mapped to an offer or marked as part of the reward.",
        ),
        (
            "addon_text_unmapped",
            "Add-on “Playmat” (3 pledges) is not mapped to an offer or marked as part of the reward.",
        ),
    ]


def test_addon_offer_without_items_is_a_problem(campaign, clean_map):
    offer(campaign, "Mystery box", [])
    offer(campaign, "Dice tower", [(sku(campaign, "TOWER"), 1)])
    assert kinds(campaign) == [
        ("offer_empty", "Add-on offer “Mystery box” has no items: add the SKU or the bundle.")
    ]


def test_choice_group_without_options_or_defaults_is_a_problem(campaign, clean_map):
    core = clean_map
    group(core, "Meeples", [])
    red, blue = sku(campaign, "S-RED"), sku(campaign, "S-BLU")
    group(core, "Sleeves", [("Red", red), ("Blue", blue)], picks=2, defaults=(0,))
    group(core, "Tokens", [("Red", red)], defaults=())
    # with repeats allowed one default fills every pick
    group(core, "Packs", [("Red", red), ("Blue", blue)], picks=3, allow_repeats=True)
    mat = offer(campaign, "Playmat", [(sku(campaign, "MAT"), 1)])
    group(mat, "Mat colour", [("Red", red)], defaults=())
    assert kinds(campaign) == [
        (
            "choice_no_default",
            "Choice “Mat colour” of add-on “Playmat” has no defaults for 1 pick: "
            "mark what ships when a backer never chooses.",
        ),
        (
            "choice_no_default",
            "Choice “Sleeves” of reward “Core” has 1 default for 2 picks: "
            "mark what ships when a backer never chooses.",
        ),
        (
            "choice_no_default",
            "Choice “Tokens” of reward “Core” has no defaults for 1 pick: "
            "mark what ships when a backer never chooses.",
        ),
        ("choice_no_options", "Choice “Meeples” of reward “Core” has no options."),
    ]


def test_skus_of_the_map_missing_shipping_data_are_problems(campaign, clean_map):
    core = clean_map
    RewardItemFactory(reward=core, sku=sku(campaign, "NOWEIGHT", weight_g=None))
    RewardItemFactory(reward=core, sku=sku(campaign, "BARE", hs_code="", country_of_origin=""))
    RewardItemFactory(
        reward=core, sku=sku(campaign, "PDF", weight_g=None, hs_code="", is_digital=True)
    )
    rule(
        campaign,
        "German",
        ["DE"],
        sku(campaign, "GAME-EN"),
        sku(campaign, "GAME-DE", weight_g=None),
    )
    goal(campaign, "Coin", sku(campaign, "COIN", country_of_origin=""))
    sku(campaign, "UNUSED", weight_g=None)  # not in the map: not this check's business
    assert kinds(campaign) == [
        ("sku_missing_data", "SKU BARE (BARE item) has no HS code, country of origin."),
        ("sku_missing_data", "SKU COIN (COIN item) has no country of origin."),
        ("sku_missing_data", "SKU GAME-DE (GAME-DE item) has no weight."),
        ("sku_missing_data", "SKU NOWEIGHT (NOWEIGHT item) has no weight."),
    ]


def test_problems_link_to_the_page_that_fixes_them(campaign, clean_map):
    reward(campaign, "Empty tier")
    (problem,) = sku_map_problems(campaign=campaign)
    assert problem.blocking
    # the link is the reward map page once it exists in this checkout, never a dead URL
    try:
        expected = reverse("reward-map", args=[campaign.slug])
    except NoReverseMatch:
        expected = ""
    assert problem.url.split("#")[0] == expected


def _messy_map(campaign, size):
    for n in range(size):
        empty = reward(campaign, f"Empty {n}", f"{n + 1}.00")
        group(
            empty, f"Group {n}", [(f"O{n}", sku(campaign, f"NOW{n}", weight_g=None))], defaults=()
        )
        offer(campaign, f"Offer {n}", [])
        pledge_with_addons(campaign, f"Thing {n} × 1; Other {n}")
        rule(
            campaign,
            f"Rule {n}",
            ["DE"],
            sku(campaign, f"F{n}"),
            sku(campaign, f"T{n}", hs_code=""),
        )


@pytest.mark.parametrize("size", [1, 20])
def test_map_check_takes_a_constant_number_of_queries(
    campaign, size, django_assert_max_num_queries
):
    _messy_map(campaign, size)
    with django_assert_max_num_queries(6):
        problems = sku_map_problems(campaign=campaign)
    assert len(problems) == size * 6


# --- lock and unlock ------------------------------------------------------------------


def test_lock_is_refused_while_anything_blocks(campaign, owner):
    reward(campaign, "Empty")
    offer(campaign, "Mystery box", [])
    with pytest.raises(SkuMapBlocked, match="2 problems to fix first"):
        lock_sku_map(campaign=campaign, actor=owner)
    campaign.refresh_from_db()
    assert campaign.sku_map_locked_at is None
    assert not SkuMapEvent.objects.exists()


def test_lock_then_unlock_is_logged_with_the_reason(campaign, clean_map, owner):
    lock_sku_map(campaign=campaign, actor=owner)
    campaign.refresh_from_db()
    assert campaign.sku_map_locked_at is not None
    assert campaign.sku_map_locked_by == owner
    unlock_sku_map(campaign=campaign, actor=owner, reason="  Retailer asked for a blue edition ")
    campaign.refresh_from_db()
    assert (campaign.sku_map_locked_at, campaign.sku_map_locked_by) == (None, None)
    assert list(
        SkuMapEvent.objects.filter(campaign=campaign)
        .order_by("pk")
        .values_list("action", "actor", "reason")
    ) == [("locked", owner.pk, ""), ("unlocked", owner.pk, "Retailer asked for a blue edition")]


@pytest.mark.parametrize("reason", ["", "   \n "])
def test_unlock_needs_a_reason(campaign, clean_map, owner, reason):
    lock_sku_map(campaign=campaign, actor=owner)
    with pytest.raises(SkuMapRefused) as error:
        unlock_sku_map(campaign=campaign, actor=owner, reason=reason)
    assert error.value.field == "reason"
    campaign.refresh_from_db()
    assert campaign.sku_map_locked_at is not None
    assert SkuMapEvent.objects.filter(action="unlocked").count() == 0


def test_lock_and_unlock_refuse_to_do_nothing(campaign, clean_map, owner):
    with pytest.raises(SkuMapRefused, match="not locked"):
        unlock_sku_map(campaign=campaign, actor=owner, reason="why not")
    lock_sku_map(campaign=campaign, actor=owner)
    with pytest.raises(SkuMapRefused, match="already locked"):
        lock_sku_map(campaign=campaign, actor=owner)
    assert SkuMapEvent.objects.count() == 1


def test_changes_are_guarded_after_the_lock_and_allowed_after_unlock(campaign, clean_map, owner):
    ensure_sku_map_editable(campaign=campaign)
    lock_sku_map(campaign=campaign, actor=owner)
    with pytest.raises(SkuMapLocked, match="locked"):
        ensure_sku_map_editable(campaign=campaign)
    unlock_sku_map(campaign=campaign, actor=owner, reason="Add the promo card")
    ensure_sku_map_editable(campaign=campaign)


def test_lock_sees_the_map_as_it_is_now(campaign, clean_map, owner):
    """A problem added after the page was shown still blocks the lock."""
    stale = type(campaign).objects.get(pk=campaign.pk)
    reward(campaign, "Added meanwhile")
    with pytest.raises(SkuMapBlocked, match="1 problem to fix first"):
        lock_sku_map(campaign=stale, actor=owner)


# --- the page -----------------------------------------------------------------------------


def check_url(campaign):
    return reverse("sku-map-check", args=[campaign.slug])


def test_check_page_lists_problems_by_kind_with_a_disabled_lock(
    owner_client, campaign, clean_map, django_assert_max_num_queries
):
    reward(campaign, "Empty tier")
    offer(campaign, "Mystery box", [])
    offer(campaign, "Another box", [])
    with django_assert_max_num_queries(13):
        response = owner_client.get(check_url(campaign))
    html = response.content.decode()
    assert response.status_code == 200
    assert "3 problems block the lock" in html
    assert "Reward “Empty tier” has no SKU and no choice" in html
    assert "Add-on offer “Mystery box” has no items" in html
    assert '<span class="badge danger">2</span>' in html  # two empty offers
    assert 'disabled aria-describedby="lock-blocked"' in html
    assert "Locking is refused while 3 problems remain." in html


def test_check_page_query_count_does_not_grow_with_the_map(
    owner_client, campaign, django_assert_max_num_queries
):
    _messy_map(campaign, 15)
    with django_assert_max_num_queries(13):
        response = owner_client.get(check_url(campaign))
    assert response.content.decode().count("<li>") == 15 * 6


def test_posting_lock_while_blocked_changes_nothing(owner_client, campaign):
    reward(campaign, "Empty tier")
    response = owner_client.post(reverse("sku-map-lock", args=[campaign.slug]), follow=True)
    assert "cannot be locked: 1 problem to fix first" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.sku_map_locked_at is None


def test_lock_and_unlock_through_the_page(owner_client, owner, campaign, clean_map):
    response = owner_client.post(reverse("sku-map-lock", args=[campaign.slug]), follow=True)
    html = response.content.decode()
    assert "SKU map locked" in html
    assert owner.email in html  # locked by
    assert "Unlock the SKU map" in html
    campaign.refresh_from_db()
    assert campaign.sku_map_locked_by == owner

    blank = owner_client.post(reverse("sku-map-unlock", args=[campaign.slug]), {"reason": "  "})
    assert blank.status_code == 400
    assert 'class="field-error" id="id_reason_error"' in blank.content.decode()
    campaign.refresh_from_db()
    assert campaign.sku_map_locked_at is not None

    response = owner_client.post(
        reverse("sku-map-unlock", args=[campaign.slug]),
        {"reason": "Blue dice were discontinued"},
        follow=True,
    )
    html = response.content.decode()
    campaign.refresh_from_db()
    assert campaign.sku_map_locked_at is None
    assert "Ready to lock" in html
    assert "Blue dice were discontinued" in html  # the event log
    assert html.count("<td>Locked</td>") == 1 and html.count("<td>Unlocked</td>") == 1


def test_get_on_lock_and_unlock_is_not_allowed(owner_client, campaign):
    for name in ("sku-map-lock", "sku-map-unlock"):
        assert owner_client.get(reverse(name, args=[campaign.slug])).status_code == 405


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.WAREHOUSE])
def test_support_and_warehouse_see_the_check_but_cannot_lock(
    client, organization, campaign, clean_map, role
):
    client.force_login(member(organization, role))
    response = client.get(check_url(campaign))
    assert response.status_code == 200
    assert "Only an owner or a manager can lock the SKU map." in response.content.decode()
    assert client.post(reverse("sku-map-lock", args=[campaign.slug])).status_code == 403
    campaign.refresh_from_db()
    assert campaign.sku_map_locked_at is None


def test_support_cannot_unlock(client, organization, owner, campaign, clean_map):
    lock_sku_map(campaign=campaign, actor=owner)
    client.force_login(member(organization, Role.SUPPORT))
    response = client.post(reverse("sku-map-unlock", args=[campaign.slug]), {"reason": "mine"})
    assert response.status_code == 403
    campaign.refresh_from_db()
    assert campaign.sku_map_locked_at is not None


def test_manager_may_lock(client, organization, campaign, clean_map):
    manager = member(organization, Role.MANAGER)
    client.force_login(manager)
    client.post(reverse("sku-map-lock", args=[campaign.slug]))
    campaign.refresh_from_db()
    assert campaign.sku_map_locked_by == manager
