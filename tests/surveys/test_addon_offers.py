from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from djmoney.money import Money

from accounts.models import Role
from pledges.models import ChoiceGroup, ChoiceOption
from surveys.errors import AddOnInvalid
from surveys.models import AddOnOffer, AddOnOfferItem, ImportedAddOn
from surveys.services.addons import (
    add_addon_item,
    create_addon_offer,
    remove_addon_item,
    update_addon_item,
    update_addon_offer,
)
from tests.factories import (
    AddOnOfferFactory,
    CampaignFactory,
    OrganizationFactory,
    RewardFactory,
    SkuFactory,
)

from .conftest import login, pledge

# Measured on SQLite: session, user, membership, campaign, offers, their items (with
# SKUs), their tiers, mapped texts, add-ons texts aggregate, header memberships = 10
# for any number of offers.
LIST_QUERY_BOUND = 10


def _offer_data(**changes):
    data = {
        "name": "Playmat",
        "description": "Neoprene, 60 × 35 cm",
        "price": "15.00",
        "stock_limit": "",
        "per_backer_limit": "",
        "opens_at": "",
        "closes_at": "",
        "is_active": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# --- creating and editing offers ------------------------------------------------


def test_create_offer_with_every_term(owner_client, campaign, reward):
    other_tier = RewardFactory(campaign=campaign, title="Deluxe")
    response = owner_client.post(
        reverse("addon-create", args=[campaign.slug]),
        _offer_data(
            stock_limit="500",
            per_backer_limit="2",
            tiers=[reward.pk, other_tier.pk],
            opens_at="2026-03-01T10:00",
            closes_at="2026-04-01T10:00",
        ),
    )
    offer = AddOnOffer.objects.get(campaign=campaign)
    assert response.status_code == 302
    assert response["Location"] == reverse("addon-edit", args=[campaign.slug, offer.pk])
    assert offer.name == "Playmat"
    assert offer.price == Money("15.00", "USD")
    assert (offer.stock_limit, offer.per_backer_limit) == (500, 2)
    assert set(offer.tiers.all()) == {reward, other_tier}
    assert offer.opens_at == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert offer.closes_at == datetime(2026, 4, 1, 10, tzinfo=UTC)
    assert offer.is_active


def test_blank_limits_and_no_tier_mean_unlimited_and_every_tier(owner_client, campaign):
    owner_client.post(reverse("addon-create", args=[campaign.slug]), _offer_data())
    offer = AddOnOffer.objects.get(campaign=campaign)
    assert offer.stock_limit is None and offer.per_backer_limit is None
    assert not offer.tiers.exists()
    page = owner_client.get(reverse("addon-list", args=[campaign.slug])).content.decode()
    assert "Unlimited stock" in page and "All tiers" in page


def test_price_is_in_the_campaign_currency(owner_client, organization):
    euro = CampaignFactory(organization=organization, currency="EUR")
    response = owner_client.post(
        reverse("addon-create", args=[euro.slug]), _offer_data(price="12.50")
    )
    assert response.status_code == 302
    assert AddOnOffer.objects.get(campaign=euro).price == Money("12.50", "EUR")
    form_page = owner_client.get(reverse("addon-create", args=[euro.slug])).content.decode()
    assert "Price (EUR)" in form_page


def test_service_refuses_a_price_in_another_currency(campaign, owner):
    with pytest.raises(AddOnInvalid) as refused:
        create_addon_offer(
            campaign=campaign, actor=owner, name="Playmat", price=Money("15.00", "EUR")
        )
    assert refused.value.field == "price"
    assert "USD" in refused.value.message
    assert not AddOnOffer.objects.exists()


def test_negative_price_is_refused_next_to_the_field(owner_client, campaign):
    response = owner_client.post(
        reverse("addon-create", args=[campaign.slug]), _offer_data(price="-1")
    )
    assert response.status_code == 400
    assert "price" in response.context["form"].errors
    assert not AddOnOffer.objects.exists()


def test_closing_before_opening_is_refused_next_to_the_field(owner_client, campaign):
    response = owner_client.post(
        reverse("addon-create", args=[campaign.slug]),
        _offer_data(opens_at="2026-04-01T10:00", closes_at="2026-03-01T10:00"),
    )
    assert response.status_code == 400
    assert response.context["form"].errors["closes_at"] == ["The add-on must close after it opens."]
    assert "The add-on must close after it opens." in response.content.decode()
    assert not AddOnOffer.objects.exists()


def test_service_refuses_closing_when_it_opens(campaign, owner):
    moment = timezone.now()
    with pytest.raises(AddOnInvalid) as refused:
        create_addon_offer(
            campaign=campaign,
            actor=owner,
            name="Playmat",
            price=Money("15", "USD"),
            opens_at=moment,
            closes_at=moment,
        )
    assert refused.value.field == "closes_at"


def test_tier_of_another_campaign_is_refused(owner_client, campaign, organization):
    foreign_tier = RewardFactory(campaign=CampaignFactory(organization=organization))
    response = owner_client.post(
        reverse("addon-create", args=[campaign.slug]), _offer_data(tiers=[foreign_tier.pk])
    )
    assert response.status_code == 400
    assert "tiers" in response.context["form"].errors
    assert not AddOnOffer.objects.exists()


def test_service_refuses_a_tier_of_another_campaign(campaign, owner):
    foreign_tier = RewardFactory(campaign=CampaignFactory(organization=campaign.organization))
    with pytest.raises(AddOnInvalid) as refused:
        create_addon_offer(
            campaign=campaign,
            actor=owner,
            name="Playmat",
            price=Money("15", "USD"),
            tiers=[foreign_tier],
        )
    assert refused.value.field == "tiers"
    assert not AddOnOffer.objects.exists()


def test_edit_changes_the_terms(owner_client, campaign, reward):
    offer = AddOnOfferFactory(campaign=campaign, name="Mat")
    response = owner_client.post(
        reverse("addon-edit", args=[campaign.slug, offer.pk]),
        _offer_data(name="Big playmat", price="19.00", per_backer_limit="1", tiers=[reward.pk]),
    )
    assert response.status_code == 302
    offer.refresh_from_db()
    assert (offer.name, offer.price, offer.per_backer_limit) == (
        "Big playmat",
        Money("19.00", "USD"),
        1,
    )
    assert list(offer.tiers.all()) == [reward]


def test_edit_page_shows_the_current_terms(owner_client, campaign, reward):
    offer = AddOnOfferFactory(campaign=campaign, name="Mat", stock_limit=300)
    offer.tiers.set([reward])
    response = owner_client.get(reverse("addon-edit", args=[campaign.slug, offer.pk]))
    form = response.context["form"]
    assert form["name"].value() == "Mat"
    assert form["stock_limit"].value() == 300
    assert [int(pk) for pk in form["tiers"].value()] == [reward.pk]


def test_service_update_refuses_a_foreign_tier_and_keeps_the_offer(campaign, owner):
    offer = AddOnOfferFactory(campaign=campaign, name="Mat")
    foreign_tier = RewardFactory(campaign=CampaignFactory())
    with pytest.raises(AddOnInvalid):
        update_addon_offer(
            offer=offer,
            actor=owner,
            name="Changed",
            price=Money("1", "USD"),
            description="",
            stock_limit=None,
            per_backer_limit=None,
            tiers=[foreign_tier],
            opens_at=None,
            closes_at=None,
            is_active=True,
        )
    offer.refresh_from_db()
    assert offer.name == "Mat"


def test_delete_removes_the_offer_and_unmaps_its_texts(owner_client, campaign, mat):
    offer = AddOnOfferFactory(campaign=campaign)
    AddOnOfferItem.objects.create(offer=offer, sku=mat)
    mapping = ImportedAddOn.objects.create(campaign=campaign, text="Playmat", offer=offer)
    response = owner_client.post(reverse("addon-delete", args=[campaign.slug, offer.pk]))
    assert response.status_code == 302
    assert not AddOnOffer.objects.filter(pk=offer.pk).exists()
    mapping.refresh_from_db()
    assert mapping.offer is None and not mapping.is_mapped


def test_delete_needs_post(owner_client, campaign):
    offer = AddOnOfferFactory(campaign=campaign)
    assert (
        owner_client.get(reverse("addon-delete", args=[campaign.slug, offer.pk])).status_code == 405
    )
    assert AddOnOffer.objects.filter(pk=offer.pk).exists()


def test_offer_of_another_campaign_of_the_same_organization_is_404(owner_client, campaign):
    sibling = AddOnOfferFactory(campaign=CampaignFactory(organization=campaign.organization))
    url = reverse("addon-edit", args=[campaign.slug, sibling.pk])
    assert owner_client.get(url).status_code == 404
    assert owner_client.post(url, _offer_data(name="Hijacked")).status_code == 404
    sibling.refresh_from_db()
    assert sibling.name != "Hijacked"


# --- components ------------------------------------------------------------------


def _add(client, offer, sku, quantity=1):
    return client.post(
        reverse("addon-item-add", args=[offer.campaign.slug, offer.pk]),
        {"sku": sku.pk, "quantity": quantity},
    )


def test_components_make_a_bundle_shown_in_the_list(owner_client, campaign, mat, sleeves):
    offer = AddOnOfferFactory(campaign=campaign, name="Deluxe pack")
    assert _add(owner_client, offer, mat).status_code == 302
    assert _add(owner_client, offer, sleeves, 2).status_code == 302
    assert [(i.sku.code, i.quantity) for i in offer.items.order_by("pk")] == [
        ("MAT", 1),
        ("SLV", 2),
    ]
    page = owner_client.get(reverse("addon-list", args=[campaign.slug])).content.decode()
    assert "Bundle: 1 × MAT, 2 × SLV" in page


def test_single_component_is_not_called_a_bundle(owner_client, campaign, mat):
    offer = AddOnOfferFactory(campaign=campaign)
    _add(owner_client, offer, mat, 3)
    page = owner_client.get(reverse("addon-list", args=[campaign.slug])).content.decode()
    assert "3 × MAT" in page and "Bundle" not in page


def test_offer_that_ships_nothing_is_flagged_in_the_list(owner_client, campaign):
    AddOnOfferFactory(campaign=campaign)
    page = owner_client.get(reverse("addon-list", args=[campaign.slug])).content.decode()
    assert "No SKU yet" in page


def test_offer_made_only_of_a_choice_is_not_flagged(owner_client, campaign):
    offer = AddOnOfferFactory(campaign=campaign)
    ChoiceGroup.objects.create(campaign=campaign, addon_offer=offer, name="Colour")
    page = owner_client.get(reverse("addon-list", args=[campaign.slug])).content.decode()
    assert "No SKU yet" not in page and "The backer's choice" in page


def test_sku_of_another_organization_is_refused_next_to_the_field(owner_client, campaign):
    offer = AddOnOfferFactory(campaign=campaign)
    foreign = SkuFactory(organization=OrganizationFactory(), code="THEIRS")
    response = _add(owner_client, offer, foreign)
    assert response.status_code == 400
    assert response.context["item_form"].errors["sku"] == [
        "Choose one of your organization's SKUs."
    ]
    assert "Choose one of your organization&#x27;s SKUs." in response.content.decode()
    assert not offer.items.exists()


def test_service_refuses_a_sku_of_another_organization(campaign, owner):
    offer = AddOnOfferFactory(campaign=campaign)
    with pytest.raises(AddOnInvalid) as refused:
        add_addon_item(offer=offer, sku=SkuFactory(), quantity=1, actor=owner)
    assert refused.value.field == "sku"
    assert not offer.items.exists()


def test_the_same_sku_twice_is_refused_with_a_hint(owner_client, campaign, mat):
    offer = AddOnOfferFactory(campaign=campaign)
    _add(owner_client, offer, mat)
    response = _add(owner_client, offer, mat, 2)
    assert response.status_code == 400
    assert "already part of this add-on" in response.context["item_form"].errors["sku"][0]
    assert offer.items.get().quantity == 1


def test_change_a_component_quantity(owner_client, campaign, mat):
    offer = AddOnOfferFactory(campaign=campaign)
    item = AddOnOfferItem.objects.create(offer=offer, sku=mat, quantity=1)
    response = owner_client.post(
        reverse("addon-item-update", args=[campaign.slug, offer.pk, item.pk]), {"quantity": 4}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.quantity == 4


def test_zero_quantity_is_refused_next_to_the_component(owner_client, campaign, mat):
    offer = AddOnOfferFactory(campaign=campaign)
    item = AddOnOfferItem.objects.create(offer=offer, sku=mat, quantity=2)
    response = owner_client.post(
        reverse("addon-item-update", args=[campaign.slug, offer.pk, item.pk]), {"quantity": 0}
    )
    assert response.status_code == 400
    shown = {i.pk: i.errors for i in response.context["items"]}
    assert shown[item.pk]
    item.refresh_from_db()
    assert item.quantity == 2
    with pytest.raises(AddOnInvalid):
        update_addon_item(item=item, quantity=0, actor=None)


def test_remove_a_component(owner_client, campaign, mat, sleeves):
    offer = AddOnOfferFactory(campaign=campaign)
    kept = AddOnOfferItem.objects.create(offer=offer, sku=mat)
    gone = AddOnOfferItem.objects.create(offer=offer, sku=sleeves)
    response = owner_client.post(
        reverse("addon-item-delete", args=[campaign.slug, offer.pk, gone.pk])
    )
    assert response.status_code == 302
    assert list(offer.items.all()) == [kept]


def test_component_of_another_offer_is_404(owner_client, campaign, mat):
    offer = AddOnOfferFactory(campaign=campaign)
    other = AddOnOfferFactory(campaign=campaign)
    item = AddOnOfferItem.objects.create(offer=other, sku=mat, quantity=1)
    url = reverse("addon-item-update", args=[campaign.slug, offer.pk, item.pk])
    assert owner_client.post(url, {"quantity": 9}).status_code == 404
    delete = reverse("addon-item-delete", args=[campaign.slug, offer.pk, item.pk])
    assert owner_client.post(delete).status_code == 404
    item.refresh_from_db()
    assert item.quantity == 1


# --- choice groups shown read-only ---------------------------------------------


def test_edit_page_lists_the_offer_choice_groups(owner_client, campaign, mat, sleeves):
    offer = AddOnOfferFactory(campaign=campaign)
    group = ChoiceGroup.objects.create(campaign=campaign, addon_offer=offer, name="Colour")
    ChoiceOption.objects.create(group=group, label="Red", sku=mat, is_default=True)
    ChoiceOption.objects.create(group=group, label="Blue", sku=sleeves, quantity=2)
    page = owner_client.get(reverse("addon-edit", args=[campaign.slug, offer.pk])).content.decode()
    assert "Colour" in page
    assert "Red → 1 × MAT" in page and "Blue → 2 × SLV" in page


def test_edit_page_links_to_the_offer_choice_editor(owner_client, campaign):
    offer = AddOnOfferFactory(campaign=campaign)
    page = owner_client.get(reverse("addon-edit", args=[campaign.slug, offer.pk])).content.decode()
    assert f'href="{reverse("addon-choices", args=[campaign.slug, offer.pk])}"' in page


# --- the map lock ------------------------------------------------------------------


def _lock(campaign, owner):
    campaign.sku_map_locked_at = timezone.now()
    campaign.sku_map_locked_by = owner
    campaign.save(update_fields=["sku_map_locked_at", "sku_map_locked_by"])


def _writes(campaign, offer, item, other_sku):
    slug = campaign.slug
    return [
        (reverse("addon-create", args=[slug]), _offer_data(name="New")),
        (reverse("addon-edit", args=[slug, offer.pk]), _offer_data(name="Renamed")),
        (reverse("addon-delete", args=[slug, offer.pk]), {}),
        (reverse("addon-item-add", args=[slug, offer.pk]), {"sku": other_sku.pk, "quantity": 1}),
        (reverse("addon-item-update", args=[slug, offer.pk, item.pk]), {"quantity": 7}),
        (reverse("addon-item-delete", args=[slug, offer.pk, item.pk]), {}),
        (
            reverse("imported-addon-list", args=[slug]),
            {
                "map-TOTAL_FORMS": "1",
                "map-INITIAL_FORMS": "1",
                "map-0-text": "Playmat",
                "map-0-target": "included",
                "map-0-units_per_item": "1",
            },
        ),
    ]


def _state(campaign):
    return (
        list(AddOnOffer.objects.filter(campaign=campaign).values_list("pk", "name", "price")),
        list(
            AddOnOfferItem.objects.filter(offer__campaign=campaign).values_list(
                "pk", "sku", "quantity"
            )
        ),
        list(
            ImportedAddOn.objects.filter(campaign=campaign).values_list(
                "text", "offer", "included_in_reward"
            )
        ),
    )


@pytest.mark.parametrize("write", range(7))
def test_locked_map_refuses_every_write(owner_client, campaign, owner, mat, sleeves, write):
    offer = AddOnOfferFactory(campaign=campaign, name="Mat")
    item = AddOnOfferItem.objects.create(offer=offer, sku=mat, quantity=1)
    ImportedAddOn.objects.create(campaign=campaign, text="Playmat", offer=offer)
    pledge(campaign, "Playmat × 1")
    _lock(campaign, owner)
    before = _state(campaign)
    url, data = _writes(campaign, offer, item, sleeves)[write]
    response = owner_client.post(url, data)
    assert response.status_code == 409
    assert "The SKU map is locked" in response.content.decode()
    assert _state(campaign) == before


def test_locked_map_still_shows_the_pages(owner_client, campaign, owner):
    offer = AddOnOfferFactory(campaign=campaign)
    _lock(campaign, owner)
    for url in (
        reverse("addon-list", args=[campaign.slug]),
        reverse("addon-edit", args=[campaign.slug, offer.pk]),
        reverse("imported-addon-list", args=[campaign.slug]),
    ):
        response = owner_client.get(url)
        assert response.status_code == 200
        assert "SKU map locked" in response.content.decode()


def test_service_refuses_while_locked(campaign, owner, mat):
    offer = AddOnOfferFactory(campaign=campaign)
    item = AddOnOfferItem.objects.create(offer=offer, sku=mat)
    _lock(campaign, owner)
    from pledges.errors import SkuMapLocked

    with pytest.raises(SkuMapLocked):
        create_addon_offer(campaign=campaign, actor=owner, name="X", price=Money("1", "USD"))
    with pytest.raises(SkuMapLocked):
        remove_addon_item(item=item, actor=owner)
    assert AddOnOffer.objects.count() == 1 and offer.items.count() == 1


# --- roles -----------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.WAREHOUSE])
def test_read_only_roles_see_the_pages_without_edit_controls(client, organization, campaign, role):
    offer = AddOnOfferFactory(campaign=campaign, name="Playmat")
    login(client, organization, role)
    listing = client.get(reverse("addon-list", args=[campaign.slug]))
    assert listing.status_code == 200
    assert "Playmat" in listing.content.decode()
    assert reverse("addon-create", args=[campaign.slug]) not in listing.content.decode()
    edit = client.get(reverse("addon-edit", args=[campaign.slug, offer.pk]))
    assert edit.status_code == 200
    assert reverse("addon-delete", args=[campaign.slug, offer.pk]) not in edit.content.decode()
    assert client.get(reverse("imported-addon-list", args=[campaign.slug])).status_code == 200


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.WAREHOUSE])
@pytest.mark.parametrize("write", range(7))
def test_read_only_roles_get_403_on_every_write(
    client, organization, campaign, mat, sleeves, role, write
):
    offer = AddOnOfferFactory(campaign=campaign, name="Mat")
    item = AddOnOfferItem.objects.create(offer=offer, sku=mat, quantity=1)
    pledge(campaign, "Playmat × 1")
    login(client, organization, role)
    before = _state(campaign)
    url, data = _writes(campaign, offer, item, sleeves)[write]
    assert client.post(url, data).status_code == 403
    assert _state(campaign) == before


