"""Build the orders of a whole campaign at once, set-based.

The same plan as `build_order` (building.plan_order), applied to thousands of orders
per statement: the SKU map is read once; backers, pledges, responses and carts are
streamed in keyset batches as plain values; every backer is exploded in Python;
order numbers are taken as one range per batch; orders, lines, addresses, holds and
events are written with COPY on PostgreSQL (bulk_create elsewhere).

Idempotent: each order keeps a fingerprint of what it was built from; a re-run
skips orders whose inputs did not change and rewrites only what differs in the
others. Locked orders (or further on) are never touched. Orders that take part in
a merge go through `build_order` one by one (rare, and their plan spans orders).

New address versions written here are not checked one by one: their orders wait in
`submitted` until `validate_addresses` checks them (the build_orders command runs it
right after the build).
"""

from __future__ import annotations

import gc
import json
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone
from djmoney.money import Money

from inventory import bom
from pledges.models import Backer, DuplicateStatus
from surveys.models import CartLine, SurveyResponse

from ..errors import OrdersError
from ..models import (
    ADDRESS_FIELDS,
    BACKER_EDITABLE,
    TRANSITIONS,
    AddressSource,
    AddressStatus,
    EventKind,
    HoldReason,
    Order,
    OrderAddress,
    OrderEvent,
    OrderHold,
    OrderLine,
    OrderState,
)
from .batch_writer import BatchWriter, should_thread
from .building import (
    _STICKY_WHEN_CLEARED_BY_STAFF,
    AUTOMATIC_HOLDS,
    REPRICED_FIELDS,
    TAX_TREATMENT,
    ZERO,
    BuildInput,
    OrderPlan,
    build_order_for_backer,
    catalog_digest,
    fingerprint,
    line_key,
    plan_order,
    pledge_address_fields,
    repriced_money,
    survey_address_fields,
)
from .holds import address_waits
from .numbering import take_order_numbers
from .review_rules import rules_of

BATCH_SIZE = 5000
ACTOR_LABEL = "build job"

_PLEDGE_FIELDS = (
    "reward_id",
    "pledged_at",
    "addons_text",
    "amount",
    "amount_currency",
    "shipping_name",
    "shipping_address_1",
    "shipping_address_2",
    "shipping_city",
    "shipping_region",
    "shipping_postal_code",
    "shipping_country",
    "shipping_phone",
)
_PLEDGE_KEYS = tuple((name, f"pledges__{name}") for name in _PLEDGE_FIELDS)
# Whether the survey was paid, as a boolean (PostgreSQL need not send the date).
_PAID = ExpressionWrapper(Q(paid_at__isnull=False), output_field=BooleanField())
_RESPONSE_FIELDS = (
    "pk",
    "backer_id",
    "language",
    "choices",
    "regional_opt_outs",
    "address",
    "address_country",
    "vat_number",
    "completed_at",
    _PAID,
    "credit",
    "addons_total",
    "shipping_total",
    "tax_total",
    "reward_due",
    *TAX_TREATMENT,
)


@dataclass
class BuildResult:
    backers: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    locked: int = 0
    one_by_one: int = 0
    skipped: int = 0  # neither a pledge nor a response
    lines_written: int = 0
    addresses_written: int = 0
    holds_opened: int = 0
    holds_cleared: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.errors)

    def as_dict(self) -> dict[str, int]:
        names = (
            "backers",
            "created",
            "updated",
            "unchanged",
            "locked",
            "one_by_one",
            "skipped",
            "lines_written",
            "addresses_written",
            "holds_opened",
            "holds_cleared",
            "failed",
        )
        return {name: getattr(self, name) for name in names}


# --- rows -------------------------------------------------------------------------


class _Rows:
    """Rows of one model as tuples in its column order, with the model's defaults;
    written with COPY on PostgreSQL, bulk_create elsewhere."""

    def __init__(self, model):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.columns = [f.column for f in self.fields]
        self.index = {f.attname: i for i, f in enumerate(self.fields)}
        blank = model()
        template = []
        for f in self.fields:
            value = getattr(blank, f.attname)
            if isinstance(value, Money):
                value = value.amount
            template.append(value)
        self.template = template
        self.json = {i for i, f in enumerate(self.fields) if f.get_internal_type() == "JSONField"}
        self.rows: list[list] = []

    def add(self, **values) -> list:
        row = list(self.template)
        index = self.index
        for name, value in values.items():
            row[index[name]] = value
        self.rows.append(row)
        return row

    def write(self) -> int:
        rows, self.rows = self.rows, []
        if not rows:
            return 0
        if connection.vendor == "postgresql":
            id_index = self.index["id"]
            with_id = rows[0][id_index] is not None
            columns = self.columns if with_id else [c for c in self.columns if c != "id"]
            skip = None if with_id else id_index
            json_at = self.json
            with connection.cursor() as cursor:
                sql = f"COPY {self.model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
                with cursor.copy(sql) as copy:
                    for row in rows:
                        for i in json_at:
                            row[i] = json.dumps(row[i], ensure_ascii=False, default=str)
                        if skip is not None:
                            del row[skip]
                        copy.write_row(row)
            return len(rows)
        names = [f.attname for f in self.fields]
        objects = []
        for row in rows:
            values = dict(zip(names, row, strict=True))
            if values.get("id") is None:
                values.pop("id", None)
            objects.append(self.model(**values))
        self.model.objects.bulk_create(objects, batch_size=2000)
        for row, obj in zip(rows, objects, strict=True):
            row[self.index["id"]] = obj.pk
        return len(rows)


