"""Build a backer's order from their pledge, survey answers and the SKU map.

`plan_order` is pure (no queries): the order's lines, money, address and the
automatic holds it should have. `build_order` applies a plan to one order in one
transaction; `orders.services.bulk_building` applies plans to a whole campaign
set-based. Both go through `plan_order`, so they cannot disagree.

Rules:
- lines come from `inventory.bom.explode`, one OrderLine per BomLine; add-ons bought in
  the survey carry their price (the cart line's total, split over the offer's items);
- money comes from the response's snapshot (taken when the backer confirmed);
- a new address version is written only when the survey (or the pledge) gives an
  address that differs from the last version of that source and from the current one,
  so a correction by staff is not overwritten by a rebuild for another reason;
- draft while the survey is not completed, submitted when it is; then the automatic
  holds (`missing_choice`, `payment_due`, `duplicate_backer`, `manual_review`) are
  opened or cleared by their cause, and readiness refreshed;
- an order that is locked (or further on) is never changed: `OrderLocked`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from djmoney.money import Money

from inventory import bom
from pledges.models import Backer, DuplicateStatus, Pledge
from surveys.models import CartLine, SurveyResponse

from ..errors import OrderLocked
from ..errors_build import MergeNotAllowed, NoResponse, SmokeTestResponse
from ..events import order_event_create
from ..models import (
    ADDRESS_FIELDS,
    BACKER_EDITABLE,
    AddressSource,
    EventKind,
    HoldReason,
    LineSource,
    Order,
    OrderAddress,
    OrderHold,
    OrderLine,
    OrderState,
)
from .addresses import new_address_version
from .holds import clear_holds, open_hold, refresh_readiness
from .numbering import take_order_numbers
from .review_rules import Rules, review_reasons, rules_of
from .states import change_state

ZERO = Decimal("0")
CENT = Decimal("0.01")

# The reasons a build opens and clears by itself; others (address, payment failed,
# stock) belong to their own services.
AUTOMATIC_HOLDS = (
    HoldReason.MISSING_CHOICE,
    HoldReason.PAYMENT_DUE,
    HoldReason.DUPLICATE_BACKER,
    HoldReason.MANUAL_REVIEW,
)
# Holds a person cleared stay cleared while their cause reads the same.
# The tax treatment a confirmed survey quote gives its order (the same field names on
# SurveyResponse and Order; a re-pricing recomputes them on the order).
TAX_TREATMENT = (
    "tax_regime",
    "tax_collected_at_checkout",
    "import_tax_at_delivery",
    "ddp",
    "reverse_charge",
    "customs_number",
)
_STICKY_WHEN_CLEARED_BY_STAFF = (HoldReason.MANUAL_REVIEW, HoldReason.DUPLICATE_BACKER)

_SOURCE = {
    "reward": LineSource.REWARD,
    "choice": LineSource.CHOICE,
    "choice_pending": LineSource.CHOICE_PENDING,
    "stretch_goal": LineSource.STRETCH_GOAL,
    "addon": LineSource.ADDON,
    "addon_unmapped": LineSource.ADDON_UNMAPPED,
    "regional": LineSource.REGIONAL,
}

# Survey address keys (surveys.address.ADDRESS_KEYS) → OrderAddress fields.
_SURVEY_KEYS = {"company_name": "company", "country_code": "country"}


def _round(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


_CENTS: dict = {}  # amount -> its text, for the fingerprints of a bulk build


def _cents(amount) -> str:
    # 0, 0.0 and 0.00 are one amount: the fingerprint must not tell them apart (and
    # equal amounts are equal keys, so the memo gives each the same text).
    try:
        return _CENTS[amount]
    except KeyError:
        if len(_CENTS) > 10_000:
            _CENTS.clear()
        text = _CENTS[amount] = str(_round(Decimal(amount or 0)))
        return text
    except TypeError:  # not hashable
        return str(_round(Decimal(amount or 0)))


def survey_address_fields(address: dict | None) -> dict[str, str]:
    """A survey response's address as OrderAddress fields (empty dict: none given)."""
    if not address:
        return {}
    fields = {name: "" for name in ADDRESS_FIELDS}
    for key, value in address.items():
        name = _SURVEY_KEYS.get(key, key)
        if name in fields:
            fields[name] = str(value or "").strip()
    fields["country"] = fields["country"].upper()
    return fields if any(fields.values()) else {}


