import csv
import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from accounts.models import Role
from pledges.duplicates import flag_duplicates
from pledges.models import (
    Backer,
    BackerEvent,
    BackerSource,
    DuplicateGroup,
    DuplicateStatus,
    PaymentStatus,
    Platform,
)
from tests.conftest import member
from tests.factories import BackerFactory, CampaignFactory, PledgeFactory, RewardFactory

# Measured on SQLite: session, user, membership, campaign, country choices, page,
# pledges of the page, matching count, counts strip, reward choices, 2 × header
# memberships = 12 for a first page of any size (+1 checking a reward filter, +1 for
# the row position on later pages). Duplicates: 12 with open groups only, 14 with
# decided groups too (their members and pledges).
LIST_QUERY_BOUND = 12
DUPLICATES_QUERY_BOUND = 14


def _login(client, organization, role):
    client.force_login(member(organization, role))
    return client


def _list(client, campaign, **params):
    response = client.get(reverse("backer-list", args=[campaign.slug]), params)
    assert response.status_code == 200
    return response


def _shown(response) -> list[int]:
    return [b.pk for b in response.context["backers"]]


def _pledged(campaign, **backer_fields):
    pledge_fields = {
        k.removeprefix("pledge__"): backer_fields.pop(k)
        for k in list(backer_fields)
        if k.startswith("pledge__")
    }
    backer = BackerFactory(campaign=campaign, **backer_fields)
    PledgeFactory(backer=backer, **pledge_fields)
    return backer


def _same_email_pair(campaign, email="twin@example.net"):
    first = _pledged(campaign, email=email, email_normalized=email, name="Twin One")
    second = _pledged(campaign, email=email.upper(), email_normalized=email, name="Twin Two")
    flag_duplicates(campaign=campaign)
    first.refresh_from_db()
    return first, second, first.duplicate_group


# --- list: search -------------------------------------------------------------------


def test_search_finds_a_backer_by_part_of_the_name(owner_client, campaign):
    wanted = _pledged(campaign, name="Hildegard von Bingen")
    _pledged(campaign, name="Ada Lovelace")
    assert _shown(_list(owner_client, campaign, q="hildeg")) == [wanted.pk]


def test_search_finds_a_backer_by_email_whatever_the_case(owner_client, campaign):
    wanted = _pledged(campaign, email="Mira@Example.net", email_normalized="mira@example.net")
    _pledged(campaign, email="other@example.net")
    assert _shown(_list(owner_client, campaign, q="MIRA@exa")) == [wanted.pk]


def test_search_by_digits_finds_the_backer_number_exactly(owner_client, campaign):
    # Emails without digits: "42" also finds backers whose email contains it.
    wanted = _pledged(campaign, backer_number=42, email="ada@example.net")
    _pledged(campaign, backer_number=421, email="bo@example.net")
    assert _shown(_list(owner_client, campaign, q="42")) == [wanted.pk]
    assert _shown(_list(owner_client, campaign, q="#42")) == [wanted.pk]


def test_search_finds_the_platform_backer_id(owner_client, campaign):
    wanted = _pledged(campaign, platform_backer_id="ks-998877")
    _pledged(campaign, platform_backer_id="ks-998877-2")
    assert _shown(_list(owner_client, campaign, q="ks-998877")) == [wanted.pk]


def test_a_very_long_number_searches_without_failing(owner_client, campaign):
    _pledged(campaign)
    assert _shown(_list(owner_client, campaign, q="9" * 30)) == []


# --- list: filters ------------------------------------------------------------------


def test_reward_filter(owner_client, campaign):
    tier = RewardFactory(campaign=campaign, title="Deluxe box")
    wanted = _pledged(campaign, pledge__reward=tier)
    _pledged(campaign)
    response = _list(owner_client, campaign, reward=tier.pk)
    assert _shown(response) == [wanted.pk]
    assert "Deluxe box" in response.content.decode()


def test_a_reward_of_another_campaign_is_not_a_valid_filter(owner_client, campaign):
    foreign = RewardFactory(campaign=CampaignFactory(organization=campaign.organization))
    _pledged(campaign)
    response = _list(owner_client, campaign, reward=foreign.pk)
    assert response.context["filters_ignored"]
    assert "not understood" in response.content.decode()


def test_payment_status_filter(owner_client, campaign):
    wanted = _pledged(campaign, pledge__payment_status=PaymentStatus.DROPPED)
    _pledged(campaign, pledge__payment_status=PaymentStatus.COLLECTED)
    assert _shown(_list(owner_client, campaign, payment_status="dropped")) == [wanted.pk]