def _reserve_ids(model, count: int) -> list[int] | None:
    """`count` ids from the table's sequence (PostgreSQL), so rows can point at each
    other before they are written (foreign keys are checked at commit)."""
    if connection.vendor != "postgresql" or not count:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


# --- reading a batch --------------------------------------------------------------


def _backer_batches(campaign_id: int, batch_size: int):
    """Backers with their pledge and duplicate group, by primary key, as values."""
    last = 0
    fields = (
        "pk",
        "email",
        "name",
        "duplicate_group_id",
        "duplicate_group__status",
        "pledges__id",
        *(f"pledges__{name}" for name in _PLEDGE_FIELDS),
    )
    while True:
        rows = list(
            Backer.objects.filter(campaign_id=campaign_id, pk__gt=last)
            .order_by("pk")
            .values(*fields)[:batch_size]
        )
        if not rows:
            return
        last = rows[-1]["pk"]
        yield rows


def _inputs(
    campaign_id: int,
    currency: str,
    backers: list[dict],
    paid: dict[int, Decimal],
    after: int,
    repriced: dict[int, dict] | None = None,
):
    """The BuildInput of each backer of a batch (None: neither pledge nor response);
    `repriced`: by backer, the REPRICED_FIELDS of re-priced orders (`repriced_money`).
    Responses and carts are read by the batch's key range (backer ids after `after`
    up to the last one), a join instead of a list of thousands of ids."""
    last = backers[-1]["pk"]
    repriced = repriced or {}
    in_batch = {
        "backer__campaign_id": campaign_id,
        "backer_id__gt": after,
        "backer_id__lte": last,
    }
    responses = {}
    for row in (
        SurveyResponse.objects.filter(is_test=False, **in_batch)
        .order_by("pk")
        .values_list(*_RESPONSE_FIELDS)
    ):
        responses[row[1]] = row
    carts: dict[int, list] = defaultdict(list)
    for response_id, offer_id, quantity, price in (
        CartLine.objects.filter(
            response__is_test=False, **{f"response__{k}": v for k, v in in_batch.items()}
        )
        .order_by("pk")
        .values_list("response_id", "offer_id", "quantity", "unit_price")
    ):
        carts[response_id].append((offer_id, quantity, price))
    for backer in backers:
        response = responses.get(backer["pk"])
        if backer["pledges__id"] is None and response is None:
            yield backer["pk"], None
            continue
        values = {}
        if backer["pledges__id"] is not None:
            pledge = {name: backer[key] for name, key in _PLEDGE_KEYS}
            values.update(
                reward_id=pledge["reward_id"],
                pledged_at=pledge["pledged_at"],
                addons_text=pledge["addons_text"] or "",
                pledge_amount=pledge["amount"],
                pledge_address=pledge_address_fields(pledge),
                pledge_country=str(pledge["shipping_country"] or "").upper(),
            )
        if response is not None:
            (
                response_id,
                _backer,
                language,
                choices,
                opt_outs,
                address,
                address_country,
                vat_number,
                completed_at,
                paid_,
                credit,
                addons_total,
                shipping_total,
                tax_total,
                reward_due,
                *treatment,
            ) = response
            values.update(
                response_id=response_id,
                completed=completed_at is not None,
                paid=paid_,
                language=language or "en",
                choices=dict(choices or {}),
                regional_opt_outs=tuple(opt_outs or ()),
                cart=tuple(carts.get(response_id, ())),
                survey_address=survey_address_fields(address),
                survey_country=(address_country or "").upper(),
                vat_number=vat_number,
                credit=credit,
                addons_total=addons_total,
                shipping_total=shipping_total,
                tax_total=tax_total,
                reward_due=reward_due,
                **dict(zip(TAX_TREATMENT, treatment, strict=True)),
            )
            values.update(
                completed_at=completed_at,
                repriced=repriced_money(repriced.get(backer["pk"]), completed_at),
            )
        yield (
            backer["pk"],
            BuildInput(
                backer_id=backer["pk"],
                campaign_id=campaign_id,
                currency=backer["pledges__amount_currency"] or currency,
                email=backer["email"],
                name=backer["name"],
                paid_total=paid.get(backer["pk"], ZERO),
                duplicate_open=backer["duplicate_group_id"] is not None
                and backer["duplicate_group__status"] == DuplicateStatus.OPEN,
                **values,
            ),
        )