def pledge_address_fields(pledge: dict) -> dict[str, str]:
    """The platform's address of a pledge (a `values()` row or dict of Pledge fields)."""
    street = "\n".join(
        line.strip()
        for line in (pledge.get("shipping_address_1") or "", pledge.get("shipping_address_2") or "")
        if line and line.strip()
    )
    fields = {name: "" for name in ADDRESS_FIELDS}
    fields.update(
        name=(pledge.get("shipping_name") or "").strip(),
        street_address=street,
        city=(pledge.get("shipping_city") or "").strip(),
        country_area=(pledge.get("shipping_region") or "").strip(),
        postal_code=(pledge.get("shipping_postal_code") or "").strip(),
        country=str(pledge.get("shipping_country") or "").strip().upper(),
        phone=(pledge.get("shipping_phone") or "").strip(),
    )
    # A country alone (every platform report has one) is not an address yet.
    return fields if any(v for k, v in fields.items() if k != "country") else {}


# --- the plan: pure ------------------------------------------------------------


@dataclass(frozen=True)
class BuildInput:
    """Everything a build reads about one backer, as plain values."""

    backer_id: int
    campaign_id: int
    currency: str
    email: str = ""
    name: str = ""
    reward_id: int | None = None
    pledged_at: datetime | None = None
    addons_text: str = ""
    pledge_amount: Decimal = ZERO
    pledge_address: dict = field(default_factory=dict)
    pledge_country: str = ""
    response_id: int | None = None
    completed: bool = False
    paid: bool = False
    language: str = "en"
    choices: dict = field(default_factory=dict)
    regional_opt_outs: tuple = ()
    cart: tuple = ()  # (offer id, quantity, unit price) in cart order
    survey_address: dict = field(default_factory=dict)
    survey_country: str = ""
    vat_number: str = ""
    credit: Decimal = ZERO
    addons_total: Decimal = ZERO
    shipping_total: Decimal = ZERO
    tax_total: Decimal = ZERO
    reward_due: Decimal = ZERO
    paid_total: Decimal = ZERO  # paid for the order so far, refunded or not (`settled`)
    duplicate_open: bool = False
    # The confirmed quote's tax treatment (TAX_TREATMENT), as the response holds it.
    tax_regime: str = ""
    tax_collected_at_checkout: bool = False
    import_tax_at_delivery: bool = False
    ddp: bool = False
    reverse_charge: bool = False
    customs_number: str = ""
    # Not in the fingerprint: when the backer confirmed (the order records it), and the
    # money a re-pricing set on the order since (`repriced_money`), which a rebuild keeps
    # and an unchanged order already has.
    completed_at: datetime | None = None
    repriced: dict = field(default_factory=dict)

    def treatment(self) -> dict:
        treatment = {name: getattr(self, name) for name in TAX_TREATMENT}
        treatment.update((k, v) for k, v in self.repriced.items() if k in TAX_TREATMENT)
        return treatment

    def survey_money(self) -> tuple[Decimal, Decimal]:
        """The shipping fee and tax the order charges: the survey's, or a re-pricing's."""
        return (
            self.repriced.get("shipping_total", self.shipping_total),
            self.repriced.get("tax_total", self.tax_total),
        )

    def digest(self) -> str:
        payload = [
            self.backer_id,
            self.currency,
            self.email,
            self.name,
            self.reward_id,
            self.pledged_at.isoformat() if self.pledged_at else None,
            self.addons_text,
            _cents(self.pledge_amount),
            sorted(self.pledge_address.items()),
            self.pledge_country,
            self.response_id,
            self.completed,
            self.paid,
            self.language,
            sorted((str(k), list(v or [])) for k, v in self.choices.items()),
            sorted(int(r) for r in self.regional_opt_outs),
            [[o, q, _cents(p)] for o, q, p in self.cart],
            sorted(self.survey_address.items()),
            self.survey_country,
            self.vat_number,
            *(
                _cents(v)
                for v in (
                    self.credit,
                    self.addons_total,
                    self.shipping_total,
                    self.tax_total,
                    self.reward_due,
                    self.paid_total,
                )
            ),
            self.duplicate_open,
            *(getattr(self, name) for name in TAX_TREATMENT),
        ]
        return json.dumps(payload, default=str, ensure_ascii=False)


@dataclass(frozen=True)
class PlannedLine:
    sku_id: int | None
    sku_code: str
    description: str
    quantity: int
    source: str
    detail: str
    unit_weight_g: int = 0
    customs_value: Decimal = ZERO
    customs_currency: str = "USD"
    hs_code: str = ""
    country_of_origin: str = ""
    unit_price: Decimal = ZERO
    line_total: Decimal = ZERO

    def summary(self) -> str:
        return f"{self.quantity} × {self.sku_code or self.detail}"

    def key(self) -> tuple:
        return (
            self.sku_id,
            self.sku_code,
            self.description,
            self.quantity,
            self.source,
            self.detail,
            self.unit_weight_g,
            _round(self.customs_value),
            self.hs_code,
            self.country_of_origin,
            _round(self.unit_price),
            _round(self.line_total),
        )


