"""Which report a header row belongs to, and one row of it as a BackerRecord.

Pure Python: no models, no queries. A RowMapper is built once per header (column
indexes, item columns, the columns kept as `extra`) so each of 250,000 rows costs a
few microseconds.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter

from .problems import Problem
from .values import (
    looks_like_scientific_notation,
    normalize_email,
    parse_amount,
    parse_datetime,
    parse_int,
)

KICKSTARTER = "kickstarter"
KICKSTARTER_ITEMIZED = "kickstarter_itemized"
KICKSTARTER_NO_REWARD = "kickstarter_no_reward"
INDIEGOGO = "indiegogo"
UNKNOWN = "unknown"
KICKSTARTER_FORMATS = (KICKSTARTER, KICKSTARTER_ITEMIZED, KICKSTARTER_NO_REWARD)

PAYMENT_STATUSES = ("collected", "dropped", "errored", "refunded", "cancelled")

EMPTY = "the cell is empty"
EXCEL_SHORTENED = "{value!r} looks like a number Excel shortened; export the column as text"

SheetReward = tuple[Decimal | None, str | None, str | None]


def header_key(text: str) -> str:
    """A header as compared: no BOM (nor its cp1252 reading), case or outer spaces."""
    return " ".join(text.replace("\ufeff", "").replace("ï»¿", "").split()).casefold()


def _header_label(text: str) -> str:
    """A header as shown to the creator and used as a key of `extra`."""
    return " ".join(text.replace("\ufeff", "").replace("ï»¿", "").split())


# --- layouts -------------------------------------------------------------------------


def detect_format(header: list[str]) -> str:
    """The report a header row belongs to (never judged by the file name):
    "kickstarter", "kickstarter_itemized" (Backing Minimum / Fulfillment Status /
    Bonus Support), "kickstarter_no_reward", "indiegogo" or "unknown"."""
    keys = {header_key(h) for h in header}
    if {"backer uid", "pledge amount"} <= keys:
        if keys & {"backing minimum", "bonus support", "fulfillment status"}:
            return KICKSTARTER_ITEMIZED
        if keys & {"reward title", "reward minimum", "reward id"}:
            return KICKSTARTER
        return KICKSTARTER_NO_REWARD
    if {"pledge id", "amount"} <= keys:
        return INDIEGOGO
    return UNKNOWN


_MONTH_WORD = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_EXPORT_DATE = re.compile(
    rf"^(?:{_MONTH_WORD}\s+\d{{1,2}}(?:,?\s+\d{{4}})?,?\s+\d{{1,2}}(?::\d{{2}})?\s*[ap]m"
    r"|\d{4}-\d{2}-\d{2}.*)$",
    re.IGNORECASE,
)
_TIER_NAME = re.compile(
    r"^(?P<minimum>\d[\d,]*(?:\.\d+)?)\s+(?P<currency>[A-Z]{3})\s+(?P<rest>.+)$"
)
_NO_REWARD_NAME = re.compile(r"^no reward(?:\s+-\s+.*)?$", re.IGNORECASE)


def _file_stem(name: str) -> str:
    stem = re.split(r"[\\/]", name)[-1]
    for suffix in (".csv", ".tsv", ".txt"):
        if stem.lower().endswith(suffix):
            return stem[: -len(suffix)].strip()
    return stem.strip()


def is_no_reward_filename(name: str) -> bool:
    """True for Kickstarter's "No reward - Oct 25 10pm.csv"."""
    return _NO_REWARD_NAME.match(_file_stem(name)) is not None


def parse_kickstarter_filename(name: str) -> SheetReward:
    """(minimum, currency, title) from a tier file's name, e.g.
    "59.00 USD Expansion + Base Game - Oct 25 10pm.csv" → (59.00, "USD", "Expansion +
    Base Game"); (None, None, None) for "No reward - …" (see is_no_reward_filename) and
    for names that are not Kickstarter's. Titles may hold " - ": only a trailing part
    that reads as the export date is cut off."""
    stem = _file_stem(name)
    if _NO_REWARD_NAME.match(stem):
        return None, None, None
    match = _TIER_NAME.match(stem)
    if match is None:
        return None, None, None
    title = match["rest"].strip()
    if " - " in title:
        head, tail = title.rsplit(" - ", 1)
        if _EXPORT_DATE.match(tail.strip()):
            title = head.strip()
    try:
        minimum, _ = parse_amount(match["minimum"])
    except ValueError:
        return None, None, None
    return minimum, match["currency"], title or None