# --- the build --------------------------------------------------------------------


@dataclass
class _Entry:
    inp: BuildInput
    plan: OrderPlan
    fingerprint: str
    order: dict | None  # the existing order's values, None for a new one


def _state_path(current: str, target: str) -> list[str]:
    """The states an order passes from `current` to `target` (allowed moves only)."""
    if current == target:
        return []
    if target in TRANSITIONS[current]:
        return [target]
    for middle in TRANSITIONS[current]:
        if target in TRANSITIONS[middle]:
            return [middle, target]
    raise OrdersError(f"No way from {current} to {target}.")


class _Batch:
    """The writes of one batch, collected and then done table by table."""

    def __init__(self, campaign_id: int, result: BuildResult, now: datetime | None = None):
        self.campaign_id = campaign_id
        self.result = result
        self.now = now or timezone.now()
        self.orders = _Rows(Order)
        self.lines = _Rows(OrderLine)
        self.addresses = _Rows(OrderAddress)
        self.holds = _Rows(OrderHold)
        self.events = _Rows(OrderEvent)
        self.order_updates: list[Order] = []
        self.line_deletes: list[int] = []
        self.hold_clears: list[tuple[int, int]] = []  # (hold id, order id)
        self.hold_details: list[tuple[int, str]] = []

    def event(self, order_id, kind, message="", before=None, after=None):
        self.events.add(
            order_id=order_id,
            kind=kind,
            created_at=self.now,
            actor_label=ACTOR_LABEL,
            message=message,
            before=before or {},
            after=after or {},
        )

    def line_rows(self, order_id: int, plan: OrderPlan) -> None:
        currency = plan.currency
        for position, line in enumerate(plan.lines, start=1):
            self.lines.add(
                order_id=order_id,
                position=position,
                sku_id=line.sku_id,
                sku_code=line.sku_code,
                description=line.description,
                quantity=line.quantity,
                source=line.source,
                detail=line.detail,
                unit_weight_g=line.unit_weight_g,
                customs_value_currency=line.customs_currency,
                customs_value=line.customs_value,
                hs_code=line.hs_code,
                country_of_origin=line.country_of_origin,
                unit_price_currency=currency,
                unit_price=line.unit_price,
                line_total_currency=currency,
                line_total=line.line_total,
            )
        self.result.lines_written += len(plan.lines)

    def address_row(self, order_id: int, version: int, plan: OrderPlan, address_id=None):
        self.addresses.add(
            id=address_id,
            order_id=order_id,
            version=version,
            source=plan.address_source,
            created_at=self.now,
            status=AddressStatus.UNCHECKED,
            **plan.address,
        )
        self.result.addresses_written += 1
        self.event(
            order_id,
            EventKind.ADDRESS,
            f"Address version {version} ({AddressSource(plan.address_source).label}).",
            after=plan.address,
        )

    def open_hold(self, order_id: int, reason: str, detail: str) -> None:
        self.holds.add(order_id=order_id, reason=reason, detail=detail, opened_at=self.now)
        self.result.holds_opened += 1
        label = HoldReason(reason).label
        self.event(
            order_id,
            EventKind.HOLD_OPENED,
            f"{label}: {detail}" if detail else label,
            after={"reason": reason, "detail": detail},
        )


def _target_state(plan: OrderPlan, open_after: set[str], *, address_waits: bool) -> str:
    """Draft until the survey is done; then ready only with no open hold and a checked
    address (holds.address_waits): a new address version waits for validation."""
    if not plan.completed:
        return OrderState.DRAFT
    return OrderState.SUBMITTED if open_after or address_waits else OrderState.READY


def _money(plan: OrderPlan) -> dict:
    c = plan.currency
    return {
        "currency": c,
        "prices_include_tax": plan.prices_include_tax,
        "pledge_amount": plan.pledge_amount,
        "pledge_amount_currency": c,
        "credit": plan.credit,
        "credit_currency": c,
        "goods_total": plan.goods_total,
        "goods_total_currency": c,
        "shipping_fee": plan.shipping_fee,
        "shipping_fee_currency": c,
        "tax_total": plan.tax_total,
        "tax_total_currency": c,
        "total": plan.total,
        "total_currency": c,
        "credit_applied": plan.credit_applied,
        "credit_applied_currency": c,
        "balance_due": plan.balance_due,
        "balance_due_currency": c,
        "paid_total_currency": c,
        "refunded_total_currency": c,
        **plan.treatment,
    }


def _weight(plan: OrderPlan) -> int:
    return sum(line.unit_weight_g * line.quantity for line in plan.lines)