def line_key(line: OrderLine) -> tuple:
    """The same key as PlannedLine.key() for a stored line."""
    return (
        line.sku_id,
        line.sku_code,
        line.description,
        line.quantity,
        line.source,
        line.detail,
        line.unit_weight_g,
        _round(line.customs_value.amount),
        line.hs_code,
        line.country_of_origin,
        _round(line.unit_price.amount),
        _round(line.line_total.amount),
    )


@dataclass
class OrderPlan:
    lines: list[PlannedLine]
    currency: str
    pledge_amount: Decimal
    credit: Decimal
    goods_total: Decimal
    shipping_fee: Decimal
    tax_total: Decimal
    total: Decimal
    credit_applied: Decimal
    balance_due: Decimal
    address: dict[str, str]
    address_source: str
    country: str
    completed: bool
    holds: dict[str, str]  # automatic hold reason -> detail, for those that must be open
    prices_include_tax: bool = False
    treatment: dict = field(default_factory=dict)  # TAX_TREATMENT field -> value


def valid_choices(catalog: bom.Catalog, choices: dict | None) -> dict[int, list[int]]:
    """The answers that still fit the map: a group the creator changed since (options
    removed, another number of picks) counts as not chosen, so the order waits on
    `missing_choice` instead of failing to build."""
    result: dict[int, list[int]] = {}
    for key, picked in (choices or {}).items():
        try:
            group = catalog.groups.get(int(key))
            option_ids = [int(o) for o in picked or ()]
        except (TypeError, ValueError):
            continue
        if group is None or not option_ids:
            continue
        known = {o.id for o in group.options}
        if len(option_ids) != group.picks or not set(option_ids) <= known:
            continue
        if not group.allow_repeats and len(set(option_ids)) != len(option_ids):
            continue
        result[group.id] = option_ids
    return result


def catalog_digest(catalog: bom.Catalog) -> str:
    """A digest of what a build reads from the map: a changed map rebuilds every order."""
    skus = sorted(
        (
            sku.pk,
            sku.code,
            sku.name,
            sku.weight_g,
            str(sku.customs_value) if sku.customs_value is not None else "",
            sku.hs_code,
            str(sku.country_of_origin or ""),
        )
        for sku in catalog.skus.values()
    )
    parts = [
        repr(skus),
        repr(_stable(catalog.rewards)),
        repr(_stable(catalog.groups)),
        repr(_stable(catalog.offers)),
        repr(_stable(catalog.rules)),
        repr(_stable(catalog.goals)),
        repr(_stable(catalog.imported)),
    ]
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=20).hexdigest()