# --- records -------------------------------------------------------------------------


@dataclass(slots=True)
class BackerRecord:
    """One backer's pledge as a report states it, ready for the database side."""

    platform: str
    platform_backer_id: str
    backer_number: int | None
    name: str
    email: str
    email_normalized: str
    reward_platform_id: str
    reward_title: str
    reward_minimum: Decimal | None
    currency: str | None
    pledge_amount: Decimal
    shipping_paid: Decimal
    bonus_support: Decimal
    addons_text: str
    pledged_at: datetime | None
    payment_status: str
    shipping_name: str
    shipping_address_1: str
    shipping_address_2: str
    shipping_city: str
    shipping_region: str
    shipping_postal_code: str
    shipping_country: str
    shipping_phone: str
    extra: dict[str, str] = field(default_factory=dict)
    # Where the row came from, for messages about duplicates across files.
    source_file: str = ""
    source_line: int = 0


# Kickstarter's "Pledged Status" and the words other exports use for the same thing.
_PAYMENT_STATUS = {
    "collected": "collected",
    "paid": "collected",
    "complete": "collected",
    "completed": "collected",
    "succeeded": "collected",
    "successful": "collected",
    "captured": "collected",
    "dropped": "dropped",
    "errored": "errored",
    "error": "errored",
    "failed": "errored",
    "declined": "errored",
    "refunded": "refunded",
    "refund": "refunded",
    "chargeback": "refunded",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "void": "cancelled",
    "voided": "cancelled",
}
# Indiegogo lists funded contributions; its "Fulfillment Status" only tells refunds
# and cancellations apart from the rest.
_INDIEGOGO_STATUS = {
    "refunded": "refunded",
    "refund": "refunded",
    "chargeback": "refunded",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "failed": "errored",
    "payment failed": "errored",
}
_INDIEGOGO_FUNDED = {
    "fulfilled",
    "unfulfilled",
    "not fulfilled",
    "partially fulfilled",
    "shipped",
    "not shipped",
    "delivered",
    "pending",
    "in progress",
    "processing",
    "ready to ship",
    "complete",
    "completed",
    "partially refunded",
}

# Country names people and platforms write that django-countries does not know.
_COUNTRY_ALIASES = {
    "united states": "US",
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "america": "US",
    "united states of america (usa)": "US",
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "holland": "NL",
    "macau": "MO",
    "ivory coast": "CI",
    "cape verde": "CV",
    "vatican": "VA",
    "vatican city": "VA",
    "burma": "MM",
    "east timor": "TL",
    "dr congo": "CD",
    "drc": "CD",
    "korea": "KR",
    "republic of korea": "KR",
    "korea, republic of": "KR",
    "deutschland": "DE",
}


