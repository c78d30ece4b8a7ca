"""Locking: ready orders freeze (address and choices become read-only for backers) on
the campaign's lock date or when staff lock a segment now; backers get a notice
before; staff can unlock one order with a reason.

The bulk lock is set-based: ids of ready orders are taken in batches, row-locked
and moved ready → locked with one UPDATE per batch, and each batch writes the same
state event `change_state()` would, in bulk."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr
from functools import partial
from urllib.parse import urljoin

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from pledges.models import Campaign
from surveys.links import magic_link
from surveys.models import SurveyInvite, SurveyResponse

from ..errors import ReasonRequired
from ..errors_lock import OrderNotLocked, SegmentNotFound
from ..events import order_event_create, order_events_bulk_create
from ..models import (
    BACKER_EDITABLE,
    TRANSITIONS,
    EventKind,
    HoldReason,
    Order,
    OrderEvent,
    OrderHold,
    OrderState,
    Payment,
    PaymentKind,
    PaymentSettings,
    PaymentStatus,
    Segment,
)
from ..selectors import orders_for
from .holds import ADDRESS_CHECKED, ADDRESS_CHECKED_Q
from .payments import charge_at_lock
from .states import change_state

S = OrderState
LOCK_BATCH = 10_000
# Large locks run on this many database connections at once, over disjoint id ranges.
LOCK_WORKERS = 2
LOCK_PARALLEL_FROM = 4 * LOCK_BATCH
NOTICE_BATCH = 200
DEFAULT_NOTICE_HOURS = 48
LOCK_JOB = "lock job"
# States at or after the lock: nothing to do for them.
LOCKED_OR_LATER = (S.LOCKED, S.RELEASED, S.IN_FULFILLMENT, S.SHIPPED, S.DELIVERED)

# The bulk path below moves ready → locked without change_state(); the table must allow it.
assert S.LOCKED in TRANSITIONS[S.READY]

NOT_READY_LABELS = {
    "draft": _("Survey not completed"),
    "submitted": _("Submitted, readiness not checked yet"),
    "address_unchecked": _("Ready, but the address was never checked"),
    "locked": _("Already locked (or further on)"),
    "cancelled": _("Cancelled"),
    **{reason.value: reason.label for reason in HoldReason},
}


@dataclass
class NotReady:
    key: str
    label: str
    count: int


@dataclass
class LockPreview:
    ready: int
    # By reason; an order with several open holds appears under each of them.
    not_ready: list[NotReady]
    # Distinct orders that will not lock.
    not_ready_orders: int


@dataclass
class LockResult:
    locked: int
    ready: int
    not_ready: list[NotReady] = field(default_factory=list)
    not_ready_orders: int = 0
    payment_failed: int = 0
    dry_run: bool = False


def segment_named(*, campaign: Campaign, name: str) -> Segment:
    segment = Segment.objects.filter(campaign=campaign, name__iexact=name.strip()).first()
    if segment is None:
        raise SegmentNotFound(f"No segment called “{name}” in {campaign.name}.")
    return segment


def segment_orders(*, segment: Segment) -> QuerySet[Order]:
    return orders_for(campaign=segment.campaign, filters=segment.filters)


def _scope(campaign: Campaign, orders: QuerySet[Order] | None) -> QuerySet[Order]:
    scope = Order.objects.all() if orders is None else orders
    return scope.filter(campaign=campaign).order_by()


def lock_preview(*, campaign: Campaign, orders: QuerySet[Order] | None = None) -> LockPreview:
    """How many orders of the scope would lock now, and why the others would not:
    by state, and the submitted ones by open hold reason (an order with two holds
    counts under both). Two aggregate queries."""
    scope = _scope(campaign, orders)
    by_state = dict(scope.values_list("state").annotate(n=Count("id")).order_by())
    holds = dict(
        OrderHold.objects.filter(
            cleared_at__isnull=True,
            order__in=scope.filter(state=S.SUBMITTED).values("id"),
        )
        .values_list("reason")
        .annotate(n=Count("order_id", distinct=True))
        .order_by()
    )
    rows: list[NotReady] = []
    if by_state.get(S.DRAFT):
        rows.append(NotReady("draft", NOT_READY_LABELS["draft"], by_state[S.DRAFT]))
    held = 0
    for reason in HoldReason:
        if holds.get(reason):
            rows.append(NotReady(reason.value, NOT_READY_LABELS[reason.value], holds[reason]))
            held += holds[reason]
    submitted = by_state.get(S.SUBMITTED, 0)
    with_holds = (
        scope.filter(state=S.SUBMITTED)
        .filter(Exists(OrderHold.objects.filter(order=OuterRef("pk"), cleared_at__isnull=True)))
        .count()
        if submitted
        else 0
    )
    if submitted - with_holds:
        rows.append(NotReady("submitted", NOT_READY_LABELS["submitted"], submitted - with_holds))
    later = sum(by_state.get(state, 0) for state in LOCKED_OR_LATER)
    if later:
        rows.append(NotReady("locked", NOT_READY_LABELS["locked"], later))
    if by_state.get(S.CANCELLED):
        rows.append(NotReady("cancelled", NOT_READY_LABELS["cancelled"], by_state[S.CANCELLED]))
    ready = by_state.get(S.READY, 0)
    # Ready from before addresses had to be checked first: the lock leaves them.
    unchecked = scope.filter(state=S.READY).exclude(ADDRESS_CHECKED_Q).count() if ready else 0
    if unchecked:
        rows.append(NotReady("address_unchecked", NOT_READY_LABELS["address_unchecked"], unchecked))
        ready -= unchecked
    return LockPreview(ready=ready, not_ready=rows, not_ready_orders=sum(by_state.values()) - ready)


def _charge_saved_cards(scope: QuerySet[Order], actor) -> int:
    """Charge at lock: each ready order with a saved card is charged before it locks;
    a failed charge opens a payment_failed hold, which sends the order back to
    submitted, so the lock below leaves it alone. Returns the number of failures."""
    saved_card = Payment.objects.filter(
        order=OuterRef("pk"), kind=PaymentKind.SAVE_CARD, status=PaymentStatus.SUCCEEDED
    )
    failed = 0
    for order in scope.filter(state=S.READY).filter(Exists(saved_card)).order_by("pk").iterator():
        if not charge_at_lock(order=order, actor=actor):
            failed += 1
    return failed


def _lock_batch(
    *,
    campaign_id: int,
    segment: QuerySet[Order] | None,
    after: int,
    upto: int | None,
    actor,
    message: str,
) -> list[int]:
    """Lock the next LOCK_BATCH ready orders of the campaign (or of `segment`) with an
    id above `after` (rows locked in id order, so two runs over the same orders cannot
    deadlock); their survey responses turn read-only. An order whose address was
    never checked stays open whatever its state says (ADDRESS_CHECKED_Q)."""
    now = timezone.now()
    scope = Order.objects.filter(
        ADDRESS_CHECKED_Q, campaign_id=campaign_id, state=S.READY, pk__gt=after
    )
    if upto is not None:
        scope = scope.filter(pk__lte=upto)
    if segment is not None:
        scope = scope.filter(pk__in=segment.order_by().values("pk"))
    ids = list(
        Order.objects.select_for_update()
        .filter(pk__in=scope.values("pk"))
        .filter(state=S.READY)
        .order_by("pk")
        .values_list("pk", flat=True)[:LOCK_BATCH]
    )
    if ids:
        Order.objects.filter(pk__in=ids).update(
            state=S.LOCKED, state_changed_at=now, locked_at=now, updated_at=now
        )
        order_events_bulk_create(
            order_ids=ids,
            kind=EventKind.STATE,
            actor=actor,
            message=message,
            before={"state": S.READY.value},
            after={"state": S.LOCKED.value},
        )
        SurveyResponse.objects.filter(
            pk__in=Order.objects.filter(pk__in=ids, response__isnull=False).values("response_id")
        ).update(locked_at=now)
    return ids


def _lock_batch_postgres(
    *,
    campaign_id: int,
    segment: QuerySet[Order] | None,
    after: int,
    upto: int | None,
    actor,
    message: str,
) -> list[int]:
    """The same on PostgreSQL in one statement: the next ready orders of the campaign
    are row-locked in id order (walking the (campaign, id) index from `after`;
    FOR UPDATE re-checks state = ready after waiting for a lock), moved to locked, and
    the same statement writes their state events (the rows order_events_bulk_create()
    would write) and makes their survey responses read-only."""
    now = timezone.now()
    orders, events = Order._meta.db_table, OrderEvent._meta.db_table
    responses = SurveyResponse._meta.db_table
    segment_sql, segment_params = "", []
    if upto is not None:
        segment_sql, segment_params = "AND id <= %s ", [upto]
    if segment is not None:
        # A segment's filter as a sub-select; the campaign filter stays in front.
        sql, params = segment.order_by().values("pk").query.sql_with_params()
        segment_params = [*segment_params, *params]
        segment_sql += f"AND id IN ({sql}) "
    # Table names come from the models; every value is a parameter.
    statement = (
        f"WITH picked AS (SELECT id FROM {orders} WHERE campaign_id = %s AND state = %s "  # noqa: S608
        "AND (address_id IS NULL OR address_status IN (%s, %s)) "
        f"AND id > %s {segment_sql}ORDER BY id LIMIT %s FOR UPDATE), "
        f"moved AS (UPDATE {orders} o SET state = %s, state_changed_at = %s, locked_at = %s, "
        f"updated_at = %s FROM picked WHERE o.id = picked.id AND o.state = %s "
        f"RETURNING o.id, o.response_id), "
        f"logged AS (INSERT INTO {events} (order_id, kind, created_at, actor_id, actor_label, "
        f"message, before, after) SELECT id, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb "
        f"FROM moved), "
        f"frozen AS (UPDATE {responses} r SET locked_at = %s FROM moved "
        f"WHERE r.id = moved.response_id) "
        f"SELECT id FROM moved"
    )
    # The actor columns as orders.events writes them: a user, or a label ("system").
    actor_id = None if actor is None or isinstance(actor, str) else actor.pk
    label = "system" if actor is None else (actor if isinstance(actor, str) else "")
    with connection.cursor() as cursor:
        cursor.execute(
            statement,
            [
                campaign_id,
                S.READY.value,
                *ADDRESS_CHECKED,
                after,
                *segment_params,
                LOCK_BATCH,
                S.LOCKED.value,
                now,
                now,
                now,
                S.READY.value,
                EventKind.STATE.value,
                now,
                actor_id,
                label,
                message,
                json.dumps({"state": S.READY.value}),
                json.dumps({"state": S.LOCKED.value}),
                now,
            ],
        )
        return sorted(row[0] for row in cursor.fetchall())


def _lock_range(
    *,
    campaign_id: int,
    segment: QuerySet[Order] | None,
    after: int,
    upto: int | None,
    actor,
    message: str,
    progress: Callable[[int], None] | None,
) -> int:
    """Lock the ready orders with after < id ≤ upto, one transaction per batch."""
    lock_batch = _lock_batch_postgres if connection.vendor == "postgresql" else _lock_batch
    locked = 0
    while True:
        with transaction.atomic():
            ids = lock_batch(
                campaign_id=campaign_id,
                segment=segment,
                after=after,
                upto=upto,
                actor=actor,
                message=message,
            )
        if not ids:
            return locked
        locked += len(ids)
        after = ids[-1]
        if progress is not None:
            progress(len(ids))


def _split(campaign_id: int, segment: QuerySet[Order] | None, ready: int) -> list[int]:
    """Id bounds cutting the campaign's ready orders into LOCK_WORKERS equal ranges,
    when there are enough of them to be worth a connection each (else [])."""
    if LOCK_WORKERS < 2 or ready < LOCK_PARALLEL_FROM:
        return []
    pending = Order.objects.filter(campaign_id=campaign_id, state=S.READY).order_by("pk")
    if segment is not None:
        pending = pending.filter(pk__in=segment.order_by().values("pk"))
    step = ready // LOCK_WORKERS
    cuts = []
    for part in range(1, LOCK_WORKERS):
        cut = pending.values_list("pk", flat=True)[part * step : part * step + 1].first()
        if cut is not None and (not cuts or cut > cuts[-1]):
            cuts.append(cut)
    return cuts


def _in_parallel(run: Callable[..., int], cuts: list[int], progress) -> int:
    """Run `run` over the id ranges (0, c1], (c1, c2], …, (cn, ∞) at once, one thread
    and database connection each. The ranges are disjoint and each locks rows in id
    order, so the workers never wait for one another (nor deadlock with another run)."""

    def work(after: int, upto: int | None) -> int:
        try:
            return run(after=after, upto=upto, progress=progress)
        finally:
            connection.close()

    ranges = list(zip([0, *cuts], [*cuts, None], strict=True))
    with ThreadPoolExecutor(max_workers=len(ranges), thread_name_prefix="lock") as pool:
        futures = [pool.submit(work, after, upto) for after, upto in ranges]
        return sum(future.result() for future in futures)


def _serialised(progress: Callable[[int], None]) -> Callable[[int], None]:
    guard = threading.Lock()

    def report(count: int) -> None:
        with guard:
            progress(count)

    return report


def lock_orders(
    *,
    campaign: Campaign,
    orders: QuerySet[Order] | None = None,
    actor=None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> LockResult:
    """Lock every ready order of `orders` (default: the whole campaign).

    Only `ready` orders lock (ready → locked, the one move the transition table
    allows here); the others are counted by reason and not touched. Each locked
    order gets locked_at, a state event like change_state() writes, and its survey
    response turns read-only (response.locked_at). With charge at lock, saved cards
    are charged first and failed charges stay unlocked. A dry run changes nothing.
    `progress(n)` is called after each batch with the number just locked."""
    scope = _scope(campaign, orders)
    preview = lock_preview(campaign=campaign, orders=scope)
    if dry_run:
        return LockResult(
            locked=0,
            ready=preview.ready,
            not_ready=preview.not_ready,
            not_ready_orders=preview.not_ready_orders,
            dry_run=True,
        )
    payment_failed = 0
    charge = PaymentSettings.objects.filter(campaign=campaign, charge_at_lock=True).exists()
    if charge and preview.ready:
        payment_failed = _charge_saved_cards(scope, actor)
        if payment_failed:
            preview = lock_preview(campaign=campaign, orders=scope)
    message = f"Locked by {actor}" if isinstance(actor, str) else "Locked"
    run = partial(
        _lock_range, campaign_id=campaign.pk, segment=orders, actor=actor, message=message
    )
    if progress is not None:
        progress = _serialised(progress)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        bounds = _split(campaign.pk, orders, preview.ready)
    else:
        bounds = []
    if bounds:
        locked = _in_parallel(run, bounds, progress)
    else:
        locked = run(after=0, upto=None, progress=progress)
    return LockResult(
        locked=locked,
        ready=preview.ready,
        not_ready=preview.not_ready,
        not_ready_orders=preview.not_ready_orders,
        payment_failed=payment_failed,
    )


def unlock_order(*, order: Order, actor, reason: str) -> Order:
    """Staff unlock one order, with a reason (required): it goes back to ready, or to
    submitted when a hold is open, its survey response is editable again, and the
    timeline records who and why. An exported order counts as not exported any more:
    what the warehouse has is out of date, and the next export (once locked again)
    sends the order without asking to include exported orders."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired("Say why this order is unlocked.")
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.state != S.LOCKED:
            raise OrderNotLocked(f"Order {order.number} is not locked.")
        held = OrderHold.objects.filter(order=order, cleared_at__isnull=True).exists()
        to = S.SUBMITTED if held else S.READY
        exported_at = order.exported_at
        if exported_at is not None:
            Order.objects.filter(pk=order.pk).update(exported_at=None)
            order.exported_at = None
        change_state(order=order, to=to, actor=actor, message=f"Unlocked: {reason}")
        before, after = {"state": S.LOCKED.value}, {"state": to.value}
        if exported_at is not None:
            before["exported_at"], after["exported_at"] = exported_at.isoformat(), None
        order_event_create(
            order=order,
            kind=EventKind.UNLOCK,
            actor=actor,
            message=reason,
            before=before,
            after=after,
        )
        if order.response_id:
            SurveyResponse.objects.filter(pk=order.response_id).update(locked_at=None)
    return order


