"""The map check (checklist, lock and unlock with the event log) and the
"what this backer will receive" preview."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.permissions import role_can
from pledges.errors import PledgesError
from pledges.models import Backer, Pledge
from pledges.selectors import campaign_for
from pledges.services.sku_map import MAX_REASON, SkuMapRefused, lock_sku_map, unlock_sku_map

from ..bom import SOURCE_LABELS, BomError, bom_for_pledge, sku_totals
from ..mapcheck import page_url, problems_by_kind, sku_map_problems
from ..navigation import catalog_context

SEARCH_RESULTS = 25
EVENTS_SHOWN = 100
# Backer numbers are small; a longer digit string cannot be one (and would
# overflow SQLite's integers).
MAX_BACKER_NUMBER_DIGITS = 9


class UnlockForm(forms.Form):
    reason = forms.CharField(
        label="Reason for unlocking",
        max_length=MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Logged with your name: say what has to change in the map.",
    )


# --- map check, lock, unlock -------------------------------------------------


def _checkpage_url(request, campaign, role, *, unlock_form=None, status=200):
    problems = sku_map_problems(campaign=campaign)
    blocking = sum(1 for p in problems if p.blocking)
    context = catalog_context(campaign, role, active="sku-map-check")
    context.update(
        {
            "sections": problems_by_kind(problems, campaign=campaign),
            "problem_count": len(problems),
            "blocking_count": blocking,
            "can_lock": role_can(role, "catalog.lock"),
            "locked": campaign.sku_map_locked_at is not None,
            "unlock_form": unlock_form or UnlockForm(),
            "events": campaign.sku_map_events.select_related("actor")[:EVENTS_SHOWN],
        }
    )
    return render(request, "inventory/map/check.html", context, status=status)


@login_required
def sku_map_check(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action="catalog.view")
    return _checkpage_url(request, campaign, role)


@login_required
@require_POST
def sku_map_lock(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action="catalog.lock")
    try:
        lock_sku_map(campaign=campaign, actor=request.user)
    except PledgesError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "SKU map locked: surveys can go out against it.")
    return redirect("sku-map-check", campaign.slug)


@login_required
@require_POST
def sku_map_unlock(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action="catalog.lock")
    form = UnlockForm(request.POST)
    if form.is_valid():
        try:
            unlock_sku_map(
                campaign=campaign, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except SkuMapRefused as exc:
            if exc.field:
                form.add_error(exc.field, exc.message)
            else:
                messages.error(request, exc.message)
                return redirect("sku-map-check", campaign.slug)
        except PledgesError as exc:
            messages.error(request, exc.message)
            return redirect("sku-map-check", campaign.slug)
        else:
            messages.success(request, "SKU map unlocked. Lock it again once the changes are made.")
            return redirect("sku-map-check", campaign.slug)
    return _checkpage_url(request, campaign, role, unlock_form=form, status=400)


# --- preview -------------------------------------------------------------------


def _search(campaign, text: str):
    text = text.strip()
    if not text:
        return []
    match = Q(name__icontains=text) | Q(email_normalized__icontains=text.lower())
    number = text.removeprefix("#")
    if number.isascii() and number.isdigit() and len(number) <= MAX_BACKER_NUMBER_DIGITS:
        match |= Q(backer_number=int(number))
    return list(
        Backer.objects.filter(match, campaign=campaign).order_by("backer_number", "pk")[
            : SEARCH_RESULTS + 1
        ]
    )


def _backer_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise Http404("No such backer.")
    return int(raw)


@login_required
def bom_preview(request, slug):
    # The preview names backers and where they live: a role that may not see
    # backers (warehouse) may not search them here either.
    campaign, role = campaign_for(user=request.user, slug=slug, action="catalog.view")
    if not role_can(role, "backers.view"):
        raise PermissionDenied("Your role does not allow seeing backers.")
    query = request.GET.get("q", "")
    results = _search(campaign, query)
    context = catalog_context(campaign, role, active="bom-preview")
    context.update(
        {
            "query": query,
            "results": results[:SEARCH_RESULTS],
            "more_results": len(results) > SEARCH_RESULTS,
            "imported_addons_url": page_url("imported-addon-list", campaign.slug),
        }
    )
    raw_backer = request.GET.get("backer", "")
    if raw_backer:
        backer_id = _backer_id(raw_backer)
        # One query in the usual case: the pledge brings its backer along.
        pledge = (
            Pledge.objects.filter(backer_id=backer_id, backer__campaign=campaign)
            .select_related("backer", "reward")
            .order_by("pk")
            .first()
        )
        backer = (
            pledge.backer
            if pledge is not None
            else get_object_or_404(Backer, pk=backer_id, campaign=campaign)
        )
        context.update(backer=backer, pledge=pledge)
        if pledge is not None:
            try:
                lines = bom_for_pledge(pledge=pledge)
            except BomError as exc:
                context["bom_error"] = exc.message
            else:
                context.update(_preview(lines))
    return render(request, "inventory/map/preview.html", context)


def _preview(lines) -> dict:
    """The lines as the page shows them, and units per SKU with bar lengths."""
    rows = [{"line": line, "source_label": SOURCE_LABELS[line.source]} for line in lines]
    skus = {line.sku.pk: line.sku for line in lines if line.sku is not None}
    totals = sorted(
        ({"sku": skus[pk], "units": units} for pk, units in sku_totals(lines).items()),
        key=lambda row: (-row["units"], row["sku"].code),
    )
    top = max((row["units"] for row in totals), default=0) or 1
    for row in totals:
        row["share"] = round(100 * row["units"] / top)
    return {
        "rows": rows,
        "totals": totals,
        "total_units": sum(row["units"] for row in totals),
        "pending": [line for line in lines if line.source == "choice_pending"],
        "unmapped": [line for line in lines if line.source == "addon_unmapped"],
    }
