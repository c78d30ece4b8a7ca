"""The creator's review rules: which orders wait for a person to look (`manual_review`).

`review_reasons` and `rules_of` are pure functions over plain values, so the single
build and the bulk build apply the same rules without a query per order. The back
office saves the rules (`save_review_rules`) and applies them to the open orders
at once (`recheck_open_orders`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from djmoney.money import Money

from ..events import actor_fields
from ..models import (
    EventKind,
    HoldReason,
    Order,
    OrderEvent,
    OrderHold,
    OrderState,
    PaymentSettings,
    ReviewRules,
    TaxSettings,
)
from .holds import refresh_readiness

# Carriers that refuse PO boxes refuse parcel lockers too. Words as backers write
# them, in the languages of the usual destinations; a bare "Box" or "BP" counts only
# with a number after it ("Box 123" is a Swedish PO box, "Boxhagener Str." is not).
_PO_BOX = re.compile(
    r"""
    \bp\.?\s*o\.?\s*box\b                      # PO Box, P.O. Box, P O Box
    | \bpost\s*office\s*box\b
    | \bpob\s*\d                               # POB 12
    | \bbox\s*\#?\s*\d                         # Box 123 (SE, US)
    | \bgpo\s*box\b | \bpo\s*bag\b | \blocked\s*bag\b | \bprivate\s*bag\b   # AU, NZ
    | \bparcel\s*locker\b
    | postfach                                 # DE, AT, CH
    | packstation | paketstation | postfiliale | \bpaketshop\b
    | \bpostbus\b                              # NL
    | \bpostboks\b | \bpostbox\b               # NO, DK
    | \bbo[iî]te\s*postale\b | \bb\.?\s*p\.?\s*\d   # FR: boîte postale, BP 12
    | \bcase\s*postale\b                       # CH, CA (French)
    | \bapartado\s*(de\s*correos|postal)?\s*\d? # ES, MX
    | \bcasilla\s*(de\s*correo)?\s*\d          # AR, CL
    | \bcaixa\s*postal\b                       # BR, PT
    | \bcasella\s*postale\b                    # IT
    | \bskrytka\s*pocztowa\b | paczkomat       # PL
    | \bpostilokero\b                          # FI
    | 私書箱 | 郵便私書箱                      # JP
    | 邮政信箱                                 # CN
    """,
    re.IGNORECASE | re.VERBOSE,
)


def looks_like_po_box(street_address: str) -> bool:
    """Whether a street address names a PO box or a parcel locker (any line)."""
    return bool(street_address) and _PO_BOX.search(street_address) is not None


@dataclass(frozen=True)
class Rules:
    """A campaign's review rules as plain values (None: no rules set)."""

    value_above: Decimal | None = None
    countries: frozenset[str] = frozenset()
    refuse_po_boxes: bool = False
    # Campaign settings the build needs too: tax inside the prices (the order's total
    # does not add it again), and cards charged at lock (no payment_due hold then).
    prices_include_tax: bool = False
    charge_at_lock: bool = False

    def digest(self) -> str:
        return (
            f"{self.value_above}|{','.join(sorted(self.countries))}|{self.refuse_po_boxes}"
            f"|{self.prices_include_tax}|{self.charge_at_lock}"
        )


def rules_of(*, campaign_id: int) -> Rules:
    settings = {
        "prices_include_tax": TaxSettings.objects.filter(
            campaign_id=campaign_id, prices_include_tax=True
        ).exists(),
        "charge_at_lock": PaymentSettings.objects.filter(
            campaign_id=campaign_id, charge_at_lock=True
        ).exists(),
    }
    rules = ReviewRules.objects.filter(campaign_id=campaign_id).first()
    if rules is None:
        return Rules(**settings)
    return Rules(
        value_above=rules.value_above.amount if rules.value_above is not None else None,
        countries=frozenset(str(code).strip().upper() for code in rules.countries or ()),
        refuse_po_boxes=rules.refuse_po_boxes,
        **settings,
    )


def review_reasons(*, rules: Rules, total: Decimal, country: str, street_address: str) -> list[str]:
    """Why this order needs a look, one phrase per rule it meets (empty: none)."""
    reasons = []
    if rules.value_above is not None and total > rules.value_above:
        reasons.append(f"Order value {total} above {rules.value_above}")
    if country and country.upper() in rules.countries:
        reasons.append(f"Destination {country.upper()} always reviewed")
    if rules.refuse_po_boxes and looks_like_po_box(street_address):
        reasons.append("PO box or parcel locker address")
    return reasons