# --- the notice before the lock date ---------------------------------------------------


def _sender(campaign: Campaign) -> str:
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return formataddr((campaign.sender_name or campaign.name, address))


def _logo_url(campaign: Campaign) -> str:
    if not campaign.logo:
        return ""
    return urljoin(settings.SITE_URL.rstrip("/") + "/", campaign.logo.url)


def _notice_email(*, order: Order, invite: SurveyInvite, connection) -> EmailMultiAlternatives:
    campaign = order.campaign
    language = order.language or settings.LANGUAGE_CODE
    context = {
        "campaign": campaign,
        "order": order,
        "link": magic_link(invite),
        "logo_url": _logo_url(campaign),
        "language": language,
        "lock_at": campaign.survey_lock_at,
    }
    with translation.override(language):
        subject = render_to_string("orders/email/lock_notice_subject.txt", context)
        text = render_to_string("orders/email/lock_notice.txt", context)
        html = render_to_string("orders/email/lock_notice.html", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=text,
        from_email=_sender(campaign),
        to=[order.email or invite.email],
        reply_to=[campaign.sender_email] if campaign.sender_email else None,
        connection=connection,
    )
    message.attach_alternative(html, "text/html")
    return message


def campaigns_due_for_notice(*, now: datetime) -> list[Campaign]:
    """Campaigns whose lock date is ahead but within their notice window
    (ReviewRules.lock_notice_hours, 48 without rules)."""
    campaigns = Campaign.objects.filter(survey_lock_at__gt=now).annotate(
        notice_hours=Coalesce("review_rules__lock_notice_hours", DEFAULT_NOTICE_HOURS)
    )
    return [
        campaign
        for campaign in campaigns
        if campaign.survey_lock_at <= now + timedelta(hours=campaign.notice_hours)
    ]


