"""The SKU list (search, filters, usage, paging), deletion, roles and tenancy."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from inventory.models import Sku, SkuImport, SkuImportState
from pledges.models import ChoiceGroup, ChoiceOption, RegionalRule, StretchGoal
from surveys.models import AddOnOfferItem
from tests.conftest import member
from tests.factories import (
    AddOnOfferFactory,
    CampaignFactory,
    OrganizationFactory,
    RewardFactory,
    RewardItemFactory,
    SkuFactory,
)

# session, user, membership, campaign, SKU page, SKU count, catalog counts, header
# memberships: a page costs the same whatever the number of SKUs or their uses.
LIST_QUERY_BOUND = 10


def _login(client, organization, role):
    client.force_login(member(organization, role))
    return client


def _list(client, campaign, **params):
    response = client.get(reverse("sku-list", args=[campaign.slug]), params)
    assert response.status_code == 200
    return response


def _codes(response) -> list[str]:
    return [sku.code for sku in response.context["page"].object_list]


def _use_everywhere(campaign, sku):
    """The SKU in each of the five places that protect it."""
    reward = RewardFactory(campaign=campaign, title="Deluxe")
    RewardItemFactory(reward=reward, sku=sku)
    group = ChoiceGroup.objects.create(campaign=campaign, reward=reward, name="Colour")
    ChoiceOption.objects.create(group=group, label="Red", sku=sku)
    offer = AddOnOfferFactory(campaign=campaign, name="Dice tower")
    AddOnOfferItem.objects.create(offer=offer, sku=sku)
    other = SkuFactory(organization=campaign.organization)
    RegionalRule.objects.create(
        campaign=campaign, name="German edition", countries=["DE"], from_sku=sku, to_sku=other
    )
    StretchGoal.objects.create(campaign=campaign, name="Metal coins", sku=sku)


# --- list ------------------------------------------------------------------------------


def test_list_shows_the_organizations_skus_only(owner_client, campaign):
    SkuFactory(organization=campaign.organization, code="MINE-1")
    SkuFactory(organization=OrganizationFactory(), code="THEIRS-1")
    response = _list(owner_client, campaign)
    assert _codes(response) == ["MINE-1"]
    assert "THEIRS-1" not in response.content.decode()


def test_list_is_shared_by_the_campaigns_of_one_organization(owner_client, campaign):
    SkuFactory(organization=campaign.organization, code="SHARED")
    sister = CampaignFactory(organization=campaign.organization)
    assert _codes(_list(owner_client, sister)) == ["SHARED"]


@pytest.mark.parametrize(
    "q, expected",
    [("core", ["CORE-BOX"]), ("dragon", ["MINI-DRG"]), ("4006381", ["CORE-BOX"]), ("", None)],
)
def test_search_finds_code_name_or_barcode(owner_client, campaign, q, expected):
    org = campaign.organization
    SkuFactory(organization=org, code="CORE-BOX", name="Core box", barcode="4006381333931")
    SkuFactory(organization=org, code="MINI-DRG", name="Dragon miniature")
    codes = _codes(_list(owner_client, campaign, q=q))
    assert codes == (expected or ["CORE-BOX", "MINI-DRG"])


def test_missing_filter_shows_physical_skus_lacking_weight_hs_or_origin(owner_client, campaign):
    org = campaign.organization
    SkuFactory(organization=org, code="A-OK")
    SkuFactory(organization=org, code="B-NOWEIGHT", weight_g=None)
    SkuFactory(organization=org, code="C-NOHS", hs_code="")
    SkuFactory(organization=org, code="D-NOORIGIN", country_of_origin="")
    SkuFactory(organization=org, code="E-ZERO", weight_g=0)
    SkuFactory(
        organization=org,
        code="F-DIGITAL",
        weight_g=None,
        hs_code="",
        country_of_origin="",
        is_digital=True,
    )
    response = _list(owner_client, campaign, missing="1")
    assert _codes(response) == ["B-NOWEIGHT", "C-NOHS", "D-NOORIGIN", "E-ZERO"]
    assert response.context["counts"] == {"total": 6, "missing": 4, "digital": 1}


def test_digital_filter(owner_client, campaign):
    org = campaign.organization
    SkuFactory(organization=org, code="BOX")
    SkuFactory(organization=org, code="PDF", is_digital=True)
    assert _codes(_list(owner_client, campaign, digital="yes")) == ["PDF"]
    assert _codes(_list(owner_client, campaign, digital="no")) == ["BOX"]
    assert _codes(_list(owner_client, campaign, digital="nonsense")) == ["BOX", "PDF"]


def test_list_shows_shipping_data_and_the_missing_badge(owner_client, campaign):
    SkuFactory(
        organization=campaign.organization,
        code="CORE",
        weight_g=1450,
        length_mm=300,
        width_mm=290,
        height_mm=80,
        hs_code="950490",
        country_of_origin="DE",
        customs_value="18.50",
    )
    SkuFactory(organization=campaign.organization, code="BARE", weight_g=None, hs_code="")
    html = _list(owner_client, campaign).content.decode()
    for text in ("1,450 g", "300 × 290 × 80", "950490", "Germany", "$18.50"):
        assert text in html
    assert "missing: weight, HS code" in html


def test_usage_counts_this_campaign_only(owner_client, campaign):
    sku = SkuFactory(organization=campaign.organization, code="USED")
    _use_everywhere(campaign, sku)
    sister = CampaignFactory(organization=campaign.organization)
    RewardItemFactory(reward=RewardFactory(campaign=sister), sku=sku)
    response = _list(owner_client, campaign)
    shown = {s.code: s for s in response.context["page"].object_list}["USED"]
    assert (
        shown.reward_uses,
        shown.choice_uses,
        shown.addon_uses,
        shown.regional_uses,
        shown.stretch_uses,
    ) == (1, 1, 1, 1, 1)
    assert (
        "1 reward item<br>1 choice option<br>1 add-on item<br>1 regional rule<br>1 stretch goal"
        in response.content.decode()
    )


def _queries_for_list(client, campaign) -> int:
    with CaptureQueriesContext(connection) as queries:
        _list(client, campaign)
    return len(queries)


def test_list_query_count_does_not_grow_with_skus(
    owner_client, campaign, django_assert_max_num_queries
):
    for _ in range(3):
        _use_everywhere(campaign, SkuFactory(organization=campaign.organization))
    few = _queries_for_list(owner_client, campaign)
    for _ in range(40):
        _use_everywhere(campaign, SkuFactory(organization=campaign.organization))
    assert _queries_for_list(owner_client, campaign) == few
    with django_assert_max_num_queries(LIST_QUERY_BOUND):
        _list(owner_client, campaign)


def test_list_is_paginated_with_filters_kept(owner_client, campaign):
    Sku.objects.bulk_create(
        [
            Sku(organization=campaign.organization, code=f"P-{n:03d}", name=f"Item {n}")
            for n in range(60)
        ]
    )
    first = _list(owner_client, campaign, q="P-")
    assert len(_codes(first)) == 50
    assert "q=P-&amp;page=2" in first.content.decode()
    second = _list(owner_client, campaign, q="P-", page=2)
    assert _codes(second) == [f"P-{n:03d}" for n in range(50, 60)]


def test_empty_catalog_points_to_create_and_import(owner_client, campaign):
    html = _list(owner_client, campaign).content.decode()
    assert "No SKUs yet" in html
    assert reverse("sku-import", args=[campaign.slug]) in html


# --- delete ----------------------------------------------------------------------------


def test_unused_sku_is_deleted(owner_client, campaign):
    sku = SkuFactory(organization=campaign.organization)
    response = owner_client.post(reverse("sku-delete", args=[campaign.slug, sku.pk]))
    assert response.status_code == 302
    assert not Sku.objects.filter(pk=sku.pk).exists()


@pytest.mark.parametrize(
    "place, named",
    [
        ("reward", "reward “Deluxe”"),
        ("choice", "choice “Colour: Red”"),
        ("addon", "add-on offer “Dice tower”"),
        ("regional", "regional rule “German edition”"),
        ("stretch", "stretch goal “Metal coins”"),
    ],
)
def test_delete_is_refused_naming_where_the_sku_is_used(owner_client, campaign, place, named):
    sku = SkuFactory(organization=campaign.organization, code="USED")
    reward = RewardFactory(campaign=campaign, title="Deluxe")
    if place == "reward":
        RewardItemFactory(reward=reward, sku=sku)
    elif place == "choice":
        group = ChoiceGroup.objects.create(campaign=campaign, reward=reward, name="Colour")
        ChoiceOption.objects.create(group=group, label="Red", sku=sku)
    elif place == "addon":
        offer = AddOnOfferFactory(campaign=campaign, name="Dice tower")
        AddOnOfferItem.objects.create(offer=offer, sku=sku)
    elif place == "regional":
        other = SkuFactory(organization=campaign.organization)
        RegionalRule.objects.create(
            campaign=campaign, name="German edition", countries=["DE"], from_sku=other, to_sku=sku
        )
    else:
        StretchGoal.objects.create(campaign=campaign, name="Metal coins", sku=sku)
    response = owner_client.post(reverse("sku-delete", args=[campaign.slug, sku.pk]), follow=True)
    assert Sku.objects.filter(pk=sku.pk).exists()
    message = str(list(response.context["messages"])[0])
    assert message.startswith(f"USED is used by {named} ({campaign.name})")
    assert "Remove it there before deleting it." in message


def test_delete_catches_a_protected_link_added_after_the_check(campaign, monkeypatch):
    from inventory.services import skus as sku_services

    sku = SkuFactory(organization=campaign.organization, code="RACE")
    RewardItemFactory(reward=RewardFactory(campaign=campaign), sku=sku)
    monkeypatch.setattr(sku_services, "sku_usage", lambda sku: [])
    with pytest.raises(sku_services.SkuInUse, match="RACE is used by reward item"):
        sku_services.delete_sku(sku=sku)
    assert Sku.objects.filter(pk=sku.pk).exists()


def test_delete_needs_post(owner_client, campaign):
    sku = SkuFactory(organization=campaign.organization)
    assert owner_client.get(reverse("sku-delete", args=[campaign.slug, sku.pk])).status_code == 405


def test_edit_page_lists_uses_instead_of_the_delete_button(owner_client, campaign):
    sku = SkuFactory(organization=campaign.organization)
    RewardItemFactory(reward=RewardFactory(campaign=campaign, title="Deluxe"), sku=sku)
    html = owner_client.get(reverse("sku-edit", args=[campaign.slug, sku.pk])).content.decode()
    assert "reward “Deluxe”" in html
    assert reverse("sku-delete", args=[campaign.slug, sku.pk]) not in html


# --- roles -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.WAREHOUSE])
def test_viewer_roles_see_the_catalog_but_cannot_change_it(client, campaign, role):
    _login(client, campaign.organization, role)
    sku = SkuFactory(organization=campaign.organization, name="Untouched")
    run = SkuImport.objects.create(
        organization=campaign.organization,
        campaign=campaign,
        original_name="skus.csv",
        file_hash="0" * 64,
        data=b"Code,Name\nNEW-1,New\n",
        counts={"rows": 1, "new": 1, "updated": 0, "unchanged": 0, "problems": 0, "blocking": 0},
    )
    slug = campaign.slug
    for name, args in [
        ("sku-list", []),
        ("sku-import", []),
        ("sku-import-detail", [run.pk]),
        ("sku-import-problems-csv", [run.pk]),
        ("sku-export", []),
    ]:
        assert client.get(reverse(name, args=[slug, *args])).status_code == 200, name
    html = client.get(reverse("sku-list", args=[slug])).content.decode()
    assert reverse("sku-create", args=[slug]) not in html
    for name, args, data in [
        ("sku-create", [], {"code": "X-1", "name": "X"}),
        ("sku-edit", [sku.pk], {"code": sku.code, "name": "Changed"}),
        ("sku-delete", [sku.pk], {}),
        ("sku-import-detail", [run.pk], {}),
    ]:
        assert client.post(reverse(name, args=[slug, *args]), data).status_code == 403, name
    assert client.get(reverse("sku-create", args=[slug])).status_code == 403
    upload = client.post(reverse("sku-import", args=[slug]), {"file": _upload(b"Code,Name\n")})
    assert upload.status_code == 403
    sku.refresh_from_db()
    run.refresh_from_db()
    assert sku.name == "Untouched" and run.state == SkuImportState.PREVIEWED
    assert Sku.objects.count() == 1 and SkuImport.objects.count() == 1


def test_manager_may_change(client, campaign):
    _login(client, campaign.organization, Role.MANAGER)
    response = client.post(
        reverse("sku-create", args=[campaign.slug]),
        {"code": "M-1", "name": "Made by a manager", "customs_currency": "USD"},
    )
    assert response.status_code == 302
    assert Sku.objects.filter(organization=campaign.organization, code="M-1").exists()


def _upload(data: bytes, name: str = "skus.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="text/csv")


# --- tenancy beyond the registry: my slug, their ids -----------------------------------


def test_their_ids_under_my_campaign_are_404(owner_client, campaign):
    theirs = OrganizationFactory()
    sku = SkuFactory(organization=theirs)
    run = SkuImport.objects.create(
        organization=theirs, original_name="t.csv", file_hash="0" * 64, data=b"Code,Name\nT,T\n"
    )
    slug = campaign.slug
    assert owner_client.post(reverse("sku-delete", args=[slug, sku.pk])).status_code == 404
    assert owner_client.get(reverse("sku-import-detail", args=[slug, run.pk])).status_code == 404
    assert owner_client.post(reverse("sku-import-detail", args=[slug, run.pk])).status_code == 404
    assert (
        owner_client.get(reverse("sku-import-problems-csv", args=[slug, run.pk])).status_code == 404
    )
    assert Sku.objects.filter(pk=sku.pk).exists()
    run.refresh_from_db()
    assert run.state == SkuImportState.PREVIEWED


def test_import_history_lists_the_organizations_imports_only(owner_client, campaign):
    sister = CampaignFactory(organization=campaign.organization)
    for org, camp, name in [
        (campaign.organization, sister, "sister.csv"),
        (OrganizationFactory(), None, "foreign.csv"),
    ]:
        SkuImport.objects.create(
            organization=org, campaign=camp, original_name=name, file_hash="0", data=b""
        )
    html = owner_client.get(reverse("sku-import", args=[campaign.slug])).content.decode()
    assert "sister.csv" in html and "foreign.csv" not in html


def test_outsider_cannot_apply_or_delete_in_another_organization(outsider_client, campaign):
    sku = SkuFactory(organization=campaign.organization)
    run = SkuImport.objects.create(
        organization=campaign.organization,
        campaign=campaign,
        original_name="s.csv",
        file_hash="0" * 64,
        data=b"Code,Name\nNEW,New\n",
    )
    slug = campaign.slug
    assert outsider_client.post(reverse("sku-delete", args=[slug, sku.pk])).status_code == 404
    assert (
        outsider_client.post(reverse("sku-import-detail", args=[slug, run.pk])).status_code == 404
    )
    assert outsider_client.get(reverse("sku-export", args=[slug])).status_code == 404
    run.refresh_from_db()
    assert run.state == SkuImportState.PREVIEWED
    assert list(Sku.objects.values_list("pk", flat=True)) == [sku.pk]