def test_read_only_role_cannot_open_the_create_form(client, organization, campaign):
    login(client, organization, Role.SUPPORT)
    assert client.get(reverse("addon-create", args=[campaign.slug])).status_code == 403


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
def test_owner_and_manager_may_change(client, organization, campaign, role):
    login(client, organization, role)
    response = client.post(reverse("addon-create", args=[campaign.slug]), _offer_data())
    assert response.status_code == 302


# --- the list ----------------------------------------------------------------------


def _offers_with_everything(campaign, count, start=0):
    reward = RewardFactory(campaign=campaign)
    for n in range(start, start + count):
        offer = AddOnOfferFactory(campaign=campaign, name=f"Offer {n}", stock_limit=10 + n)
        offer.tiers.set([reward])
        AddOnOfferItem.objects.create(
            offer=offer, sku=SkuFactory(organization=campaign.organization), quantity=2
        )
        AddOnOfferItem.objects.create(
            offer=offer, sku=SkuFactory(organization=campaign.organization), quantity=1
        )
        ChoiceGroup.objects.create(campaign=campaign, addon_offer=offer, name="Colour")
        ImportedAddOn.objects.create(campaign=campaign, text=f"Thing {n}", offer=offer)
        pledge(campaign, f"Thing {n} × 2")


def test_list_query_count_does_not_grow_with_offers(
    owner_client, campaign, django_assert_max_num_queries
):
    url = reverse("addon-list", args=[campaign.slug])
    _offers_with_everything(campaign, 1)
    with CaptureQueriesContext(connection) as few:
        owner_client.get(url)
    _offers_with_everything(campaign, 8, start=1)
    with django_assert_max_num_queries(LIST_QUERY_BOUND):
        response = owner_client.get(url)
    with CaptureQueriesContext(connection) as many:
        owner_client.get(url)
    assert len(response.context["offers"]) == 9
    assert len(many) == len(few)


