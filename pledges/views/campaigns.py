from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.models import Organization
from accounts.selectors import organizations_where

from .. import selectors, services
from ..errors import PledgesError
from ..forms import CampaignForm
from ..navigation import campaign_context


@login_required
def campaign_list(request):
    campaigns = selectors.campaigns_for(user=request.user).order_by("organization__name", "name")
    can_create = bool(organizations_where(user=request.user, action="campaign.create"))
    return render(
        request,
        "pledges/campaign_list.html",
        {"campaigns": campaigns, "can_create": can_create},
    )


@login_required
@require_http_methods(["GET", "POST"])
def campaign_create(request):
    allowed = organizations_where(user=request.user, action="campaign.create")
    if not allowed:
        raise PermissionDenied("Your role does not allow creating campaigns.")
    organizations = Organization.objects.filter(pk__in=[o.pk for o in allowed])
    form = CampaignForm(request.POST or None, request.FILES or None, organizations=organizations)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        organization = data.pop("organization")
        try:
            campaign = services.create_campaign(
                organization=organization, actor=request.user, **data
            )
        except PledgesError as exc:  # the slug was taken a moment ago
            form.add_error("slug", exc.message)
        else:
            messages.success(request, f"Campaign “{campaign.name}” created.")
            return redirect(campaign)
    return render(request, "pledges/campaign_form.html", {"form": form, "creating": True})


@login_required
def campaign_overview(request, slug):
    campaign, role = selectors.campaign_for(user=request.user, slug=slug)
    context = campaign_context(campaign, role, "campaign-overview")
    context["stats"] = selectors.campaign_overview(campaign=campaign)
    return render(request, "pledges/campaign_overview.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_settings(request, slug):
    campaign, role = selectors.campaign_for(user=request.user, slug=slug, action="campaign.change")
    form = CampaignForm(request.POST or None, request.FILES or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if data.get("logo") is False:  # "clear" ticked
            data["logo"] = ""
        elif data.get("logo") is None:
            data.pop("logo", None)
        try:
            services.update_campaign(campaign=campaign, actor=request.user, **data)
        except PledgesError as exc:
            form.add_error("slug", exc.message)
        else:
            messages.success(request, "Settings saved.")
            return redirect("campaign-settings", campaign.slug)
    if request.method == "POST":
        campaign.refresh_from_db()  # the form mutated the instance; show the saved name
    context = campaign_context(campaign, role, "campaign-settings")
    context["form"] = form
    return render(request, "pledges/campaign_form.html", context)
