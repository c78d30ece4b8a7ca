"""Reads of the orders back office: the filtered order list, the review queue's
counts and the campaign funnel. Each runs in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils.http import urlencode

from pledges.models import Backer
from surveys.models import SurveyInvite, SurveyResponse

from .models import (
    AddressStatus,
    HoldReason,
    Invoice,
    LineSource,
    Order,
    OrderHold,
    OrderLine,
    OrderState,
)

# The keys a filter dict (the list's query string, a Segment's `filters`) may carry.
FILTER_KEYS = (
    "q",
    "country",
    "reward",
    "addon_sku",
    "hold",
    "state",
    "tags",
    "exported",
    "paid",
    "address",
)
# States at or past a step of the funnel.
READY_OR_LATER = (
    OrderState.READY,
    OrderState.LOCKED,
    OrderState.RELEASED,
    OrderState.IN_FULFILLMENT,
    OrderState.SHIPPED,
    OrderState.DELIVERED,
)
LOCKED_OR_LATER = READY_OR_LATER[1:]
# Past the survey: the backer completed it (a draft's address is the imported one,
# valid or not, and counts in no step after "Completed").
PAST_SURVEY = (OrderState.SUBMITTED, *READY_OR_LATER)
ADDRESS_OK = (AddressStatus.VALID, AddressStatus.ACCEPTED)
# Paid: past the survey, nothing left to pay — paid in full, or nothing was due
# beyond what the pledge already covered (balance_due = total − credit − paid).
PAID = Q(balance_due__lte=0) & ~Q(state__in=(OrderState.DRAFT, OrderState.CANCELLED))


def _as_list(value) -> list:
    if value in (None, "", []):
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def orders_for(*, campaign, filters: Mapping) -> QuerySet[Order]:
    """The campaign's orders narrowed by `filters` (keys of FILTER_KEYS; empty values
    ignored): country (ISO code), reward (pk), addon_sku (code of an add-on line),
    hold (an open hold's reason), state (one or several), tags (ids, all of them),
    q (order number, name or email), exported / paid ("yes"/"no"), address ("ok" =
    valid or accepted as is, "problem" = anything else). Ordered by number."""
    orders = Order.objects.filter(campaign=campaign)
    if country := filters.get("country"):
        orders = orders.filter(country=str(country).upper())
    if reward := filters.get("reward"):
        orders = orders.filter(reward_id=reward)
    if sku := filters.get("addon_sku"):
        orders = orders.filter(
            Exists(
                OrderLine.objects.filter(
                    order=OuterRef("pk"), sku_code__iexact=str(sku).strip(), source=LineSource.ADDON
                )
            )
        )
    if reason := filters.get("hold"):
        orders = orders.filter(
            Exists(
                OrderHold.objects.filter(
                    order=OuterRef("pk"), reason=reason, cleared_at__isnull=True
                )
            )
        )
    if states := _as_list(filters.get("state")):
        orders = orders.filter(state__in=states)
    for tag_id in _as_list(filters.get("tags")):
        orders = orders.filter(
            Exists(Order.tags.through.objects.filter(order_id=OuterRef("pk"), tag_id=tag_id))
        )
    if q := str(filters.get("q") or "").strip():
        match = Q(name__icontains=q) | Q(email__icontains=q)
        if q.lstrip("#").isdigit():
            match |= Q(number=int(q.lstrip("#")))
        orders = orders.filter(match)
    if (exported := filters.get("exported")) in ("yes", "no"):
        orders = orders.filter(exported_at__isnull=exported == "no")
    if (paid := filters.get("paid")) in ("yes", "no"):
        orders = orders.filter(PAID) if paid == "yes" else orders.exclude(PAID)
    if (address := filters.get("address")) in ("ok", "problem"):
        ok = Q(address_status__in=ADDRESS_OK)
        orders = orders.filter(ok) if address == "ok" else orders.exclude(ok)
    return orders.order_by("number")


def order_page(*, orders: QuerySet[Order], after: int | None, size: int) -> tuple[list, bool]:
    """One page of `orders` after order number `after` (keyset), with reward, tags
    and open holds loaded: three queries whatever the page size. Returns the rows
    and whether a next page exists."""
    if after:
        orders = orders.filter(number__gt=after)
    rows = list(
        orders.select_related("reward").prefetch_related(
            "tags",
            Prefetch(
                "holds",
                queryset=OrderHold.objects.filter(cleared_at__isnull=True).order_by("reason"),
                to_attr="open_holds",
            ),
        )[: size + 1]
    )
    return rows[:size], len(rows) > size


def open_holds_for(*, campaign, reason: str = "", country: str = "") -> QuerySet[OrderHold]:
    """The review queue: open holds of the campaign's orders, oldest first."""
    holds = OrderHold.objects.filter(order__campaign=campaign, cleared_at__isnull=True)
    if reason:
        holds = holds.filter(reason=reason)
    if country:
        holds = holds.filter(order__country=country.upper())
    return holds.select_related("order", "order__address").order_by("reason", "opened_at", "pk")


def hold_counts(*, campaign, country: str = "") -> list[dict]:
    """Open holds per reason: [{"reason", "label", "count"}], every reason listed
    (zero included) in the order of HoldReason. One query."""
    holds = OrderHold.objects.filter(order__campaign=campaign, cleared_at__isnull=True)
    if country:
        holds = holds.filter(order__country=country.upper())
    counts = dict(holds.values_list("reason").annotate(n=Count("pk")).order_by())
    return [
        {"reason": reason.value, "label": reason.label, "count": counts.get(reason.value, 0)}
        for reason in HoldReason
    ]


@dataclass(frozen=True)
class FunnelStep:
    key: str
    label: str
    count: int
    url: str
    help: str


def _orders_url(campaign, **filters) -> str:
    return f"{reverse('order-list', args=[campaign.slug])}?{urlencode(filters, doseq=True)}"


def funnel(*, campaign) -> list[FunnelStep]:
    """imported → invited → completed → paid → address valid → ready → locked →
    exported, in four queries. Merged backers and orders, test invites and test
    responses are left out; cancelled orders count in no order step, and drafts
    (survey not completed) in none either: the order steps never count more orders
    than "Completed" counts surveys."""
    imported = Backer.objects.filter(campaign=campaign, merged_into__isnull=True).count()
    invited = SurveyInvite.objects.filter(
        survey__campaign=campaign, is_test=False, sent_at__isnull=False
    ).count()
    completed = SurveyResponse.objects.filter(
        backer__campaign=campaign, is_test=False, completed_at__isnull=False
    ).count()
    live = Order.objects.filter(campaign=campaign, merged_into__isnull=True).exclude(
        state=OrderState.CANCELLED
    )
    counts = live.aggregate(
        paid=Count("pk", filter=PAID),
        address=Count("pk", filter=Q(address_status__in=ADDRESS_OK, state__in=PAST_SURVEY)),
        ready=Count("pk", filter=Q(state__in=READY_OR_LATER)),
        locked=Count("pk", filter=Q(state__in=LOCKED_OR_LATER)),
        exported=Count("pk", filter=Q(exported_at__isnull=False, state__in=PAST_SURVEY)),
    )
    slug = campaign.slug
    return [
        FunnelStep(
            "imported",
            "Imported",
            imported,
            reverse("backer-list", args=[slug]),
            "Backers from the platform reports (merged duplicates not counted).",
        ),
        FunnelStep(
            "invited",
            "Invited",
            invited,
            reverse("survey-invites", args=[slug]),
            "Survey invites sent.",
        ),
        FunnelStep(
            "completed",
            "Completed",
            completed,
            f"{reverse('survey-responses', args=[slug])}?status=completed",
            "Surveys the backer completed.",
        ),
        FunnelStep(
            "paid",
            "Paid",
            counts["paid"],
            _orders_url(campaign, paid="yes"),
            "Orders past the survey with nothing left to pay: paid in full, or nothing "
            "due beyond the pledge.",
        ),
        FunnelStep(
            "address",
            "Address valid",
            counts["address"],
            _orders_url(campaign, address="ok", state=list(PAST_SURVEY)),
            "Orders past the survey whose address passed validation or was accepted as is.",
        ),
        FunnelStep(
            "ready",
            "Ready",
            counts["ready"],
            _orders_url(campaign, state=list(READY_OR_LATER)),
            "Orders with no open hold (ready, or further on).",
        ),
        FunnelStep(
            "locked",
            "Locked",
            counts["locked"],
            _orders_url(campaign, state=list(LOCKED_OR_LATER)),
            "Orders locked, or further on.",
        ),
        FunnelStep(
            "exported",
            "Exported",
            counts["exported"],
            _orders_url(campaign, exported="yes"),
            "Orders exported to the warehouse at least once.",
        ),
    ]


def order_timeline(*, order: Order):
    """The order's events, newest first, with their actors."""
    return order.events.select_related("actor").order_by("-created_at", "-pk")


def tags_with_counts(*, campaign) -> list:
    """The campaign's tags with `order_count`, by name. One query."""
    from .models import Tag

    return list(
        Tag.objects.filter(campaign=campaign).annotate(order_count=Count("orders")).order_by("name")
    )


def backer_invoices_for(*, response=None, invite_id=None) -> QuerySet[Invoice]:
    """The invoices and credit notes a backer sees on their survey: those of the order
    built from their response (given, or found by its invite) and of the order it was
    merged into (the same person's pledges, shipped and invoiced as one)."""
    if response is not None:
        mine = Q(response=response) | Q(merged_orders__response=response)
    else:
        mine = Q(response__invite_id=invite_id) | Q(merged_orders__response__invite_id=invite_id)
    return Invoice.objects.filter(order_id__in=Order.objects.filter(mine).values("pk"))
