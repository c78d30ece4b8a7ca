"""An export's CSV straight from PostgreSQL: one `COPY (SELECT …) TO STDOUT` built from
the template's fields (`Field.expression`, the SQL twin of each Python cell), streamed
through psycopg's `cursor.copy()` a block at a time, so memory stays flat and no row
becomes Python objects.

The text is byte for byte what `writers.row_csv_chunks` writes from `rows.export_rows`
(the golden files hold on both): empty cells are NULLs (COPY quotes an empty string,
Python's csv does not), rows end in CRLF (COPY sends one message per row, ending in
LF; a line break inside a quoted cell stays as it is, as in Python), quoting is the
same minimal rule. A one-column export stays with Python, whose csv module quotes a
row's only empty cell."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from itertools import islice

from django.db import connection, transaction

from pledges.exports import safe_cell

from ..models import ExportBatchOrder, ExportLayout, Order, OrderLine, Tag
from ..selectors import LOCKED_OR_LATER as EXPORTABLE
from .fields import FIELDS, LINE, LINE_BREAKS, WHITESPACE, ColumnTemplate

# PostgreSQL returns at most 1664 columns; SKU columns past that stay with Python.
MAX_COLUMNS = 1600
CHUNK_ROWS = 1000
# For this one statement (set_config(…, true) lasts until the transaction ends): the
# planner reads every order's lines through one merge join over the lines' order index
# (its default, an index probe per order, takes about twice as long at 250,000
# orders), and no JIT compilation, which a plan costed that way would trigger and
# which costs more than it saves on a query this simple.
PLANNER_SETTINGS = (
    "SELECT set_config('enable_nestloop', 'off', true), set_config('jit', 'off', true)"
)
# A street's lines as str.splitlines() and str.strip() cut them: the whole stripped,
# then split at every run of white space holding a line break. Most streets need no
# regular expression: when no line starts or ends in white space, none is empty and
# LF is the only break, splitting at LF is the same (and twice as fast).
STREET_BREAK = f"[{WHITESPACE}]*[{LINE_BREAKS}][{WHITESPACE}]*"
STREET_IRREGULAR = (
    f"[{LINE_BREAKS.replace(chr(10), '')}]|[{WHITESPACE}]\n|\n[{WHITESPACE}]"
    f"|^[{WHITESPACE}]|[{WHITESPACE}]$"
)


def copy_supported(*, template: ColumnTemplate, skus: list[str]) -> bool:
    """Whether COPY writes this export's CSV (PostgreSQL, two to MAX_COLUMNS columns)."""
    return connection.vendor == "postgresql" and 1 < len(template.columns) + len(skus) <= (
        MAX_COLUMNS
    )


def _uses(alias: str, expressions: list[str]) -> bool:
    return any(re.search(rf"\b{alias}\.", expression) for expression in expressions)


