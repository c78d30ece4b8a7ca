"""The zone, fee and band pages: what they show, what they save, who may use them."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Role
from shipping.models import RewardZoneFee, ShippingMethod, ShippingProfile, ShippingZone, WeightBand
from shipping.services import zones
from tests.factories import AddOnOfferFactory, RewardFactory

from .conftest import login


def url(name, campaign, *args):
    return reverse(name, args=[campaign.slug, *args])


# --- zones ---------------------------------------------------------------------------


def test_zone_list_shows_each_zone_with_its_destinations(owner_client, zoned):
    page = owner_client.get(url("shipping-zones", zoned.campaign)).content.decode()
    assert "Germany, France, United Kingdom" in page
    assert "US-AK, US-HI" in page
    assert "GB:HS, GB:ZE" in page
    assert "rest of world</span>" in page


def test_shipping_is_a_stage_of_the_campaign(owner_client, zoned):
    page = owner_client.get(url("campaign-overview", zoned.campaign)).content.decode()
    assert f'href="{url("shipping-zones", zoned.campaign)}"' in page


def test_zone_is_created_from_the_form(owner_client, shop):
    response = owner_client.post(
        url("shipping-zone-create", shop.campaign),
        {
            "name": "Europe",
            "countries": "EU, United Kingdom",
            "regions": "",
            "postal_prefixes": "gb:bt",
        },
    )
    assert response.status_code == 302
    zone = ShippingZone.objects.get(campaign=shop.campaign)
    assert len(zone.countries) == 28 and "GB" in zone.countries
    assert zone.postal_prefixes == ["GB:BT"]


def test_badly_written_country_is_shown_next_to_the_field(owner_client, shop):
    response = owner_client.post(
        url("shipping-zone-create", shop.campaign), {"name": "Europe", "countries": "DE, Narnia"}
    )
    assert response.status_code == 400
    assert "“Narnia” is not a country" in response.content.decode()
    assert not ShippingZone.objects.exists()


def test_overlapping_zone_is_refused_with_the_reason(owner_client, zoned):
    response = owner_client.post(
        url("shipping-zone-create", zoned.campaign), {"name": "France", "countries": "FR"}
    )
    assert response.status_code == 400
    assert "France is already in zone “Europe”." in response.content.decode()


def test_zone_is_edited_from_the_form(owner_client, zoned):
    response = owner_client.post(
        url("shipping-zone-edit", zoned.campaign, zoned.europe.pk),
        {"name": "Europe+", "countries": "DE, FR, GB, IT", "position": "0"},
    )
    assert response.status_code == 302
    zoned.europe.refresh_from_db()
    assert (zoned.europe.name, zoned.europe.countries) == ("Europe+", ["DE", "FR", "GB", "IT"])


def test_zone_form_shows_the_zones_values(owner_client, zoned):
    page = owner_client.get(
        url("shipping-zone-edit", zoned.campaign, zoned.remote_us.pk)
    ).content.decode()
    assert "US-AK, US-HI" in page


def test_zone_is_deleted(owner_client, zoned):
    response = owner_client.post(url("shipping-zone-delete", zoned.campaign, zoned.islands.pk))
    assert response.status_code == 302
    assert not ShippingZone.objects.filter(pk=zoned.islands.pk).exists()


def test_excluded_countries_are_saved(owner_client, zoned):
    response = owner_client.post(
        url("shipping-excluded", zoned.campaign), {"countries": "Belarus, RU"}
    )
    assert response.status_code == 302
    assert ShippingProfile.objects.get(campaign=zoned.campaign).excluded_countries == ["BY", "RU"]


def test_excluding_a_zones_country_is_refused_on_the_page(owner_client, zoned):
    response = owner_client.post(url("shipping-excluded", zoned.campaign), {"countries": "DE"})
    assert response.status_code == 400
    assert "remove it from the zone before excluding it" in response.content.decode()


def test_zone_list_costs_a_fixed_number_of_queries(
    owner_client, zoned, django_assert_max_num_queries
):
    for i in range(10):
        zones.create_zone(campaign=zoned.campaign, name=f"Zone {i}", postal_prefixes=[f"US:{i}"])
    with django_assert_max_num_queries(9):
        owner_client.get(url("shipping-zones", zoned.campaign))


# --- method and fees -----------------------------------------------------------------


def test_method_is_saved(owner_client, zoned):
    response = owner_client.post(
        url("shipping-method", zoned.campaign),
        {"method": "weight_bands", "use_volumetric": "on", "volumetric_divisor": "6000"},
    )
    assert response.status_code == 302
    profile = ShippingProfile.objects.get(campaign=zoned.campaign)
    assert (profile.method, profile.use_volumetric, profile.volumetric_divisor) == (
        ShippingMethod.WEIGHT_BANDS,
        True,
        6000,
    )
    assert profile.credit_platform_shipping is False  # unticked


def test_fee_grid_shows_rewards_by_zones(owner_client, zoned):
    page = owner_client.get(url("shipping-fees", zoned.campaign)).content.decode()
    name = f"fee-{zoned.core.pk}-{zoned.europe.pk}"
    assert f'name="{name}" id="id_{name}" value="12.00"' in page


def test_reward_fee_grid_is_saved(owner_client, zoned):
    data = {
        f"fee-{zoned.core.pk}-{zoned.europe.pk}": "11.50",
        f"fee-{zoned.deluxe.pk}-{zoned.europe.pk}": "",
    }
    response = owner_client.post(url("shipping-reward-fees", zoned.campaign), data)
    assert response.status_code == 302
    assert RewardZoneFee.objects.get(reward=zoned.core, zone=zoned.europe).fee.amount == Decimal(
        "11.50"
    )
    assert not RewardZoneFee.objects.filter(reward=zoned.deluxe, zone=zoned.europe).exists()


def test_negative_cell_is_shown_and_nothing_saved(owner_client, zoned):
    data = {
        f"fee-{zoned.core.pk}-{zoned.europe.pk}": "-3",
        f"fee-{zoned.deluxe.pk}-{zoned.europe.pk}": "1",
    }
    response = owner_client.post(url("shipping-reward-fees", zoned.campaign), data)
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert RewardZoneFee.objects.get(reward=zoned.deluxe, zone=zoned.europe).fee.amount == Decimal(
        "15.00"
    )


def test_add_on_fee_grid_is_saved(owner_client, zoned):
    data = {f"fee-{zoned.playmat.pk}-{zoned.world.pk}": "7"}
    response = owner_client.post(url("shipping-addon-fees", zoned.campaign), data)
    assert response.status_code == 302
    assert zoned.playmat.shipping_fees.get(zone=zoned.world).fee.amount == Decimal("7.00")


def test_fee_page_costs_a_fixed_number_of_queries(
    owner_client, zoned, django_assert_max_num_queries
):
    for i in range(8):
        RewardFactory(campaign=zoned.campaign, title=f"Tier {i}")
        AddOnOfferFactory(campaign=zoned.campaign, name=f"Extra {i}")
    with django_assert_max_num_queries(12):
        owner_client.get(url("shipping-fees", zoned.campaign))


def test_weight_bands_are_saved_from_the_page(owner_client, zoned):
    data = {
        "band-TOTAL_FORMS": "4",
        "band-INITIAL_FORMS": "3",
        "band-0-up_to_g": "1000",
        "band-0-fee": "8",
        "band-1-up_to_g": "3000",
        "band-1-fee": "18",
        "band-1-DELETE": "on",
        "band-2-up_to_g": "6000",
        "band-2-fee": "26",
        "band-3-up_to_g": "20000",
        "band-3-fee": "40",
    }
    response = owner_client.post(url("shipping-zone-bands", zoned.campaign, zoned.europe.pk), data)
    assert response.status_code == 302
    assert list(WeightBand.objects.filter(zone=zoned.europe).values_list("up_to_g", flat=True)) == [
        1000,
        6000,
        20000,
    ]


def test_band_with_a_weight_but_no_fee_is_refused(owner_client, zoned):
    data = {
        "band-TOTAL_FORMS": "1",
        "band-INITIAL_FORMS": "0",
        "band-0-up_to_g": "1000",
        "band-0-fee": "",
    }
    response = owner_client.post(url("shipping-zone-bands", zoned.campaign, zoned.europe.pk), data)
    assert response.status_code == 400
    assert "Give both the weight and the fee" in response.content.decode()
    assert WeightBand.objects.filter(zone=zoned.europe).count() == 3


# --- who may do what -----------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.WAREHOUSE])
@pytest.mark.parametrize(
    "name",
    [
        "shipping-zones",
        "shipping-fees",
        "shipping-calculator",
        "shipping-rate-cards",
        "shipping-margins",
    ],
)
def test_every_role_may_see_the_shipping_pages(client, zoned, role, name):
    login(client, zoned.campaign.organization, role)
    assert client.get(url(name, zoned.campaign)).status_code == 200


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.WAREHOUSE])
def test_support_and_warehouse_cannot_change_zones(client, zoned, role):
    login(client, zoned.campaign.organization, role)
    assert (
        client.post(url("shipping-zone-delete", zoned.campaign, zoned.europe.pk)).status_code == 403
    )
    assert (
        client.post(
            url("shipping-zone-create", zoned.campaign), {"name": "X", "countries": "JP"}
        ).status_code
        == 403
    )
    assert (
        client.post(url("shipping-excluded", zoned.campaign), {"countries": ""}).status_code == 403
    )
    assert ShippingZone.objects.filter(campaign=zoned.campaign).count() == 5


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.WAREHOUSE])
def test_support_and_warehouse_cannot_change_fees(client, zoned, role):
    login(client, zoned.campaign.organization, role)
    cell = {f"fee-{zoned.core.pk}-{zoned.europe.pk}": "1"}
    assert client.post(url("shipping-reward-fees", zoned.campaign), cell).status_code == 403
    assert (
        client.post(url("shipping-method", zoned.campaign), {"method": "weight_bands"}).status_code
        == 403
    )
    bands = {"band-TOTAL_FORMS": "0", "band-INITIAL_FORMS": "0"}
    assert (
        client.post(url("shipping-zone-bands", zoned.campaign, zoned.europe.pk), bands).status_code
        == 403
    )
    assert RewardZoneFee.objects.get(reward=zoned.core, zone=zoned.europe).fee.amount == Decimal(
        "12.00"
    )


def test_read_only_roles_see_no_edit_buttons(client, zoned):
    login(client, zoned.campaign.organization, Role.SUPPORT)
    page = client.get(url("shipping-zones", zoned.campaign)).content.decode()
    assert "New zone" not in page
    assert url("shipping-zone-delete", zoned.campaign, zoned.europe.pk) not in page


def test_manager_may_change_zones(client, zoned):
    login(client, zoned.campaign.organization, Role.MANAGER)
    assert (
        client.post(url("shipping-zone-delete", zoned.campaign, zoned.islands.pk)).status_code
        == 302
    )


def test_outsider_posts_change_nothing_of_the_victims_shipping(outsider_client, zoned):
    for name, args in [
        ("shipping-zone-delete", [zoned.europe.pk]),
        ("shipping-zone-edit", [zoned.europe.pk]),
        ("shipping-excluded", []),
    ]:
        response = outsider_client.post(
            url(name, zoned.campaign, *args), {"name": "Mine", "countries": "DE"}
        )
        assert response.status_code == 404
    zoned.europe.refresh_from_db()
    assert zoned.europe.name == "Europe"
    assert ShippingProfile.objects.get(campaign=zoned.campaign).excluded_countries == ["RU"]
