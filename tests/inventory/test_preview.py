""" "What this backer will receive": search, the lines with their source, the
totals per SKU, and scoping to the campaign."""

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from accounts.models import Role
from pledges.models import Backer
from pledges.services.sku_map import lock_sku_map
from surveys.models import ImportedAddOn
from tests.conftest import member
from tests.factories import BackerFactory, CampaignFactory, PledgeFactory, RewardItemFactory

from .test_bom import goal, group, offer, reward, rule, sku


def preview_url(campaign, **params):
    url = reverse("bom-preview", args=[campaign.slug])
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{url}?{query}" if query else url


def text(response) -> str:
    """The page's visible text, tags removed, whitespace collapsed."""
    html = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html)


@pytest.fixture
def backer(campaign):
    """A German backer of the Deluxe tier with a pending choice, a regional
    edition, a stretch goal, a mapped and an unmapped platform add-on."""
    deluxe = reward(campaign, "Deluxe", "99.00")
    english, german = sku(campaign, "GAME-EN"), sku(campaign, "GAME-DE")
    RewardItemFactory(reward=deluxe, sku=english)
    RewardItemFactory(reward=deluxe, sku=sku(campaign, "SLEEVES"), quantity=3)
    rule(campaign, "German edition", ["DE", "AT"], english, german)
    group(
        deluxe, "Dice colour", [("Red", sku(campaign, "D-RED")), ("Blue", sku(campaign, "D-BLU"))]
    )
    goal(campaign, "Metal coins", sku(campaign, "COINS"), quantity=2)
    mat = offer(campaign, "Playmat", [(sku(campaign, "MAT"), 1)])
    ImportedAddOn.objects.create(campaign=campaign, text="Playmat", offer=mat)
    pledge = PledgeFactory(
        backer=BackerFactory(campaign=campaign, name="Ada Lovelace", email="ada@example.net"),
        reward=deluxe,
        shipping_country="DE",
        pledged_at=datetime(2024, 3, 1, tzinfo=UTC),
        addons_text="Playmat × 2; Art print × 1",
    )
    return pledge.backer


def test_preview_shows_each_line_with_its_source(owner_client, campaign, backer):
    response = owner_client.get(preview_url(campaign, backer=backer.pk))
    assert response.status_code == 200
    page = text(response)
    assert "Germany (DE)" in page
    rows = re.findall(r'<tr class="bom-([a-z_]+)">(.*?)</tr>', response.content.decode(), re.S)
    cells = [
        (source, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()) for source, row in rows
    ]
    assert cells == [
        (
            "regional",
            "GAME-DE GAME-DE item instead of GAME-EN 1 Regional edition German edition (reward: Deluxe)",
        ),
        ("reward", "SLEEVES SLEEVES item 3 Reward Deluxe"),
        (
            "choice_pending",
            "to choose Default: D-RED D-RED item 1 Choice not made yet Dice colour",
        ),
        ("stretch_goal", "COINS COINS item 2 Stretch goal Metal coins"),
        ("addon", "MAT MAT item 2 Add-on Playmat"),
        (
            "addon_unmapped",
            "not mapped Add-on text without an offer 1 Add-on not mapped Art print",
        ),
    ]
    assert "1 add-on from the platform is not mapped to an offer yet" in page
    assert "1 choice not made yet" in page


def test_preview_totals_per_sku_as_a_chart(owner_client, campaign, backer):
    response = owner_client.get(preview_url(campaign, backer=backer.pk))
    html = response.content.decode()
    totals = html.split('id="totals"')[1]
    rows = re.findall(r"<code>([^<]+)</code>.*?<td class=\"num\">(\d+)</td>", totals, re.S)
    assert rows == [("SLEEVES", "3"), ("COINS", "2"), ("MAT", "2"), ("GAME-DE", "1")]
    assert 'style="width: 100%"' in totals and 'style="width: 33%"' in totals
    assert re.search(r"Total</th>\s*<th class=\"num\">8</th>", totals)