def test_country_filter_by_shipping_country(owner_client, campaign):
    wanted = _pledged(campaign, pledge__shipping_country="DE")
    _pledged(campaign, pledge__shipping_country="SE")
    response = _list(owner_client, campaign, country="DE")
    assert _shown(response) == [wanted.pk]
    assert "Germany" in response.content.decode()


def test_pledge_filters_combine(owner_client, campaign):
    tier = RewardFactory(campaign=campaign)
    wanted = _pledged(
        campaign,
        pledge__reward=tier,
        pledge__shipping_country="DE",
        pledge__payment_status="dropped",
    )
    _pledged(campaign, pledge__reward=tier, pledge__shipping_country="DE")
    _pledged(campaign, pledge__shipping_country="DE", pledge__payment_status="dropped")
    response = _list(owner_client, campaign, reward=tier.pk, country="DE", payment_status="dropped")
    assert _shown(response) == [wanted.pk]
    rows = _csv(
        _list(
            owner_client,
            campaign,
            reward=tier.pk,
            country="DE",
            payment_status="dropped",
            format="csv",
        )
    )
    assert [r[rows[0].index("Pledgeport id")] for r in rows[1:]] == [str(wanted.pk)]


def test_source_filter(owner_client, campaign):
    wanted = _pledged(campaign, source=BackerSource.LATE_PLEDGE)
    _pledged(campaign, source=BackerSource.CAMPAIGN)
    assert _shown(_list(owner_client, campaign, source="late_pledge")) == [wanted.pk]


def test_platform_filter(owner_client, campaign):
    wanted = _pledged(campaign, platform=Platform.INDIEGOGO)
    _pledged(campaign, platform=Platform.KICKSTARTER)
    assert _shown(_list(owner_client, campaign, platform="indiegogo")) == [wanted.pk]


def test_duplicate_filter_yes_and_no(owner_client, campaign):
    first, second, group = _same_email_pair(campaign)
    alone = _pledged(campaign)
    assert _shown(_list(owner_client, campaign, duplicate="yes")) == [first.pk, second.pk]
    assert _shown(_list(owner_client, campaign, duplicate="no")) == [alone.pk]


def test_a_decided_group_no_longer_counts_as_duplicate(owner_client, owner, campaign):
    first, second, group = _same_email_pair(campaign)
    group.status = DuplicateStatus.KEPT_APART
    group.save()
    assert _shown(_list(owner_client, campaign, duplicate="yes")) == []
    assert _shown(_list(owner_client, campaign, duplicate="no")) == [first.pk, second.pk]


def test_list_shows_badges_money_and_country_name(owner_client, campaign):
    first, second, _ = _same_email_pair(campaign)
    Backer.objects.filter(pk=second.pk).update(merged_into=first)
    html = _list(owner_client, campaign).content.decode()
    assert "duplicate?" in html
    assert "merged" in html
    assert "US$59.00" in html or "$59.00" in html
    assert "Sweden" in html
    assert 'class="badge status-collected"' in html


def test_counts_strip(owner_client, campaign):
    _same_email_pair(campaign)
    _pledged(campaign, pledge__payment_status=PaymentStatus.DROPPED)
    _pledged(campaign, pledge__payment_status=PaymentStatus.ERRORED)
    counts = _list(owner_client, campaign, q="nobody").context["counts"]
    assert (counts["total"], counts["dropped"], counts["errored"], counts["open_duplicates"]) == (
        4,
        1,
        1,
        2,
    )


def test_empty_campaign_says_to_import_the_backer_report(owner_client, campaign):
    html = _list(owner_client, campaign).content.decode()
    assert "No backers yet — import the backer report" in html
    assert reverse("import-list", args=[campaign.slug]) in html


def test_no_match_offers_to_clear_the_filters(owner_client, campaign):
    _pledged(campaign)
    assert (
        "No backers match these filters" in _list(owner_client, campaign, q="zzz").content.decode()
    )


# --- list: keyset pagination ----------------------------------------------------------


def test_keyset_pages_do_not_overlap_and_next_keeps_the_filters(owner_client, campaign):
    wanted = [_pledged(campaign, pledge__payment_status=PaymentStatus.DROPPED) for _ in range(15)]
    for _ in range(5):
        _pledged(campaign)
    first = _list(owner_client, campaign, payment_status="dropped", per_page=10)
    assert first.context["total"] == 15
    next_query = first.context["next_query"]
    assert f'href="?{next_query.replace("&", "&amp;")}"' in first.content.decode()
    params = {k: v[0] for k, v in parse_qs(next_query).items()}
    assert params["payment_status"] == "dropped"
    assert params["per_page"] == "10"
    assert params["after"] == str(_shown(first)[-1])

    second = _list(owner_client, campaign, **params)
    assert len(_shown(first)) == 10
    assert len(_shown(second)) == 5
    assert set(_shown(first)).isdisjoint(_shown(second))
    assert _shown(first) + _shown(second) == [b.pk for b in wanted]
    assert second.context["next_query"] is None
    assert second.context["first_row"] == 11


