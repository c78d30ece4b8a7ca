"""Rows of an export, streamed: orders in keyset batches (values_list), their lines
and tags fetched per batch, so memory stays flat and the number of queries grows
with the number of batches, not of orders.

Speed: typed text is made formula-safe by the database as it is read (a CASE on the
first character, the same rule as pledges.exports.safe_cell), and a row is one
itemgetter over the order's cells followed by the line's, so a line costs a tuple
concatenation rather than a Python call per cell.

An export hands its writers an ExportRows: tuples for any writer (XLSX, and CSV on
SQLite), or, through `csv_chunks()`, the CSV straight from PostgreSQL's COPY."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from operator import itemgetter

from django.db.models import CharField, F, Q, QuerySet, Value
from django.db.models.expressions import Case, When
from django.db.models.functions import Concat

from pledges.exports import FORMULA_STARTS, safe_cell

from ..models import ExportLayout, Order, OrderLine
from .fields import (
    FIELDS,
    LINE,
    LINE_COLUMNS,
    LINE_TEXT,
    ORDER_COLUMNS,
    ORDER_TEXT,
    ColumnTemplate,
)
from .pgcopy import copy_csv_chunks, copy_supported
from .writers import BOM, row_csv_chunks

BATCH = 2000


def _formula_safe(name: str):
    starts = Q()
    for start in FORMULA_STARTS:
        starts |= Q(**{f"{name}__startswith": start})
    return Case(
        When(starts, then=Concat(Value("'"), F(name), output_field=CharField())),
        default=F(name),
        output_field=CharField(),
    )


def _select(names, text, needed) -> list:
    """values_list expressions in `names` order; a column no cell reads is a NULL
    (positions stay put, the database sends and Python parses nothing for it)."""
    return [
        (_formula_safe(name) if name in text else F(name))
        if name in needed
        else Value(None, output_field=CharField())
        for name in names
    ]


def sku_columns(*, orders: QuerySet[Order]) -> list[str]:
    """The SKU codes present in `orders`' lines, sorted (the per-SKU columns)."""
    return list(
        OrderLine.objects.filter(order__in=orders.values("pk"))
        .exclude(sku_code="")
        .order_by("sku_code")
        .values_list("sku_code", flat=True)
        .distinct()
    )


def _batches(orders: QuerySet[Order], select: list, batch: int) -> Iterator[list[tuple]]:
    last = 0
    source = orders.order_by()
    while True:
        rows = list(source.filter(pk__gt=last).order_by("pk").values_list(*select)[:batch])
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _picker(positions: list[int]) -> Callable[[tuple], tuple]:
    if len(positions) == 1:
        only = positions[0]
        return lambda cells: (cells[only],)
    return itemgetter(*positions)


def export_rows(
    *, template: ColumnTemplate, orders: QuerySet[Order], batch: int = BATCH
) -> Iterator[tuple]:
    """The header, then the rows of `orders` laid out by `template`."""
    fields = [FIELDS[key] for key, _header in template.columns]
    header = [header for _key, header in template.columns]
    skus: list[str] = []
    if template.layout == ExportLayout.PER_ORDER_SKU_COLUMNS:
        skus = sku_columns(orders=orders)
        header += skus
    yield tuple(safe_cell(text) for text in header)

    # An order's cells: its row, tags, item count, then its computed cells; a line's
    # cells follow: the line row, then its computed cells.
    order_width = len(ORDER_COLUMNS) + 2
    order_calc = [f.get for f in fields if f.level != LINE and callable(f.get)]
    line_calc = [f.get for f in fields if f.level == LINE and callable(f.get)]
    order_cells = order_width + len(order_calc)
    positions, n_order, n_line = [], 0, 0
    for f in fields:
        if not callable(f.get):
            positions.append(f.get if f.level != LINE else order_cells + f.get)
        elif f.level != LINE:
            positions.append(order_width + n_order)
            n_order += 1
        else:
            positions.append(order_cells + len(LINE_COLUMNS) + n_line)
            n_line += 1
    pick = _picker(positions)
    needed = {"id", "order_id", "sku_code", "quantity"}.union(*(f.columns for f in fields))
    order_select = _select(ORDER_COLUMNS, ORDER_TEXT, needed)
    line_select = _select(LINE_COLUMNS, LINE_TEXT, needed)
    per_line = template.layout == ExportLayout.PER_LINE
    # Line SKU codes arrive formula-safe, so the column keys are too.
    sku_index = {safe_cell(code): n for n, code in enumerate(skus)}
    through = Order.tags.through

    for rows in _batches(orders, order_select, batch):
        ids = [row[0] for row in rows]
        lines: dict[int, list[tuple]] = defaultdict(list)
        if template.uses_lines:
            for line in (
                OrderLine.objects.filter(order_id__in=ids)
                .order_by("order_id", "position", "id")
                .values_list(*line_select)
            ):
                lines[line[0]].append(line)
        tags: dict[int, list[str]] = defaultdict(list)
        if template.uses_tags:
            for order_id, name in (
                through.objects.filter(order_id__in=ids)
                .order_by("order_id", "tag__name")
                .values_list("order_id", "tag__name")
            ):
                tags[order_id].append(name)
        for row in rows:
            order_lines = lines.get(row[0], ())
            full = (
                *row,
                safe_cell(", ".join(tags[row[0]])) if row[0] in tags else "",
                sum(line[3] for line in order_lines),
            )
            if order_calc:
                full = (*full, *(get(full) for get in order_calc))
            if per_line:
                for line in order_lines:
                    if line_calc:
                        line = (*line, *(get(line) for get in line_calc))  # noqa: PLW2901
                    yield pick(full + line)
            elif skus:
                counts = [0] * len(skus)
                for line in order_lines:
                    if line[1]:
                        counts[sku_index[line[1]]] += line[3]
                yield (*pick(full), *counts)
            else:
                yield pick(full)


class ExportRows:
    """The rows of an export, for any writer: iterating gives the header, then the rows
    as tuples (export_rows); `csv_chunks()` gives the CSV text, BOM first, which on
    PostgreSQL comes straight from one COPY (orders.exports.pgcopy) with the same
    bytes. Either way `finished(row count)` runs when the rows run out."""

    def __init__(
        self,
        *,
        template: ColumnTemplate,
        orders: QuerySet[Order],
        batch_id: int,
        finished: Callable[[int], None] | None = None,
    ):
        self.template = template
        self.orders = orders
        self.batch_id = batch_id
        self.finished = finished

    def __iter__(self) -> Iterator[tuple]:
        count = -1  # the header is not a row
        for row in export_rows(template=self.template, orders=self.orders):
            count += 1
            yield row
        if self.finished is not None:
            self.finished(max(count, 0))

    def csv_chunks(self) -> Iterator[str]:
        skus = (
            sku_columns(orders=self.orders)
            if self.template.layout == ExportLayout.PER_ORDER_SKU_COLUMNS
            else []
        )
        if not copy_supported(template=self.template, skus=skus):
            yield from row_csv_chunks(self)
            return
        yield BOM
        yield from copy_csv_chunks(
            template=self.template, batch_id=self.batch_id, skus=skus, finished=self.finished
        )