def _create(batch: _Batch, entries: list[_Entry]) -> None:
    if not entries:
        return
    first_number = take_order_numbers(campaign_id=batch.campaign_id, count=len(entries))
    with_address = [e for e in entries if e.plan.address]
    order_ids = _reserve_ids(Order, len(entries))
    address_ids = _reserve_ids(OrderAddress, len(with_address))
    now = batch.now
    order_rows = []
    for offset, entry in enumerate(entries):
        plan, inp = entry.plan, entry.inp
        state = _target_state(plan, set(plan.holds), address_waits=bool(plan.address))
        row = batch.orders.add(
            id=order_ids[offset] if order_ids else None,
            campaign_id=batch.campaign_id,
            backer_id=inp.backer_id,
            response_id=inp.response_id,
            number=first_number + offset,
            state=state,
            state_changed_at=now,
            submitted_at=now if state != OrderState.DRAFT else None,
            email=inp.email,
            name=inp.name[:300],
            language=inp.language,
            reward_id=inp.reward_id,
            country=plan.country,
            vat_number=inp.vat_number,
            survey_confirmed_at=inp.completed_at,
            weight_g=_weight(plan),
            build_fingerprint=entry.fingerprint,
            created_at=now,
            updated_at=now,
            **_money(plan),
        )
        order_rows.append(row)
    address_at = {}
    if address_ids is not None:
        for entry, address_id in zip(with_address, address_ids, strict=True):
            address_at[id(entry)] = address_id
        for entry, row in zip(entries, order_rows, strict=True):
            row[batch.orders.index["address_id"]] = address_at.get(id(entry))
    batch.orders.write()
    batch.result.created += len(entries)
    id_at = batch.orders.index["id"]
    for entry, row in zip(entries, order_rows, strict=True):
        order_id = row[id_at]
        plan = entry.plan
        batch.event(
            order_id,
            EventKind.CREATED,
            "Built from the pledge and the survey.",
            after={"lines": [line.summary() for line in plan.lines]},
        )
        batch.line_rows(order_id, plan)
        if plan.address:
            batch.address_row(order_id, 1, plan, address_at.get(id(entry)))
        for reason, detail in plan.holds.items():
            batch.open_hold(order_id, reason, detail)
    if address_ids is None and with_address:
        # No reserved ids (not PostgreSQL): point the orders at their addresses after.
        address_rows = list(batch.addresses.rows)
        batch.addresses.write()
        by_order = {
            r[batch.addresses.index["order_id"]]: r[batch.addresses.index["id"]]
            for r in address_rows
        }
        Order.objects.bulk_update(
            [Order(pk=oid, address_id=aid) for oid, aid in by_order.items()], ["address_id"]
        )


# --- the PostgreSQL path: COPY text, each distinct line block formatted once ------

_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_ORDER_ID = "\x00"  # stands for the order id in a memoised block (text never holds NUL)


class _Raw(str):
    """A value already in COPY text form."""


def _text(value) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if type(value) is _Raw:
        return value
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPE)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str).translate(_COPY_ESCAPE)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Money):
        return str(value.amount)
    return str(value)


class _Copy:
    """Rows of one model as COPY text lines, every column (but `id` unless `with_id`)
    with the model's defaults unless given."""

    def __init__(self, model, *, with_id: bool = False):
        fields = [f for f in model._meta.concrete_fields if with_id or f.attname != "id"]
        self.table = model._meta.db_table
        self.columns = [f.column for f in fields]
        self.at = {f.attname: i for i, f in enumerate(fields)}
        blank = model()
        self.template = [_text(getattr(blank, f.attname)) for f in fields]
        self.lines: list[str] = []

    def row(self, values: dict) -> str:
        row = self.template.copy()
        at = self.at
        for name, value in values.items():
            row[at[name]] = _text(value)
        return "\t".join(row) + "\n"

    def add(self, **values) -> None:
        self.lines.append(self.row(values))

    def write(self, lines: list[str] | None = None) -> int:
        if lines is None:
            lines, self.lines = self.lines, []
        if not lines:
            return 0
        sql = f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.copy(sql) as copy:
            for start in range(0, len(lines), 2000):
                copy.write("".join(lines[start : start + 2000]))
        return len(lines)


@dataclass
class _Block:
    """What a build writes alike for every order with one (memoised) list of lines."""

    lines: list  # the list itself, so its id stays this block's key
    text: str  # the OrderLine rows, the order id as _ORDER_ID
    count: int
    weight: int
    created_after: _Raw  # the `created` event's after, as COPY text


def _block(memo: dict, plan: OrderPlan, line_copy: _Copy) -> _Block:
    key = (id(plan.lines), plan.currency)
    block = memo.get(key)
    if block is not None and block.lines is plan.lines:
        return block
    currency = plan.currency
    rows = [
        line_copy.row(
            {
                "order_id": _Raw(_ORDER_ID),
                "position": position,
                "sku_id": line.sku_id,
                "sku_code": line.sku_code,
                "description": line.description,
                "quantity": line.quantity,
                "source": line.source,
                "detail": line.detail,
                "unit_weight_g": line.unit_weight_g,
                "customs_value_currency": line.customs_currency,
                "customs_value": line.customs_value,
                "hs_code": line.hs_code,
                "country_of_origin": line.country_of_origin,
                "unit_price_currency": currency,
                "unit_price": line.unit_price,
                "line_total_currency": currency,
                "line_total": line.line_total,
            }
        )
        for position, line in enumerate(plan.lines, start=1)
    ]
    block = memo[key] = _Block(
        lines=plan.lines,
        text="".join(rows),
        count=len(rows),
        weight=_weight(plan),
        created_after=_Raw(_text({"lines": [line.summary() for line in plan.lines]})),
    )
    return block


