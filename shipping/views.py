"""Back-office pages of the Shipping stage: zones, method and fees, weight bands,
the calculator, rate cards and the margin check. Thin: forms read, services act."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import role_can
from config.forms import add_refusal
from inventory import bom
from pledges.selectors import campaign_for
from surveys.models import AddOnOffer

from .destinations import country_name
from .errors import RateCardRefused, ShippingError
from .forms import (
    BandFormSet,
    CalculatorForm,
    ExcludedCountriesForm,
    FeeGridForm,
    MethodForm,
    RateCardForm,
    ZoneForm,
)
from .margins import margin_report
from .models import AddOnZoneFee, RateCard, RewardZoneFee, ShippingZone, WeightBand
from .navigation import shipping_context
from .selectors import rate_cards_of, zones_with_counts
from .services import fees as fee_services
from .services import profiles
from .services import rate_cards as card_services
from .services import zones as zone_services
from .services.quotes import quote_shipping

VIEW, CHANGE = "shipping.view", "shipping.change"
READ_ONLY = ("GET", "HEAD")
INVALID = 400


def _zone(campaign, zone_id) -> ShippingZone:
    return get_object_or_404(ShippingZone, pk=zone_id, campaign=campaign)


def _card(campaign, card_id) -> RateCard:
    return get_object_or_404(RateCard, pk=card_id, campaign=campaign)


def _page(request, slug, *, change_on_post: bool = True):
    action = CHANGE if change_on_post and request.method not in READ_ONLY else VIEW
    return campaign_for(user=request.user, slug=slug, action=action)


# --- zones ---------------------------------------------------------------------------


@login_required
def zone_list(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=VIEW)
    if request.method not in READ_ONLY:
        return HttpResponseNotAllowed(READ_ONLY)
    profile = profiles.profile_for(campaign=campaign)
    return _zone_list_page(request, campaign, role, profile, excluded_form=None)


def _zone_list_page(request, campaign, role, profile, *, excluded_form, status=200):
    zones = list(zones_with_counts(campaign=campaign))
    for zone in zones:
        zone.country_names = [country_name(code) for code in zone.countries]
    if excluded_form is None:
        excluded_form = ExcludedCountriesForm(
            initial={"countries": ", ".join(profile.excluded_countries)}
        )
    context = shipping_context(campaign, role, active="shipping-zones")
    context.update(
        zones=zones,
        profile=profile,
        excluded_names=[country_name(code) for code in profile.excluded_countries],
        has_rest_of_world=any(zone.is_rest_of_world for zone in zones),
        excluded_form=excluded_form,
        can_change=role_can(role, CHANGE),
    )
    return render(request, "shipping/zones.html", context, status=status)


@login_required
@require_POST
def excluded_countries(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    form = ExcludedCountriesForm(request.POST)
    if form.is_valid():
        try:
            profiles.set_excluded_countries(
                campaign=campaign, countries=form.cleaned_data["countries"]
            )
        except ShippingError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, "Excluded countries saved.")
            return redirect("shipping-zones", campaign.slug)
    profile = profiles.profile_for(campaign=campaign)
    return _zone_list_page(request, campaign, role, profile, excluded_form=form, status=INVALID)


def _save_zone(request, campaign, role, zone: ShippingZone | None):
    if request.method == "POST":
        form = ZoneForm(request.POST)
    else:
        form = ZoneForm(initial=ZoneForm.initial_for(zone) if zone else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {
            "name": data["name"],
            "countries": data["countries"],
            "regions": data["regions"],
            "postal_prefixes": data["postal_prefixes"],
            "is_rest_of_world": data["is_rest_of_world"],
            "position": data["position"],
        }
        try:
            if zone is None:
                zone = zone_services.create_zone(campaign=campaign, **fields)
            else:
                zone = zone_services.update_zone(zone=zone, **fields)
        except ShippingError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"Zone {zone.name} saved.")
            return redirect("shipping-zones", campaign.slug)
    context = shipping_context(campaign, role, active="shipping-zones")
    context.update(form=form, zone=zone)
    return render(
        request, "shipping/zone_form.html", context, status=INVALID if form.errors else 200
    )


@login_required
@require_http_methods(["GET", "POST"])
def zone_create(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    return _save_zone(request, campaign, role, None)


@login_required
@require_http_methods(["GET", "POST"])
def zone_edit(request, slug, zone_id):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    zone = _zone(campaign, zone_id)
    zone.campaign = campaign
    return _save_zone(request, campaign, role, zone)


@login_required
@require_POST
def zone_delete(request, slug, zone_id):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    zone = _zone(campaign, zone_id)
    zone.campaign = campaign
    zone_services.delete_zone(zone=zone)
    messages.success(request, f"Zone {zone.name} deleted, with its fees and bands.")
    return redirect("shipping-zones", campaign.slug)


@login_required
@require_http_methods(["GET", "POST"])
def zone_bands(request, slug, zone_id):
    """The weight bands of one zone: edit the rows, blank rows are ignored."""
    campaign, role = _page(request, slug)
    zone = _zone(campaign, zone_id)
    zone.campaign = campaign
    bands = list(WeightBand.objects.filter(zone=zone).order_by("up_to_g"))
    initial = [{"up_to_g": band.up_to_g, "fee": band.fee.amount} for band in bands]
    if request.method == "POST":
        formset = BandFormSet(request.POST, initial=initial, prefix="band")
        if formset.is_valid():
            pairs = [
                (form.cleaned_data["up_to_g"], form.cleaned_data["fee"])
                for form in formset.forms
                if form.cleaned_data
                and not form.cleaned_data.get("DELETE")
                and form.cleaned_data.get("up_to_g") is not None
            ]
            try:
                fee_services.save_weight_bands(zone=zone, bands=pairs)
            except ShippingError as exc:
                formset._non_form_errors = formset.error_class([exc.message])
            else:
                messages.success(request, f"Weight bands of {zone.name} saved.")
                return redirect("shipping-zone-bands", campaign.slug, zone.pk)
    else:
        formset = BandFormSet(initial=initial, prefix="band")
    context = shipping_context(campaign, role, active="shipping-fees")
    context.update(
        zone=zone,
        formset=formset,
        can_change=role_can(role, CHANGE),
        profile=profiles.profile_for(campaign=campaign),
    )
    invalid = request.method == "POST"
    return render(request, "shipping/bands.html", context, status=INVALID if invalid else 200)


# --- method and fee grids ------------------------------------------------------------


def _grids(campaign, zones, post=None):
    rewards = list(campaign.rewards.order_by("minimum", "title", "pk"))
    offers = list(AddOnOffer.objects.filter(campaign=campaign).order_by("position", "name", "pk"))
    reward_fees = {
        (r, z): fee
        for r, z, fee in RewardZoneFee.objects.filter(zone__campaign=campaign).values_list(
            "reward_id", "zone_id", "fee"
        )
    }
    addon_fees = {
        (o, z): fee
        for o, z, fee in AddOnZoneFee.objects.filter(zone__campaign=campaign).values_list(
            "offer_id", "zone_id", "fee"
        )
    }
    reward_form = FeeGridForm(
        post if post and post.get("grid") == "rewards" else None,
        rows=rewards,
        zones=zones,
        fees=reward_fees,
        currency=campaign.currency,
    )
    addon_form = FeeGridForm(
        post if post and post.get("grid") == "addons" else None,
        rows=offers,
        zones=zones,
        fees=addon_fees,
        currency=campaign.currency,
    )
    return reward_form, addon_form


def _fees_page(request, campaign, role, *, method_form=None, post=None, status=200):
    profile = profiles.profile_for(campaign=campaign)
    zones = list(zones_with_counts(campaign=campaign))
    reward_form, addon_form = _grids(campaign, zones, post)
    if post is not None:
        (reward_form if post.get("grid") == "rewards" else addon_form).is_valid()
    if method_form is None:
        method_form = MethodForm(
            initial={
                "method": profile.method,
                "use_volumetric": profile.use_volumetric,
                "volumetric_divisor": profile.volumetric_divisor,
                "credit_platform_shipping": profile.credit_platform_shipping,
            }
        )
    context = shipping_context(campaign, role, active="shipping-fees")
    context.update(
        profile=profile,
        zones=zones,
        method_form=method_form,
        reward_form=reward_form,
        addon_form=addon_form,
        can_change=role_can(role, CHANGE),
    )
    return render(request, "shipping/fees.html", context, status=status)


@login_required
def fees(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=VIEW)
    if request.method not in READ_ONLY:
        return HttpResponseNotAllowed(READ_ONLY)
    return _fees_page(request, campaign, role)


@login_required
@require_POST
def method(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    form = MethodForm(request.POST)
    if form.is_valid():
        try:
            profiles.update_shipping_method(campaign=campaign, **form.cleaned_data)
        except ShippingError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, "Shipping method saved.")
            return redirect("shipping-fees", campaign.slug)
    return _fees_page(request, campaign, role, method_form=form, status=INVALID)


def _save_grid(request, slug, grid: str, save):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    post = request.POST.copy()
    post["grid"] = grid
    zones = list(zones_with_counts(campaign=campaign))
    reward_form, addon_form = _grids(campaign, zones, post)
    form = reward_form if grid == "rewards" else addon_form
    if form.is_valid():
        try:
            changed = save(campaign=campaign, fees=form.cell_values())
        except ShippingError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Fees saved ({changed} changed).")
            return redirect("shipping-fees", campaign.slug)
    return _fees_page(request, campaign, role, post=post, status=INVALID)


@login_required
@require_POST
def reward_fees(request, slug):
    return _save_grid(request, slug, "rewards", fee_services.save_reward_fees)


@login_required
@require_POST
def addon_fees(request, slug):
    return _save_grid(request, slug, "addons", fee_services.save_addon_fees)


# --- calculator ----------------------------------------------------------------------


@login_required
def calculator(request, slug):
    """Pick a destination and a cart, see the fee and how it was computed (GET only:
    nothing changes)."""
    campaign, role = campaign_for(user=request.user, slug=slug, action=VIEW)
    if request.method not in READ_ONLY:
        return HttpResponseNotAllowed(READ_ONLY)
    rewards = campaign.rewards.order_by("minimum", "title", "pk")
    offers = AddOnOffer.objects.filter(campaign=campaign).order_by("position", "name", "pk")
    asked = "country" in request.GET
    form = CalculatorForm(request.GET if asked else None, rewards=rewards, offers=offers)
    quote = None
    lines = []
    if asked and form.is_valid():
        data = form.cleaned_data
        units = form.addon_units()
        try:
            catalog = bom.load_catalog(campaign=campaign)
            lines = bom.explode(
                catalog=catalog,
                reward_id=data["reward"],
                country=data["country"],
                pledged_at=None,
                addons=list(units.items()),
            )
            quote = quote_shipping(
                campaign=campaign,
                country=data["country"],
                region=data["region"],
                postal_code=data["postal_code"],
                reward_id=data["reward"],
                lines=lines,
                addon_units=units,
                platform_paid=data["platform_paid"] or 0,
            )
        except ShippingError as exc:
            add_refusal(form, exc)
        except bom.BomError as exc:
            form.add_error(None, exc.message)
    context = shipping_context(campaign, role, active="shipping-calculator")
    context.update(
        form=form,
        quote=quote,
        lines=_weighed(lines) if quote else [],
        profile=profiles.profile_for(campaign=campaign),
    )
    return render(
        request, "shipping/calculator.html", context, status=INVALID if form.errors else 200
    )


def _weighed(lines) -> list[dict]:
    """BOM lines with what each weighs, for the calculator's parcel table."""
    rows = []
    for line in lines:
        if not line.quantity:
            continue
        sku = line.sku if line.sku is not None else line.default_sku
        weighs = sku is not None and not sku.is_digital and sku.weight_g is not None
        rows.append(
            {
                "line": line,
                "sku": sku,
                "pending": line.sku is None,
                "digital": sku is not None and sku.is_digital,
                "grams": sku.weight_g * line.quantity if weighs else None,
            }
        )
    return rows


