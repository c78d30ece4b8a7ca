"""Back-office pages of add-ons: the offers (terms and components) and the screen
that maps add-ons bought on the platform (imported as text) to offers."""

from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from djmoney.money import Money

from accounts.permissions import role_can
from config.forms import add_refusal
from inventory.navigation import catalog_context
from pledges.errors import SkuMapLocked
from pledges.selectors import campaign_for

from . import selectors
from .errors import SurveysError
from .forms import (
    INCLUDED,
    AddOnItemForm,
    AddOnItemQuantityForm,
    AddOnOfferForm,
    imported_addon_formset,
)
from .models import AddOnOffer, AddOnOfferItem
from .services import addons as addon_services
from .services.imported_addons import ImportedAddOnMapping, map_imported_addons

VIEW, CHANGE = "catalog.view", "catalog.change"
LOCKED = 409


def _offer(campaign, offer_id) -> AddOnOffer:
    offer = get_object_or_404(AddOnOffer, pk=offer_id, campaign=campaign)
    offer.campaign = campaign  # already loaded with its organization
    return offer


def _item(offer, item_id) -> AddOnOfferItem:
    item = get_object_or_404(AddOnOfferItem.objects.select_related("sku"), pk=item_id, offer=offer)
    item.offer = offer
    return item


def _offer_fields(form: AddOnOfferForm, campaign) -> dict:
    data = form.cleaned_data
    return {
        "name": data["name"],
        "description": data["description"],
        "price": Money(data["price"], campaign.currency),
        "stock_limit": data["stock_limit"],
        "per_backer_limit": data["per_backer_limit"],
        "tiers": list(data["tiers"]),
        "opens_at": data["opens_at"],
        "closes_at": data["closes_at"],
        "is_active": data["is_active"],
    }


def _price_param(value: str) -> Decimal | None:
    """A price from the query string (the imported median), or None if it is not one."""
    try:
        price = Decimal(value)
    except InvalidOperation:
        return None
    return price.quantize(Decimal("0.01")) if price.is_finite() and price >= 0 else None


# --- offers ------------------------------------------------------------------


def _may_edit(campaign, role) -> bool:
    """Show the editing controls: the role may change the map and it is not locked
    (the services refuse changes to a locked map whatever the page shows)."""
    return role_can(role, CHANGE) and campaign.sku_map_locked_at is None


@login_required
def addon_list(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=VIEW)
    context = catalog_context(campaign, role, active="addon-list")
    context.update(
        offers=selectors.addon_offers(campaign=campaign), can_change=_may_edit(campaign, role)
    )
    return render(request, "surveys/addon_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def addon_create(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    initial = {}
    from_text = request.GET.get("from_text", "").strip()
    if from_text:
        initial = {"name": from_text[:200], "imported_text": from_text}
        initial["price"] = _price_param(request.GET.get("price", ""))
    form = AddOnOfferForm(
        request.POST if request.method == "POST" else None, campaign=campaign, initial=initial
    )
    status = 200
    if form.is_bound:
        status = 400
        if form.is_valid():
            try:
                offer = addon_services.create_addon_offer(
                    campaign=campaign,
                    actor=request.user,
                    imported_text=form.cleaned_data["imported_text"],
                    **_offer_fields(form, campaign),
                )
            except SkuMapLocked as exc:
                form.add_error(None, exc.message)
                status = LOCKED
            except SurveysError as exc:
                add_refusal(form, exc)
            else:
                note = ""
                if form.cleaned_data["imported_text"]:
                    note = f" The imported “{form.cleaned_data['imported_text']}” maps to it."
                messages.success(
                    request, f"Add-on “{offer.name}” created.{note} Now add what it ships."
                )
                return redirect("addon-edit", campaign.slug, offer.pk)
    context = catalog_context(campaign, role, active="addon-list")
    context.update(form=form, creating=True, from_text=from_text)
    return render(request, "surveys/addon_form.html", context, status=status)


def _edit_page(
    request, campaign, role, offer, *, form=None, item_form=None, item_errors=None, status=200
):
    choices_url = reverse("addon-choices", args=[campaign.slug, offer.pk])
    items = list(offer.items.select_related("sku").order_by("pk"))
    for item in items:
        item.errors = (item_errors or {}).get(item.pk, [])
    context = catalog_context(campaign, role, active="addon-list")
    context.update(
        offer=offer,
        form=form or AddOnOfferForm(campaign=campaign, offer=offer),
        item_form=item_form or AddOnItemForm(campaign=campaign),
        items=items,
        choice_groups=selectors.addon_choice_groups(offer=offer),
        choices_url=choices_url,
        imported_texts=offer.imported_texts.order_by("text"),
        status=selectors.offer_status(offer),
        can_change=_may_edit(campaign, role),
    )
    return render(request, "surveys/addon_edit.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def addon_edit(request, slug, offer_id):
    action = CHANGE if request.method == "POST" else VIEW
    campaign, role = campaign_for(user=request.user, slug=slug, action=action)
    offer = _offer(campaign, offer_id)
    if request.method != "POST":
        return _edit_page(request, campaign, role, offer)
    form = AddOnOfferForm(request.POST, campaign=campaign, offer=offer)
    status = 400
    if form.is_valid():
        try:
            addon_services.update_addon_offer(
                offer=offer, actor=request.user, **_offer_fields(form, campaign)
            )
        except SkuMapLocked as exc:
            messages.error(request, exc.message)
            status = LOCKED
        except SurveysError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"Add-on “{offer.name}” saved.")
            return redirect("addon-edit", campaign.slug, offer.pk)
    return _edit_page(request, campaign, role, offer, form=form, status=status)


@login_required
@require_POST
def addon_delete(request, slug, offer_id):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    offer = _offer(campaign, offer_id)
    try:
        addon_services.delete_addon_offer(offer=offer, actor=request.user)
    except SkuMapLocked as exc:
        messages.error(request, exc.message)
        return _edit_page(request, campaign, role, offer, status=LOCKED)
    messages.success(request, f"Add-on “{offer.name}” deleted.")
    return redirect("addon-list", campaign.slug)


# --- components --------------------------------------------------------------


@login_required
@require_POST
def addon_item_add(request, slug, offer_id):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    offer = _offer(campaign, offer_id)
    item_form = AddOnItemForm(request.POST, campaign=campaign)
    status = 400
    if item_form.is_valid():
        try:
            item = addon_services.add_addon_item(
                offer=offer,
                sku=item_form.cleaned_data["sku"],
                quantity=item_form.cleaned_data["quantity"],
                actor=request.user,
            )
        except SkuMapLocked as exc:
            messages.error(request, exc.message)
            status = LOCKED
        except SurveysError as exc:
            add_refusal(item_form, exc)
        else:
            messages.success(request, f"Added {item.quantity} × {item.sku.code}.")
            return redirect("addon-edit", campaign.slug, offer.pk)
    return _edit_page(request, campaign, role, offer, item_form=item_form, status=status)


@login_required
@require_POST
def addon_item_update(request, slug, offer_id, item_id):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    offer = _offer(campaign, offer_id)
    item = _item(offer, item_id)
    form = AddOnItemQuantityForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            addon_services.update_addon_item(
                item=item, quantity=form.cleaned_data["quantity"], actor=request.user
            )
        except SkuMapLocked as exc:
            messages.error(request, exc.message)
            status = LOCKED
        except SurveysError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"{item.sku.code}: {item.quantity} per add-on.")
            return redirect("addon-edit", campaign.slug, offer.pk)
    errors = [e for field_errors in form.errors.values() for e in field_errors]
    return _edit_page(request, campaign, role, offer, item_errors={item.pk: errors}, status=status)