def test_list_shows_price_limits_tiers_dates_and_status(owner_client, campaign, reward):
    offer = AddOnOfferFactory(
        campaign=campaign,
        name="Playmat",
        price=Money("15.00", "USD"),
        stock_limit=250,
        per_backer_limit=2,
        opens_at=datetime(2020, 1, 1, tzinfo=UTC),
        closes_at=datetime(2020, 2, 1, tzinfo=UTC),
    )
    offer.tiers.set([reward])
    AddOnOfferFactory(campaign=campaign, name="Pin", is_active=False)
    AddOnOfferFactory(campaign=campaign, name="Dice", opens_at=timezone.now().replace(year=2099))
    AddOnOfferFactory(campaign=campaign, name="Poster")
    response = owner_client.get(reverse("addon-list", args=[campaign.slug]))
    page = response.content.decode()
    assert "$15.00" in page
    assert "250 for sale" in page and "2 per backer" in page
    assert "Core box" in page
    assert "1 Jan 2020 – 1 Feb 2020" in page
    statuses = {o.name: o.status for o in response.context["offers"]}
    assert statuses == {
        "Playmat": "closed",
        "Pin": "inactive",
        "Dice": "scheduled",
        "Poster": "open",
    }


def test_list_counts_imported_backers_holding_each_offer(owner_client, campaign, reward):
    mat = AddOnOfferFactory(campaign=campaign, name="Playmat")
    tower = AddOnOfferFactory(campaign=campaign, name="Dice tower")
    ImportedAddOn.objects.create(campaign=campaign, text="Playmat", offer=mat)
    # Two texts for the same offer: a backer with both still counts once.
    ImportedAddOn.objects.create(campaign=campaign, text="Playmat XL", offer=mat, units_per_item=2)
    ImportedAddOn.objects.create(campaign=campaign, text="Dice Tower", offer=tower)
    pledge(campaign, "Dice Tower × 2; Playmat × 1", reward=reward)
    pledge(campaign, "Playmat × 1; Playmat XL × 1", reward=reward)
    pledge(campaign, "Dice Tower × 1", reward=reward)
    pledge(campaign, "Dice Tower × 5", reward=reward, status="dropped")
    pledge(CampaignFactory(organization=campaign.organization), "Playmat × 9")
    response = owner_client.get(reverse("addon-list", args=[campaign.slug]))
    held = {o.name: (o.held.backers, o.held.units) for o in response.context["offers"]}
    assert held == {"Playmat": (2, 1 + 1 + 2), "Dice tower": (2, 3)}