def _stable(value):
    """`value` with every set sorted and every mapping in key order, so its repr is the
    same in every process: a set's order follows string hashing, which Python seeds
    afresh per process (a rule's countries printed differently in each worker, and
    every build rewrote every order)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tuple((f.name, _stable(getattr(value, f.name))) for f in dataclasses.fields(value))
    if isinstance(value, dict):
        return sorted((repr(k), _stable(v)) for k, v in value.items())
    if isinstance(value, set | frozenset):
        return sorted(repr(_stable(item)) for item in value)
    if isinstance(value, list | tuple):
        return [_stable(item) for item in value]
    return value


def fingerprint(*, inp: BuildInput, catalog_hash: str, rules: Rules) -> str:
    text = "\n".join((catalog_hash, rules.digest(), inp.digest()))
    return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


def _planned(bom_line: bom.BomLine, currency: str) -> PlannedLine:
    sku = bom_line.sku
    if sku is None:
        return PlannedLine(
            sku_id=None,
            sku_code="",
            description=bom_line.detail[:300],
            quantity=bom_line.quantity,
            source=_SOURCE[bom_line.source],
            detail=bom_line.detail[:300],
        )
    customs = sku.customs_value
    return PlannedLine(
        sku_id=sku.pk,
        sku_code=sku.code,
        description=sku.name[:300],
        quantity=bom_line.quantity,
        source=_SOURCE[bom_line.source],
        detail=bom_line.detail[:300],
        unit_weight_g=sku.weight_g or 0,
        customs_value=customs.amount if customs is not None else ZERO,
        customs_currency=str(customs.currency) if customs is not None else currency,
        hs_code=sku.hs_code,
        country_of_origin=str(sku.country_of_origin or ""),
    )


def _priced_addons(
    lines: list[PlannedLine], start: int, catalog: bom.Catalog, cart: tuple
) -> list[PlannedLine]:
    """Give the survey add-on lines their price. `explode` writes the cart's offers first
    among the add-on lines, in cart order, one line per offer item; each offer's cart
    total is split over its items by units, the rounding left on the last one."""
    lines = list(lines)
    position = start
    for offer_id, quantity, unit_price in cart:
        offer = catalog.offers.get(int(offer_id))
        if offer is None or int(quantity) <= 0:
            continue
        count = len(offer.items)
        block = lines[position : position + count]
        position += count
        offer_total = _round(Decimal(unit_price) * int(quantity))
        units = sum(line.quantity for line in block) or 1
        left = offer_total
        for index, line in enumerate(block):
            if index == len(block) - 1:
                share = left
            else:
                share = _round(offer_total * line.quantity / units)
                left -= share
            unit = _round(share / line.quantity) if line.quantity else ZERO
            lines[position - count + index] = replace(line, unit_price=unit, line_total=share)
    return lines


def _missing_detail(lines: list[PlannedLine]) -> str:
    parts = []
    for line in lines:
        if line.source == LineSource.CHOICE_PENDING:
            parts.append(f"Choice not made: {line.detail}")
        elif line.source == LineSource.ADDON_UNMAPPED:
            parts.append(f"Add-on not mapped: {line.detail}")
    return "; ".join(parts)


def _goals_met(catalog: bom.Catalog, pledged_at) -> tuple[bool, ...]:
    """Which of the map's stretch-goal deadlines a pledge date meets: all `explode`
    reads of the date."""
    return tuple(
        goal.pledged_before is None or (pledged_at is not None and pledged_at < goal.pledged_before)
        for goal in catalog.goals
    )


def _rules_applying(catalog: bom.Catalog, country: str) -> tuple[int, ...]:
    """The regional rules that name `country`: all `explode` reads of the country, so
    pledges alike but for countries no rule tells apart explode alike. Memoised per
    catalog (a campaign ships to a few dozen countries)."""
    memo = catalog.__dict__.setdefault("_rules_by_country", {})
    found = memo.get(country)
    if found is None:
        code = (country or "").strip().upper()
        found = memo[country] = tuple(
            rule.id for rule in catalog.rules if code and code in rule.countries
        )
    return found


def _plan_lines(
    *, inp: BuildInput, catalog: bom.Catalog, country: str, choices: dict[int, list[int]]
) -> list[PlannedLine]:
    addons = [(o, q) for o, q, _p in inp.cart]
    bom_lines = bom.explode(
        catalog=catalog,
        reward_id=inp.reward_id,
        country=country,
        pledged_at=inp.pledged_at,
        choices=choices,
        addons=addons,
        imported_addons_text=inp.addons_text,
        regional_opt_outs=inp.regional_opt_outs,
    )
    # A campaign has a few dozen distinct BOM lines: each becomes a PlannedLine once.
    memo = catalog.__dict__.setdefault("_planned_lines", {})
    lines = []
    for bom_line in bom_lines:
        key = (bom_line, inp.currency)
        planned = memo.get(key)
        if planned is None:
            planned = memo[key] = _planned(bom_line, inp.currency)
        lines.append(planned)
    if inp.cart:
        # The lines before the add-ons: the same pledge without any add-on.
        before = bom.explode(
            catalog=catalog,
            reward_id=inp.reward_id,
            country=country,
            pledged_at=inp.pledged_at,
            choices=choices,
            regional_opt_outs=inp.regional_opt_outs,
        )
        lines = _priced_addons(lines, len(before), catalog, inp.cart)
    return lines


def plan_order(
    *, inp: BuildInput, catalog: bom.Catalog, rules: Rules, lines_memo: dict | None = None
) -> OrderPlan:
    """What the order of `inp` should look like. No queries.

    `lines_memo` (a dict kept over many plans of one catalog) shares the lines of
    pledges that explode alike: most backers of a campaign share a handful of carts.
    The memoised list is the same object in each plan that uses it: never change it."""
    survey_address = inp.survey_address
    if survey_address:
        address, source = survey_address, AddressSource.SURVEY
    else:
        address, source = inp.pledge_address, AddressSource.IMPORT
    country = (
        (address.get("country") if address else "") or inp.survey_country or inp.pledge_country
    ).upper()
    choices = valid_choices(catalog, inp.choices)
    if lines_memo is None:
        lines = _plan_lines(inp=inp, catalog=catalog, country=country, choices=choices)
        missing = _missing_detail(lines)
    else:
        # Everything `explode` and the add-on prices read, and nothing else.
        key = (
            inp.reward_id,
            _rules_applying(catalog, country),
            _goals_met(catalog, inp.pledged_at),
            tuple((group, tuple(options)) for group, options in sorted(choices.items())),
            tuple((int(o), int(q), Decimal(p)) for o, q, p in inp.cart),
            inp.addons_text,
            tuple(inp.regional_opt_outs),
            inp.currency,
        )
        hit = lines_memo.get(key)
        if hit is None:
            lines = _plan_lines(inp=inp, catalog=catalog, country=country, choices=choices)
            hit = lines_memo[key] = (lines, _missing_detail(lines))
        lines, missing = hit

    goods = _round(inp.reward_due + inp.addons_total)
    # Tax-inclusive prices already hold the tax: the total does not add it again.
    shipping, tax_total = inp.survey_money()
    total = goods + shipping + (ZERO if rules.prices_include_tax else tax_total)
    credit_applied = min(inp.credit, total)
    balance = max(ZERO, total - credit_applied - inp.paid_total)

    holds: dict[str, str] = {}
    if missing:
        holds[HoldReason.MISSING_CHOICE] = missing
    # With "charge at lock" the balance is taken from the saved card when the order
    # locks (a missing or declined card opens payment_failed then), so it is no hold.
    if balance > 0 and not inp.paid and not rules.charge_at_lock:
        holds[HoldReason.PAYMENT_DUE] = f"{balance} {inp.currency} due"
    if inp.duplicate_open:
        holds[HoldReason.DUPLICATE_BACKER] = "Backer is in an open duplicate group"
    reasons = review_reasons(
        rules=rules,
        total=total,
        country=country,
        street_address=(address or {}).get("street_address", ""),
    )
    if reasons:
        holds[HoldReason.MANUAL_REVIEW] = "; ".join(reasons)

    return OrderPlan(
        lines=lines,
        currency=inp.currency,
        pledge_amount=inp.pledge_amount,
        credit=inp.credit,
        goods_total=goods,
        shipping_fee=shipping,
        tax_total=tax_total,
        total=total,
        credit_applied=credit_applied,
        balance_due=balance,
        address=address or {},
        address_source=source,
        country=country,
        completed=inp.completed,
        holds=holds,
        prices_include_tax=rules.prices_include_tax,
        treatment=inp.treatment(),
    )


# --- reading one backer --------------------------------------------------------


def _amount(money) -> Decimal:
    return money.amount if money is not None else ZERO


def settled(order: Order) -> Decimal:
    """What was paid for `order`, refunded or not: the balance due never asks for it."""
    return order.paid_total.amount + order.refunded_total.amount


REPRICED_FIELDS = ("priced_at", "survey_confirmed_at", "shipping_fee", "tax_total", *TAX_TREATMENT)


def repriced_money(order: dict | None, completed_at) -> dict:
    """The survey money a build takes from the order instead of the response: its
    shipping fee, tax and tax treatment once re-pricing (`priced_at`) changed them, as
    long as the order was built from the backer's current confirmation (a rebuild for a
    changed reward map, review rule or duplicate decision keeps the new rates). A newer
    confirmation quoted with the rates in force: its figures count again, even if a
    re-pricing ran on the order built from the one before. `order`: the order's
    REPRICED_FIELDS (amounts as Decimal)."""
    if not order or completed_at is None or order["priced_at"] is None:
        return {}
    if order["survey_confirmed_at"] != completed_at:
        return {}
    return {
        "shipping_total": order["shipping_fee"],
        "tax_total": order["tax_total"],
        **{name: order[name] for name in TAX_TREATMENT},
    }


def _repriced_values(order: Order | None) -> dict | None:
    # An order others were merged into was re-priced as one parcel; its rebuild adds
    # the merged orders' figures to its own, so it starts from the survey's.
    if order is None or order.priced_at is None or order.merged_orders.exists():
        return None
    values = {name: getattr(order, name) for name in REPRICED_FIELDS}
    values["shipping_fee"] = order.shipping_fee.amount
    values["tax_total"] = order.tax_total.amount
    return values


def build_input(
    *, backer: Backer, response: SurveyResponse | None, paid_total=ZERO, order: Order | None = None
) -> BuildInput:
    """The inputs of one backer's build (a few queries). `order`: the order being
    rebuilt, for its payments and a re-pricing since the confirmation."""
    pledge = Pledge.objects.filter(backer=backer).first()
    if pledge is None and response is None:
        raise NoResponse(f"Backer {backer} has neither a pledge nor a survey response.")
    campaign = backer.campaign
    duplicate_open = (
        backer.duplicate_group_id is not None
        and backer.duplicate_group.status == DuplicateStatus.OPEN
    )
    values = {}
    if pledge is not None:
        values.update(
            reward_id=pledge.reward_id,
            pledged_at=pledge.pledged_at,
            addons_text=pledge.addons_text,
            pledge_amount=pledge.amount.amount,
            pledge_address=pledge_address_fields(pledge.__dict__),
            pledge_country=str(pledge.shipping_country or "").upper(),
        )
    if response is not None:
        cart = tuple(
            (line.offer_id, line.quantity, line.unit_price.amount)
            for line in CartLine.objects.filter(response=response).order_by("pk")
        )
        values.update(
            response_id=response.pk,
            completed=response.completed_at is not None,
            paid=response.paid_at is not None,
            language=response.language or "en",
            choices=dict(response.choices or {}),
            regional_opt_outs=tuple(response.regional_opt_outs or ()),
            cart=cart,
            survey_address=survey_address_fields(response.address),
            survey_country=(response.address_country or "").upper(),
            vat_number=response.vat_number,
            credit=_amount(response.credit),
            addons_total=_amount(response.addons_total),
            shipping_total=_amount(response.shipping_total),
            tax_total=_amount(response.tax_total),
            reward_due=_amount(response.reward_due),
            **{name: getattr(response, name) for name in TAX_TREATMENT},
        )
        values.update(
            completed_at=response.completed_at,
            repriced=repriced_money(_repriced_values(order), response.completed_at),
        )
    return BuildInput(
        backer_id=backer.pk,
        campaign_id=backer.campaign_id,
        currency=str(pledge.amount.currency) if pledge is not None else campaign.currency,
        email=backer.email,
        name=backer.name,
        paid_total=paid_total,
        duplicate_open=duplicate_open,
        **values,
    )


# --- applying a plan to one order ----------------------------------------------


def _money_fields(order: Order, plan: OrderPlan) -> None:
    def money(amount):
        return Money(amount, plan.currency)

    order.currency = plan.currency
    order.prices_include_tax = plan.prices_include_tax
    order.pledge_amount = money(plan.pledge_amount)
    order.credit = money(plan.credit)
    order.goods_total = money(plan.goods_total)
    order.shipping_fee = money(plan.shipping_fee)
    order.tax_total = money(plan.tax_total)
    order.total = money(plan.total)
    order.credit_applied = money(plan.credit_applied)
    order.balance_due = money(plan.balance_due)
    order.paid_total = Money(order.paid_total.amount, plan.currency)
    order.refunded_total = Money(order.refunded_total.amount, plan.currency)
    for name, value in plan.treatment.items():
        setattr(order, name, value)


def _line_rows(order: Order, plan_lines: list[PlannedLine], currency: str) -> list[OrderLine]:
    return [
        OrderLine(
            order=order,
            position=position,
            sku_id=line.sku_id,
            sku_code=line.sku_code,
            description=line.description,
            quantity=line.quantity,
            source=line.source,
            detail=line.detail,
            unit_weight_g=line.unit_weight_g,
            customs_value=Money(line.customs_value, line.customs_currency),
            hs_code=line.hs_code,
            country_of_origin=line.country_of_origin,
            unit_price=Money(line.unit_price, currency),
            line_total=Money(line.line_total, currency),
        )
        for position, line in enumerate(plan_lines, start=1)
    ]


def _replace_lines(*, order: Order, plan: OrderPlan, actor, created: bool) -> bool:
    """Write the plan's lines if they differ from the stored ones; True when changed."""
    stored = list(OrderLine.objects.filter(order=order).order_by("position", "pk"))
    if [line_key(line) for line in stored] == [line.key() for line in plan.lines]:
        return False
    OrderLine.objects.filter(order=order).delete()
    OrderLine.objects.bulk_create(_line_rows(order, plan.lines, plan.currency))
    order.weight_g = sum(line.unit_weight_g * line.quantity for line in plan.lines)
    if not created:
        order_event_create(
            order=order,
            kind=EventKind.LINES,
            actor=actor,
            message="Lines rebuilt from the survey and the SKU map.",
            before={"lines": [str(line) for line in stored]},
            after={"lines": [line.summary() for line in plan.lines]},
        )
    return True


