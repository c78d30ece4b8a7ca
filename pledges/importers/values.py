"""Parsing the values platforms and spreadsheets write into cells.

Every parser raises ValueError whose message is the text a creator reads next to the
line and column (``"'abc' is not an amount"``). The parsers are cached: a 250,000-row
report repeats the same amounts and minutes over and over.
"""

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from moneyed import CURRENCIES

# --- amounts -------------------------------------------------------------------------

# Thousands separators a spreadsheet may write as some kind of space.
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " "})
_MINUS = "-\u2212"

# Everything before the first digit, the digits with their separators, everything after.
_AMOUNT = re.compile(r"^(?P<pre>[^0-9]*?)(?P<number>[0-9](?:[0-9.,' ]*[0-9])?)(?P<post>[^0-9]*)$")

# Symbols and prefixes; None where the symbol is shared by several currencies.
_CURRENCY_MARKS: dict[str, str | None] = {
    "$": None,
    "kr": None,
    "kr.": None,
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "￥": "JPY",
    "円": "JPY",
    "₹": "INR",
    "₩": "KRW",
    "₽": "RUB",
    "₺": "TRY",
    "₪": "ILS",
    "฿": "THB",
    "₱": "PHP",
    "₫": "VND",
    "₴": "UAH",
    "zł": "PLN",
    "kč": "CZK",
    "ft": "HUF",
    "us$": "USD",
    "u$s": "USD",
    "ca$": "CAD",
    "c$": "CAD",
    "can$": "CAD",
    "a$": "AUD",
    "au$": "AUD",
    "nz$": "NZD",
    "hk$": "HKD",
    "s$": "SGD",
    "sg$": "SGD",
    "mx$": "MXN",
    "nt$": "TWD",
    "r$": "BRL",
    "rm": "MYR",
}
_ISO_CURRENCIES = frozenset(code for code in CURRENCIES if len(code) == 3 and code.isalpha())
_UNKNOWN = object()


def _currency_of(token: str):
    """The ISO code a currency mark stands for; None if ambiguous; _UNKNOWN if not a mark."""
    folded = token.casefold()
    if folded in _CURRENCY_MARKS:
        return _CURRENCY_MARKS[folded]
    upper = token.upper()
    if len(upper) == 3 and upper in _ISO_CURRENCIES:
        return upper
    return _UNKNOWN


def _plain_number(number: str) -> str | None:
    """Digits with separators → a string Decimal accepts, or None when the grouping is wrong.

    The platforms write two decimals, so a lone separator followed by exactly three
    digits is a thousands separator (``1,234``) unless the integer part is 0.
    """
    last = max(number.rfind("."), number.rfind(","))
    decimal_at = -1
    if last >= 0:
        mark = number[last]
        other = "," if mark == "." else "."
        fraction = number[last + 1 :]
        if number.count(mark) > 1 or not fraction.isdigit():
            decimal_at = -1
        elif other in number[:last] or " " in number or "'" in number:
            # "1.234,56", "1 234,56", "1'234.50": the grouping says which is which.
            decimal_at = last
        elif len(fraction) == 3 and number[:last].strip("0"):
            decimal_at = -1
        else:
            decimal_at = last
    if decimal_at >= 0:
        whole, fraction = number[:decimal_at], number[decimal_at + 1 :]
    else:
        whole, fraction = number, ""
    separators = {c for c in whole if not c.isdigit()}
    if len(separators) > 1:
        return None
    if separators:
        groups = whole.split(separators.pop())
        if not (1 <= len(groups[0]) <= 3) or any(len(g) != 3 for g in groups[1:]):
            return None
        whole = "".join(groups)
    if not whole.isdigit() or (fraction and not fraction.isdigit()):
        return None
    return f"{whole}.{fraction}" if fraction else whole


