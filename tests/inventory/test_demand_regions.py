"""The default region grouping the demand report uses for pre-positioning stock."""

import pytest
from django_countries import countries

from inventory.regions import (
    ASIA,
    AUSTRALIA_NEW_ZEALAND,
    CANADA,
    EU,
    NO_COUNTRY,
    REGION_COUNTRIES,
    REGIONS,
    REST_OF_WORLD,
    UNITED_KINGDOM,
    UNITED_STATES,
    region_for,
)

# The member states by name, written independently of inventory.regions.
EU_27 = {
    "Austria", "Belgium", "Bulgaria", "Croatia", "Cyprus", "Czechia", "Denmark", "Estonia",
    "Finland", "France", "Germany", "Greece", "Hungary", "Ireland", "Italy", "Latvia",
    "Lithuania", "Luxembourg", "Malta", "Netherlands", "Poland", "Portugal", "Romania",
    "Slovakia", "Slovenia", "Spain", "Sweden",
}  # fmt: skip


def test_the_eu_is_its_27_member_states():
    assert {countries.name(code) for code in REGION_COUNTRIES[EU]} == EU_27
    assert all(region_for(code) == EU for code in REGION_COUNTRIES[EU])


@pytest.mark.parametrize(
    ("code", "region"),
    [
        ("GB", UNITED_KINGDOM),
        ("JE", UNITED_KINGDOM),
        ("US", UNITED_STATES),
        ("PR", UNITED_STATES),
        ("CA", CANADA),
        ("AU", AUSTRALIA_NEW_ZEALAND),
        ("NZ", AUSTRALIA_NEW_ZEALAND),
        ("JP", ASIA),
        ("SG", ASIA),
        ("IN", ASIA),
        ("KZ", ASIA),
        # Outside the EU customs union, or served from whichever hub is cheapest.
        ("CH", REST_OF_WORLD),
        ("NO", REST_OF_WORLD),
        ("IL", REST_OF_WORLD),
        ("BR", REST_OF_WORLD),
        ("ZA", REST_OF_WORLD),
        # The report's codes are upper case, but a lower-case one is the same country.
        ("de", EU),
    ],
)
def test_country_to_region(code, region):
    assert region_for(code) == region


@pytest.mark.parametrize("code", ["", None, "  ", "XX", "ZZ", "Germany"])
def test_blank_or_unknown_country_is_no_country_yet(code):
    assert region_for(code) == NO_COUNTRY


def test_no_country_is_in_two_regions():
    seen = [code for codes in REGION_COUNTRIES.values() for code in codes]
    assert len(seen) == len(set(seen))
    assert set(REGION_COUNTRIES) | {REST_OF_WORLD, NO_COUNTRY} == set(REGIONS)