def test_create_from_an_imported_text_is_prefilled_and_maps_it(owner_client, campaign):
    url = reverse("addon-create", args=[campaign.slug])
    form = owner_client.get(url, {"from_text": "Dice Tower", "price": "12.00"}).context["form"]
    assert form["name"].value() == "Dice Tower"
    assert form["price"].value() == Decimal("12.00")
    assert form["imported_text"].value() == "Dice Tower"
    response = owner_client.post(
        url, _offer_data(name="Dice tower", price="12.00", imported_text="Dice Tower")
    )
    assert response.status_code == 302
    offer = AddOnOffer.objects.get(campaign=campaign)
    mapping = ImportedAddOn.objects.get(campaign=campaign, text="Dice Tower")
    assert mapping.offer == offer and mapping.units_per_item == 1


# --- tenancy -------------------------------------------------------------------------


def test_outsider_gets_404_on_every_write_and_nothing_changes(
    outsider_client, campaign, mat, sleeves
):
    offer = AddOnOfferFactory(campaign=campaign, name="Mat")
    item = AddOnOfferItem.objects.create(offer=offer, sku=mat, quantity=1)
    ImportedAddOn.objects.create(campaign=campaign, text="Playmat", offer=offer)
    pledge(campaign, "Playmat × 1")
    before = _state(campaign)
    for url, data in _writes(campaign, offer, item, sleeves):
        assert outsider_client.post(url, data).status_code == 404
    assert _state(campaign) == before