def _s(value: str) -> str:
    return value.translate(_COPY_ESCAPE) if value else ""


def _n(value) -> str:
    return "\\N" if value is None else str(value)


@dataclass
class _NewRows:
    """A batch's new orders as COPY text, formatted while the batch before is written.
    Order rows are split around their number: numbers are taken when the batch is
    written, in its transaction."""

    orders: list[tuple[str, str]]
    addresses: list[str]
    lines: list[str]
    holds: list[str]
    events: list[str]
    lines_written: int = 0
    holds_opened: int = 0


def _copies(memo: dict) -> dict:
    copies = memo.setdefault("copies", {})
    for model in (Order, OrderAddress, OrderLine, OrderHold, OrderEvent):
        if model not in copies:
            copies[model] = _Copy(model, with_id=model in (Order, OrderAddress))
    return copies


def _format_new(campaign_id: int, now: datetime, entries: list[_Entry], memo: dict) -> _NewRows:
    """`_create`'s rows for PostgreSQL, as COPY text with ids reserved up front (from
    the sequences: no transaction needed). Per order only its own values are
    formatted; the rest comes from templates."""
    order_ids = _reserve_ids(Order, len(entries)) or []
    address_ids = iter(_reserve_ids(OrderAddress, sum(1 for e in entries if e.plan.address)) or ())
    copies = _copies(memo)
    orders, addresses, lines, holds, events = (
        copies[m] for m in (Order, OrderAddress, OrderLine, OrderHold, OrderEvent)
    )
    blocks = memo.setdefault("blocks", {})
    labels = memo.setdefault("labels", {})
    now = _Raw(_text(now))
    actor = ACTOR_LABEL
    rows = _NewRows(orders=[], addresses=[], lines=[], holds=[], events=[])

    # Orders: one template per currency, tax-inclusive prices and tax treatment (a few
    # in a campaign), the batch's constants in it.
    o = orders.at
    templates: dict[tuple, list[str]] = {}

    def order_template(currency: str, include_tax: bool, treatment: tuple) -> list[str]:
        row = orders.template.copy()
        constants = {
            "campaign_id": campaign_id,
            "state_changed_at": now,
            "created_at": now,
            "updated_at": now,
            "currency": currency,
            "prices_include_tax": include_tax,
            **dict(treatment),
        }
        for name in o:
            if name.endswith("_currency"):
                constants[name] = currency
        for name, value in constants.items():
            row[o[name]] = _text(value)
        return row

    i_id, i_backer, i_response, i_number = o["id"], o["backer_id"], o["response_id"], o["number"]
    i_state, i_submitted, i_email, i_name = o["state"], o["submitted_at"], o["email"], o["name"]
    i_language, i_reward, i_address, i_country = (
        o["language"],
        o["reward_id"],
        o["address_id"],
        o["country"],
    )
    i_vat, i_weight, i_fingerprint = o["vat_number"], o["weight_g"], o["build_fingerprint"]
    i_confirmed = o["survey_confirmed_at"]
    money_at = [
        (o[name], name)
        for name in (
            "pledge_amount",
            "credit",
            "goods_total",
            "shipping_fee",
            "tax_total",
            "total",
            "credit_applied",
            "balance_due",
        )
    ]
    # Events: the columns after order_id are the same for every `created` event of a block.
    e = events.at
    event_base = events.template.copy()
    event_base[e["created_at"]] = now
    event_base[e["actor_label"]] = _s(actor)
    i_event_order, i_kind, i_message, i_after = (
        e["order_id"],
        e["kind"],
        e["message"],
        e["after"],
    )
    created_base = event_base.copy()
    created_base[i_kind] = _s(EventKind.CREATED)
    created_base[i_message] = _s("Built from the pledge and the survey.")
    address_base = event_base.copy()
    address_base[i_kind] = _s(EventKind.ADDRESS)
    a = addresses.at
    address_row = addresses.template.copy()
    address_row[a["version"]] = "1"
    address_row[a["created_at"]] = now
    address_row[a["status"]] = _s(AddressStatus.UNCHECKED)
    address_at = [(a[name], name) for name in ADDRESS_FIELDS]
    i_aid, i_aorder, i_source = a["id"], a["order_id"], a["source"]

    order_rows, address_rows, event_rows, line_rows = rows.orders, rows.addresses, [], rows.lines
    hold_events: list[str] = []
    i_after_number = i_number + 1
    for offset, entry in enumerate(entries):
        plan, inp = entry.plan, entry.inp
        order_id = order_ids[offset]
        oid = str(order_id)
        block = _block(blocks, plan, lines)
        state = _target_state(plan, set(plan.holds), address_waits=bool(plan.address))
        address_id = next(address_ids) if plan.address else None
        key = (plan.currency, plan.prices_include_tax, tuple(plan.treatment.items()))
        base = templates.get(key)
        if base is None:
            base = templates[key] = order_template(*key)
        row = base.copy()
        row[i_id] = oid
        row[i_backer] = str(inp.backer_id)
        row[i_response] = _n(inp.response_id)
        row[i_state] = state
        row[i_submitted] = now if state != OrderState.DRAFT else "\\N"
        row[i_email] = _s(inp.email)
        row[i_name] = _s(inp.name[:300])
        row[i_language] = _s(inp.language)
        row[i_reward] = _n(inp.reward_id)
        row[i_address] = _n(address_id)
        row[i_country] = _s(plan.country)
        row[i_vat] = _s(inp.vat_number)
        row[i_confirmed] = _text(inp.completed_at)
        row[i_weight] = str(block.weight)
        row[i_fingerprint] = entry.fingerprint
        for index, name in money_at:
            row[index] = str(getattr(plan, name))
        order_rows.append(
            ("\t".join(row[:i_number]) + "\t", "\t" + "\t".join(row[i_after_number:]) + "\n")
        )

        created = created_base.copy()
        created[i_event_order] = oid
        created[i_after] = block.created_after
        event_rows.append("\t".join(created))
        line_rows.append(block.text.replace(_ORDER_ID, oid))
        rows.lines_written += block.count
        if address_id is not None:
            row = address_row.copy()
            row[i_aid] = str(address_id)
            row[i_aorder] = oid
            row[i_source] = plan.address_source
            fields = plan.address
            for index, name in address_at:
                row[index] = _s(fields[name])
            address_rows.append("\t".join(row) + "\n")
            label = labels.get(plan.address_source)
            if label is None:
                label = labels[plan.address_source] = _s(
                    f"Address version 1 ({AddressSource(plan.address_source).label})."
                )
            row = address_base.copy()
            row[i_event_order] = oid
            row[i_message] = label
            row[i_after] = _text(fields)
            event_rows.append("\t".join(row))
        for reason, detail in plan.holds.items():
            rows.holds.append(
                holds.row(
                    {"order_id": order_id, "reason": reason, "detail": detail, "opened_at": now}
                )
            )
            rows.holds_opened += 1
            label = HoldReason(reason).label
            hold_events.append(
                events.row(
                    {
                        "order_id": order_id,
                        "kind": EventKind.HOLD_OPENED,
                        "created_at": now,
                        "actor_label": actor,
                        "message": f"{label}: {detail}" if detail else label,
                        "after": {"reason": reason, "detail": detail},
                    }
                )
            )
    rows.events = [row + "\n" for row in event_rows] + hold_events
    return rows


