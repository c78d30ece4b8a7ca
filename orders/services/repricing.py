"""Re-pricing: shipping fee, tax and totals of a campaign's open orders again, after the
creator changed a shipping rate or the tax table.

Set-based, for 250,000 orders: orders and lines are read in keyset batches as plain
tuples, priced by the pure engines (`orders.tax.quote_tax`,
`shipping.calculation.compute_quote`, both memoised per distinct cart and
destination), and written back per batch by COPY into a temporary table and one
`UPDATE … FROM` it on PostgreSQL (row by row elsewhere). Rules:

- Only orders of a finished survey that backers may still change (submitted, ready;
  a draft has no survey figures yet: the survey quotes it with the rates in force
  when the backer confirms) and never locked ones: the UPDATE itself re-checks
  `locked_at IS NULL` and the state, so an order locked while the run goes on keeps
  its price.
- Never an invoiced order: it was paid at the price its invoice states (the UPDATE
  re-checks this too). An order without an address yet has no destination to price
  for: it is counted apart and keeps its figures until the backer gives one.
- What the backer bought does not change: goods_total, credit applied and payments
  stay; shipping fee, tax, total and balance due (never below 0) are recomputed, with
  the tax treatment (regime, IOSS/UK VAT/VOEC/ABN number, reverse charge…).
- The shipping fee is what the backer pays in the survey: the quote's `due` (fee less
  the shipping paid on the platform, when the campaign credits it). A campaign without
  a shipping setup keeps its orders' fees.
- An order the engines refuse (ships nowhere, no rate for the destination, a VAT
  number that no longer validates) keeps its price and is counted under the reason.
- Each changed order gets one "priced" event with the before and after figures.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from inventory import bom
from inventory.models import Sku
from pledges.models import Campaign, Pledge, Reward
from shipping.calculation import compute_quote, load_shipping_table, match_zone
from shipping.errors import ShippingError
from shipping.margins import imported_addon_units
from shipping.models import ShippingMethod
from shipping.selectors import shipping_is_configured
from surveys.models import CartLine

from .. import tax
from ..errors import OrdersError
from ..models import (
    BACKER_EDITABLE,
    EventKind,
    ExchangeRate,
    Invoice,
    InvoiceKind,
    LineSource,
    Order,
    OrderAddress,
    OrderEvent,
    OrderLine,
    OrderState,
    TaxRate,
)
from .batch_writer import BatchWriter, should_thread
from .jobs import CampaignJob
from .taxes import tax_settings_for

ZERO = Decimal("0")
BATCH_SIZE = 5000
REPRICEABLE_STATES = tuple(sorted(BACKER_EDITABLE - {OrderState.DRAFT}))


# --- the lines an order is taxed on (shared with invoices) -----------------------------


@dataclass(frozen=True)
class PricedLine:
    """An order line the backer pays for in the survey (an add-on)."""

    description: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    is_digital: bool = False


# Order lines that do not come with the reward: add-ons (survey or platform) and
# replacements. Everything else — the reward's SKUs, its choices, their regional
# variants, stretch goals — is the reward, and carries no price of its own.
_NOT_REWARD = frozenset({LineSource.ADDON, LineSource.ADDON_UNMAPPED, LineSource.REPLACEMENT})


def part_of_reward(source: str, line_total: Decimal) -> bool:
    """Whether an order line came with the reward (a priced line is an add-on, also
    when a regional rule swapped its SKU)."""
    return source not in _NOT_REWARD and not line_total


def all_digital(skus: Iterable) -> bool:
    """A reward ships nothing when it has SKUs and every one is digital (a choice
    not made yet, without a SKU, counts as goods)."""
    skus = list(skus)
    return bool(skus) and all(sku is not None and sku.is_digital for sku in skus)


@dataclass(frozen=True)
class RewardPart:
    """The order's reward as far as tax is concerned."""

    title: str
    minimum: Decimal  # the reward's price on the platform
    is_digital: bool = False  # every reward line is a digital SKU