def test_page_size_is_clamped(owner_client, campaign):
    for _ in range(12):
        _pledged(campaign)
    assert len(_shown(_list(owner_client, campaign, per_page=1))) == 10
    assert _list(owner_client, campaign, per_page=5000).context["per_page"] == 200
    assert _list(owner_client, campaign, per_page="lots").context["per_page"] == 50


@pytest.mark.parametrize("per_page", [10, 200])
def test_list_query_count_does_not_depend_on_the_page_size(
    owner_client, campaign, per_page, django_assert_max_num_queries
):
    tiers = RewardFactory.create_batch(3, campaign=campaign)
    for i in range(210):
        _pledged(
            campaign, pledge__reward=tiers[i % 3], pledge__shipping_country=["SE", "DE"][i % 2]
        )
    for i in range(3):
        _same_email_pair(campaign, email=f"pair{i}@example.net")
    with django_assert_max_num_queries(LIST_QUERY_BOUND):
        response = _list(owner_client, campaign, per_page=per_page, payment_status="collected")
    assert len(_shown(response)) == per_page


# --- list: CSV -------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text)))


def test_csv_download_has_a_header_and_every_matching_backer(owner_client, campaign):
    for _ in range(60):
        _pledged(campaign, pledge__payment_status=PaymentStatus.DROPPED)
    _pledged(campaign)
    rows = _csv(_list(owner_client, campaign, payment_status="dropped", format="csv", per_page=10))
    header, body = rows[0], rows[1:]
    assert header[:5] == ["Backer number", "Platform", "Platform backer id", "Name", "Email"]
    assert len(body) == 60
    assert {r[header.index("Payment status")] for r in body} == {"Dropped"}
    assert {r[header.index("Country")] for r in body} == {"Sweden"}


def test_csv_makes_formula_looking_cells_harmless(owner_client, campaign):
    _pledged(campaign, name='=HYPERLINK("http://evil.example","click")')
    rows = _csv(_list(owner_client, campaign, format="csv"))
    assert rows[1][rows[0].index("Name")] == '\'=HYPERLINK("http://evil.example","click")'


def test_csv_lists_a_backer_without_pledge(owner_client, campaign):
    BackerFactory(campaign=campaign, name="No Pledge")
    rows = _csv(_list(owner_client, campaign, format="csv"))
    assert rows[1][rows[0].index("Name")] == "No Pledge"
    assert rows[1][rows[0].index("Reward")] == ""


# --- detail ------------------------------------------------------------------------------


def _detail(client, backer):
    return client.get(reverse("backer-detail", args=[backer.campaign.slug, backer.pk]))


def test_detail_shows_pledge_extra_columns_and_events(owner_client, owner, campaign):
    backer = _pledged(
        campaign,
        name="Grace Hopper",
        pledge__extra={"T-shirt size": "XL", "Favourite dice": "d20"},
        pledge__addons_text="Dice tower x1",
    )
    BackerEvent.objects.create(
        backer=backer, action="updated", detail={"shipping_city": ["Tyresö", "Nacka"]}
    )
    BackerEvent.objects.create(
        backer=backer, actor=owner, action="kept_apart", detail={"group": 1, "note": "siblings"}
    )
    response = _detail(owner_client, backer)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Grace Hopper" in html
    assert "T-shirt size" in html and "XL" in html and "d20" in html
    assert "Dice tower x1" in html
    assert "Shipping city" in html and "Tyresö" in html and "Nacka" in html
    assert "siblings" in html


def test_detail_links_the_import_runs(owner_client, owner, campaign):
    from pledges.models import ImportRun

    run = ImportRun.objects.create(
        campaign=campaign, created_by=owner, original_name="backers.csv", file_hash="x"
    )
    backer = _pledged(campaign, first_import_run=run, last_import_run=run)
    html = _detail(owner_client, backer).content.decode()
    assert reverse("import-detail", args=[campaign.slug, run.pk]) in html