# --- the back office: saving the rules, applying them to open orders -------------------

ZERO = Decimal("0")
RECHECK_BATCH = 2000
# Orders a re-check looks at: past the survey and still open to the backer, not locked.
# Drafts get their holds when the backer finishes the survey (the build applies the
# rules); locked orders never change.
RECHECK_STATES = (OrderState.SUBMITTED, OrderState.READY)
RECHECK_CLEAR_NOTE = "Cause gone on re-check of the review rules."


def review_rules_for(*, campaign) -> ReviewRules:
    """The campaign's rules, unsaved defaults when it has none yet (nothing reviewed)."""
    rules = ReviewRules.objects.filter(campaign=campaign).first()
    return rules if rules is not None else ReviewRules(campaign=campaign)


def save_review_rules(
    *,
    campaign,
    value_above: Decimal | None,
    countries: Iterable[str],
    refuse_po_boxes: bool,
    lock_notice_hours: int,
) -> ReviewRules:
    """Store the campaign's review rules: orders worth more than `value_above` (in the
    campaign currency; None: no value rule), going to one of `countries` (ISO codes)
    or, with `refuse_po_boxes`, to a PO box or parcel locker wait for a person.
    They apply to orders as they are built; `recheck_open_orders` applies them to
    the open orders now. `lock_notice_hours`: how long before the lock date backers
    are reminded."""
    codes = sorted({str(code).strip().upper() for code in countries if str(code).strip()})
    with transaction.atomic():
        rules, _ = ReviewRules.objects.update_or_create(
            campaign=campaign,
            defaults={
                "value_above": (
                    Money(value_above, campaign.currency) if value_above is not None else None
                ),
                "countries": codes,
                "refuse_po_boxes": refuse_po_boxes,
                "lock_notice_hours": lock_notice_hours,
            },
        )
    return rules


@dataclass
class RecheckResult:
    checked: int = 0
    opened: int = 0  # manual_review opened
    updated: int = 0  # still to review, for other reasons than before (detail rewritten)
    cleared: int = 0  # no rule meets the order any more
    kept_cleared: int = 0  # a person had let this very cause go: it stays cleared


def _user(actor):
    return actor_fields(actor)["actor"]


def _recheck_rows(campaign, after: int, batch_size: int) -> list[tuple]:
    review = OrderHold.objects.filter(
        order=OuterRef("pk"), reason=HoldReason.MANUAL_REVIEW, cleared_at__isnull=True
    )
    return list(
        Order.objects.filter(
            campaign=campaign, state__in=RECHECK_STATES, locked_at__isnull=True, pk__gt=after
        )
        .annotate(
            review_hold=Subquery(review.values("pk")[:1]),
            review_detail=Subquery(review.values("detail")[:1]),
        )
        .order_by("pk")
        .values_list(
            "pk", "total", "country", "address__street_address", "review_hold", "review_detail"
        )[:batch_size]
    )


def recheck_open_orders(*, campaign, actor, batch_size: int = RECHECK_BATCH) -> RecheckResult:
    """Apply the campaign's current review rules to its open orders (submitted or ready,
    not locked), set-based: `manual_review` opens on each order a rule now meets and
    clears (as a cause gone, not a person's decision) on each it no longer meets; a
    ready order that gets the hold goes back to submitted, and a submitted one whose
    last hold goes has its readiness refreshed; each change is on the order's timeline.

    The rules read the order as it stands: its total, destination and current address.
    As in a build, a hold a person cleared stays cleared while its reasons read the same.
    One transaction per batch of orders; the orders of a batch are row locked, so an
    order locked meanwhile is left alone."""
    rules = rules_of(campaign_id=campaign.pk)
    result = RecheckResult()
    after = 0
    while True:
        rows = _recheck_rows(campaign, after, batch_size)
        if not rows:
            return result
        after = rows[-1][0]
        result.checked += len(rows)
        wanted: dict[int, str] = {}
        for pk, total, country, street, _hold, _detail in rows:
            reasons = review_reasons(
                rules=rules,
                total=total if total is not None else ZERO,
                country=country or "",
                street_address=street or "",
            )
            if reasons:
                wanted[pk] = "; ".join(reasons)
        changing = {
            pk
            for pk, _total, _country, _street, hold, detail in rows
            if (hold is None) != (pk not in wanted) or (hold is not None and detail != wanted[pk])
        }
        if changing:
            with transaction.atomic():
                _apply(campaign, sorted(changing), wanted, actor, result)