def order_tax_lines(
    *,
    priced_lines: Sequence[PricedLine],
    goods_total: Decimal,
    shipping_fee: Decimal,
    reward: RewardPart | None,
) -> list[tax.Line]:
    """The tax engine's lines of one order. No queries.

    Priced lines (add-ons) as bought; what goods_total holds beyond them is a late
    pledge's reward price, paid in the survey; otherwise the reward was paid on the
    platform and appears as a pledged reward at its minimum (taxed only when the
    campaign taxes pledged rewards, but always counted toward import limits); the
    shipping fee last."""
    lines = [
        tax.Line(
            kind=tax.LineKind.DIGITAL if line.is_digital else tax.LineKind.GOODS,
            amount=line.line_total,
            description=line.description,
        )
        for line in priced_lines
        if line.line_total > 0
    ]
    late_reward = goods_total - sum((line.line_total for line in priced_lines), ZERO)
    if reward is not None:
        kind = tax.LineKind.DIGITAL if reward.is_digital else tax.LineKind.GOODS
        if late_reward > 0:
            lines.insert(0, tax.Line(kind=kind, amount=late_reward, description=reward.title))
        elif reward.minimum > 0:
            lines.insert(
                0,
                tax.Line(
                    kind=kind,
                    amount=reward.minimum,
                    is_pledged_reward=True,
                    description=reward.title,
                ),
            )
    if shipping_fee > 0:
        lines.append(tax.Line(kind=tax.LineKind.SHIPPING, amount=shipping_fee))
    return lines


def charged_total(quote: tax.TaxQuote, *, prices_include_tax: bool) -> Decimal:
    """What the backer pays in the survey for the quoted lines: every line's total
    less the pledged reward (paid on the platform) — so with tax-exclusive prices the
    tax on a pledged reward is charged, with tax-inclusive ones it was in the pledge."""
    pledged = sum((t.line.amount for t in quote.lines if t.line.is_pledged_reward), ZERO)
    return quote.total - pledged


def treatment_of(quote: tax.TaxQuote) -> dict:
    """The order fields that record a quote's tax treatment."""
    return {
        "tax_regime": str(quote.regime),
        "tax_collected_at_checkout": quote.collected_at_checkout,
        "import_tax_at_delivery": quote.import_vat_at_delivery,
        "ddp": quote.ddp,
        "reverse_charge": quote.reverse_charge,
        "customs_number": quote.customs_number,
    }


# --- the bulk run ----------------------------------------------------------------------


@dataclass
class RepriceResult:
    orders: int = 0  # open orders looked at
    changed: int = 0
    unchanged: int = 0
    locked_skipped: int = 0  # locked (or further on): never touched
    invoiced_skipped: int = 0  # open but invoiced: paid at the invoice's price
    drafts_skipped: int = 0  # survey not done: the survey quotes today's rates itself
    no_address: int = 0  # no destination yet: nothing to price for
    failed: Counter = field(default_factory=Counter)  # reason → orders left as they were
    dry_run: bool = False
    seconds: float = 0.0

    @property
    def failed_count(self) -> int:
        return sum(self.failed.values())


@dataclass(frozen=True)
class _Sku:
    """What shipping needs of a SKU (shipping.calculation.parcel_weight)."""

    is_digital: bool
    weight_g: int | None
    length_mm: int | None
    width_mm: int | None
    height_mm: int | None


@dataclass(frozen=True)
class _Unit:
    sku: _Sku | None
    quantity: int