def _apply_address(*, order: Order, plan: OrderPlan, actor) -> OrderAddress | None:
    if not plan.address:
        return None
    current = order.address
    if current is not None and current.as_dict() == plan.address:
        return None
    last_of_source = (
        OrderAddress.objects.filter(order=order, source=plan.address_source)
        .order_by("-version")
        .first()
    )
    if last_of_source is not None and last_of_source.as_dict() == plan.address:
        return None  # unchanged at its source: a later correction stays in force
    return new_address_version(
        order=order, fields=plan.address, source=plan.address_source, actor=actor
    )


def _sync_state(*, order: Order, plan: OrderPlan, actor) -> None:
    if plan.completed:
        if order.state == OrderState.DRAFT:
            change_state(order=order, to=OrderState.SUBMITTED, actor=actor, message="Survey done.")
    elif order.state in (OrderState.SUBMITTED, OrderState.READY):
        if order.state == OrderState.READY:
            change_state(order=order, to=OrderState.SUBMITTED, actor=actor)
        change_state(order=order, to=OrderState.DRAFT, actor=actor, message="Survey reopened.")


def _cleared_by_staff_with(order: Order, reason: str, detail: str) -> bool:
    return OrderHold.objects.filter(
        order=order,
        reason=reason,
        detail=detail,
        cleared_at__isnull=False,
        cleared_by__isnull=False,
    ).exists()