@lru_cache(maxsize=8192)
def parse_amount(text: str) -> tuple[Decimal, str | None]:
    """An amount as written in a report (``$1,234.00 USD``, ``1.234,00 €``, ``SEK 650.00``)
    and the ISO currency it names, or None when it names none or an ambiguous one
    (``$70``, ``kr 100``). Nothing is rounded. Cached: reports repeat their amounts."""
    message = f"{text!r} is not an amount"
    match = _AMOUNT.match(text.translate(_SPACES).strip())
    if match is None:
        raise ValueError(message)
    pre, number, post = match.groups()
    negative = False
    if "(" in pre or ")" in post:
        if not ("(" in pre and ")" in post):
            raise ValueError(message)
        negative = True
        pre, post = pre.replace("(", " ", 1), post.replace(")", " ", 1)
    signs = sum(pre.count(c) for c in _MINUS)
    if signs > 1 or pre.count("+") > 1 or (signs and (negative or "+" in pre)):
        raise ValueError(message)
    if signs:
        negative = True
    for c in "+-\u2212":
        pre = pre.replace(c, " ")
    currency = None
    for token in pre.split() + post.split():
        found = _currency_of(token)
        if found is _UNKNOWN:
            raise ValueError(message)
        if found is not None:
            if currency is not None and currency != found:
                raise ValueError(message)
            currency = found
    plain = _plain_number(number)
    if plain is None:
        raise ValueError(message)
    return Decimal(f"-{plain}" if negative else plain), currency


def parse_amount_or_zero(text: str) -> tuple[Decimal, str | None]:
    """Like parse_amount, but an empty cell is zero (shipping, bonus support)."""
    if not text.strip():
        return Decimal("0"), None
    return parse_amount(text)


# --- whole numbers -------------------------------------------------------------------

_WHOLE = re.compile(r"^[+-]?(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.0+)?$")
_SCIENTIFIC = re.compile(r"^\s*[+-]?[0-9]+(?:[.,][0-9]+)?[eE][+-]?[0-9]+\s*$")


def parse_int(text: str) -> int:
    """A whole number (``12``, `` 12 ``, ``12.0`` as spreadsheets save it, ``1,234``)."""
    value = text.strip()
    if value.isascii() and value.isdigit():
        return int(value)
    if not _WHOLE.match(value):
        raise ValueError(f"{text!r} is not a whole number")
    return int(value.split(".", 1)[0].replace(",", ""))


def looks_like_scientific_notation(text: str) -> bool:
    """True for values like ``9.25082E+11``: a long id that Excel turned into a float."""
    return _SCIENTIFIC.match(text) is not None


def normalize_email(text: str) -> str:
    """The form duplicates are found by: trimmed and lower-cased (no validation)."""
    return text.strip().lower()


# --- dates ---------------------------------------------------------------------------

_TIME = (
    r"(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:[.,](?P<fraction>[0-9]{1,6}))?)?"
    r"\s*(?:(?P<ampm>[AaPp]\.?[Mm]\.?)(?![A-Za-z]))?"
)
_ZONE = r"\s*(?P<zone>.*)"
_YEAR_FIRST = re.compile(
    r"^(?P<year>[0-9]{4})(?P<sep>[-/.])(?P<month>[0-9]{1,2})(?P=sep)(?P<day>[0-9]{1,2})"
    rf"(?:(?:T|,?\s+|,){_TIME})?{_ZONE}$"
)
_US = re.compile(
    r"^(?P<month>[0-9]{1,2})/(?P<day>[0-9]{1,2})/(?P<year>[0-9]{4})"
    rf"(?:,?\s+{_TIME})?{_ZONE}$"
)
_MONTH_NAME_FIRST = re.compile(
    r"^(?:[A-Za-z]+,?\s+)?(?P<monthname>[A-Za-z]{3,9})\.?\s+(?P<day>[0-9]{1,2})(?:st|nd|rd|th)?,?"
    rf"\s+(?P<year>[0-9]{{4}})(?:,?\s+(?:at\s+)?{_TIME})?{_ZONE}$"
)
_DAY_FIRST = re.compile(
    r"^(?:[A-Za-z]+,?\s+)?(?P<day>[0-9]{1,2})\s+(?P<monthname>[A-Za-z]{3,9})\.?,?"
    rf"\s+(?P<year>[0-9]{{4}})(?:,?\s+(?:at\s+)?{_TIME})?{_ZONE}$"
)
_DATE_PATTERNS = (_YEAR_FIRST, _US, _MONTH_NAME_FIRST, _DAY_FIRST)

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}