class _Pricer:
    """A campaign's tables read once, and the per-cart memos."""

    def __init__(self, *, campaign: Campaign, on: date):
        self.campaign = campaign
        self.on = on
        settings = tax_settings_for(campaign=campaign)
        self.policy = settings.policy(currency=campaign.currency)
        self.rates = [r.as_row() for r in TaxRate.objects.filter(campaign=campaign)]
        self.exchange_rates = [
            r.as_row()
            for r in ExchangeRate.objects.filter(campaign=campaign, base_currency=campaign.currency)
        ]
        self.skus = {
            pk: _Sku(bool(digital), weight, length, width, height)
            for pk, digital, weight, length, width, height in Sku.objects.filter(
                organization_id=campaign.organization_id
            ).values_list("pk", "is_digital", "weight_g", "length_mm", "width_mm", "height_mm")
        }
        self.rewards = {
            pk: (title, minimum)
            for pk, title, minimum in Reward.objects.filter(campaign=campaign).values_list(
                "pk", "title", "minimum"
            )
        }
        self.ships = shipping_is_configured(campaign=campaign)
        self.table = load_shipping_table(campaign=campaign) if self.ships else None
        self.with_addon_fees = (
            self.table is not None and self.table.method == ShippingMethod.REWARD_PLUS_ADDONS
        )
        self.catalog = bom.load_catalog(campaign=campaign) if self.with_addon_fees else None
        self._shipping: dict[tuple, Decimal] = {}
        self._tax: dict[tuple, tax.TaxQuote] = {}
        self._zones: dict[tuple, int] = {}
        self.results: dict[tuple, tuple | Exception] = {}  # per cart and destination

    def shipping_due(self, order: dict, units: list[_Unit], addon_units: dict[int, int]):
        country = order["country"]
        # Postal codes matter only where a zone names postal prefixes for the country.
        postal = order["postal_code"] if country in self.table.postal_rules else ""
        key = (country, order["region"], postal)
        zone_id = self._zones.get(key)
        if zone_id is None:
            zone_id = match_zone(
                self.table,
                country=order["country"],
                region=order["region"],
                postal_code=order["postal_code"],
            ).zone.pk
            self._zones[key] = zone_id
        cart = (
            zone_id,
            order["reward_id"],
            tuple(sorted((id(u.sku), u.quantity) for u in units)),
            tuple(sorted(addon_units.items())),
            order["platform_paid"],
        )
        due = self._shipping.get(cart)
        if due is None:
            due = compute_quote(
                self.table,
                country=order["country"],
                region=order["region"],
                postal_code=order["postal_code"],
                reward_id=order["reward_id"],
                lines=units,
                addon_units=addon_units,
                platform_paid=order["platform_paid"],
                explain=False,
            ).due
            self._shipping[cart] = due
        return due

    def tax(self, *, country: str, region: str, vat_number: str, lines: list[tax.Line]):
        key = (country, region, vat_number, tuple(lines))
        quote = self._tax.get(key)
        if quote is None:
            quote = tax.quote_tax(
                destination=tax.Destination(country, region),
                lines=lines,
                policy=self.policy,
                rates=self.rates,
                exchange_rates=self.exchange_rates,
                on=self.on,
                vat_number=vat_number,
            )
            self._tax[key] = quote
        return quote


ORDER_COLUMNS = (
    "pk",
    "country",
    "address__country_area",
    "address__postal_code",
    "vat_number",
    "reward_id",
    "response_id",
    "backer_id",
    "goods_total",
    "shipping_fee",
    "tax_total",
    "total",
    "credit_applied",
    "paid_total",
    "refunded_total",
    "balance_due",
    "tax_regime",
    "tax_collected_at_checkout",
    "import_tax_at_delivery",
    "ddp",
    "reverse_charge",
    "customs_number",
    # One pledge per backer (pledges.Pledge): what shipping credits and platform add-ons.
    "backer__pledges__shipping_paid",
    "backer__pledges__addons_text",
)
# Per order, besides ORDER_COLUMNS: its lines and its survey cart as short signatures
# (what the figures depend on: SKU, quantity, source and line total of each line; offer
# and units of each cart line), so orders are compared and memoised by two strings and
# the lines themselves are only parsed for a cart not priced yet.
BATCH_KEYS = (*ORDER_COLUMNS, "lines", "cart")


def _editable(orders):
    return orders.filter(locked_at__isnull=True, state__in=REPRICEABLE_STATES)


def _invoiced():
    return Exists(Invoice.objects.filter(order=OuterRef("pk"), kind=InvoiceKind.INVOICE))


def open_orders(*, campaign: Campaign):
    """The orders re-pricing may change: open to the backer, never locked, not invoiced."""
    return _editable(Order.objects.filter(campaign=campaign)).filter(~_invoiced())


def _line_signature(rows: Iterable[tuple]) -> str:
    """(sku_id, quantity, source, line_total) rows in line order, as PostgreSQL's
    string_agg in _batches_postgres writes them."""
    return " ".join(
        f"{'' if sku is None else sku}:{quantity}:{source}:{total}"
        for sku, quantity, source, total in rows
    )


def _parse_lines(signature: str) -> list[tuple]:
    rows = []
    for part in signature.split():
        sku, quantity, source, total = part.split(":")
        rows.append((int(sku) if sku else None, int(quantity), source, Decimal(total)))
    return rows