def sync_automatic_holds(*, order: Order, wanted: dict[str, str], actor=None) -> None:
    """Open the automatic holds whose cause is there, clear those whose cause is gone."""
    for reason in AUTOMATIC_HOLDS:
        if reason in wanted:
            detail = wanted[reason]
            is_open = OrderHold.objects.filter(
                order=order, reason=reason, cleared_at__isnull=True
            ).exists()
            if (
                not is_open
                and reason in _STICKY_WHEN_CLEARED_BY_STAFF
                and _cleared_by_staff_with(order, reason, detail)
            ):
                continue  # a person looked at this very cause and let it go
            open_hold(order=order, reason=reason, detail=detail, actor=actor)
        else:
            clear_holds(order=order, reason=reason, actor=actor, note="Cause gone on rebuild.")


def _plan_for_order(*, order: Order, inp: BuildInput, catalog, rules) -> OrderPlan:
    """The plan of `order`, with the lines and money of orders merged into it."""
    plan = plan_order(inp=inp, catalog=catalog, rules=rules)
    if order.pk is None:
        return plan
    merged = list(Order.objects.filter(merged_into=order).select_related("backer__duplicate_group"))
    for other in merged:
        other_response = SurveyResponse.objects.filter(pk=other.response_id).first()
        other_plan = plan_order(
            inp=build_input(backer=other.backer, response=other_response),
            catalog=catalog,
            rules=rules,
        )
        _add_merged(plan, other_plan)
    return plan