# North American and European abbreviations the platforms print; IST and other
# abbreviations shared by several zones are left out on purpose.
_ABBREVIATIONS = {
    "Z": 0,
    "UT": 0,
    "UTC": 0,
    "GMT": 0,
    "WET": 0,
    "BST": 60,
    "CET": 60,
    "WEST": 60,
    "CEST": 120,
    "EET": 120,
    "EEST": 180,
    "EST": -300,
    "EDT": -240,
    "CST": -360,
    "CDT": -300,
    "MST": -420,
    "MDT": -360,
    "PST": -480,
    "PDT": -420,
    "AKST": -540,
    "AKDT": -480,
    "HST": -600,
    "JST": 540,
    "AEST": 600,
    "AEDT": 660,
}
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+\-\u2212])([0-9]{1,2})(?::?([0-9]{2}))?$")
_IANA = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)+$")


@lru_cache(maxsize=256)
def _zone(text: str, default_tz: str) -> tzinfo | None:
    key = text.strip().strip("()").strip()
    if not key:
        key = default_tz
    upper = key.upper()
    if upper in _ABBREVIATIONS:
        return timezone(timedelta(minutes=_ABBREVIATIONS[upper]))
    offset = _OFFSET.match(upper)
    if offset:
        sign, hours, minutes = offset.groups()
        total = int(hours) * 60 + int(minutes or 0)
        if int(hours) > 14 or int(minutes or 0) > 59:
            return None
        return timezone(timedelta(minutes=-total if sign in _MINUS else total))
    if _IANA.match(key):
        try:
            return ZoneInfo(key)
        except Exception:  # unknown or malformed key: zoneinfo raises several kinds
            return None
    return None


@lru_cache(maxsize=65536)
def _parse_datetime(text: str, default_tz: str) -> datetime:
    message = f"{text!r} is not a date"
    value = text.strip()
    for pattern in _DATE_PATTERNS:
        match = pattern.match(value)
        if match:
            break
    else:
        raise ValueError(message)
    parts = match.groupdict()
    try:
        if parts.get("monthname") is not None:
            month = _MONTHS.get(parts["monthname"].lower())
            if month is None:
                raise ValueError(message)
        else:
            month = int(parts["month"])
        hour = int(parts["hour"] or 0)
        if parts["ampm"]:
            if not 1 <= hour <= 12:
                raise ValueError(message)
            hour = hour % 12 + (12 if parts["ampm"][0] in "Pp" else 0)
        zone = _zone(parts["zone"], default_tz)
        if zone is None:
            raise ValueError(message)
        moment = datetime(
            int(parts["year"]),
            month,
            int(parts["day"]),
            hour,
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            int((parts["fraction"] or "0").ljust(6, "0")),
            tzinfo=zone,
        )
        return moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError(message) from exc


def parse_datetime(text: str, *, default_tz: str = "UTC") -> datetime:
    """A moment as reports write it, returned aware and in UTC.

    Kickstarter's ``2018/03/28, 10:27`` (or with ``-``, seconds, a trailing zone such as
    ``UTC``, ``+02:00``, ``-0500``, ``Z``, ``PDT`` or ``America/New_York``), ISO 8601,
    US ``MM/DD/YYYY HH:MM`` with optional AM/PM, and ``Oct 03, 2026 02:05 PM PDT``.
    Day-first numeric dates are not guessed. Without a zone the time is in `default_tz`.
    """
    return _parse_datetime(text, default_tz)