def _parse_cart(signature: str) -> dict[int, int]:
    return {
        int(offer): int(quantity)
        for offer, quantity in (part.split(":") for part in signature.split())
    }


def _batches(campaign: Campaign, batch_size: int, with_cart: bool):
    """The open orders in keyset batches of dicts (BATCH_KEYS). Any database."""
    last = 0
    while True:
        rows = list(
            open_orders(campaign=campaign)
            .filter(pk__gt=last)
            .order_by("pk")
            .values_list(*ORDER_COLUMNS)[:batch_size]
        )
        if not rows:
            return
        orders = [dict(zip(ORDER_COLUMNS, row, strict=True)) for row in rows]
        # The batch's lines by id range (a short statement, unlike 5,000 ids in IN);
        # lines of orders outside the batch (locked ones) are simply not looked up.
        lines: dict[int, list] = defaultdict(list)
        for order_id, *line in (
            OrderLine.objects.filter(order_id__gte=orders[0]["pk"], order_id__lte=orders[-1]["pk"])
            .order_by("pk")
            .values_list("order_id", "sku_id", "quantity", "source", "line_total")
        ):
            lines[order_id].append(line)
        carts: dict[int, list] = defaultdict(list)
        if with_cart:
            for response_id, offer_id, quantity in (
                CartLine.objects.filter(
                    response_id__in=[o["response_id"] for o in orders if o["response_id"]]
                )
                .order_by("offer_id")
                .values_list("response_id", "offer_id", "quantity")
            ):
                carts[response_id].append(f"{offer_id}:{quantity}")
        for order in orders:
            order["lines"] = _line_signature(lines.get(order["pk"], ()))
            order["cart"] = " ".join(carts.get(order["response_id"], ()))
        yield orders
        last = rows[-1][0]


def _batches_postgres(campaign: Campaign, batch_size: int, with_cart: bool):
    """The same batches from one statement each on PostgreSQL: the order, its address
    and pledge joined, its lines and cart aggregated into their signatures by the
    server (a million lines never cross to Python as rows)."""
    orders_t, lines_t = Order._meta.db_table, OrderLine._meta.db_table
    address_t, pledge_t = OrderAddress._meta.db_table, Pledge._meta.db_table
    cart_sql = (
        f"(SELECT string_agg(c.offer_id || ':' || c.quantity, ' ' ORDER BY c.offer_id) "  # noqa: S608
        f"FROM {CartLine._meta.db_table} c WHERE c.response_id = o.response_id)"
        if with_cart
        else "NULL"
    )
    states = ", ".join(["%s"] * len(REPRICEABLE_STATES))
    # Table names come from the models; every value is a parameter.
    statement = (
        "SELECT o.id, o.country, a.country_area, a.postal_code, o.vat_number, "  # noqa: S608
        "o.reward_id, o.response_id, o.backer_id, o.goods_total, o.shipping_fee, "
        "o.tax_total, o.total, o.credit_applied, o.paid_total, o.refunded_total, o.balance_due, "
        "o.tax_regime, "
        "o.tax_collected_at_checkout, o.import_tax_at_delivery, o.ddp, o.reverse_charge, "
        "o.customs_number, p.shipping_paid, p.addons_text, "
        "(SELECT string_agg(concat_ws(':', coalesce(l.sku_id::text, ''), l.quantity, "
        f"l.source, l.line_total), ' ' ORDER BY l.id) FROM {lines_t} l "
        f"WHERE l.order_id = o.id), {cart_sql} "
        f"FROM {orders_t} o LEFT JOIN {address_t} a ON a.id = o.address_id "
        f"LEFT JOIN {pledge_t} p ON p.backer_id = o.backer_id "
        f"WHERE o.campaign_id = %s AND o.locked_at IS NULL AND o.state IN ({states}) "
        f"AND NOT EXISTS (SELECT 1 FROM {Invoice._meta.db_table} i WHERE i.order_id = o.id "
        "AND i.kind = %s) AND o.id > %s ORDER BY o.id LIMIT %s"
    )
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                statement,
                [campaign.pk, *REPRICEABLE_STATES, InvoiceKind.INVOICE.value, last, batch_size],
            )
            rows = cursor.fetchall()
            if not rows:
                return
            orders = [dict(zip(BATCH_KEYS, row, strict=True)) for row in rows]
            for order in orders:
                order["lines"] = order["lines"] or ""
                order["cart"] = order["cart"] or ""
            yield orders
            last = rows[-1][0]