# --- rate cards ----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def rate_cards(request, slug):
    """The campaign's rate cards; POST uploads one (checked whole, all or nothing)."""
    campaign, role = _page(request, slug)
    form = RateCardForm(request.POST or None, request.FILES or None)
    problems = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            card = card_services.upload_rate_card(
                campaign=campaign,
                data=upload.read(),
                original_name=upload.name,
                name=form.cleaned_data["name"],
                actor=request.user,
            )
        except RateCardRefused as exc:
            form.add_error("file", exc.message)
            problems = exc.problems
        else:
            messages.success(request, f"Rate card {card.name} saved.")
            return redirect("shipping-rate-card", campaign.slug, card.pk)
    context = shipping_context(campaign, role, active="shipping-rate-cards")
    context.update(
        form=form,
        problems=problems,
        cards=list(rate_cards_of(campaign=campaign)),
        can_change=role_can(role, CHANGE),
    )
    return render(
        request, "shipping/rate_cards.html", context, status=INVALID if form.errors else 200
    )


@login_required
def rate_card_detail(request, slug, card_id):
    campaign, role = campaign_for(user=request.user, slug=slug, action=VIEW)
    card = _card(campaign, card_id)
    if request.method not in READ_ONLY:
        return HttpResponseNotAllowed(READ_ONLY)
    rows = list(card.rows.select_related("zone").order_by("zone__position", "country", "up_to_g"))
    for row in rows:
        row.target = row.zone.name if row.zone_id else country_name(row.country)
    context = shipping_context(campaign, role, active="shipping-rate-cards")
    context.update(card=card, rows=rows, can_change=role_can(role, CHANGE))
    return render(request, "shipping/rate_card.html", context)


@login_required
@require_POST
def rate_card_delete(request, slug, card_id):
    campaign, _role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    card = _card(campaign, card_id)
    card_services.delete_rate_card(card=card)
    messages.success(request, f"Rate card {card.name} deleted.")
    return redirect("shipping-rate-cards", campaign.slug)


# --- margin check --------------------------------------------------------------------


@login_required
def margins(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=VIEW)
    if request.method not in READ_ONLY:
        return HttpResponseNotAllowed(READ_ONLY)
    cards = list(RateCard.objects.filter(campaign=campaign).order_by("-created_at", "-pk"))
    card = cards[0] if cards else None
    wanted = request.GET.get("card", "")
    if wanted.isdigit():
        card = next((c for c in cards if c.pk == int(wanted)), card)
    context = shipping_context(campaign, role, active="shipping-margins")
    context.update(report=margin_report(campaign=campaign, card=card), cards=cards, card=card)
    return render(request, "shipping/margins.html", context)