def test_search_finds_backers_by_name_email_or_number(owner_client, campaign, backer):
    other = BackerFactory(campaign=campaign, name="Grace Hopper", email="grace@example.net")
    stranger = BackerFactory(campaign=CampaignFactory(), name="Ada Lovelace", email="ada@x.org")
    for query in ("lovelace", "ADA@example", f"%23{backer.backer_number}"):
        page = owner_client.get(preview_url(campaign, q=query)).content.decode()
        assert f"backer={backer.pk}" in page, query
        assert f"backer={other.pk}" not in page
        assert f"backer={stranger.pk}" not in page
    assert "No backer of this campaign matches" in text(
        owner_client.get(preview_url(campaign, q="nobody"))
    )


def test_backer_of_another_campaign_is_not_found(owner_client, campaign, organization, backer):
    same_org = BackerFactory(campaign=CampaignFactory(organization=organization))
    other_org = BackerFactory()
    for stranger in (same_org, other_org):
        assert owner_client.get(preview_url(campaign, backer=stranger.pk)).status_code == 404
    for junk in ("abc", "-1", "9" * 40):
        assert owner_client.get(preview_url(campaign, backer=junk)).status_code == 404


def test_backer_without_pledge(owner_client, campaign):
    lonely = BackerFactory(campaign=campaign)
    page = text(owner_client.get(preview_url(campaign, backer=lonely.pk)))
    assert "No pledge on record for this backer: nothing ships." in page


def test_preview_query_count_does_not_grow_with_the_map(
    owner_client, campaign, backer, django_assert_max_num_queries
):
    for n in range(20):
        deluxe = Backer.objects.get(pk=backer.pk).pledges.get().reward
        RewardItemFactory(reward=deluxe, sku=sku(campaign, f"EXTRA{n}"))
        goal(campaign, f"Goal {n}", sku(campaign, f"G{n}"))
    with django_assert_max_num_queries(12):
        response = owner_client.get(preview_url(campaign, backer=backer.pk, q="ada"))
    assert response.content.decode().count('<tr class="bom-') == 6 + 40


def test_support_may_preview(client, organization, campaign, backer):
    client.force_login(member(organization, Role.SUPPORT))
    response = client.get(preview_url(campaign, backer=backer.pk))
    assert response.status_code == 200
    assert "Metal coins" in response.content.decode()
    assert reverse("backer-detail", args=[campaign.slug, backer.pk]) in response.content.decode()


def test_warehouse_may_not_search_backers(client, organization, campaign, backer):
    """The warehouse role sees the catalog but not backers: no names through here."""
    client.force_login(member(organization, Role.WAREHOUSE))
    for url in (preview_url(campaign, q="ada"), preview_url(campaign, backer=backer.pk)):
        response = client.get(url)
        assert response.status_code == 403
        assert "Ada Lovelace" not in response.content.decode()


def test_backer_page_links_to_the_preview(owner_client, campaign, backer):
    response = owner_client.get(reverse("backer-detail", args=[campaign.slug, backer.pk]))
    html = response.content.decode()
    assert f'href="{preview_url(campaign, backer=backer.pk)}"' in html
    assert "What this backer will receive" in html


def test_outsider_cannot_lock_unlock_or_preview(outsider_client, owner, campaign, backer):
    ImportedAddOn.objects.create(campaign=campaign, text="Art print", included_in_reward=True)
    outsider_client.post(reverse("sku-map-lock", args=[campaign.slug]))
    campaign.refresh_from_db()
    assert campaign.sku_map_locked_at is None
    lock_sku_map(campaign=campaign, actor=owner)
    response = outsider_client.post(
        reverse("sku-map-unlock", args=[campaign.slug]), {"reason": "mine now"}
    )
    assert response.status_code == 404
    campaign.refresh_from_db()
    assert campaign.sku_map_locked_at is not None
    assert outsider_client.get(preview_url(campaign, backer=backer.pk)).status_code == 404


def test_preview_says_when_the_demand_report_does_not_count_the_pledge(
    owner_client, campaign, backer
):
    url = reverse("bom-preview", args=[campaign.slug])
    page = owner_client.get(url, {"backer": backer.pk}).content.decode()
    assert "not counted in the demand report" not in page
    backer.pledges.update(payment_status="dropped")
    page = owner_client.get(url, {"backer": backer.pk}).content.decode()
    assert "Payment dropped: this pledge is not counted in the demand report" in page