def _add_merged(plan: OrderPlan, other: OrderPlan) -> None:
    """One parcel for both: lines and money add up, shipping stays the kept order's."""
    plan.lines = plan.lines + other.lines
    plan.pledge_amount += other.pledge_amount
    plan.credit += other.credit
    plan.goods_total += other.goods_total
    plan.tax_total += other.tax_total
    plan.total += other.goods_total + other.tax_total
    plan.credit_applied += other.credit_applied
    plan.balance_due += max(ZERO, other.goods_total + other.tax_total - other.credit_applied)
    missing = _missing_detail(plan.lines)
    if missing:
        plan.holds[HoldReason.MISSING_CHOICE] = missing
    for reason in (HoldReason.PAYMENT_DUE, HoldReason.DUPLICATE_BACKER):
        if reason in other.holds and reason not in plan.holds:
            plan.holds[reason] = other.holds[reason]


def _refuse_locked(order: Order) -> None:
    if order.state not in BACKER_EDITABLE:
        raise OrderLocked(
            f"Order {order.number} is {OrderState(order.state).label.lower()}: "
            "it can no longer be changed."
        )


def build_order(*, response: SurveyResponse, actor=None) -> Order:
    """Create or update the standard order of `response`'s backer from the pledge, the
    survey answers and the SKU map; returns it.

    Raises OrderLocked for an order that is locked or further on (nothing changes).
    A response of a backer whose order was merged into another rebuilds that other one;
    a test response raises SmokeTestResponse."""
    if response.is_test:
        raise SmokeTestResponse("Test responses do not become orders.")
    with transaction.atomic():
        backer = Backer.objects.select_related("campaign", "duplicate_group").get(
            pk=response.backer_id
        )
        order = _locked_order_row(backer)
        if order is not None and order.merged_into_id is not None:
            keep = Order.objects.select_for_update().get(pk=order.merged_into_id)
            return _rebuild(order=keep, actor=actor)
        return _build_for(order=order, backer=backer, response=response, actor=actor)


def build_order_for_backer(*, backer: Backer, actor=None) -> Order:
    """The order of a backer from their survey response, or, without one, a draft from
    the pledge alone (so imported backers count in the funnel)."""
    response = SurveyResponse.objects.filter(backer=backer, is_test=False).first()
    if response is not None:
        return build_order(response=response, actor=actor)
    with transaction.atomic():
        backer = Backer.objects.select_related("campaign", "duplicate_group").get(pk=backer.pk)
        order = _locked_order_row(backer)
        if order is not None and order.merged_into_id is not None:
            keep = Order.objects.select_for_update().get(pk=order.merged_into_id)
            return _rebuild(order=keep, actor=actor)
        return _build_for(order=order, backer=backer, response=None, actor=actor)


def _locked_order_row(backer: Backer) -> Order | None:
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("address")
        .filter(campaign_id=backer.campaign_id, backer=backer, kind="standard")
        .first()
    )


def _rebuild(*, order: Order, actor) -> Order:
    """Rebuild an existing order (its row locked) from its backer's current inputs."""
    backer = Backer.objects.select_related("campaign", "duplicate_group").get(pk=order.backer_id)
    response = SurveyResponse.objects.filter(pk=order.response_id).first()
    if response is None:
        response = SurveyResponse.objects.filter(backer=backer, is_test=False).first()
    return _build_for(order=order, backer=backer, response=response, actor=actor)