def copy_statement(*, template: ColumnTemplate, batch_id: int, skus: list[str]):
    """The COPY statement and its parameters for `batch_id`'s orders (those still
    locked or later: one unlocked since is not the warehouse's to ship) laid out by
    `template`, with a column per code of `skus` (per-order-SKU layout). Table names
    come from the models, expressions from the fields; every value is a parameter."""
    fields = [FIELDS[key] for key, _header in template.columns]
    order_sql = [f.expression for f in fields if f.level != LINE]
    uses_street = _uses("s", order_sql)
    uses_address = uses_street or _uses("a", order_sql)
    params: list = []
    joins = []
    if uses_address:
        joins.append(
            f"LEFT JOIN {_table(Order.address.field.related_model)} a ON a.id = o.address_id"
        )
    if _uses("r", order_sql):
        joins.append(
            f"LEFT JOIN {_table(Order.reward.field.related_model)} r ON r.id = o.reward_id"
        )
    if uses_street:
        # OFFSET 0 keeps the split a subquery evaluated once per order: pulled up, it
        # would run again for every cell that reads a line (nine per order).
        joins.append(
            "CROSS JOIN LATERAL (SELECT CASE WHEN a.street_address ~ %s "
            "THEN regexp_split_to_array(btrim(a.street_address, %s), %s) "
            "ELSE string_to_array(a.street_address, chr(10)) END AS lines OFFSET 0) s"
        )
        params += [STREET_IRREGULAR, WHITESPACE, STREET_BREAK]
    if _uses("g", order_sql):
        through = Order.tags.through
        joins.append(
            "LEFT JOIN LATERAL (SELECT string_agg(t.name, ', ' ORDER BY t.name) AS tags "  # noqa: S608
            f"FROM {_table(through)} ot JOIN {_table(Tag)} t ON t.id = ot.tag_id "
            "WHERE ot.order_id = o.id) g ON true"
        )
    if skus or _uses("q", order_sql):
        sums = "".join(
            f", sum(quantity) FILTER (WHERE sku_code = %s) AS k{n}" for n in range(len(skus))
        )
        joins.append(
            f"LEFT JOIN LATERAL (SELECT sum(quantity) AS items{sums} "  # noqa: S608
            f"FROM {_table(OrderLine)} WHERE order_id = o.id) q ON true"
        )
        params += skus
    # The batch's orders in id order: its (batch, order) unique index gives them sorted.
    orders_sql = (
        f"FROM {_table(ExportBatchOrder)} e JOIN {_table(Order)} o ON o.id = e.order_id "
        + " ".join(joins)
        + " WHERE e.batch_id = %s AND o.state IN ("
        + ", ".join(["%s"] * len(EXPORTABLE))
        + ")"
    )
    params += [batch_id, *EXPORTABLE]

    if template.layout == ExportLayout.PER_LINE:
        # Order cells once per order (OFFSET 0 keeps them out of the per-line join).
        cells = "".join(f", {_cell(sql)} AS c{n}" for n, sql in enumerate(order_sql))
        select, n_order = [], 0
        for f in fields:
            if f.level == LINE:
                select.append(_cell(f.expression))
            else:
                select.append(f"oc.c{n_order}")
                n_order += 1
        query = (
            f"SELECT {', '.join(select)} "  # noqa: S608
            f"FROM (SELECT e.order_id AS id{cells} {orders_sql} ORDER BY e.order_id OFFSET 0) oc "
            f"JOIN {_table(OrderLine)} l ON l.order_id = oc.id "
            "ORDER BY oc.id, l.position, l.id"
        )
    else:
        select = [_cell(sql) for sql in order_sql] + [
            f"coalesce(q.k{n}, 0)" for n in range(len(skus))
        ]
        query = f"SELECT {', '.join(select)} {orders_sql} ORDER BY e.order_id"
    return f"COPY ({query}) TO STDOUT WITH (FORMAT csv)", params


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _cell(sql: str) -> str:
    # Text, and empty text as NULL: COPY writes NULL as an empty unquoted cell.
    return f"nullif(({sql})::text, '')"


def header_line(*, template: ColumnTemplate, skus: list[str]) -> str:
    """The header row as Python's csv module writes it."""
    buffer = io.StringIO()
    headers = [header for _key, header in template.columns] + skus
    csv.writer(buffer).writerow([safe_cell(text) for text in headers])
    return buffer.getvalue()


def _crlf(rows: list) -> str:
    """Rows as COPY sent them (one each, ending in LF) as text ending in CRLF. Most
    chunks hold no line break inside a cell: then every LF ends a row."""
    data = b"".join(rows)
    if data.count(b"\n") == len(rows):
        return data.replace(b"\n", b"\r\n").decode()
    return (b"\r\n".join(row[:-1] for row in rows) + b"\r\n").decode()


def copy_csv_chunks(
    *,
    template: ColumnTemplate,
    batch_id: int,
    skus: list[str],
    finished: Callable[[int], None] | None = None,
) -> Iterator[str]:
    """The header, then the rows as CSV text in chunks of CHUNK_ROWS rows; when they
    run out, `finished(row count)`."""
    sql, params = copy_statement(template=template, batch_id=batch_id, skus=skus)
    yield header_line(template=template, skus=skus)
    # Values merged client-side (COPY takes no bound parameters), quoted by psycopg.
    statement = connection.ops.compose_sql(sql, params)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(PLANNER_SETTINGS)
        with cursor.copy(statement) as copy:
            blocks = iter(copy)
            while rows := list(islice(blocks, CHUNK_ROWS)):
                yield _crlf(rows)
        count = cursor.rowcount
    if finished is not None:
        finished(count)
