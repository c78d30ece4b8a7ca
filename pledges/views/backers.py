"""Backers of a campaign: the searchable list (and its CSV), one backer's page, and
the review of backers that look like the same person."""

from datetime import UTC

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_countries import countries

from accounts.permissions import role_can

from .. import selectors
from ..duplicates import keep_apart, merge_duplicates
from ..errors import PledgesError
from ..exports import csv_response
from ..filters import BackerFilter
from ..models import Backer, BackerSource, DuplicateGroup, DuplicateStatus, PaymentStatus, Platform
from ..navigation import campaign_context

PER_PAGE = 50
PER_PAGE_MIN, PER_PAGE_MAX = 10, 200
PER_PAGE_CHOICES = [10, 25, 50, 100, 200]
CSV_CHUNK = 2000
# Groups shown per section of the duplicates page; deciding some brings the next ones.
GROUPS_SHOWN = 100

# header → the value() field it shows, or a function of the row for computed cells
CSV_COLUMNS = [
    ("Backer number", "backer_number"),
    ("Platform", lambda row: PLATFORMS.get(row["platform"], row["platform"])),
    ("Platform backer id", "platform_backer_id"),
    ("Name", "name"),
    ("Email", "email"),
    ("Source", lambda row: SOURCES.get(row["source"], row["source"])),
    ("Reward", "pledges__reward__title"),
    ("Amount", "pledges__amount"),
    ("Currency", "pledges__amount_currency"),
    ("Shipping paid", "pledges__shipping_paid"),
    ("Bonus support", "pledges__bonus_support"),
    ("Add-ons", "pledges__addons_text"),
    ("Pledged at (UTC)", lambda row: _utc(row["pledges__pledged_at"])),
    ("Payment status", lambda row: STATUSES.get(row["pledges__payment_status"], "")),
    ("Shipping name", "pledges__shipping_name"),
    ("Address 1", "pledges__shipping_address_1"),
    ("Address 2", "pledges__shipping_address_2"),
    ("City", "pledges__shipping_city"),
    ("Region", "pledges__shipping_region"),
    ("Postal code", "pledges__shipping_postal_code"),
    ("Country code", "pledges__shipping_country"),
    ("Country", lambda row: countries.name(row["pledges__shipping_country"] or "") or ""),
    ("Phone", "pledges__shipping_phone"),
    ("Duplicate review", lambda row: REVIEWS.get(row["duplicate_group__status"], "")),
    ("Merged into backer number", "merged_into__backer_number"),
    ("Pledgeport id", "pk"),
]
CSV_FIELDS = [
    "platform",
    "source",
    "pledges__pledged_at",
    "pledges__payment_status",
    "pledges__shipping_country",
    "duplicate_group__status",
    *(field for _, field in CSV_COLUMNS if isinstance(field, str)),
]
PLATFORMS = dict(Platform.choices)
SOURCES = dict(BackerSource.choices)
STATUSES = dict(PaymentStatus.choices)
REVIEWS = dict(DuplicateStatus.choices)


def _int_param(request, name: str, default: int, *, low: int, high: int) -> int:
    try:
        value = int(request.GET.get(name, ""))
    except ValueError:
        return default
    return min(max(value, low), high)


@login_required
def backer_list(request, slug):
    campaign, role = selectors.campaign_for(user=request.user, slug=slug, action="backers.view")
    filterset = BackerFilter(request.GET or None, campaign=campaign)
    matching = filterset.qs
    if request.GET.get("format") == "csv":
        return csv_response(_csv_rows(matching), filename=f"{campaign.slug}-backers.csv")

    per_page = _int_param(request, "per_page", PER_PAGE, low=PER_PAGE_MIN, high=PER_PAGE_MAX)
    after = _int_param(request, "after", 0, low=0, high=2**62)
    page = matching.order_by("pk")
    if after:
        page = page.filter(pk__gt=after)
    # One row more than shown tells whether there is a next page, without a count.
    backers = list(selectors.backers_with_pledge(page)[: per_page + 1])
    has_next = len(backers) > per_page
    backers = backers[:per_page]

    total = matching.count()
    first_row = matching.filter(pk__lte=after).count() + 1 if after and backers else 1
    context = campaign_context(campaign, role, "backer-list")
    context.update(
        {
            "filterset": filterset,
            "filters_ignored": filterset.is_bound and not filterset.is_valid(),
            "filtered": _is_filtered(request),
            "backers": backers,
            "total": total,
            "first_row": first_row,
            "last_row": first_row + len(backers) - 1,
            "next_query": _query(request, after=backers[-1].pk) if has_next else None,
            "first_query": _query(request, after=None) if after else None,
            "csv_query": _query(request, after=None, per_page=None, format="csv"),
            "per_page": per_page,
            "per_page_choices": sorted({*PER_PAGE_CHOICES, per_page}),
            "counts": selectors.backer_counts(campaign=campaign),
            "can_import": role_can(role, "backers.import"),
        }
    )
    return render(request, "pledges/backers/list.html", context)


def _is_filtered(request) -> bool:
    return any(request.GET.get(name) for name in BackerFilter.base_filters)


def _query(request, **changes) -> str:
    """The current query string with `changes` applied (None removes a parameter)."""
    params = request.GET.copy()
    params.pop("format", None)
    for name, value in changes.items():
        params.pop(name, None)
        if value is not None:
            params[name] = value
    return params.urlencode()


