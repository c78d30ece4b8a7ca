"""Zones: which zone a destination falls in, and the rules a zone keeps."""

import pytest

from shipping.errors import ShippingError, ShipsNowhere, ZoneConflict, ZoneInvalid
from shipping.models import ShippingZone
from shipping.services import profiles, zones
from shipping.services.quotes import zone_for


def test_country_zone_matches_its_countries(zoned):
    assert zone_for(campaign=zoned.campaign, country="FR") == zoned.europe


def test_country_code_is_read_in_any_case(zoned):
    assert zone_for(campaign=zoned.campaign, country=" de ") == zoned.europe


def test_region_wins_over_its_country(zoned):
    assert zone_for(campaign=zoned.campaign, country="US", region="AK") == zoned.remote_us


def test_region_is_matched_by_iso_code_or_name(zoned):
    assert zone_for(campaign=zoned.campaign, country="US", region="US-HI") == zoned.remote_us
    assert zone_for(campaign=zoned.campaign, country="US", region="Alaska") == zoned.remote_us


def test_other_region_of_the_country_stays_in_the_country_zone(zoned):
    assert zone_for(campaign=zoned.campaign, country="US", region="CA") == zoned.us


def test_postal_prefix_wins_over_country(zoned):
    zone = zone_for(campaign=zoned.campaign, country="GB", postal_code="hs1 2aa")
    assert zone == zoned.islands


def test_postal_prefix_of_another_country_does_not_match(zoned):
    assert zone_for(campaign=zoned.campaign, country="FR", postal_code="HS123") == zoned.europe


def test_postal_prefix_wins_over_region(shop):
    campaign = shop.campaign
    zones.create_zone(campaign=campaign, name="Alaska", regions=["US-AK"])
    juneau = zones.create_zone(campaign=campaign, name="Juneau", postal_prefixes=["US:998"])
    assert zone_for(campaign=campaign, country="US", region="AK", postal_code="99801") == juneau


def test_longest_postal_prefix_wins(shop):
    campaign = shop.campaign
    zones.create_zone(campaign=campaign, name="Northern Ireland", postal_prefixes=["GB:BT"])
    belfast = zones.create_zone(campaign=campaign, name="Belfast 1", postal_prefixes=["GB:BT1"])
    assert zone_for(campaign=campaign, country="GB", postal_code="BT1 5GS") == belfast


def test_rest_of_world_takes_countries_no_zone_names(zoned):
    assert zone_for(campaign=zoned.campaign, country="JP") == zoned.world


def test_excluded_country_ships_nowhere_even_with_rest_of_world(zoned):
    with pytest.raises(ShipsNowhere) as caught:
        zone_for(campaign=zoned.campaign, country="RU")
    assert caught.value.code == "ships_nowhere"


def test_country_in_no_zone_ships_nowhere_without_rest_of_world(shop):
    zones.create_zone(campaign=shop.campaign, name="Europe", countries=["DE"])
    with pytest.raises(ShipsNowhere):
        zone_for(campaign=shop.campaign, country="JP")


def test_missing_country_ships_nowhere(zoned):
    with pytest.raises(ShipsNowhere):
        zone_for(campaign=zoned.campaign, country="")


def test_country_in_two_zones_is_refused(zoned):
    with pytest.raises(ZoneConflict) as caught:
        zones.create_zone(campaign=zoned.campaign, name="France", countries=["FR"])
    assert caught.value.field == "countries"
    assert "Europe" in caught.value.message


def test_country_may_have_its_region_in_another_zone(zoned):
    zone = zones.create_zone(campaign=zoned.campaign, name="Puerto Rico", regions=["US-PR"])
    assert zone.regions == ["US-PR"]


def test_region_in_two_zones_is_refused(zoned):
    with pytest.raises(ZoneConflict):
        zones.create_zone(campaign=zoned.campaign, name="Alaska", regions=["US-AK"])


def test_postal_prefix_in_two_zones_is_refused(zoned):
    with pytest.raises(ZoneConflict):
        zones.create_zone(campaign=zoned.campaign, name="Hebrides", postal_prefixes=["GB:hs"])


def test_second_rest_of_world_is_refused(zoned):
    with pytest.raises(ZoneConflict) as caught:
        zones.create_zone(campaign=zoned.campaign, name="Elsewhere", is_rest_of_world=True)
    assert caught.value.field == "is_rest_of_world"


def test_rest_of_world_names_no_countries(shop):
    with pytest.raises(ZoneInvalid):
        zones.create_zone(
            campaign=shop.campaign, name="World", countries=["JP"], is_rest_of_world=True
        )


def test_zone_needs_a_destination(shop):
    with pytest.raises(ZoneInvalid) as caught:
        zones.create_zone(campaign=shop.campaign, name="Nowhere")
    assert caught.value.code == "zone_invalid"


def test_zone_names_are_unique_ignoring_case(zoned):
    with pytest.raises(ZoneConflict) as caught:
        zones.create_zone(campaign=zoned.campaign, name="EUROPE", countries=["IT"])
    assert caught.value.field == "name"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("countries", ["XX"]),
        ("regions", ["US-ZZ"]),
        ("regions", ["Alaska"]),
        ("postal_prefixes", ["BT"]),
    ],
)
def test_badly_written_destination_is_refused(shop, field, value):
    with pytest.raises(ZoneInvalid) as caught:
        zones.create_zone(campaign=shop.campaign, name="Zone", **{field: value})
    assert caught.value.field == field


def test_countries_are_stored_as_iso_codes(shop):
    zone = zones.create_zone(
        campaign=shop.campaign, name="Zone", countries=["Germany", "fra", "at"]
    )
    assert zone.countries == ["DE", "FR", "AT"]


def test_zone_cannot_name_an_excluded_country(zoned):
    with pytest.raises(ZoneConflict):
        zones.create_zone(campaign=zoned.campaign, name="Moscow", postal_prefixes=["RU:101"])


def test_excluding_a_country_a_zone_names_is_refused(zoned):
    with pytest.raises(ZoneConflict) as caught:
        profiles.set_excluded_countries(campaign=zoned.campaign, countries=["FR"])
    assert "Europe" in caught.value.message
    assert profiles.profile_for(campaign=zoned.campaign).excluded_countries == ["RU"]


def test_excluding_an_unknown_country_is_refused(zoned):
    with pytest.raises(ShippingError):
        profiles.set_excluded_countries(campaign=zoned.campaign, countries=["Atlantis"])


def test_update_keeps_its_own_countries(zoned):
    zone = zones.update_zone(zone=zoned.europe, name="Europe", countries=["DE", "FR", "GB", "IT"])
    assert zone_for(campaign=zoned.campaign, country="IT") == zone


def test_update_refuses_a_country_of_another_zone(zoned):
    with pytest.raises(ZoneConflict):
        zones.update_zone(zone=zoned.europe, name="Europe", countries=["DE", "US"])
    zoned.europe.refresh_from_db()
    assert zoned.europe.countries == ["DE", "FR", "GB"]


def test_delete_zone_removes_its_fees_and_bands(zoned):
    zones.delete_zone(zone=zoned.europe)
    assert not ShippingZone.objects.filter(pk=zoned.europe.pk).exists()
    assert zone_for(campaign=zoned.campaign, country="FR") == zoned.world


def test_new_zone_goes_last(zoned):
    zone = zones.create_zone(campaign=zoned.campaign, name="Japan", countries=["JP"])
    assert zone.position == zoned.world.position + 1
