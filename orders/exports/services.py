"""Export actions: run an export (an ExportBatch recording which orders went, the
orders marked exported, a timeline event each), download a past batch again, and
the creator's own column templates."""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import IntegrityError, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from pledges.models import Campaign

from ..errors_lock import (
    ExportFormatUnknown,
    ExportTemplateInvalid,
    ExportTemplateUnknown,
    NothingToExport,
)
from ..models import (
    EventKind,
    ExportBatch,
    ExportBatchOrder,
    ExportLayout,
    ExportTemplate,
    Order,
    OrderEvent,
)
from ..selectors import LOCKED_OR_LATER
from .fields import BUILTIN_TEMPLATES, FIELDS, LINE, ColumnTemplate
from .rows import ExportRows
from .writers import FORMATS

# Locked or later: what a warehouse may receive.
EXPORTABLE = LOCKED_OR_LATER


# --- templates ----------------------------------------------------------------------------


def column_template(template: ExportTemplate) -> ColumnTemplate:
    return ColumnTemplate(
        name=template.name,
        layout=template.layout,
        columns=tuple(
            (c["field"], c.get("header") or FIELDS[c["field"]].label)
            for c in template.columns
            if c.get("field") in FIELDS
        ),
        template_id=template.pk,
    )


def templates_for(*, campaign: Campaign) -> list[ColumnTemplate]:
    """The built-ins first, then the campaign's own templates by name."""
    own = ExportTemplate.objects.filter(campaign=campaign).order_by("name")
    return [*BUILTIN_TEMPLATES, *(column_template(t) for t in own)]


def template_named(*, campaign: Campaign, name: str) -> ColumnTemplate:
    """A built-in (by key or name) or the campaign's own template (by name)."""
    wanted = (name or "").strip().lower()
    for builtin in BUILTIN_TEMPLATES:
        if wanted in (builtin.key, builtin.name.lower()):
            return builtin
    own = ExportTemplate.objects.filter(campaign=campaign, name__iexact=wanted).first()
    if own is None:
        raise ExportTemplateUnknown(f"No export template called “{name}”.")
    return column_template(own)


def clean_columns(*, layout: str, columns: Sequence[dict]) -> list[dict]:
    """Known fields, a header each (the field's label when left empty), every header
    different, no line fields in a one-row-per-order layout, at least one column."""
    if layout not in ExportLayout.values:
        raise ExportTemplateInvalid("Pick a layout.", field="layout")
    cleaned = []
    for column in columns:
        key = column.get("field", "")
        if key not in FIELDS:
            raise ExportTemplateInvalid(f"“{key}” is not a field an export knows.")
        if FIELDS[key].level == LINE and layout != ExportLayout.PER_LINE:
            raise ExportTemplateInvalid(
                f"“{FIELDS[key].label}” is a field of an order line: it needs the "
                "one-row-per-line layout."
            )
        header = (" ".join((column.get("header") or "").split()) or FIELDS[key].label)[:120]
        if any(header.lower() == other["header"].lower() for other in cleaned):
            # A warehouse import maps columns by header: two alike are ambiguous.
            raise ExportTemplateInvalid(
                f"Column {len(cleaned) + 1}: the header “{header}” is already used by "
                "another column. Give each column its own header."
            )
        cleaned.append({"field": key, "header": header})
    if not cleaned:
        raise ExportTemplateInvalid("Add at least one column.")
    return cleaned


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ExportTemplateInvalid("Give the template a name.", field="name")
    if any(name.lower() in (b.key, b.name.lower()) for b in BUILTIN_TEMPLATES):
        raise ExportTemplateInvalid("A built-in template has that name.", field="name")
    return name[:80]


def create_export_template(
    *, campaign: Campaign, name: str, layout: str, columns: Sequence[dict], actor=None
) -> ExportTemplate:
    """A creator's column template: chosen, renamed and ordered columns."""
    name = _clean_name(name)
    cleaned = clean_columns(layout=layout, columns=columns)
    if ExportTemplate.objects.filter(campaign=campaign, name__iexact=name).exists():
        raise ExportTemplateInvalid("A template of that name exists.", field="name")
    try:
        with transaction.atomic():
            return ExportTemplate.objects.create(
                campaign=campaign,
                name=name,
                layout=layout,
                columns=cleaned,
                created_by=actor if actor is not None and not isinstance(actor, str) else None,
            )
    except IntegrityError as exc:
        raise ExportTemplateInvalid("A template of that name exists.", field="name") from exc