def _apply(campaign, order_ids: list[int], wanted: dict[int, str], actor, result) -> None:
    # Lock the orders (pk order: no deadlock with a lock run or a build), then read
    # their review holds again under the lock: what was read before may have moved.
    states = dict(
        Order.objects.select_for_update()
        .filter(
            pk__in=order_ids,
            campaign=campaign,
            state__in=RECHECK_STATES,
            locked_at__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", "state")
    )
    open_holds = {
        order_id: (pk, detail)
        for pk, order_id, detail in OrderHold.objects.filter(
            order_id__in=states, reason=HoldReason.MANUAL_REVIEW, cleared_at__isnull=True
        ).values_list("pk", "order_id", "detail")
    }
    to_open = {pk: wanted[pk] for pk in states if pk in wanted and pk not in open_holds}
    to_update = [
        (open_holds[pk][0], wanted[pk])
        for pk in states
        if pk in wanted and pk in open_holds and open_holds[pk][1] != wanted[pk]
    ]
    to_clear = {pk: open_holds[pk] for pk in states if pk not in wanted and pk in open_holds}
    # Sticky, as in a build: a person cleared a hold with these very reasons.
    let_go = set(
        OrderHold.objects.filter(
            order_id__in=to_open,
            reason=HoldReason.MANUAL_REVIEW,
            cleared_at__isnull=False,
            cleared_by__isnull=False,
        ).values_list("order_id", "detail")
    )
    for pk, detail in list(to_open.items()):
        if (pk, detail) in let_go:
            del to_open[pk]
            result.kept_cleared += 1

    now = timezone.now()
    who = actor_fields(actor)
    events: list[OrderEvent] = []
    if to_open:
        OrderHold.objects.bulk_create(
            OrderHold(
                order_id=pk,
                reason=HoldReason.MANUAL_REVIEW,
                detail=detail,
                opened_at=now,
                opened_by=_user(actor),
            )
            for pk, detail in to_open.items()
        )
        label = HoldReason.MANUAL_REVIEW.label
        events += [
            OrderEvent(
                order_id=pk,
                kind=EventKind.HOLD_OPENED,
                created_at=now,
                message=f"{label}: {detail}",
                after={"reason": HoldReason.MANUAL_REVIEW.value, "detail": detail},
                **who,
            )
            for pk, detail in to_open.items()
        ]
        result.opened += len(to_open)
    if to_update:
        OrderHold.objects.bulk_update(
            [OrderHold(pk=hold_id, detail=detail) for hold_id, detail in to_update], ["detail"]
        )
        result.updated += len(to_update)
    if to_clear:
        # No cleared_by: the cause went, nobody decided; the hold comes back with it.
        OrderHold.objects.filter(pk__in=[hold for hold, _ in to_clear.values()]).update(
            cleared_at=now, cleared_by=None, clear_note=RECHECK_CLEAR_NOTE
        )
        events += [
            OrderEvent(
                order_id=pk,
                kind=EventKind.HOLD_CLEARED,
                created_at=now,
                message=RECHECK_CLEAR_NOTE,
                before={"reason": HoldReason.MANUAL_REVIEW.value, "detail": detail},
                **who,
            )
            for pk, (_hold, detail) in to_clear.items()
        ]
        result.cleared += len(to_clear)

    # A new hold sends a ready order back to submitted, whatever else readiness asks.
    held = [pk for pk in to_open if states[pk] == OrderState.READY]
    if held:
        Order.objects.filter(pk__in=held, state=OrderState.READY).update(
            state=OrderState.SUBMITTED, state_changed_at=now, updated_at=now
        )
        events += [
            OrderEvent(
                order_id=pk,
                kind=EventKind.STATE,
                created_at=now,
                message="Hold opened.",
                before={"state": OrderState.READY.value},
                after={"state": OrderState.SUBMITTED.value},
                **who,
            )
            for pk in held
        ]
    if events:
        OrderEvent.objects.bulk_create(events, batch_size=2000)
    # Whether a freed order is ready now is refresh_readiness's to say (it knows all
    # that readiness asks); only orders left with no open hold at all can be.
    freed = (
        Order.objects.filter(pk__in=list(to_clear), state=OrderState.SUBMITTED)
        .exclude(Exists(OrderHold.objects.filter(order=OuterRef("pk"), cleared_at__isnull=True)))
        .order_by("pk")
    )
    for order in freed:
        refresh_readiness(order=order, actor=actor)