def _build_for(*, order: Order | None, backer: Backer, response, actor) -> Order:
    if order is not None:
        _refuse_locked(order)
    inp = build_input(
        backer=backer,
        response=response,
        paid_total=settled(order) if order is not None else ZERO,
        order=order,
    )
    catalog = bom.load_catalog(campaign=backer.campaign_id)
    rules = rules_of(campaign_id=backer.campaign_id)
    return _build(
        order=order,
        backer=backer,
        response=response,
        inp=inp,
        catalog=catalog,
        rules=rules,
        actor=actor,
    )


def _build(*, order, backer, response, inp, catalog, rules, actor) -> Order:
    created = order is None
    if created:
        order = Order(
            campaign_id=backer.campaign_id,
            backer=backer,
            number=take_order_numbers(campaign_id=backer.campaign_id),
            state=OrderState.DRAFT,
        )
    plan = _plan_for_order(order=order, inp=inp, catalog=catalog, rules=rules)
    order.response = response
    order.email = backer.email
    order.name = backer.name[:300]
    order.language = inp.language
    order.reward_id = inp.reward_id
    order.vat_number = inp.vat_number
    order.survey_confirmed_at = inp.completed_at
    order.country = plan.country
    _money_fields(order, plan)
    order.build_fingerprint = fingerprint(
        inp=inp, catalog_hash=catalog_digest(catalog), rules=rules
    )
    order.save()
    if created:
        order_event_create(
            order=order,
            kind=EventKind.CREATED,
            actor=actor,
            message="Built from the pledge and the survey.",
            after={"lines": [line.summary() for line in plan.lines]},
        )
    if _replace_lines(order=order, plan=plan, actor=actor, created=created):
        order.save(update_fields=["weight_g", "updated_at"])
    _apply_address(order=order, plan=plan, actor=actor)
    _sync_state(order=order, plan=plan, actor=actor)
    sync_automatic_holds(order=order, wanted=plan.holds, actor=actor)
    refresh_readiness(order=order, actor=actor)
    return order


# --- merging -------------------------------------------------------------------


def merge_orders(*, keep: Order, merge: Order, actor) -> Order:
    """Merge `merge` into `keep` (the same person pledged on several platforms): its
    lines move to `keep`, `merge` is cancelled with `merged_into` set, an event on both;
    `keep` is then rebuilt, so its money, holds and later rebuilds count both pledges
    (one shipment: `keep`'s shipping). Returns `keep`.

    Both must be standard orders of one campaign that backers may still change, and
    `merge` must have no money paid on it (merge the other way round then)."""
    if keep.pk == merge.pk:
        raise MergeNotAllowed("An order cannot be merged into itself.")
    with transaction.atomic():
        rows = {
            o.pk: o
            for o in Order.objects.select_for_update()
            .filter(pk__in=[keep.pk, merge.pk])
            .order_by("pk")
        }
        keep, merge = rows[keep.pk], rows[merge.pk]
        if keep.campaign_id != merge.campaign_id:
            raise MergeNotAllowed("Only orders of the same campaign can be merged.")
        if keep.kind != "standard" or merge.kind != "standard":
            raise MergeNotAllowed("Only standard orders can be merged.")
        if merge.merged_into_id is not None or keep.merged_into_id is not None:
            raise MergeNotAllowed("One of these orders is already merged into another.")
        for order in (keep, merge):
            _refuse_locked(order)
        paid = settled(merge)
        if paid:
            # Its payments (and any invoice) belong to it: moving them would re-write
            # what the backer was charged and invoiced for. The other way round, the
            # kept order's own payments count in its balance.
            raise MergeNotAllowed(
                f"Order {merge.number} has {paid} {merge.currency} paid on it: keep that "
                f"order and merge order {keep.number} into it instead (or refund it first)."
            )
        moved = list(OrderLine.objects.filter(order=merge).order_by("position", "pk"))
        last = OrderLine.objects.filter(order=keep).count()
        for offset, line in enumerate(moved, start=1):
            line.order = keep
            line.position = last + offset
        OrderLine.objects.bulk_update(moved, ["order", "position"])
        merge.merged_into = keep
        merge.save(update_fields=["merged_into", "updated_at"])
        summary = [str(line) for line in moved]
        order_event_create(
            order=keep,
            kind=EventKind.MERGE,
            actor=actor,
            message=f"Order {merge.number} merged into this one.",
            after={"merged_order": merge.number, "lines": summary},
        )
        order_event_create(
            order=merge,
            kind=EventKind.MERGE,
            actor=actor,
            message=f"Merged into order {keep.number}.",
            after={"merged_into": keep.number, "lines": summary},
        )
        for hold in OrderHold.objects.filter(order=merge, cleared_at__isnull=True):
            clear_holds(order=merge, reason=hold.reason, actor=actor, note="Order merged.")
        change_state(
            order=merge, to=OrderState.CANCELLED, actor=actor, message=f"Merged into {keep.number}."
        )
        return _rebuild(order=keep, actor=actor)