def _fold(text: str) -> str:
    """A country name compared without accents, case, "the", "St." or punctuation."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = text.replace("&", " and ").replace("st.", "saint ")
    text = re.sub(r"[^\w]+", " ", text).strip()
    return text.removeprefix("the ").strip()


@lru_cache(maxsize=1)
def _folded_country_names() -> dict[str, str]:
    from django.utils import translation
    from django_countries import countries

    with translation.override("en"):
        names = {_fold(str(country.name)): country.code for country in countries}
    names.update({_fold(alias): code for alias, code in _COUNTRY_ALIASES.items()})
    return names


@lru_cache(maxsize=2048)
def country_code(text: str) -> str:
    """ISO 3166-1 alpha-2 code for a code (``SE``, ``SWE``) or English name
    (``Sweden``, ``United States``); "" when not recognised."""
    from django_countries import countries

    value = text.strip()
    if not value:
        return ""
    alias = _COUNTRY_ALIASES.get(value.casefold())
    if alias:
        return alias
    if len(value) == 2 and value.isascii() and value.isalpha():
        code = value.upper()
        return code if code in countries else ""
    if len(value) == 3 and value.isascii() and value.isalnum():
        code = countries.alpha2(value.upper())
        if code:
            return code
    code = countries.by_name(value)
    if code:
        return code
    return _folded_country_names().get(_fold(value), "")


# --- column layouts ------------------------------------------------------------------

# Kickstarter header → field (the same table serves the three Kickstarter layouts).
_KICKSTARTER_FIELDS = {
    "backer number": "backer_number",
    "backer uid": "platform_backer_id",
    "backer name": "name",
    "email": "email",
    "shipping amount": "shipping_paid",
    "reward title": "reward_title",
    "reward minimum": "reward_minimum",
    "backing minimum": "reward_minimum",
    "reward id": "reward_platform_id",
    "bonus support": "bonus_support",
    "pledge amount": "pledge_amount",
    "pledged at": "pledged_at",
    "pledged status": "payment_status",
    "shipping name": "shipping_name",
    "shipping address 1": "shipping_address_1",
    "shipping address 2": "shipping_address_2",
    "shipping city": "shipping_city",
    "shipping state": "shipping_region",
    "shipping postal code": "shipping_postal_code",
    "shipping phone number": "shipping_phone",
}
# The address's country first, then the country the backer paid shipping to.
_KICKSTARTER_COUNTRY = ("shipping country code", "shipping country", "shipping country name")
# Columns of the itemized layout that are not reward items or add-ons.
_KICKSTARTER_NOT_ITEMS = (
    set(_KICKSTARTER_FIELDS)
    | set(_KICKSTARTER_COUNTRY)
    | {
        "rewards sent?",
        "fulfillment status",
        "notes",
        "billing state/province",
        "billing country",
        "survey response",
        "shipping delivery notes",
        "late pledge",
    }
)
# The first column after the item and add-on columns.
_KICKSTARTER_AFTER_ITEMS = {
    "survey response",
    "shipping name",
    "shipping address 1",
    "shipping address 2",
    "shipping city",
    "shipping state",
    "shipping postal code",
    "shipping country name",
    "shipping country code",
    "shipping phone number",
    "shipping delivery notes",
}

_INDIEGOGO_FIELDS = {
    "pledge id": "platform_backer_id",
    "name": "name",
    "email": "email",
    "amount": "pledge_amount",
    "shipping fees": "shipping_paid",
    "perk id": "reward_platform_id",
    "perk": "reward_title",
    "funding date": "pledged_at",
    "shipping name": "shipping_name",
    "shipping phone number": "shipping_phone",
    "shipping address": "shipping_address_1",
    "shipping address 2": "shipping_address_2",
    "shipping city": "shipping_city",
    "shipping state/province": "shipping_region",
    "shipping zip/postal code": "shipping_postal_code",
}
_ADDRESS_FIELDS = (
    "shipping_name",
    "shipping_address_1",
    "shipping_address_2",
    "shipping_city",
    "shipping_region",
    "shipping_postal_code",
)
_INDIEGOGO_ORDER_NUMBER = ("order no.", "order no", "order number", "order #")
_INDIEGOGO_GROUP = ("item name", "item sku", "option 1", "option 2", "option 3")


@dataclass(frozen=True)
class MappableField:
    name: str
    label: str
    required: bool = False


MAPPABLE_FIELDS = [
    MappableField("platform_backer_id", "Backer ID", required=True),
    MappableField("backer_number", "Backer number"),
    MappableField("name", "Name"),
    MappableField("email", "Email"),
    MappableField("reward_title", "Reward"),
    MappableField("reward_platform_id", "Reward ID"),
    MappableField("reward_minimum", "Reward minimum"),
    MappableField("pledge_amount", "Pledge amount", required=True),
    MappableField("shipping_paid", "Shipping paid"),
    MappableField("bonus_support", "Bonus support"),
    MappableField("pledged_at", "Pledged at"),
    MappableField("payment_status", "Payment status"),
    MappableField("addons_text", "Add-ons"),
    MappableField("shipping_name", "Shipping name"),
    MappableField("shipping_address_1", "Address line 1"),
    MappableField("shipping_address_2", "Address line 2"),
    MappableField("shipping_city", "City"),
    MappableField("shipping_region", "State / region"),
    MappableField("shipping_postal_code", "Postal code"),
    MappableField("shipping_country", "Country"),
    MappableField("shipping_phone", "Phone"),
]
_MAPPABLE = {f.name: f for f in MAPPABLE_FIELDS}
REQUIRED_FIELDS = tuple(f.name for f in MAPPABLE_FIELDS if f.required)

# Header names seen in exports, most specific first, for suggest_mapping.
_SYNONYMS = {
    "platform_backer_id": [
        "backer uid",
        "pledge id",
        "backer id",
        "supporter id",
        "customer id",
        "user id",
        "order id",
        "id",
    ],
    "backer_number": [
        "backer number",
        "backer no.",
        "backer #",
        "order no.",
        "order no",
        "order number",
        "order #",
    ],
    "name": ["backer name", "name", "full name", "customer name", "supporter name"],
    "email": ["email", "e-mail", "email address", "e-mail address", "backer email"],
    "reward_title": ["reward title", "reward", "perk", "tier", "reward name", "reward tier"],
    "reward_platform_id": ["reward id", "perk id", "tier id"],
    "reward_minimum": ["reward minimum", "backing minimum", "reward price", "tier price"],
    "pledge_amount": [
        "pledge amount",
        "amount",
        "pledge",
        "amount pledged",
        "pledged",
        "contribution",
        "contribution amount",
        "total",
        "total amount",
    ],
    "shipping_paid": ["shipping amount", "shipping fees", "shipping paid", "shipping fee"],
    "bonus_support": ["bonus support", "bonus", "tip", "extra support"],
    "pledged_at": [
        "pledged at",
        "funding date",
        "pledge date",
        "date",
        "created at",
        "order date",
        "timestamp",
    ],
    "payment_status": ["pledged status", "payment status", "pledge status", "status"],
    "addons_text": ["add-ons", "addons", "add ons", "extras"],
    "shipping_name": ["shipping name", "recipient", "recipient name", "ship to name"],
    "shipping_address_1": [
        "shipping address 1",
        "shipping address",
        "address 1",
        "address line 1",
        "street address",
        "address",
        "street",
    ],
    "shipping_address_2": ["shipping address 2", "address 2", "address line 2"],
    "shipping_city": ["shipping city", "city", "town"],
    "shipping_region": [
        "shipping state",
        "shipping state/province",
        "state/province",
        "state",
        "province",
        "region",
        "county",
    ],
    "shipping_postal_code": [
        "shipping postal code",
        "shipping zip/postal code",
        "postal code",
        "zip code",
        "zip",
        "postcode",
        "post code",
    ],
    "shipping_country": [
        "shipping country code",
        "shipping country",
        "country code",
        "country",
    ],
    "shipping_phone": ["shipping phone number", "phone number", "phone", "telephone"],
}


def suggest_mapping(header: list[str]) -> dict[str, str]:
    """A first guess at field → column for a CSV of unknown layout, from common
    header names; each column is suggested for one field at most."""
    positions: dict[str, int] = {}
    for index, text in enumerate(header):
        positions.setdefault(header_key(text), index)
    taken: set[int] = set()
    mapping: dict[str, str] = {}
    for field_name in _MAPPABLE:
        for synonym in _SYNONYMS.get(field_name, []):
            index = positions.get(synonym)
            if index is not None and index not in taken:
                taken.add(index)
                mapping[field_name] = header[index]
                break
    return mapping


class ColumnMapping:
    """Which column of a CSV in no known layout holds which field (field → header)."""

    def __init__(self, fields: dict[str, str]):
        self.fields = {name: column for name, column in fields.items() if column}

    def errors(self, header: list[str]) -> list[str]:
        """What keeps this mapping from reading a file with `header`, as sentences."""
        messages = []
        keys = {header_key(h) for h in header}
        for name, column in self.fields.items():
            if name not in _MAPPABLE:
                messages.append(f"{name!r} is not a field that can be mapped.")
            elif header_key(column) not in keys:
                messages.append(f"The file has no column {column!r}.")
        for name in REQUIRED_FIELDS:
            if name not in self.fields:
                messages.append(f"Choose the column that holds the {_MAPPABLE[name].label}.")
        return messages

    def indexes(self, header: list[str]) -> dict[str, int]:
        positions: dict[str, int] = {}
        for index, text in enumerate(header):
            positions.setdefault(header_key(text), index)
        return {
            name: positions[header_key(column)]
            for name, column in self.fields.items()
            if name in _MAPPABLE and header_key(column) in positions
        }


# --- the row mapper ------------------------------------------------------------------


def _unique_labels(header: list[str]) -> list[str]:
    """Header labels with repeats numbered: "Item Name", "Item Name 2", …"""
    seen: dict[str, int] = {}
    labels = []
    for text in header:
        label = _header_label(text)
        count = seen.get(label, 0) + 1
        seen[label] = count
        labels.append(label if count == 1 else f"{label} {count}")
    return labels


class RowMapper:
    """Maps the rows of one sheet; build it once per header, then call `map` per row."""

    def __init__(
        self,
        fmt: str,
        header: list[str],
        *,
        file: str,
        sheet_reward: SheetReward | None = None,
        mapping: ColumnMapping | dict[str, str] | None = None,
        default_tz: str = "UTC",
    ):
        self.file = file
        self.width = len(header)
        self.default_tz = default_tz
        self.labels = _unique_labels(header)
        keys = [header_key(h) for h in header]
        first: dict[str, int] = {}
        for index, key in enumerate(keys):
            first.setdefault(key, index)
        minimum, currency, title = sheet_reward or (None, None, None)
        self.sheet_minimum: Decimal | None = minimum
        self.sheet_currency: str | None = currency
        self.sheet_title: str = title or ""

        fields: dict[str, int] = {}
        self.country_columns: list[int] = []
        self.item_columns: list[int] = []
        self.item_groups: list[tuple[int, int | None, list[int]]] = []
        self.order_number_column: int | None = None
        self.lenient_status = False
        kept_in_extra: set[int] = set()

        if fmt in KICKSTARTER_FORMATS:
            self.platform = "kickstarter"
            for key, name in _KICKSTARTER_FIELDS.items():
                if key in first and name not in fields:
                    fields[name] = first[key]
            self.country_columns = [first[k] for k in _KICKSTARTER_COUNTRY if k in first]
            if fmt == KICKSTARTER_ITEMIZED:
                self.item_columns = self._kickstarter_items(keys)
        elif fmt == INDIEGOGO:
            self.platform = "indiegogo"
            for key, name in _INDIEGOGO_FIELDS.items():
                if key in first:
                    fields[name] = first[key]
            if "shipping country" in first:
                self.country_columns = [first["shipping country"]]
            for key in _INDIEGOGO_ORDER_NUMBER:
                if key in first:
                    self.order_number_column = first[key]
                    break
            if "fulfillment status" in first:
                # Mapped to the payment status for refunds, and kept for what it says.
                fields["payment_status"] = first["fulfillment status"]
                kept_in_extra.add(first["fulfillment status"])
                self.lenient_status = True
            self.item_groups = self._indiegogo_groups(keys)
            for name_index, sku_index, option_indexes in self.item_groups:
                kept_in_extra.add(name_index)
                if sku_index is not None:
                    kept_in_extra.add(sku_index)
                kept_in_extra.update(option_indexes)
        elif fmt == "other":
            self.platform = "other"
            if mapping is None:
                raise ValueError("A CSV of no known layout needs a column mapping.")
            if not isinstance(mapping, ColumnMapping):
                mapping = ColumnMapping(mapping)
            errors = mapping.errors(header)
            if errors:
                raise ValueError(" ".join(errors))
            fields = mapping.indexes(header)
            if "shipping_country" in fields:
                self.country_columns = [fields.pop("shipping_country")]
        else:
            raise ValueError(f"Cannot map rows of a {fmt!r} file without a column mapping.")

        missing = [name for name in REQUIRED_FIELDS if name not in fields]
        if missing:
            raise ValueError(f"The header has no column for {', '.join(missing)}.")

        get = fields.get
        self.i_backer_id: int = fields["platform_backer_id"]
        self.i_pledge_amount: int = fields["pledge_amount"]
        self.i_backer_number = get("backer_number")
        self.i_name = get("name")
        self.i_email = get("email")
        self.i_reward_id = get("reward_platform_id")
        self.i_reward_title = get("reward_title")
        self.i_reward_minimum = get("reward_minimum")
        self.i_shipping_paid = get("shipping_paid")
        self.i_bonus_support = get("bonus_support")
        self.i_pledged_at = get("pledged_at")
        self.i_payment_status = get("payment_status")
        self.i_addons = get("addons_text")
        self.i_phone = get("shipping_phone")
        # shipping_name, address 1 and 2, city, region, postal code: text as written.
        self.address_columns = [get(name) for name in _ADDRESS_FIELDS]
        mapped = set(fields.values()) | set(self.country_columns)
        if self.order_number_column is not None:
            mapped.add(self.order_number_column)
        extra_indexes = [
            index for index in range(self.width) if index not in mapped or index in kept_in_extra
        ]
        self.extra_labels = [self.labels[index] for index in extra_indexes]
        # itemgetter returns a bare value for one index; the mapper wants a tuple always.
        if len(extra_indexes) > 1:
            self.extra_cells = itemgetter(*extra_indexes)
        else:
            self.extra_cells = lambda cells: tuple(cells[i] for i in extra_indexes)
        self.soft_id_columns = [
            first[key] for key in ("tracking number",) if key in first and fmt == INDIEGOGO
        ]

    @staticmethod
    def _kickstarter_items(keys: list[str]) -> list[int]:
        """Item and add-on quantity columns: the unknown columns between Notes (or
        Pledged Status) and the survey/address columns, plus any "[Addon: …]"."""
        start = -1
        for anchor in ("notes", "pledged status", "fulfillment status", "pledged at"):
            if anchor in keys:
                start = keys.index(anchor)
                break
        end = len(keys)
        for index in range(start + 1, len(keys)):
            if keys[index] in _KICKSTARTER_AFTER_ITEMS:
                end = index
                break
        return [
            index
            for index, key in enumerate(keys)
            if key not in _KICKSTARTER_NOT_ITEMS
            and ((start < index < end) or key.startswith("[addon:"))
        ]

    @staticmethod
    def _indiegogo_groups(keys: list[str]) -> list[tuple[int, int | None, list[int]]]:
        """The repeated (Item Name, Item SKU, Option 1-3) groups, read by position."""
        groups = []
        for index, key in enumerate(keys):
            if key != "item name":
                continue
            sku = None
            options = []
            for offset, expected in enumerate(_INDIEGOGO_GROUP[1:], start=1):
                position = index + offset
                if position >= len(keys) or keys[position] != expected:
                    break
                if expected == "item sku":
                    sku = position
                else:
                    options.append(position)
            groups.append((index, sku, options))
        return groups

    def _problem(
        self, line: int, index: int | None, message: str, *, blocking: bool = True
    ) -> Problem:
        column = self.labels[index] if index is not None else None
        return Problem(self.file, line, column, message, blocking)

    def map(self, cells: list[str], line: int) -> tuple[BackerRecord | None, list[Problem]]:
        """One row → (record, problems); the record is None when a problem blocks it."""
        width = self.width
        if len(cells) != width and (len(cells) < width or "".join(cells[width:]).strip()):
            return None, [
                Problem(self.file, line, None, f"has {len(cells)} cells, the header has {width}")
            ]
        problems: list[Problem] = []
        problem = self._problem

        index = self.i_backer_id
        backer_id = cells[index].strip()
        if not backer_id:
            problems.append(problem(line, index, EMPTY))
        elif ("E" in backer_id or "e" in backer_id) and looks_like_scientific_notation(backer_id):
            problems.append(problem(line, index, EXCEL_SHORTENED.format(value=backer_id)))

        backer_number = None
        extra_order_number = None
        index = self.i_backer_number
        if index is not None:
            raw = cells[index].strip()
            if raw:
                if raw.isascii() and raw.isdigit():
                    backer_number = int(raw)
                elif looks_like_scientific_notation(raw):
                    problems.append(problem(line, index, EXCEL_SHORTENED.format(value=raw)))
                else:
                    try:
                        backer_number = parse_int(raw)
                    except ValueError as exc:
                        problems.append(problem(line, index, str(exc)))
        index = self.order_number_column
        if index is not None:
            raw = cells[index].strip()
            if raw.isascii() and raw.isdigit():
                backer_number = int(raw)
            elif raw:
                # Not a number: kept as written rather than lost.
                extra_order_number = raw

        index = self.i_name
        name = cells[index].strip() if index is not None else ""
        index = self.i_email
        email = cells[index].strip() if index is not None else ""
        if email and "@" not in email:
            problems.append(problem(line, index, f"{email!r} is not an email address"))

        currencies: set[str] = set()
        index = self.i_reward_id
        reward_id = cells[index].strip() if index is not None else ""
        if ("E" in reward_id or "e" in reward_id) and looks_like_scientific_notation(reward_id):
            problems.append(problem(line, index, EXCEL_SHORTENED.format(value=reward_id)))
        index = self.i_reward_title
        reward_title = (cells[index].strip() if index is not None else "") or self.sheet_title
        reward_minimum = None
        index = self.i_reward_minimum
        if index is not None and cells[index].strip():
            try:
                reward_minimum, currency = parse_amount(cells[index])
            except ValueError as exc:
                problems.append(problem(line, index, str(exc)))
            else:
                if currency:
                    currencies.add(currency)
        if reward_minimum is None:
            reward_minimum = self.sheet_minimum

        index = self.i_pledge_amount
        pledge_amount = Decimal(0)
        if not cells[index].strip():
            problems.append(problem(line, index, EMPTY))
        else:
            pledge_amount = self._amount(cells, index, line, currencies, problems)
        shipping_paid = bonus_support = Decimal(0)
        index = self.i_shipping_paid
        if index is not None and cells[index].strip():
            shipping_paid = self._amount(cells, index, line, currencies, problems)
        index = self.i_bonus_support
        if index is not None and cells[index].strip():
            bonus_support = self._amount(cells, index, line, currencies, problems)
        if len(currencies) > 1:
            problems.append(
                problem(
                    line,
                    self.i_pledge_amount,
                    f"the amounts mix currencies ({', '.join(sorted(currencies))})",
                )
            )
        currency = currencies.pop() if len(currencies) == 1 else self.sheet_currency

        pledged_at = None
        index = self.i_pledged_at
        if index is not None and cells[index].strip():
            try:
                pledged_at = parse_datetime(cells[index], default_tz=self.default_tz)
            except ValueError as exc:
                problems.append(problem(line, index, str(exc)))

        payment_status = "collected"
        index = self.i_payment_status
        if index is not None:
            raw = cells[index].strip()
            if raw:
                folded = raw.lower()
                if self.lenient_status:
                    status = _INDIEGOGO_STATUS.get(folded)
                    if status:
                        payment_status = status
                    elif folded not in _INDIEGOGO_FUNDED:
                        problems.append(
                            problem(
                                line,
                                index,
                                f"{raw!r} is not a status we know; the pledge is taken as "
                                "collected",
                                blocking=False,
                            )
                        )
                else:
                    status = _PAYMENT_STATUS.get(folded)
                    if status is None:
                        problems.append(
                            problem(
                                line,
                                index,
                                f"{raw!r} is not a pledge status we know "
                                f"({', '.join(PAYMENT_STATUSES)})",
                            )
                        )
                    else:
                        payment_status = status

        address = [cells[i].strip() if i is not None else "" for i in self.address_columns]
        country = ""
        for index in self.country_columns:
            raw = cells[index].strip()
            if raw:
                country = country_code(raw)
                if not country:
                    problems.append(problem(line, index, f"{raw!r} is not a country we know"))
                break
        index = self.i_phone
        phone = cells[index].strip() if index is not None else ""
        if phone and looks_like_scientific_notation(phone):
            problems.append(
                problem(line, index, EXCEL_SHORTENED.format(value=phone), blocking=False)
            )
        for index in self.soft_id_columns:
            raw = cells[index]
            if raw and looks_like_scientific_notation(raw):
                problems.append(
                    problem(line, index, EXCEL_SHORTENED.format(value=raw.strip()), blocking=False)
                )

        if self.item_columns:
            addons_text = self._kickstarter_addons(cells)
        elif self.item_groups:
            addons_text = self._indiegogo_addons(cells)
        elif self.i_addons is not None:
            addons_text = cells[self.i_addons].strip()
        else:
            addons_text = ""

        extra = dict(zip(self.extra_labels, self.extra_cells(cells), strict=True))
        if extra_order_number is not None:
            extra[self.labels[self.order_number_column]] = extra_order_number

        for item in problems:
            if item.blocking:
                return None, problems
        return (
            BackerRecord(
                platform=self.platform,
                platform_backer_id=backer_id,
                backer_number=backer_number,
                name=name,
                email=email,
                email_normalized=normalize_email(email),
                reward_platform_id=reward_id,
                reward_title=reward_title,
                reward_minimum=reward_minimum,
                currency=currency,
                pledge_amount=pledge_amount,
                shipping_paid=shipping_paid,
                bonus_support=bonus_support,
                addons_text=addons_text,
                pledged_at=pledged_at,
                payment_status=payment_status,
                shipping_country=country,
                shipping_phone=phone,
                extra=extra,
                source_file=self.file,
                source_line=line,
                shipping_name=address[0],
                shipping_address_1=address[1],
                shipping_address_2=address[2],
                shipping_city=address[3],
                shipping_region=address[4],
                shipping_postal_code=address[5],
            ),
            problems,
        )

    def _amount(
        self,
        cells: list[str],
        index: int,
        line: int,
        currencies: set[str],
        problems: list[Problem],
    ) -> Decimal:
        try:
            amount, currency = parse_amount(cells[index])
        except ValueError as exc:
            problems.append(self._problem(line, index, str(exc)))
            return Decimal(0)
        if amount < 0:
            problems.append(self._problem(line, index, f"{cells[index]!r} is below zero"))
        if currency:
            currencies.add(currency)
        return amount

    def _kickstarter_addons(self, cells: list[str]) -> str:
        parts = []
        labels = self.labels
        for index in self.item_columns:
            raw = cells[index].strip()
            if not raw or raw == "0":
                continue
            try:
                quantity = parse_int(raw)
            except ValueError:
                parts.append(f"{labels[index]}: {raw}")
                continue
            if quantity:
                parts.append(f"{labels[index]} × {quantity}")
        return "; ".join(parts)

    def _indiegogo_addons(self, cells: list[str]) -> str:
        parts = []
        for name_index, sku_index, option_indexes in self.item_groups:
            item = cells[name_index].strip()
            if not item:
                continue
            sku = cells[sku_index].strip() if sku_index is not None else ""
            if sku:
                item = f"{item} [{sku}]"
            options = [cells[i].strip() for i in option_indexes if cells[i].strip()]
            if options:
                item = f"{item} ({', '.join(options)})"
            parts.append(item)
        return "; ".join(parts)


@lru_cache(maxsize=32)
def _cached_mapper(
    fmt: str,
    header: tuple[str, ...],
    file: str,
    sheet_reward: SheetReward | None,
    mapping: tuple[tuple[str, str], ...] | None,
    default_tz: str,
) -> RowMapper:
    return RowMapper(
        fmt,
        list(header),
        file=file,
        sheet_reward=sheet_reward,
        mapping=dict(mapping) if mapping is not None else None,
        default_tz=default_tz,
    )


def map_row(
    fmt: str,
    header: list[str],
    cells: list[str],
    *,
    file: str,
    line: int,
    sheet_reward: SheetReward | None = None,
    default_tz: str = "UTC",
) -> tuple[BackerRecord | None, list[Problem]]:
    """Map one row of a known layout. Each bad value is a Problem naming file, line and
    column; the record is None when any problem blocks. The reward comes from the
    Reward ID/Title/Minimum (Backing Minimum) cells, else from `sheet_reward` (the tier
    file's name). For many rows, build a RowMapper once instead."""
    mapper = _cached_mapper(fmt, tuple(header), file, sheet_reward, None, default_tz)
    return mapper.map(cells, line)


def map_row_with_mapping(
    mapping: dict[str, str],
    header: list[str],
    cells: list[str],
    *,
    file: str,
    line: int,
    default_tz: str = "UTC",
) -> tuple[BackerRecord | None, list[Problem]]:
    """Map one row of a CSV in no known layout, with field → column `mapping`;
    platform "other", unmapped columns kept in `extra`."""
    key = tuple(sorted(mapping.items()))
    mapper = _cached_mapper("other", tuple(header), file, None, key, default_tz)
    return mapper.map(cells, line)