def _write_now(updates: list) -> int:
    return _write(updates, now=timezone.now())


def reprice_orders(
    *,
    campaign: Campaign,
    on: date | None = None,
    progress: Callable[[int], None] | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> RepriceResult:
    """Recompute shipping fee, tax and totals of every open order of the campaign
    with the rates in force on `on` (default today), as the module docstring says.

    One transaction per batch: a run over 250,000 orders never holds them all
    locked; each batch's UPDATE re-checks that its orders are still open.
    `progress(n)` is called after each batch with the orders it held."""
    started = timezone.now()
    on = on or timezone.localdate()
    result = RepriceResult(dry_run=dry_run)
    editable = _editable(Order.objects.filter(campaign=campaign))
    result.drafts_skipped = Order.objects.filter(
        campaign=campaign, locked_at__isnull=True, state=OrderState.DRAFT
    ).count()
    result.locked_skipped = (
        Order.objects.filter(campaign=campaign).count() - editable.count() - result.drafts_skipped
    )
    result.invoiced_skipped = editable.filter(_invoiced()).count()
    pricer = _Pricer(campaign=campaign, on=on)
    inclusive = pricer.policy.prices_include_tax
    postgres = connection.vendor == "postgresql"
    batches = _batches_postgres if postgres else _batches
    writer = BatchWriter(threaded=should_thread(), name="reprice-writer")
    try:
        for orders in batches(campaign, batch_size, pricer.with_addon_fees):
            updates = []
            for order in orders:
                result.orders += 1
                if not order["country"]:
                    result.no_address += 1
                    continue
                try:
                    new, copy_text = _price(order, pricer, inclusive)
                except (OrdersError, ShippingError, bom.BomError) as exc:
                    result.failed[f"{exc.code}: {exc.message}"] += 1
                    continue
                if all(new[name] == order[name] for name in new):
                    result.unchanged += 1
                    continue
                updates.append((order, new, copy_text))
            if dry_run:
                result.changed += len(updates)
            elif updates:
                writer.submit(_write_now, updates)
            if progress is not None:
                progress(len(orders))
    finally:
        result.changed += writer.close()
    result.seconds = (timezone.now() - started).total_seconds()
    return result


def _price(order, pricer: _Pricer, inclusive: bool) -> tuple[dict, str]:
    """The order's new figures, and the COPY text of those that depend on the cart
    alone. Orders with the same cart, destination and platform payment cost the same:
    computed once, then taken from `pricer.results`."""
    country = (order["country"] or "").upper()
    region = order["address__country_area"] or ""
    postal = order["address__postal_code"] or ""
    order["country"], order["region"], order["postal_code"] = country, region, postal
    key = (
        country,
        region,
        postal if pricer.ships and country in pricer.table.postal_rules else "",
        order["vat_number"],
        order["reward_id"],
        order["goods_total"],
        order["backer__pledges__shipping_paid"] if pricer.ships else order["shipping_fee"],
        order["backer__pledges__addons_text"] if pricer.with_addon_fees else "",
        order["cart"],
        order["lines"],
    )
    priced = pricer.results.get(key)
    if priced is None:
        try:
            figures = _price_cart(order, pricer, inclusive)
            priced = (figures, "\t".join(_copy_value(figures[name]) for name in CART_COLUMNS))
        except (OrdersError, ShippingError, bom.BomError) as exc:
            priced = exc
        pricer.results[key] = priced
    if isinstance(priced, Exception):
        raise priced
    figures, copy_text = priced
    # Refunded money is settled too: it is not due again.
    paid_so_far = order["credit_applied"] + order["paid_total"] + order["refunded_total"]
    return {**figures, "balance_due": max(figures["total"] - paid_so_far, ZERO)}, copy_text


def _price_cart(order, pricer: _Pricer, inclusive: bool) -> dict:
    priced, units, reward_lines = [], [], []
    for sku_id, quantity, source, line_total in _parse_lines(order["lines"]):
        sku = pricer.skus.get(sku_id) if sku_id is not None else None
        units.append(_Unit(sku, quantity))
        if part_of_reward(source, line_total):
            reward_lines.append(sku)
        if line_total > 0:
            # Only the line total is taxed; the description is not needed for figures.
            unit_price = line_total / quantity if quantity else line_total
            priced.append(
                PricedLine("", quantity, unit_price, line_total, bool(sku and sku.is_digital))
            )
    shipping_fee = order["shipping_fee"]
    if pricer.ships:
        addons_text = order["backer__pledges__addons_text"] or ""
        order["platform_paid"] = order["backer__pledges__shipping_paid"] or ZERO
        addon_units: dict[int, int] = {}
        if pricer.with_addon_fees:
            addon_units = dict(imported_addon_units(pricer.catalog, addons_text))
            for offer_id, quantity in _parse_cart(order["cart"]).items():
                addon_units[offer_id] = addon_units.get(offer_id, 0) + quantity
        shipping_fee = pricer.shipping_due(order, units, addon_units)
    reward = None
    if order["reward_id"] in pricer.rewards:
        title, minimum = pricer.rewards[order["reward_id"]]
        reward = RewardPart(title, minimum, all_digital(reward_lines))
    tax_lines = order_tax_lines(
        priced_lines=priced,
        goods_total=order["goods_total"],
        shipping_fee=shipping_fee,
        reward=reward,
    )
    quote = pricer.tax(
        country=order["country"],
        region=order["region"],
        vat_number=order["vat_number"],
        lines=tax_lines,
    )
    return {
        "shipping_fee": shipping_fee,
        "tax_total": quote.tax_total,
        "total": charged_total(quote, prices_include_tax=inclusive),
        **treatment_of(quote),
    }


def _figures(values: dict) -> str:
    """The event's before/after as JSON (four decimals as strings: nothing to escape)."""
    return (
        f'{{"shipping_fee": "{values["shipping_fee"]}", "tax_total": "{values["tax_total"]}", '
        f'"total": "{values["total"]}", "balance_due": "{values["balance_due"]}"}}'
    )


# The columns re-pricing sets: those a cart decides, then the balance due.
_SET_COLUMNS = (
    ("shipping_fee", "numeric"),
    ("tax_total", "numeric"),
    ("total", "numeric"),
    ("tax_regime", "varchar"),
    ("tax_collected_at_checkout", "boolean"),
    ("import_tax_at_delivery", "boolean"),
    ("ddp", "boolean"),
    ("reverse_charge", "boolean"),
    ("customs_number", "varchar"),
    ("balance_due", "numeric"),
)
CART_COLUMNS = tuple(name for name, _type in _SET_COLUMNS if name != "balance_due")


def _write(updates: list[tuple[dict, dict, str]], *, now) -> int:
    """Write one batch; returns how many orders changed (an order locked meanwhile
    is left alone and gets no event)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            return _update_postgres(updates, now=now)
        changed = _update_one_by_one(updates, now=now)
        by_id = {order["pk"]: (order, new) for order, new, _text in updates}
        _priced_events(
            [(pk, _figures(by_id[pk][0]), _figures(by_id[pk][1])) for pk in changed], now=now
        )
    return len(changed)


def _copy_value(value) -> str:
    if value is True:
        return "t"
    if value is False:
        return "f"
    return _copy_text(str(value))


# The event's figures, as _figures writes them: the before values are COPYed next to
# the new ones (old_*), so the server writes each order's "priced" event itself.
_FIGURES = ("shipping_fee", "tax_total", "total", "balance_due")


def _figures_sql(prefix: str) -> str:
    return (
        "jsonb_build_object("
        + ", ".join(f"'{name}', v.{prefix}{name}::text" for name in _FIGURES)
        + ")"
    )


def _update_postgres(updates, *, now) -> int:
    """COPY the batch's new values (and the old figures) into a temporary table, then
    one statement updates the orders from it and writes their "priced" events. The
    UPDATE re-checks that each order is still open: one locked meanwhile keeps its
    price and gets no event."""
    names = [name for name, _type in _SET_COLUMNS]
    text = "".join(
        f"{order['pk']}\t{copy_text}\t{new['balance_due']}\t{order['shipping_fee']}\t"
        f"{order['tax_total']}\t{order['total']}\t{order['balance_due']}\n"
        for order, new, copy_text in updates
    )
    columns = ", ".join(f"{name} {kind}" for name, kind in _SET_COLUMNS)
    olds = ", ".join(f"old_{name} numeric" for name in _FIGURES)
    sets = ", ".join(f"{name} = v.{name}" for name in names)
    states = ", ".join(["%s"] * len(REPRICEABLE_STATES))
    table, events = Order._meta.db_table, OrderEvent._meta.db_table
    invoices = Invoice._meta.db_table
    message = _("Re-priced after a change of the shipping or tax rates.")
    with connection.cursor() as cursor:
        # Dropped at commit; dropped here too for a caller's outer transaction (tests).
        cursor.execute("DROP TABLE IF EXISTS reprice_batch")
        cursor.execute(
            f"CREATE TEMP TABLE reprice_batch (id bigint, {columns}, {olds}) ON COMMIT DROP"
        )
        with cursor.copy("COPY reprice_batch FROM STDIN") as copy:
            copy.write(text)
        cursor.execute(
            f"WITH moved AS (UPDATE {table} AS o SET {sets}, priced_at = %s, "  # noqa: S608
            f"updated_at = %s FROM reprice_batch AS v WHERE o.id = v.id "
            f"AND o.locked_at IS NULL AND o.state IN ({states}) "
            f"AND NOT EXISTS (SELECT 1 FROM {invoices} i WHERE i.order_id = o.id "
            "AND i.kind = %s) RETURNING o.id) "
            f"INSERT INTO {events} (order_id, kind, created_at, actor_label, message, "
            f"before, after) SELECT v.id, %s, %s, 'system', %s, {_figures_sql('old_')}, "
            f"{_figures_sql('')} FROM moved JOIN reprice_batch AS v ON v.id = moved.id",
            [
                now,
                now,
                *REPRICEABLE_STATES,
                InvoiceKind.INVOICE.value,
                EventKind.PRICED.value,
                now,
                message,
            ],
        )
        return cursor.rowcount


def _update_one_by_one(updates, *, now) -> list[int]:
    changed = []
    for order, new, _text in updates:
        if _open_orders_by_pk(order["pk"]).update(**new, priced_at=now, updated_at=now):
            changed.append(order["pk"])
    return changed


def _open_orders_by_pk(pk: int):
    return _editable(Order.objects.filter(pk=pk)).filter(~_invoiced())


def _priced_events(rows: Iterable[tuple[int, str, str]], *, now) -> None:
    """One "priced" event per order, each with its own before/after (the generic
    path; on PostgreSQL _update_postgres writes them in its statement)."""
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order_id=pk,
            kind=EventKind.PRICED,
            created_at=now,
            actor_label="system",
            message=_("Re-priced after a change of the shipping or tax rates."),
            before=json.loads(before),
            after=json.loads(after),
        )
        for pk, before, after in rows
    )


def _copy_text(value: str) -> str:
    """A value in COPY's text format."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


# --- from the back office, in the background ------------------------------------------


def repricing_job(*, campaign: Campaign) -> CampaignJob:
    return CampaignJob("reprice", campaign.pk)


def start_repricing(*, campaign: Campaign) -> int:
    """Re-price the open orders in a background task once this commits; returns how
    many there are (0: none, no task). A run already going is left to finish."""
    from ..tasks import reprice_orders_task

    return repricing_job(campaign=campaign).launch(
        count=open_orders(campaign=campaign).count, task=reprice_orders_task, args=(campaign.pk,)
    )


def run_repricing_job(*, campaign: Campaign) -> RepriceResult:
    """The task's work: `reprice_orders`, recording progress and the counts for the page."""
    return repricing_job(campaign=campaign).run(
        lambda progress: reprice_orders(campaign=campaign, progress=progress),
        summary=_job_summary,
        every=1,  # progress comes once per batch of orders
    )


def _job_summary(result: RepriceResult) -> dict:
    return {
        "changed": result.changed,
        "unchanged": result.unchanged,
        "no_address": result.no_address,
        "failed": result.failed_count,
        "reasons": [f"{count} × {reason}" for reason, count in result.failed.most_common(5)],
        "invoiced": result.invoiced_skipped,
        "locked": result.locked_skipped,
    }