def _write_new(batch: _Batch, rows: _NewRows, memo: dict) -> None:
    """Write the rows `_format_new` made, numbering the orders now."""
    count = len(rows.orders)
    if not count:
        return
    copies = _copies(memo)
    first = take_order_numbers(campaign_id=batch.campaign_id, count=count)
    copies[Order].write(
        [f"{head}{first + offset}{tail}" for offset, (head, tail) in enumerate(rows.orders)]
    )
    copies[OrderAddress].write(rows.addresses)
    copies[OrderLine].write(rows.lines)
    copies[OrderHold].write(rows.holds)
    copies[OrderEvent].write(rows.events)
    result = batch.result
    result.created += count
    result.lines_written += rows.lines_written
    result.addresses_written += len(rows.addresses)
    result.holds_opened += rows.holds_opened


def _update(batch: _Batch, entries: list[_Entry]) -> None:
    """Rewrite what differs in existing orders: fields, lines, address, holds, state."""
    if not entries:
        return
    ids = [e.order["pk"] for e in entries]
    # Read here, for the changed orders only (the unchanged many need no dates).
    dates = {
        pk: (changed_at, submitted_at)
        for pk, changed_at, submitted_at in Order.objects.filter(pk__in=ids).values_list(
            "pk", "state_changed_at", "submitted_at"
        )
    }
    stored_lines: dict[int, list] = defaultdict(list)
    for line in OrderLine.objects.filter(order_id__in=ids).order_by("order_id", "position", "pk"):
        stored_lines[line.order_id].append(line)
    addresses: dict[int, list[OrderAddress]] = defaultdict(list)
    for address in OrderAddress.objects.filter(order_id__in=ids).order_by("order_id", "-version"):
        addresses[address.order_id].append(address)
    open_holds: dict[int, dict[str, tuple[int, str]]] = defaultdict(dict)
    staff_cleared: set[tuple[int, str, str]] = set()
    for hold_id, order_id, reason, detail, cleared_at, cleared_by in OrderHold.objects.filter(
        order_id__in=ids
    ).values_list("pk", "order_id", "reason", "detail", "cleared_at", "cleared_by_id"):
        if cleared_at is None:
            open_holds[order_id][reason] = (hold_id, detail)
        elif cleared_by is not None and reason in _STICKY_WHEN_CLEARED_BY_STAFF:
            staff_cleared.add((order_id, reason, detail))

    fields = set()
    for entry in entries:
        stored, plan = entry.order, entry.plan
        order_id = stored["pk"]
        order = Order(pk=order_id)
        for name, value in _money(plan).items():
            setattr(order, name, value)
        order.paid_total = Money(stored["paid_total"], plan.currency)
        order.refunded_total = Money(stored["refunded_total"], plan.currency)
        values = {
            "response_id": entry.inp.response_id,
            "email": entry.inp.email,
            "name": entry.inp.name[:300],
            "language": entry.inp.language,
            "reward_id": entry.inp.reward_id,
            "vat_number": entry.inp.vat_number,
            "survey_confirmed_at": entry.inp.completed_at,
            "country": plan.country,
            "weight_g": _weight(plan),
            "build_fingerprint": entry.fingerprint,
            "address_id": stored["address_id"],
            "address_status": stored["address_status"],
            "state": stored["state"],
            "state_changed_at": dates[order_id][0],
            "submitted_at": dates[order_id][1],
            "updated_at": batch.now,
        }
        # lines
        old = stored_lines.get(order_id, [])
        if [line_key(line) for line in old] != [line.key() for line in plan.lines]:
            batch.line_deletes.append(order_id)
            batch.line_rows(order_id, plan)
            batch.event(
                order_id,
                EventKind.LINES,
                "Lines rebuilt from the survey and the SKU map.",
                before={"lines": [str(line) for line in old]},
                after={"lines": [line.summary() for line in plan.lines]},
            )
        # address: a new version only when its source gave another one
        versions = addresses.get(order_id, [])
        current = next((a for a in versions if a.pk == stored["address_id"]), None)
        same_source = next((a for a in versions if a.source == plan.address_source), None)
        if (
            plan.address
            and (current is None or current.as_dict() != plan.address)
            and (same_source is None or same_source.as_dict() != plan.address)
        ):
            version = (versions[0].version + 1) if versions else 1
            address_ids = _reserve_ids(OrderAddress, 1)
            address_id = address_ids[0] if address_ids else None
            batch.address_row(order_id, version, plan, address_id)
            if address_id is None:
                batch.addresses.write()
                address_id = OrderAddress.objects.get(order_id=order_id, version=version).pk
            values["address_id"] = address_id
            values["address_status"] = AddressStatus.UNCHECKED
        # holds
        holds = open_holds.get(order_id, {})
        open_after = {r for r in holds if r not in AUTOMATIC_HOLDS}
        for reason in AUTOMATIC_HOLDS:
            wanted = plan.holds.get(reason)
            existing = holds.get(reason)
            if wanted is None:
                if existing is not None:
                    batch.hold_clears.append((existing[0], order_id))
                    batch.event(
                        order_id,
                        EventKind.HOLD_CLEARED,
                        "Cause gone on rebuild.",
                        before={"reason": reason, "detail": existing[1]},
                    )
                continue
            if existing is not None:
                open_after.add(reason)
                if existing[1] != wanted:
                    batch.hold_details.append((existing[0], wanted))
                continue
            if (order_id, reason, wanted) in staff_cleared:
                continue
            batch.open_hold(order_id, reason, wanted)
            open_after.add(reason)
        # state (the moves the state machine allows, each on the timeline)
        state = stored["state"]
        waits = address_waits(
            address_id=values["address_id"], address_status=values["address_status"]
        )
        for step in _state_path(state, _target_state(plan, open_after, address_waits=waits)):
            batch.event(order_id, EventKind.STATE, "Rebuilt.", {"state": state}, {"state": step})
            state = step
            values["state_changed_at"] = batch.now
            if step == OrderState.SUBMITTED and values["submitted_at"] is None:
                values["submitted_at"] = batch.now
        values["state"] = state
        for name, value in values.items():
            setattr(order, name, value)
        fields.update(values)
        fields.update(_money(plan))
        batch.order_updates.append(order)
    Order.objects.bulk_update(batch.order_updates, sorted(fields), batch_size=1000)
    batch.result.updated += len(entries)