@pytest.mark.parametrize("price", ["abc", "NaN", "Infinity", "-3", ""])
def test_create_form_ignores_a_price_that_is_not_one(owner_client, campaign, price):
    url = reverse("addon-create", args=[campaign.slug])
    response = owner_client.get(url, {"from_text": "Dice Tower", "price": price})
    assert response.status_code == 200
    assert response.context["form"]["price"].value() is None


@pytest.mark.parametrize("field", ["stock_limit", "per_backer_limit"])
def test_absurd_limits_are_field_errors_not_server_errors(owner_client, campaign, field):
    offer = AddOnOfferFactory(campaign=campaign)
    url = reverse("addon-edit", args=[campaign.slug, offer.pk])
    data = {"name": offer.name, "price": "15.00", "is_active": "on", field: "99999999999999999999"}
    response = owner_client.post(url, data)
    assert response.status_code in (200, 400)
    assert "less than or equal to" in response.content.decode()
    offer.refresh_from_db()
    assert getattr(offer, field) is None


def test_absurd_component_quantity_is_a_field_error(owner_client, campaign):
    offer = AddOnOfferFactory(campaign=campaign)
    sku = SkuFactory(organization=campaign.organization)
    url = reverse("addon-item-add", args=[campaign.slug, offer.pk])
    response = owner_client.post(url, {"sku": sku.pk, "quantity": "99999999999999999999"})
    assert response.status_code in (200, 302, 400)
    assert not offer.items.exists()


def test_a_locked_map_shows_the_offer_read_only(owner_client, campaign):
    from django.utils import timezone

    offer = AddOnOfferFactory(campaign=campaign)
    url = reverse("addon-edit", args=[campaign.slug, offer.pk])
    assert "Save add-on" in owner_client.get(url).content.decode()
    campaign.sku_map_locked_at = timezone.now()
    campaign.save(update_fields=["sku_map_locked_at"])
    page = owner_client.get(url).content.decode()
    assert "Save add-on" not in page and "Remove" not in page
    assert "The SKU map is locked" in page
