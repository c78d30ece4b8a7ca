"""The SKU catalog of a campaign's organization: list, create/edit/delete, CSV
import (check → preview → apply) and export.

SKUs belong to the organization, so every campaign of a creator shares them; the
usage columns count this campaign's map only."""

from itertools import chain

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import role_can
from pledges.exports import csv_response
from pledges.selectors import campaign_for

from ..forms import SkuForm, SkuImportForm
from ..models import Sku, SkuImport, SkuImportState
from ..navigation import catalog_context
from ..services import skus as sku_services

VIEW, CHANGE = "catalog.view", "catalog.change"
PER_PAGE = 50
PROBLEMS_SHOWN = 200


def _sku(campaign, sku_id) -> Sku:
    return get_object_or_404(Sku, pk=sku_id, organization=campaign.organization)


def _import(campaign, import_id) -> SkuImport:
    return get_object_or_404(
        SkuImport.objects.select_related("created_by"),
        pk=import_id,
        organization=campaign.organization,
    )


@login_required
def sku_list(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=VIEW)
    q = request.GET.get("q", "").strip()
    missing = request.GET.get("missing") == "1"
    digital = request.GET.get("digital", "")
    if digital not in ("yes", "no"):
        digital = ""
    skus = sku_services.search_skus(
        sku_services.skus_with_usage(campaign=campaign), q=q, missing=missing, digital=digital
    ).order_by("code", "pk")
    page = Paginator(skus, PER_PAGE).get_page(request.GET.get("page"))
    for sku in page.object_list:
        sku.uses = [
            f"{n} {label}{'' if n == 1 else 's'}"
            for n, label in (
                (sku.reward_uses, "reward item"),
                (sku.choice_uses, "choice option"),
                (sku.addon_uses, "add-on item"),
                (sku.regional_uses, "regional rule"),
                (sku.stretch_uses, "stretch goal"),
            )
            if n
        ]
    filters = {
        k: v
        for k, v in {"q": q, "missing": "1" if missing else "", "digital": digital}.items()
        if v
    }
    context = catalog_context(campaign, role, active="sku-list")
    context.update(
        page=page,
        q=q,
        missing=missing,
        digital=digital,
        filtered=bool(filters),
        filter_query=urlencode(filters),
        counts=sku_services.catalog_counts(organization=campaign.organization),
        can_change=role_can(role, CHANGE),
    )
    return render(request, "inventory/skus/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def sku_create(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    form = SkuForm(request.POST or None, organization=campaign.organization, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        sku = form.save()
        messages.success(request, f"SKU {sku.code} created.")
        return redirect("sku-list", campaign.slug)
    context = catalog_context(campaign, role, active="sku-list")
    context.update(form=form, sku=None)
    return render(request, "inventory/skus/form.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def sku_edit(request, slug, sku_id):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    sku = _sku(campaign, sku_id)
    form = SkuForm(
        request.POST or None, instance=sku, organization=campaign.organization, campaign=campaign
    )
    if request.method == "POST" and form.is_valid():
        sku = form.save()
        messages.success(request, f"SKU {sku.code} saved.")
        return redirect("sku-list", campaign.slug)
    context = catalog_context(campaign, role, active="sku-list")
    context.update(form=form, sku=sku, uses=sku_services.sku_usage(sku=sku))
    return render(request, "inventory/skus/form.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def sku_delete(request, slug, sku_id):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    sku = _sku(campaign, sku_id)
    try:
        sku_services.delete_sku(sku=sku)
    except sku_services.SkuInUse as exc:
        messages.error(request, exc.message)
        return redirect("sku-edit", campaign.slug, sku.pk)
    messages.success(request, f"SKU {sku.code} deleted.")
    return redirect("sku-list", campaign.slug)


@login_required
@require_http_methods(["GET", "POST"])
def sku_import(request, slug):
    """Upload a SKU list (checked, never applied here) and see the organization's imports."""
    campaign, role = campaign_for(
        user=request.user, slug=slug, action=CHANGE if request.method == "POST" else VIEW
    )
    form = SkuImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            run = sku_services.create_sku_import(
                campaign=campaign, data=upload.read(), original_name=upload.name, actor=request.user
            )
        except sku_services.SkuCatalogError as exc:
            form.add_error("file", exc.message)
        else:
            return redirect("sku-import-detail", campaign.slug, run.pk)
    runs = (
        SkuImport.objects.filter(organization=campaign.organization)
        .select_related("created_by", "campaign")
        .defer("data", "samples", "problems")
        .order_by("-created_at", "-pk")[:50]
    )
    context = catalog_context(campaign, role, active="sku-list")
    context.update(form=form, runs=runs, can_change=role_can(role, CHANGE))
    return render(
        request, "inventory/skus/import.html", context, status=400 if form.errors else 200
    )


@login_required
@require_http_methods(["GET", "POST"])
def sku_import_detail(request, slug, import_id):
    """The preview of one import; POST applies it (all or nothing)."""
    campaign, role = campaign_for(
        user=request.user, slug=slug, action=CHANGE if request.method == "POST" else VIEW
    )
    run = _import(campaign, import_id)
    if request.method == "POST":
        try:
            run = sku_services.apply_sku_import(sku_import=run)
        except sku_services.SkuCatalogError as exc:
            messages.error(request, exc.message)
        else:
            if run.state == SkuImportState.APPLIED:
                messages.success(
                    request,
                    f"Import applied: {run.counts['new']} new, "
                    f"{run.counts['updated']} updated SKUs.",
                )
            else:
                messages.error(request, "The file has blocking problems; nothing was imported.")
        return redirect("sku-import-detail", campaign.slug, run.pk)
    context = catalog_context(campaign, role, active="sku-list")
    context.update(
        run=run,
        problems=run.problems[:PROBLEMS_SHOWN],
        problems_more=max(0, len(run.problems) - PROBLEMS_SHOWN),
        can_change=role_can(role, CHANGE),
        list_url=reverse("sku-list", args=[campaign.slug]),
    )
    return render(request, "inventory/skus/import_detail.html", context)


@login_required
def sku_import_problems_csv(request, slug, import_id):
    campaign, role = campaign_for(user=request.user, slug=slug, action=VIEW)
    run = _import(campaign, import_id)
    header = [("Line", "Column", "Problem", "Blocks the import")]
    body = (
        (p.get("line") or "", p.get("column") or "", p["message"], "yes" if p["blocking"] else "no")
        for p in run.problems
    )
    return csv_response(chain(header, body), filename=f"sku-import-{run.pk}-problems.csv")


@login_required
def sku_export(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=VIEW)
    organization = campaign.organization
    return csv_response(
        sku_services.export_rows(organization=organization),
        filename=f"{organization.slug}-skus.csv",
    )