@login_required
@require_POST
def addon_item_delete(request, slug, offer_id, item_id):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    offer = _offer(campaign, offer_id)
    item = _item(offer, item_id)
    try:
        addon_services.remove_addon_item(item=item, actor=request.user)
    except SkuMapLocked as exc:
        messages.error(request, exc.message)
        return _edit_page(request, campaign, role, offer, status=LOCKED)
    messages.success(request, f"Removed {item.sku.code} from “{offer.name}”.")
    return redirect("addon-edit", campaign.slug, offer.pk)


# --- imported add-ons ----------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def imported_addon_list(request, slug):
    action = CHANGE if request.method == "POST" else VIEW
    campaign, role = campaign_for(user=request.user, slug=slug, action=action)
    summary = selectors.imported_addon_summary(campaign=campaign)
    offers = list(selectors.addon_offer_choices(campaign=campaign))
    FormSet = imported_addon_formset(rows=len(summary.rows))
    form_kwargs = {"offers": offers, "known_texts": {row.text for row in summary.rows}}
    status = 200
    if request.method == "POST":
        formset = FormSet(request.POST, form_kwargs=form_kwargs, prefix="map")
        status = 400
        if formset.is_valid():
            mappings = [
                ImportedAddOnMapping(
                    text=form.cleaned_data["text"],
                    offer=form.cleaned_data["offer"],
                    units_per_item=form.cleaned_data["units_per_item"],
                    included_in_reward=form.cleaned_data["included_in_reward"],
                )
                for form in formset.forms
            ]
            try:
                result = map_imported_addons(
                    campaign=campaign, mappings=mappings, actor=request.user
                )
            except SkuMapLocked as exc:
                messages.error(request, exc.message)
                status = LOCKED
            except SurveysError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request,
                    f"Mappings saved: {result.created} new, {result.updated} changed, "
                    f"{result.cleared} cleared.",
                )
                return redirect("imported-addon-list", campaign.slug)
    else:
        formset = FormSet(
            initial=[_row_initial(row) for row in summary.rows],
            form_kwargs=form_kwargs,
            prefix="map",
        )
    rows_by_text = {row.text: row for row in summary.rows}
    context = catalog_context(campaign, role, active="imported-addon-list")
    context.update(
        summary=summary,
        formset=formset,
        lines=[_line(rows_by_text.get(form["text"].value()), form) for form in formset.forms],
        has_offers=bool(offers),
        can_change=_may_edit(campaign, role),
    )
    return render(request, "surveys/imported_addon_list.html", context, status=status)


def _line(row, form) -> tuple:
    """(summary row or None if the text vanished, its form, query string that starts
    an offer from the text at the median price backers paid)."""
    query = ""
    if row is not None:
        params = {"from_text": row.text}
        if row.median_price is not None and row.median_price.amount >= 0:
            params["price"] = str(row.median_price.amount)
        query = urlencode(params)
    return row, form, query


def _row_initial(row) -> dict:
    if row.included_in_reward:
        target = INCLUDED
    elif row.offer is not None:
        target = str(row.offer.pk)
    else:
        target = ""
    return {"text": row.text, "target": target, "units_per_item": row.units_per_item}