def send_lock_notices(*, now: datetime | None = None) -> int:
    """Email each backer whose order is still open (not locked, not cancelled) once per
    lock date, in their language with their magic link, when the campaign's lock date
    is within its notice window (a date the creator moves is announced again).
    Marked per order (lock_notice_sent_at) right after its email,
    under a row lock that a parallel run skips, so nobody gets it twice. Orders whose
    backer has no survey invite (no link to give) are left out. Returns emails sent."""
    now = now or timezone.now()
    sent = 0
    for campaign in campaigns_due_for_notice(now=now):
        invites = SurveyInvite.objects.filter(
            survey__campaign=campaign, backer=OuterRef("backer"), is_test=False
        )
        pending = (
            Order.objects.filter(campaign=campaign, state__in=BACKER_EDITABLE)
            # Not told yet, or told another date (the creator moved it).
            .exclude(lock_notice_for=campaign.survey_lock_at)
            .filter(Exists(invites))
        )
        connection = get_connection()
        while True:
            with transaction.atomic():
                batch = list(
                    pending.select_for_update(skip_locked=True, of=("self",))
                    .select_related("campaign")
                    .order_by("pk")[:NOTICE_BATCH]
                )
                if not batch:
                    break
                by_backer = {
                    invite.backer_id: invite
                    for invite in SurveyInvite.objects.filter(
                        survey__campaign=campaign,
                        backer_id__in=[order.backer_id for order in batch],
                        is_test=False,
                    ).select_related("survey__campaign")
                }
                done = []
                for order in batch:
                    _notice_email(
                        order=order, invite=by_backer[order.backer_id], connection=connection
                    ).send()
                    done.append(order.pk)
                Order.objects.filter(pk__in=done).update(
                    lock_notice_sent_at=now, lock_notice_for=campaign.survey_lock_at
                )
                order_events_bulk_create(
                    order_ids=done,
                    kind=EventKind.LOCK_NOTICE,
                    actor=LOCK_JOB,
                    message=f"Lock notice for {campaign.survey_lock_at:%Y-%m-%d %H:%M} UTC",
                )
            sent += len(done)
    return sent


def run_due_locks(*, now: datetime | None = None) -> dict[str, LockResult]:
    """Lock the ready orders of every campaign whose lock date has passed (the beat
    job). Orders that staff unlocked by hand are left for staff to lock again."""
    now = now or timezone.now()
    results: dict[str, LockResult] = {}
    campaigns = Campaign.objects.filter(survey_lock_at__lte=now).filter(
        Exists(Order.objects.filter(campaign=OuterRef("pk"), state=S.READY))
    )
    unlocked_by_staff = OrderEvent.objects.filter(order=OuterRef("pk"), kind=EventKind.UNLOCK)
    for campaign in campaigns:
        orders = Order.objects.filter(campaign=campaign).filter(~Exists(unlocked_by_staff))
        results[campaign.slug] = lock_orders(campaign=campaign, orders=orders, actor=LOCK_JOB)
    return results