def update_export_template(
    *, template: ExportTemplate, name: str, layout: str, columns: Sequence[dict]
) -> ExportTemplate:
    name = _clean_name(name)
    cleaned = clean_columns(layout=layout, columns=columns)
    taken = (
        ExportTemplate.objects.filter(campaign_id=template.campaign_id, name__iexact=name)
        .exclude(pk=template.pk)
        .exists()
    )
    if taken:
        raise ExportTemplateInvalid("A template of that name exists.", field="name")
    template.name, template.layout, template.columns = name, layout, cleaned
    template.save(update_fields=["name", "layout", "columns", "updated_at"])
    return template


def delete_export_template(*, template: ExportTemplate) -> None:
    """Past batches keep the template's name; nothing else refers to it."""
    template.delete()


# --- running an export --------------------------------------------------------------------


def exportable_orders(
    *, campaign: Campaign, include_exported: bool, orders: QuerySet[Order] | None = None
) -> QuerySet[Order]:
    scope = Order.objects.all() if orders is None else orders
    scope = scope.filter(campaign=campaign, state__in=EXPORTABLE)
    if not include_exported:
        scope = scope.filter(exported_at__isnull=True)
    return scope.order_by()


def _json(value: dict) -> str:
    return json.dumps(value)


def _event_values(batch: ExportBatch, actor, now) -> list:
    """kind, created_at, actor_id, actor_label, message, before, after of the events."""
    actor_id = None if actor is None or isinstance(actor, str) else actor.pk
    return [
        EventKind.EXPORT.value,
        now,
        actor_id,
        "" if actor_id else (actor or "system"),
        f"Exported in batch {batch.pk} ({batch.template_name}, {batch.format})",
        _json({}),
        _json({"batch": batch.pk}),
    ]


