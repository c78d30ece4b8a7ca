"""The fields a warehouse export can carry, and the built-in column templates.

An order-level field reads the order row (one `values_list` tuple per order, plus
the tags and item count added per batch); a line-level field reads one order line.
Text fields a backer or creator typed are made formula-safe here, once, so every
writer (CSV, XLSX) gets harmless cells; numbers stay numbers.

Each field also carries its cell as a PostgreSQL expression (`Field.expression`),
text exactly as the Python writer prints it: orders.exports.pgcopy writes the CSV with
COPY from these. They read the aliases `o` (order), `a` (its current address), `r`
(reward), `s.lines` (the street's lines), `g.tags` and `q.items` (per-order
aggregates) and `l` (the line)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from pledges.exports import FORMULA_STARTS, safe_cell

from ..models import ExportLayout

ORDER, LINE = "order", "line"

# What one order row holds, in this order (then "tags" and "item_count", added per batch).
ORDER_COLUMNS = (
    "id",
    "number",
    "name",
    "email",
    "language",
    "country",
    "vat_number",
    "currency",
    "goods_total",
    "shipping_fee",
    "tax_total",
    "total",
    "paid_total",
    "balance_due",
    "customs_number",
    "tax_regime",
    "ddp",
    "shipping_method",
    "shipping_zone",
    "weight_g",
    "submitted_at",
    "locked_at",
    "reward__title",
    "address__name",
    "address__company",
    "address__street_address",
    "address__city",
    "address__city_area",
    "address__country_area",
    "address__postal_code",
    "address__sorting_code",
    "address__country",
    "address__phone",
)
ORDER_AT = {name: index for index, name in enumerate(ORDER_COLUMNS)}
ORDER_AT["tags"] = len(ORDER_COLUMNS)
ORDER_AT["item_count"] = len(ORDER_COLUMNS) + 1

LINE_COLUMNS = (
    "order_id",
    "sku_code",
    "description",
    "quantity",
    "unit_weight_g",
    "customs_value",
    "hs_code",
    "country_of_origin",
    "unit_price",
    "line_total",
    "source",
    "detail",
)
LINE_AT = {name: index for index, name in enumerate(LINE_COLUMNS)}

# Text someone typed: SQL makes these formula-safe as it reads them (orders.exports.rows).
ORDER_TEXT = frozenset(
    {
        "name",
        "email",
        "vat_number",
        "customs_number",
        "tax_regime",
        "shipping_method",
        "shipping_zone",
        "reward__title",
        "address__name",
        "address__company",
        "address__city",
        "address__city_area",
        "address__country_area",
        "address__postal_code",
        "address__sorting_code",
        "address__phone",
    }
)
LINE_TEXT = frozenset({"sku_code", "description", "hs_code", "detail"})

GRAMS_PER_OUNCE = 28.349523125

# What str.strip() and str.splitlines() take for white space and line breaks, for
# the SQL twins of the street lines (Unicode has no white space past U+3000).
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
LINE_BREAKS = "".join(c for c in WHITESPACE if len(f"a{c}b".splitlines()) == 2)


# The first characters safe_cell neutralises, as code points: ascii() of the first
# character against integers is the cheapest test PostgreSQL has (no collation).
FORMULA_CODES = ", ".join(str(ord(start)) for start in FORMULA_STARTS)


def safe_sql(expr: str) -> str:
    """The SQL twin of pledges.exports.safe_cell (NULL stays NULL: an empty cell)."""
    return f"CASE WHEN ascii({expr}) IN ({FORMULA_CODES}) THEN '''' || {expr} ELSE {expr} END"


def _column_sql(name: str) -> str:
    """The SQL column of an ORDER_COLUMNS name."""
    relation, _, column = name.rpartition("__")
    return {"": "o", "address": "a", "reward": "r"}[relation] + "." + column


def _order_sql(name: str) -> str:
    return safe_sql(_column_sql(name)) if name in ORDER_TEXT else _column_sql(name)


def _line_sql(name: str) -> str:
    return safe_sql(f"l.{name}") if name in LINE_TEXT else f"l.{name}"


@dataclass(frozen=True)
class Field:
    """`get` is the index of a column of the (order or line) row, which SQL already
    made formula-safe, or a function of the row for a computed cell."""

    key: str
    label: str
    level: str
    get: int | Callable
    # The columns a computed cell reads (a picked one reads its own).
    needs: tuple[str, ...] = ()
    # The cell in PostgreSQL, for a computed cell (a picked one's comes from its column).
    sql: str = ""

    @property
    def expression(self) -> str:
        """The cell as a PostgreSQL expression (see the module's docstring)."""
        if self.sql:
            return self.sql
        if self.level == LINE:
            return _line_sql(LINE_COLUMNS[self.get])
        if self.get == ORDER_AT["tags"]:
            return safe_sql("g.tags")
        if self.get == ORDER_AT["item_count"]:
            return "coalesce(q.items, 0)"
        return _order_sql(ORDER_COLUMNS[self.get])

    @property
    def columns(self) -> tuple[str, ...]:
        """The row columns this cell reads."""
        if callable(self.get):
            return self.needs
        names = ORDER_COLUMNS + ("tags", "item_count") if self.level != LINE else LINE_COLUMNS
        return (names[self.get],)


def _order(name: str) -> int:
    return ORDER_AT[name]


def _line(name: str) -> int:
    return LINE_AT[name]


@lru_cache(maxsize=8192)
def _street_lines(street: str) -> tuple[str, str, str]:
    """Lines 1, 2 and the rest (joined) of a street address, each formula-safe."""
    lines = [part.strip() for part in (street or "").splitlines() if part.strip()]
    return (
        safe_cell(lines[0] if lines else ""),
        safe_cell(lines[1] if len(lines) > 1 else ""),
        safe_cell(", ".join(lines[2:])),
    )


def _street_line(n: int) -> Callable:
    index = ORDER_AT["address__street_address"]
    return lambda row: _street_lines(row[index])[n]


def _street(row) -> str:
    lines = (row[ORDER_AT["address__street_address"]] or "").splitlines()
    return safe_cell(", ".join(part.strip() for part in lines if part.strip()))


def _recipient(row) -> str:
    # Both columns come formula-safe from SQL.
    return row[ORDER_AT["address__name"]] or row[ORDER_AT["name"]]


def _country(row) -> str:
    return row[ORDER_AT["address__country"]] or row[ORDER_AT["country"]]


def _when(name: str) -> Callable:
    index = ORDER_AT[name]
    return lambda row: row[index].strftime("%Y-%m-%d %H:%M:%S") if row[index] else ""


def _when_sql(column: str) -> str:
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"


def _yes_no(name: str) -> Callable:
    index = ORDER_AT[name]
    return lambda row: "yes" if row[index] else "no"


def _kg(row) -> str:
    return f"{row[ORDER_AT['weight_g']] / 1000:.3f}"


def _unit_oz(row) -> str:
    return f"{row[LINE_AT['unit_weight_g']] / GRAMS_PER_OUNCE:.2f}"


def _line_weight(row) -> int:
    return row[LINE_AT["unit_weight_g"]] * row[LINE_AT["quantity"]]


def _customs_total(row):
    return row[LINE_AT["customs_value"]] * row[LINE_AT["quantity"]]


STREET = ("address__street_address",)

FIELD_LIST: tuple[Field, ...] = (
    Field("order_number", "Order number", ORDER, _order("number")),
    Field("backer_name", "Backer name", ORDER, _order("name")),
    Field("backer_email", "Email", ORDER, _order("email")),
    Field(
        "recipient",
        "Recipient",
        ORDER,
        _recipient,
        ("address__name", "name"),
        f"coalesce(nullif({safe_sql('a.name')}, ''), {safe_sql('o.name')})",
    ),
    Field("company", "Company", ORDER, _order("address__company")),
    Field(
        "street_address",
        "Street address",
        ORDER,
        _street,
        STREET,
        safe_sql("array_to_string(s.lines, ', ')"),
    ),
    Field(
        "address_line1", "Address line 1", ORDER, _street_line(0), STREET, safe_sql("s.lines[1]")
    ),
    Field(
        "address_line2", "Address line 2", ORDER, _street_line(1), STREET, safe_sql("s.lines[2]")
    ),
    Field(
        "address_line3",
        "Address line 3",
        ORDER,
        _street_line(2),
        STREET,
        safe_sql("array_to_string(s.lines[3:], ', ')"),
    ),
    Field("city", "City", ORDER, _order("address__city")),
    Field("city_area", "District", ORDER, _order("address__city_area")),
    Field("region", "Region / state", ORDER, _order("address__country_area")),
    Field("postal_code", "Postal code", ORDER, _order("address__postal_code")),
    Field("sorting_code", "Sorting code", ORDER, _order("address__sorting_code")),
    Field(
        "country",
        "Country",
        ORDER,
        _country,
        ("address__country", "country"),
        "coalesce(nullif(a.country, ''), o.country)",
    ),
    Field("phone", "Phone", ORDER, _order("address__phone")),
    Field("language", "Language", ORDER, _order("language")),
    Field("reward", "Reward", ORDER, _order("reward__title")),
    Field("shipping_method", "Shipping method", ORDER, _order("shipping_method")),
    Field("shipping_zone", "Shipping zone", ORDER, _order("shipping_zone")),
    Field("tags", "Tags", ORDER, _order("tags")),
    Field("item_count", "Items", ORDER, _order("item_count")),
    Field("order_weight_g", "Order weight (g)", ORDER, _order("weight_g")),
    Field(
        "order_weight_kg",
        "Order weight (kg)",
        ORDER,
        _kg,
        ("weight_g",),
        "(o.weight_g::numeric / 1000)::numeric(20, 3)",
    ),
    Field("goods_total", "Goods total", ORDER, _order("goods_total")),
    Field("shipping_fee", "Shipping paid", ORDER, _order("shipping_fee")),
    Field("tax_total", "Tax", ORDER, _order("tax_total")),
    Field("total", "Order total", ORDER, _order("total")),
    Field("paid_total", "Amount paid", ORDER, _order("paid_total")),
    Field("balance_due", "Balance due", ORDER, _order("balance_due")),
    Field("currency", "Currency", ORDER, _order("currency")),
    Field("customs_number", "IOSS / customs number", ORDER, _order("customs_number")),
    Field("tax_regime", "Tax regime", ORDER, _order("tax_regime")),
    Field(
        "ddp",
        "Delivered duty paid",
        ORDER,
        _yes_no("ddp"),
        ("ddp",),
        "CASE WHEN o.ddp THEN 'yes' ELSE 'no' END",
    ),
    Field("vat_number", "VAT number", ORDER, _order("vat_number")),
    Field(
        "order_date",
        "Order date",
        ORDER,
        _when("submitted_at"),
        ("submitted_at",),
        _when_sql("o.submitted_at"),
    ),
    Field(
        "locked_at",
        "Locked at",
        ORDER,
        _when("locked_at"),
        ("locked_at",),
        _when_sql("o.locked_at"),
    ),
    Field("sku", "SKU", LINE, _line("sku_code")),
    Field("description", "Description", LINE, _line("description")),
    Field("quantity", "Quantity", LINE, _line("quantity")),
    Field("unit_weight_g", "Unit weight (g)", LINE, _line("unit_weight_g")),
    Field(
        "unit_weight_oz",
        "Unit weight (oz)",
        LINE,
        _unit_oz,
        ("unit_weight_g",),
        # The same float division; PostgreSQL's float8 → numeric keeps 15 digits, which
        # rounds to the cents Python prints for any weight under 2.8 t (the test sweeps).
        f"round((l.unit_weight_g / {GRAMS_PER_OUNCE!r}::float8)::numeric, 2)",
    ),
    Field(
        "line_weight_g",
        "Line weight (g)",
        LINE,
        _line_weight,
        ("unit_weight_g", "quantity"),
        "l.unit_weight_g::bigint * l.quantity",
    ),
    Field("customs_value", "Customs value (unit)", LINE, _line("customs_value")),
    Field(
        "customs_value_total",
        "Customs value (line)",
        LINE,
        _customs_total,
        ("customs_value", "quantity"),
        "l.customs_value * l.quantity",
    ),
    Field("hs_code", "HS code", LINE, _line("hs_code")),
    Field("origin", "Country of origin", LINE, _line("country_of_origin")),
    Field("unit_price", "Unit price", LINE, _line("unit_price")),
    Field("line_total", "Line total", LINE, _line("line_total")),
    Field("line_source", "Line source", LINE, _line("source")),
    Field("line_detail", "Line detail", LINE, _line("detail")),
)
FIELDS: dict[str, Field] = {f.key: f for f in FIELD_LIST}


@dataclass(frozen=True)
class ColumnTemplate:
    """What an export writes: a layout and its columns as (field key, header).
    Built-ins live here; a creator's ExportTemplate converts to one."""

    name: str
    layout: str
    columns: tuple[tuple[str, str], ...]
    key: str = ""
    builtin: bool = False
    template_id: int | None = None

    @property
    def uses_lines(self) -> bool:
        return self.layout != ExportLayout.PER_ORDER or any(
            field == "item_count" for field, _ in self.columns
        )

    @property
    def uses_tags(self) -> bool:
        return any(field == "tags" for field, _ in self.columns)


def _columns(*keys: str) -> tuple[tuple[str, str], ...]:
    return tuple((key, FIELDS[key].label) for key in keys)


# Every part of the address a label may need: the district (a Brazilian bairro, a
# Korean gu) and the sorting code (a French CEDEX) included.
ADDRESS_KEYS = (
    "order_number",
    "recipient",
    "company",
    "address_line1",
    "address_line2",
    "address_line3",
    "city",
    "city_area",
    "region",
    "postal_code",
    "sorting_code",
    "country",
    "phone",
    "backer_email",
)

PER_LINE = ColumnTemplate(
    key="per-line",
    name="One row per line",
    layout=ExportLayout.PER_LINE,
    columns=_columns(
        *ADDRESS_KEYS,
        "shipping_method",
        "customs_number",
        "sku",
        "description",
        "quantity",
        "unit_weight_g",
        "customs_value",
        "hs_code",
        "origin",
    ),
    builtin=True,
)
PER_ORDER_SKUS = ColumnTemplate(
    key="per-order-skus",
    name="One row per order, a column per SKU",
    layout=ExportLayout.PER_ORDER_SKU_COLUMNS,
    columns=_columns(
        *ADDRESS_KEYS, "shipping_method", "customs_number", "item_count", "order_weight_g"
    ),
    builtin=True,
)
# ShipStation's CSV order import ("Import Orders via CSV"): rows sharing an order
# number become one order with several items; weights go in ounces.
SHIPSTATION = ColumnTemplate(
    key="shipstation",
    name="ShipStation order import",
    layout=ExportLayout.PER_LINE,
    columns=(
        ("order_number", "Order Number"),
        ("order_date", "Order Date"),
        ("total", "Order Total"),
        ("paid_total", "Amount Paid"),
        ("tax_total", "Tax"),
        ("shipping_fee", "Shipping Paid"),
        ("shipping_method", "Requested Service"),
        ("recipient", "Recipient Full Name"),
        ("company", "Recipient Company"),
        ("phone", "Recipient Phone"),
        ("backer_email", "Buyer Email"),
        ("address_line1", "Address Line 1"),
        ("address_line2", "Address Line 2"),
        ("address_line3", "Address Line 3"),
        ("city", "City"),
        ("region", "State"),
        ("postal_code", "Postal Code"),
        ("country", "Country Code"),
        ("sku", "Item SKU"),
        ("description", "Item Name"),
        ("quantity", "Item Quantity"),
        ("unit_price", "Item Unit Price"),
        ("unit_weight_oz", "Item Weight (oz)"),
        ("customs_number", "Custom Field 1"),
    ),
    builtin=True,
)
BUILTIN_TEMPLATES: tuple[ColumnTemplate, ...] = (PER_LINE, PER_ORDER_SKUS, SHIPSTATION)