def _flush(batch: _Batch) -> None:
    if batch.line_deletes:
        OrderLine.objects.filter(order_id__in=batch.line_deletes).delete()
    batch.lines.write()
    batch.addresses.write()
    if batch.hold_clears:
        OrderHold.objects.filter(pk__in=[h for h, _ in batch.hold_clears]).update(
            cleared_at=batch.now, clear_note="Cause gone on rebuild."
        )
        batch.result.holds_cleared += len(batch.hold_clears)
    for hold_id, detail in batch.hold_details:
        OrderHold.objects.filter(pk=hold_id).update(detail=detail)
    batch.holds.write()
    batch.events.write()


def build_orders(
    *, campaign, progress: Callable[[int], None] | None = None, batch_size: int = BATCH_SIZE
) -> BuildResult:
    """Build or update the standard order of every backer of `campaign` (from the
    survey response, or from the pledge alone as a draft). One transaction per batch,
    written (on PostgreSQL, outside a transaction) by a second connection while the
    next batch is planned; re-running updates changed orders only. Returns the counts."""
    result = BuildResult()
    catalog = bom.load_catalog(campaign=campaign)
    catalog_hash = catalog_digest(catalog)
    rules = rules_of(campaign_id=campaign.pk)
    currency = campaign.currency
    lines_memo: dict = {}
    fast = connection.vendor == "postgresql"
    copy_memo: dict = {}
    # Orders others were merged into (their plan spans orders): one query for the build.
    in_merges = set(
        Order.objects.filter(campaign_id=campaign.pk, merged_into_id__isnull=False)
        .values_list("merged_into_id", flat=True)
        .distinct()
    )
    with _gc_paused(), _batch_writer(threaded=should_thread()) as writer:
        after = 0
        for backers in _backer_batches(campaign.pk, batch_size):
            last = backers[-1]["pk"]
            existing = {
                row["backer_id"]: row
                for row in Order.objects.filter(
                    campaign_id=campaign.pk,
                    kind="standard",
                    backer_id__gt=after,
                    backer_id__lte=last,
                ).values(
                    "pk",
                    "backer_id",
                    "state",
                    "build_fingerprint",
                    "paid_total",
                    "refunded_total",
                    "merged_into_id",
                    "address_id",
                    "address_status",
                    *REPRICED_FIELDS,
                )
            }
            # Paid, refunded or not: refunded money is not due again (payments.sync_order_money).
            paid = {b: o["paid_total"] + o["refunded_total"] for b, o in existing.items()}
            repriced = {b: o for b, o in existing.items() if o["priced_at"] is not None}
            new, changed, one_by_one = [], [], []
            for backer_id, inp in _inputs(campaign.pk, currency, backers, paid, after, repriced):
                result.backers += 1
                if inp is None:
                    result.skipped += 1
                    continue
                order = existing.get(backer_id)
                if order is not None and order["state"] not in BACKER_EDITABLE:
                    result.locked += 1
                    continue
                if order is not None and (order["merged_into_id"] or order["pk"] in in_merges):
                    one_by_one.append(backer_id)
                    continue
                digest = fingerprint(inp=inp, catalog_hash=catalog_hash, rules=rules)
                if order is not None and order["build_fingerprint"] == digest:
                    result.unchanged += 1
                    continue
                try:
                    plan = plan_order(inp=inp, catalog=catalog, rules=rules, lines_memo=lines_memo)
                except bom.BomError as exc:
                    result.errors.append(f"backer {backer_id}: {exc.message}")
                    continue
                (new if order is None else changed).append(_Entry(inp, plan, digest, order))
            after = last
            if new or changed:
                now = timezone.now()
                # On PostgreSQL the new orders' COPY text is made here, while the writer
                # is busy with the batch before.
                made = _format_new(campaign.pk, now, new, copy_memo) if fast and new else new
                writer.submit(_write_batch, campaign.pk, result, now, made, changed, copy_memo)
            if one_by_one:
                writer.wait()  # merged orders span batches: build them after the writes
            for backer_id in one_by_one:
                try:
                    build_order_for_backer(backer=Backer(pk=backer_id), actor=ACTOR_LABEL)
                    result.one_by_one += 1
                except OrdersError as exc:
                    result.errors.append(f"backer {backer_id}: {exc.message}")
            if progress is not None:
                progress(len(backers))
        writer.wait()
    return result


def _write_batch(campaign_id, result, now, new, changed, copy_memo) -> None:
    """One batch's writes, in one transaction. `new`: the new orders' entries, or on
    PostgreSQL their rows from `_format_new`."""
    with transaction.atomic():
        batch = _Batch(campaign_id, result, now)
        if isinstance(new, _NewRows):
            _write_new(batch, new, copy_memo)
        else:
            _create(batch, new)
        _update(batch, changed)
        _flush(batch)


@contextmanager
def _batch_writer(*, threaded: bool):
    writer = BatchWriter(threaded=threaded, name="build-orders-writer")
    try:
        yield writer
    finally:
        writer.close()


@contextmanager
def _gc_paused():
    """The cyclic garbage collector off for a bulk job: its full passes walk every
    object the job keeps (plans, memoised lines), about 12 s of a 250,000-order build.
    The job's garbage has no cycles; reference counting frees it batch by batch."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