def test_detail_of_a_backer_of_another_campaign_of_the_same_organization_is_404(
    owner_client, campaign
):
    sibling = CampaignFactory(organization=campaign.organization)
    backer = _pledged(sibling)
    url = reverse("backer-detail", args=[campaign.slug, backer.pk])
    assert owner_client.get(url).status_code == 404
    assert _detail(owner_client, backer).status_code == 200


def test_detail_of_a_merged_backer_links_the_primary(owner_client, campaign):
    primary = _pledged(campaign, name="Primary Person")
    merged = _pledged(campaign, merged_into=primary)
    html = _detail(owner_client, merged).content.decode()
    assert "was merged into" in html
    assert reverse("backer-detail", args=[campaign.slug, primary.pk]) in html


def test_detail_shows_the_group_and_the_forms_to_owners_only(client, organization, campaign):
    first, second, group = _same_email_pair(campaign)
    merge_url = reverse("duplicate-merge", args=[campaign.slug, group.pk])
    html = _detail(_login(client, organization, Role.OWNER), first).content.decode()
    assert reverse("backer-detail", args=[campaign.slug, second.pk]) in html
    assert merge_url in html
    html = _detail(_login(client, organization, Role.SUPPORT), first).content.decode()
    assert reverse("backer-detail", args=[campaign.slug, second.pk]) in html
    assert merge_url not in html


# --- roles -------------------------------------------------------------------------------


@pytest.mark.parametrize("url_name", ["backer-list", "backer-detail", "duplicate-list"])
def test_warehouse_may_not_see_backers(client, organization, campaign, url_name):
    backer = _pledged(campaign)
    _login(client, organization, Role.WAREHOUSE)
    args = [campaign.slug, backer.pk] if url_name == "backer-detail" else [campaign.slug]
    assert client.get(reverse(url_name, args=args)).status_code == 403


@pytest.mark.parametrize("url_name", ["duplicate-merge", "duplicate-keep-apart"])
def test_support_sees_duplicates_but_may_not_decide(client, organization, campaign, url_name):
    first, second, group = _same_email_pair(campaign)
    _login(client, organization, Role.SUPPORT)
    page = client.get(reverse("duplicate-list", args=[campaign.slug]))
    assert page.status_code == 200
    assert "Twin One" in page.content.decode()
    assert reverse(url_name, args=[campaign.slug, group.pk]) not in page.content.decode()

    response = client.post(
        reverse(url_name, args=[campaign.slug, group.pk]), {"primary": first.pk, "note": "x"}
    )
    assert response.status_code == 403
    group.refresh_from_db()
    assert group.status == DuplicateStatus.OPEN
    assert not Backer.objects.filter(merged_into__isnull=False).exists()
    assert not BackerEvent.objects.exists()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.SUPPORT])
def test_manager_and_support_see_the_backer_list(client, organization, campaign, role):
    _pledged(campaign, name="Visible Backer")
    _login(client, organization, role)
    assert "Visible Backer" in _list(client, campaign).content.decode()


# --- duplicates ---------------------------------------------------------------------------


def test_duplicates_page_lists_open_then_decided_groups(owner_client, owner, campaign):
    first, second, open_group = _same_email_pair(campaign)
    third, fourth, decided = _same_email_pair(campaign, email="done@example.net")
    decided.status, decided.decided_by, decided.note = DuplicateStatus.KEPT_APART, owner, "cousins"
    decided.save()
    response = owner_client.get(reverse("duplicate-list", args=[campaign.slug]))
    html = response.content.decode()
    assert [g.pk for g in response.context["open_groups"]] == [open_group.pk]
    assert [g.pk for g in response.context["decided_groups"]] == [decided.pk]
    assert html.index("twin@example.net") < html.index("done@example.net")
    assert "cousins" in html and "Kept apart" in html
    # the lowest backer number is the one kept unless the creator picks another
    assert re.search(rf'name="primary" value="{first.pk}"[^>]*\bchecked', html)
    assert not re.search(rf'name="primary" value="{second.pk}"[^>]*\bchecked', html)


def test_duplicates_page_without_groups_explains_itself(owner_client, campaign):
    html = owner_client.get(reverse("duplicate-list", args=[campaign.slug])).content.decode()
    assert "No possible duplicates to review" in html


