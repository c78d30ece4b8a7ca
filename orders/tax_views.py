"""The Tax stage: the campaign's rate table, its tax settings and exchange rates, and a
calculator that quotes one parcel with the engine the checkout uses."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django_countries import countries

from accounts.permissions import role_can
from config.forms import add_refusal
from pledges.navigation import campaign_context
from pledges.selectors import campaign_for

from . import tax
from .errors import ExchangeRateMissing, TaxError
from .models import ExchangeRate, TaxRate
from .services import taxes
from .services.repricing import open_orders, repricing_job, start_repricing
from .tax_forms import (
    CALCULATOR_INITIAL,
    ExchangeRateForm,
    TaxCalculatorForm,
    TaxLineFormSet,
    TaxRateForm,
    TaxSettingsForm,
)

VIEW, CHANGE = "tax.view", "tax.change"
INVALID = 400

# (label, url name taking the campaign slug, action the role needs)
TAX_PAGES: list[tuple[str, str, str]] = [
    ("Rules", "tax-rules", VIEW),
    ("Settings", "tax-settings", VIEW),
    ("Exchange rates", "tax-exchange-rates", VIEW),
    ("Calculator", "tax-calculator", VIEW),
]


def tax_context(campaign, role, active: str) -> dict:
    """campaign_context for a Tax page, plus the Tax menu with `active` marked."""
    context = campaign_context(campaign, role, active="tax-rules")
    context["tax_nav"] = [
        {"label": label, "url": reverse(name, args=[campaign.slug]), "active": name == active}
        for label, name, action in TAX_PAGES
        if role_can(role, action)
    ]
    context["can_change"] = role_can(role, CHANGE)
    return context


def _rate(campaign, rate_id) -> TaxRate:
    return get_object_or_404(TaxRate, pk=rate_id, campaign=campaign)


# --- the rate table --------------------------------------------------------------------


@login_required
def tax_rules(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=VIEW)
    today = timezone.localdate()
    settings = taxes.tax_settings_for(campaign=campaign)
    schemes = [
        {
            "name": scheme.name,
            "limit": f"{scheme.threshold:,} {scheme.currency}",
            "number_label": scheme.number_label,
            "number": getattr(settings, scheme.number_field),
        }
        for scheme in tax.LOW_VALUE_SCHEMES
    ]
    context = tax_context(campaign, role, active="tax-rules")
    context.update(
        groups=taxes.tax_rate_groups(campaign=campaign, on=today),
        settings=settings,
        schemes=schemes,
        today=today,
        open_orders=open_orders(campaign=campaign).count(),
        job=repricing_job(campaign=campaign).get(),
    )
    return render(request, "orders/tax/rules.html", context)


@login_required
@require_POST
def tax_reprice(request, slug):
    """Re-price the open orders in the background (after a rate or fee change)."""
    campaign, _role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    count = start_repricing(campaign=campaign)
    if count:
        messages.success(request, f"Re-pricing {count} open orders; the bar shows how far.")
    else:
        messages.info(request, "No open order to re-price.")
    return redirect("tax-rules", campaign.slug)


@login_required
def tax_reprice_progress(request, slug):
    """The progress box, polled by htmx every 2 s while a re-pricing runs."""
    campaign, _role = campaign_for(user=request.user, slug=slug, action=VIEW)
    return render(
        request,
        "orders/tax/_reprice_progress.html",
        {"campaign": campaign, "job": repricing_job(campaign=campaign).get()},
    )


@login_required
@require_POST
def tax_rules_seed(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    added = taxes.seed_tax_rates(campaign=campaign)
    if added:
        messages.success(request, f"{added} standard rate{'s' if added != 1 else ''} added.")
    else:
        messages.info(request, "The table already has every standard rate; nothing added.")
    return redirect("tax-rules", campaign.slug)


@login_required
@require_http_methods(["GET", "POST"])
def tax_rule_create(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    form = TaxRateForm(request.POST or None, initial=request.GET.dict() or None)
    if request.method == "POST" and form.is_valid():
        try:
            rate = taxes.create_tax_rate(campaign=campaign, **form.cleaned_data)
        except TaxError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"Rate {rate} added.")
            return redirect("tax-rules", campaign.slug)
    context = tax_context(campaign, role, active="tax-rules")
    context.update(form=form, rate=None)
    return render(
        request, "orders/tax/rule_form.html", context, status=INVALID if form.errors else 200
    )


@login_required
@require_http_methods(["GET", "POST"])
def tax_rule_edit(request, slug, rate_id):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    rate = _rate(campaign, rate_id)
    form = TaxRateForm(request.POST or None, instance=rate)
    if request.method == "POST" and form.is_valid():
        try:
            # A fresh row: validating the form already changed `rate` in place.
            rate = taxes.update_tax_rate(tax_rate=_rate(campaign, rate_id), **form.cleaned_data)
        except TaxError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"Rate {rate} saved.")
            return redirect("tax-rules", campaign.slug)
    context = tax_context(campaign, role, active="tax-rules")
    context.update(form=form, rate=rate)
    return render(
        request, "orders/tax/rule_form.html", context, status=INVALID if form.errors else 200
    )


@login_required
@require_POST
def tax_rule_delete(request, slug, rate_id):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    rate = _rate(campaign, rate_id)
    label = str(rate)
    taxes.delete_tax_rate(tax_rate=rate)
    messages.success(request, f"Rate {label} deleted.")
    return redirect("tax-rules", campaign.slug)


# --- settings and exchange rates -------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def tax_settings(request, slug):
    campaign, role = campaign_for(
        user=request.user, slug=slug, action=CHANGE if request.method == "POST" else VIEW
    )
    settings = taxes.tax_settings_for(campaign=campaign)
    form = TaxSettingsForm(request.POST or None, instance=settings)
    if not role_can(role, CHANGE):
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST" and form.is_valid():
        taxes.update_tax_settings(
            campaign=campaign, **{name: form.cleaned_data[name] for name in form.Meta.fields}
        )
        messages.success(request, "Tax settings saved.")
        return redirect("tax-settings", campaign.slug)
    context = tax_context(campaign, role, active="tax-settings")
    context.update(form=form)
    return render(
        request, "orders/tax/settings.html", context, status=INVALID if form.errors else 200
    )


@login_required
@require_http_methods(["GET", "POST"])
def tax_exchange_rates(request, slug):
    campaign, role = campaign_for(
        user=request.user, slug=slug, action=CHANGE if request.method == "POST" else VIEW
    )
    form = ExchangeRateForm(
        request.POST or None,
        currency=campaign.currency,
        initial={"valid_from": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            exchange_rate = taxes.set_exchange_rate(campaign=campaign, **form.cleaned_data)
        except TaxError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"Exchange rate saved: {exchange_rate}.")
            return redirect("tax-exchange-rates", campaign.slug)
    context = tax_context(campaign, role, active="tax-exchange-rates")
    context.update(
        form=form,
        exchange_rates=ExchangeRate.objects.filter(campaign=campaign).order_by(
            "quote_currency", "-valid_from"
        ),
        today=timezone.localdate(),
    )
    return render(
        request, "orders/tax/exchange_rates.html", context, status=INVALID if form.errors else 200
    )


@login_required
@require_POST
def tax_exchange_rate_delete(request, slug, exchange_rate_id):
    campaign, role = campaign_for(user=request.user, slug=slug, action=CHANGE)
    exchange_rate = get_object_or_404(ExchangeRate, pk=exchange_rate_id, campaign=campaign)
    label = str(exchange_rate)
    taxes.delete_exchange_rate(exchange_rate=exchange_rate)
    messages.success(request, f"Exchange rate deleted: {label}.")
    return redirect("tax-exchange-rates", campaign.slug)


# --- calculator ------------------------------------------------------------------------


@login_required
def tax_calculator(request, slug):
    """Quote one parcel: destination, date, optional VAT number and lines (a GET form,
    so a quote is a link that can be shared)."""
    campaign, role = campaign_for(user=request.user, slug=slug, action=VIEW)
    asked = "country" in request.GET
    form = TaxCalculatorForm(request.GET if asked else None)
    lines = TaxLineFormSet(
        request.GET if asked else None, prefix="line", initial=CALCULATOR_INITIAL
    )
    quote = None
    missing_exchange_rate = False
    if asked and form.is_valid() and lines.is_valid():
        parcel = [line for line in (f.line() for f in lines) if line is not None]
        if not parcel:
            form.add_error(None, "Enter at least one amount.")
        else:
            try:
                quote = taxes.tax_quote(
                    campaign=campaign,
                    destination=form.destination(),
                    lines=parcel,
                    on=form.cleaned_data["on"],
                    vat_number=form.cleaned_data["vat_number"],
                )
            except TaxError as exc:
                add_refusal(form, exc)
                missing_exchange_rate = isinstance(exc, ExchangeRateMissing)
    context = tax_context(campaign, role, active="tax-calculator")
    context.update(
        form=form,
        lines=lines,
        quote=quote,
        settings=taxes.tax_settings_for(campaign=campaign) if quote else None,
        destination_name=countries.name(quote.destination.country) if quote else "",
        missing_exchange_rate=missing_exchange_rate,
    )
    invalid = asked and (form.errors or lines.total_error_count())
    return render(
        request, "orders/tax/calculator.html", context, status=INVALID if invalid else 200
    )
