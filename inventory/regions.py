"""Where stock is pre-positioned: the default grouping of destination countries.

A creator orders from the factory per warehouse, and warehouses serve trade
areas, not continents: the EU is one customs union (a hub anywhere in it ships
duty-free to all 27), the United Kingdom, the United States, Canada and
Australia/New Zealand each need stock on their own side of a border, and an
Asian hub serves East, South-East, South and Central Asia. Everything else
(Middle East, Africa, Latin America, the rest of Europe such as Switzerland and
Norway) ships from whichever hub is cheapest and stays in "Rest of world"."""

from django_countries import countries

EU = "EU"
UNITED_KINGDOM = "United Kingdom"
UNITED_STATES = "United States"
CANADA = "Canada"
AUSTRALIA_NEW_ZEALAND = "Australia & New Zealand"
ASIA = "Asia"
REST_OF_WORLD = "Rest of world"
NO_COUNTRY = "No country yet"

# Display order when two regions have the same volume.
REGIONS: list[str] = [
    EU,
    UNITED_KINGDOM,
    UNITED_STATES,
    CANADA,
    AUSTRALIA_NEW_ZEALAND,
    ASIA,
    REST_OF_WORLD,
    NO_COUNTRY,
]

# fmt: off
REGION_COUNTRIES: dict[str, frozenset[str]] = {
    # The 27 member states (the customs union, not the EEA: NO, IS, LI, CH are outside).
    EU: frozenset([
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
        "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    ]),
    # The Crown Dependencies (Guernsey, Jersey, Isle of Man) are reached from a UK warehouse.
    UNITED_KINGDOM: frozenset(["GB", "GG", "JE", "IM"]),
    # Territories served by USPS as domestic mail.
    UNITED_STATES: frozenset(["US", "PR", "GU", "VI", "AS", "MP", "UM"]),
    CANADA: frozenset(["CA"]),
    AUSTRALIA_NEW_ZEALAND: frozenset(["AU", "NZ"]),
    ASIA: frozenset([
        "CN", "HK", "MO", "TW", "JP", "KR", "KP", "MN",                    # East Asia
        "BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "TL", "VN",  # South-East Asia
        "AF", "BD", "BT", "IN", "LK", "MV", "NP", "PK",                    # South Asia
        "KZ", "KG", "TJ", "TM", "UZ",                                      # Central Asia
    ]),
}
# fmt: on

_REGION_OF: dict[str, str] = {
    code: region for region, codes in REGION_COUNTRIES.items() for code in codes
}


def region_for(country_code: str | None) -> str:
    """The region a destination country belongs to.

    A blank or unknown code (no address collected yet, or a typo the import kept)
    is "No country yet": that stock cannot be placed until the survey asks."""
    code = (country_code or "").strip().upper()
    if not code or code not in countries:
        return NO_COUNTRY
    return _REGION_OF.get(code, REST_OF_WORLD)