def _record_batch_orders(batch: ExportBatch, scope: QuerySet[Order], actor, now) -> int:
    """ExportBatchOrder rows, the orders' exported_at/export_count and one event per
    order, set-based (no row in Python): on PostgreSQL one statement, the UPDATE …
    RETURNING feeding both INSERTs; elsewhere an INSERT … SELECT, an UPDATE and an
    INSERT … SELECT."""
    if connection.vendor == "postgresql":
        return _record_batch_orders_pg(batch, scope, actor, now)
    entries = ExportBatchOrder._meta.db_table
    events = OrderEvent._meta.db_table
    sql, params = scope.values("pk").distinct().query.sql_with_params()
    # Table names come from the models and every value is a parameter.
    insert_entries = (
        f"INSERT INTO {entries} (batch_id, order_id) "  # noqa: S608
        f"SELECT %s, picked.* FROM ({sql}) picked"
    )
    with connection.cursor() as cursor:
        cursor.execute(insert_entries, [batch.pk, *params])
        count = cursor.rowcount
    if not count:
        return 0
    in_batch = ExportBatchOrder.objects.filter(batch=batch).values("order_id")
    Order.objects.filter(pk__in=in_batch).update(
        exported_at=now, export_count=F("export_count") + 1, updated_at=now
    )
    insert_events = (
        f"INSERT INTO {events} (order_id, kind, created_at, actor_id, "  # noqa: S608
        f"actor_label, message, before, after) SELECT order_id, %s, %s, %s, %s, %s, "
        f"%s, %s FROM {entries} WHERE batch_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(insert_events, [*_event_values(batch, actor, now), batch.pk])
    return count


def _record_batch_orders_pg(batch: ExportBatch, scope: QuerySet[Order], actor, now) -> int:
    orders = Order._meta.db_table
    entries = ExportBatchOrder._meta.db_table
    events = OrderEvent._meta.db_table
    sql, params = scope.values("pk").query.sql_with_params()
    # Table names come from the models and every value is a parameter.
    statement = (
        f"WITH picked AS (UPDATE {orders} SET exported_at = %s, "  # noqa: S608
        "export_count = export_count + 1, updated_at = %s "
        f"WHERE id IN ({sql}) RETURNING id), "
        f"entries AS (INSERT INTO {entries} (batch_id, order_id) SELECT %s, id FROM picked) "
        f"INSERT INTO {events} (order_id, kind, created_at, actor_id, actor_label, message, "
        "before, after) SELECT id, %s, %s, %s, %s, %s, CAST(%s AS jsonb), CAST(%s AS jsonb) "
        "FROM picked"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [now, now, *params, batch.pk, *_event_values(batch, actor, now)])
        return cursor.rowcount


def export_orders(
    *,
    campaign: Campaign,
    template: ColumnTemplate,
    fmt: str,
    include_exported: bool,
    actor=None,
    orders: QuerySet[Order] | None = None,
) -> tuple[ExportBatch, ExportRows]:
    """Export the campaign's locked (or later) orders, narrowed by `orders`.

    Orders already exported stay out unless `include_exported` is chosen. One
    transaction records the ExportBatch with its orders, marks them exported
    (exported_at, export_count + 1) and writes an export event on each; then the
    rows (header first) stream from the batch: an ExportRows, whose `csv_chunks()`
    is the CSV straight from COPY on PostgreSQL. Raises NothingToExport when no order
    is left. The batch's row count and finish time are set when the rows run out."""
    if fmt not in FORMATS:
        raise ExportFormatUnknown(f"Unknown format “{fmt}”: use csv or xlsx.")
    scope = exportable_orders(campaign=campaign, include_exported=include_exported, orders=orders)
    with transaction.atomic():
        now = timezone.now()
        batch = ExportBatch.objects.create(
            campaign=campaign,
            template_name=template.name,
            layout=template.layout,
            columns=[{"field": key, "header": header} for key, header in template.columns],
            format=fmt,
            include_exported=include_exported,
            created_by=actor if actor is not None and not isinstance(actor, str) else None,
        )
        count = _record_batch_orders(batch, scope, actor, now)
        if not count:
            already = exportable_orders(campaign=campaign, include_exported=True, orders=orders)
            exported_before = already.exists()
            hint = (
                " Every locked order was exported before: tick “include orders already "
                "exported” to send them again."
                if exported_before
                else " Lock orders first."
            )
            error = NothingToExport("No locked orders to export." + hint)
            error.exported_before = exported_before
            raise error
        batch.order_count = count
        batch.save(update_fields=["order_count"])

    def finished(row_count: int) -> None:
        ExportBatch.objects.filter(pk=batch.pk).update(
            row_count=row_count, finished_at=timezone.now()
        )

    return batch, ExportRows(
        template=template, orders=batch_orders(batch), batch_id=batch.pk, finished=finished
    )


def batch_orders(batch: ExportBatch) -> QuerySet[Order]:
    """The batch's orders that are still locked or later: one unlocked since is open to
    changes again and not the warehouse's to ship (until it is locked and exported
    again)."""
    return Order.objects.filter(
        pk__in=ExportBatchOrder.objects.filter(batch=batch).values("order_id"),
        state__in=EXPORTABLE,
    )


def batch_template(batch: ExportBatch) -> ColumnTemplate:
    """The columns a past batch was written with (kept on it), or for a batch from
    before they were kept, the template of that name as it is now."""
    if not batch.columns:
        return template_named(campaign=batch.campaign, name=batch.template_name)
    return ColumnTemplate(
        name=batch.template_name,
        layout=batch.layout,
        columns=tuple(
            (column["field"], column["header"])
            for column in batch.columns
            if column.get("field") in FIELDS
        ),
    )


def batch_rows(*, batch: ExportBatch) -> ExportRows:
    """The rows of a past batch again (its orders still locked or later, as they are
    now, in the batch's own columns), nothing marked."""
    template = batch_template(batch)
    return ExportRows(template=template, orders=batch_orders(batch), batch_id=batch.pk)


def batches_for(*, campaign: Campaign) -> QuerySet[ExportBatch]:
    return (
        ExportBatch.objects.filter(campaign=campaign)
        .select_related("created_by")
        .order_by("-created_at", "-pk")
    )