@pytest.mark.parametrize("groups", [1, 12])
def test_duplicates_query_count_does_not_depend_on_the_number_of_groups(
    owner_client, owner, campaign, groups, django_assert_max_num_queries
):
    for i in range(groups):
        _same_email_pair(campaign, email=f"pair{i}@example.net")
    decided = DuplicateGroup.objects.filter(campaign=campaign).order_by("pk")[: groups // 2]
    DuplicateGroup.objects.filter(pk__in=[g.pk for g in decided]).update(
        status=DuplicateStatus.MERGED, decided_by=owner
    )
    with django_assert_max_num_queries(DUPLICATES_QUERY_BOUND):
        response = owner_client.get(reverse("duplicate-list", args=[campaign.slug]))
    assert response.status_code == 200
    assert len(response.context["open_groups"]) + len(response.context["decided_groups"]) == groups


def test_owner_merges_a_group(owner_client, owner, campaign):
    first, second, group = _same_email_pair(campaign)
    response = owner_client.post(
        reverse("duplicate-merge", args=[campaign.slug, group.pk]),
        {"primary": first.pk},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("duplicate-list", args=[campaign.slug])
    assert "Merged 1 backer into" in response.content.decode()
    second.refresh_from_db()
    group.refresh_from_db()
    assert second.merged_into == first
    assert group.status == DuplicateStatus.MERGED
    assert group.decided_by == owner
    assert set(BackerEvent.objects.values_list("backer", "action", "actor")) == {
        (second.pk, "merged", owner.pk),
        (first.pk, "merged_from", owner.pk),
    }
    # and the timeline of the merged backer says so
    assert "merged this backer into" in _detail(owner_client, second).content.decode()


def test_owner_keeps_a_group_apart_with_a_note(owner_client, owner, campaign):
    first, second, group = _same_email_pair(campaign)
    response = owner_client.post(
        reverse("duplicate-keep-apart", args=[campaign.slug, group.pk]),
        {"note": "Twins, two households"},
    )
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.status == DuplicateStatus.KEPT_APART
    assert group.note == "Twins, two households"
    assert BackerEvent.objects.filter(action="kept_apart").count() == 2
    assert not Backer.objects.filter(merged_into__isnull=False).exists()


def test_merge_with_a_primary_outside_the_group_changes_nothing(owner_client, campaign):
    first, second, group = _same_email_pair(campaign)
    outsider = _pledged(campaign)
    response = owner_client.post(
        reverse("duplicate-merge", args=[campaign.slug, group.pk]),
        {"primary": outsider.pk},
        follow=True,
    )
    assert "Choose the backer to keep from this group." in response.content.decode()
    group.refresh_from_db()
    assert group.status == DuplicateStatus.OPEN
    assert not Backer.objects.filter(merged_into__isnull=False).exists()
    assert not BackerEvent.objects.exists()


def test_merge_without_a_primary_is_refused(owner_client, campaign):
    _, _, group = _same_email_pair(campaign)
    response = owner_client.post(
        reverse("duplicate-merge", args=[campaign.slug, group.pk]), {"primary": "x"}, follow=True
    )
    assert "Choose the backer to keep" in response.content.decode()
    group.refresh_from_db()
    assert group.status == DuplicateStatus.OPEN


def test_deciding_twice_is_reported(owner_client, campaign):
    first, _, group = _same_email_pair(campaign)
    url = reverse("duplicate-keep-apart", args=[campaign.slug, group.pk])
    owner_client.post(url)
    response = owner_client.post(url, follow=True)
    assert "This group was already decided." in response.content.decode()


def test_a_group_of_another_campaign_is_404(owner_client, campaign):
    sibling = CampaignFactory(organization=campaign.organization)
    first, _, group = _same_email_pair(sibling)
    url = reverse("duplicate-merge", args=[campaign.slug, group.pk])
    assert owner_client.post(url, {"primary": first.pk}).status_code == 404
    group.refresh_from_db()
    assert group.status == DuplicateStatus.OPEN


def test_decisions_return_to_a_safe_next_url_only(owner_client, campaign):
    first, _, group = _same_email_pair(campaign)
    detail = reverse("backer-detail", args=[campaign.slug, first.pk])
    response = owner_client.post(
        reverse("duplicate-merge", args=[campaign.slug, group.pk]),
        {"primary": first.pk, "next": detail},
    )
    assert response["Location"] == detail
    _, _, other = _same_email_pair(campaign, email="again@example.net")
    response = owner_client.post(
        reverse("duplicate-keep-apart", args=[campaign.slug, other.pk]),
        {"next": "https://evil.example/phish"},
    )
    assert urlsplit(response["Location"]).path == reverse("duplicate-list", args=[campaign.slug])


def test_merge_is_post_only(owner_client, campaign):
    _, _, group = _same_email_pair(campaign)
    url = reverse("duplicate-merge", args=[campaign.slug, group.pk])
    assert owner_client.get(url).status_code == 405