def _csv_rows(backers: QuerySet[Backer]):
    yield [header for header, _ in CSV_COLUMNS]
    # values() across the pledge join: one row per backer (a backer has at most one
    # pledge), no model instances, constant memory for 250,000 backers.
    rows = backers.order_by("pk").values(*dict.fromkeys(CSV_FIELDS)).iterator(chunk_size=CSV_CHUNK)
    for row in rows:
        yield [row[cell] if isinstance(cell, str) else cell(row) for _, cell in CSV_COLUMNS]


def _utc(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


@login_required
def backer_detail(request, slug, backer_id):
    campaign, role = selectors.campaign_for(user=request.user, slug=slug, action="backers.view")
    backer = get_object_or_404(
        Backer.objects.select_related(
            "first_import_run", "last_import_run", "merged_into", "duplicate_group__decided_by"
        ),
        pk=backer_id,
        campaign=campaign,
    )
    pledge = backer.pledges.select_related("reward").first()
    events = list(backer.events.select_related("actor", "run"))
    group = None
    if backer.duplicate_group_id:
        group = selectors.duplicate_groups(
            campaign=campaign, decided=backer.duplicate_group.status != DuplicateStatus.OPEN
        ).get(pk=backer.duplicate_group_id)
        group.keep = selectors.backer_to_keep(group)
    context = campaign_context(campaign, role, "backer-list")
    context.update(
        {
            "backer": backer,
            "pledge": pledge,
            "extra": sorted(pledge.extra.items()) if pledge and pledge.extra else [],
            "events": _timeline(events, campaign=campaign),
            "group": group,
            "merged_backers": backer.merged_backers.order_by("backer_number", "pk"),
            "can_decide": role_can(role, "backers.import"),
        }
    )
    return render(request, "pledges/backers/detail.html", context)


def _timeline(events, *, campaign) -> list[dict]:
    """Events as the page shows them: who, what, and the detail spelled out."""
    referenced = set()
    for event in events:
        referenced.update(_backer_ids(event))
    names = {
        b.pk: b
        for b in Backer.objects.filter(campaign=campaign, pk__in=referenced).only(
            "pk", "backer_number", "name", "email", "platform_backer_id"
        )
    }
    rows = []
    for event in events:
        detail = event.detail if isinstance(event.detail, dict) else {}
        row = {
            "event": event,
            "label": event.action.replace("_", " "),
            "changes": [],
            "backers": [],
            "note": "",
            "other": [],
        }
        if event.action == "updated":
            for field, values in detail.items():
                before, after = (
                    values if isinstance(values, list) and len(values) == 2 else ("", values)
                )
                row["changes"].append((field.replace("_", " "), before, after))
        elif event.action in {"merged", "merged_from", "kept_apart"}:
            row["backers"] = [names[pk] for pk in _backer_ids(event) if pk in names]
            row["note"] = detail.get("note", "")
        else:
            row["other"] = [(key.replace("_", " "), value) for key, value in detail.items()]
        rows.append(row)
    return rows


def _backer_ids(event) -> list[int]:
    detail = event.detail if isinstance(event.detail, dict) else {}
    if event.action == "merged" and isinstance(detail.get("into"), int):
        return [detail["into"]]
    if event.action == "merged_from":
        return [pk for pk in detail.get("backers", []) if isinstance(pk, int)]
    return []


@login_required
def duplicate_list(request, slug):
    campaign, role = selectors.campaign_for(user=request.user, slug=slug, action="backers.view")
    open_groups = selectors.duplicate_groups(campaign=campaign, decided=False)
    decided_groups = selectors.duplicate_groups(campaign=campaign, decided=True)
    shown_open = list(open_groups[:GROUPS_SHOWN])
    for group in shown_open:
        group.keep = selectors.backer_to_keep(group)
    context = campaign_context(campaign, role, "duplicate-list")
    context.update(
        {
            "open_groups": shown_open,
            "open_total": open_groups.count(),
            "decided_groups": list(decided_groups[:GROUPS_SHOWN]),
            "decided_total": decided_groups.count(),
            "can_decide": role_can(role, "backers.import"),
            "can_import": role_can(role, "backers.import"),
        }
    )
    return render(request, "pledges/backers/duplicates.html", context)


@login_required
@require_POST
def duplicate_merge(request, slug, group_id):
    campaign, _ = selectors.campaign_for(user=request.user, slug=slug, action="backers.import")
    group = get_object_or_404(DuplicateGroup, pk=group_id, campaign=campaign)
    primary = _backer_of(campaign, request.POST.get("primary"))
    if primary is None:
        messages.error(request, "Choose the backer to keep from this group.")
        return _back(request, campaign)
    try:
        merged = merge_duplicates(group=group, primary=primary, actor=request.user)
    except PledgesError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"Merged {len(merged)} backer{'s' if len(merged) != 1 else ''} into "
            f"{_label(primary)}. They stay on record and point at it.",
        )
    return _back(request, campaign)


@login_required
@require_POST
def duplicate_keep_apart(request, slug, group_id):
    campaign, _ = selectors.campaign_for(user=request.user, slug=slug, action="backers.import")
    group = get_object_or_404(DuplicateGroup, pk=group_id, campaign=campaign)
    try:
        keep_apart(group=group, actor=request.user, note=request.POST.get("note", "").strip())
    except PledgesError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Kept apart: these backers stay separate.")
    return _back(request, campaign)


def _backer_of(campaign, value) -> Backer | None:
    try:
        pk = int(value or "")
    except ValueError:
        return None
    return Backer.objects.filter(campaign=campaign, pk=pk).first()


def _label(backer: Backer) -> str:
    number = f"#{backer.backer_number} " if backer.backer_number else ""
    return f"{number}{backer}".strip()


def _back(request, campaign):
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(reverse("duplicate-list", args=[campaign.slug]))
