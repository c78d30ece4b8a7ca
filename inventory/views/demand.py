"""The demand report page and its CSV: units per SKU and destination."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseNotAllowed
from django.shortcuts import render

from pledges.exports import csv_response
from pledges.selectors import campaign_for

from ..demand import BY_COUNTRY, GROUPINGS, demand_report, report_table
from ..navigation import catalog_context

READ_ONLY = ("GET", "HEAD")


def _grouping(request) -> str:
    by = request.GET.get("by", BY_COUNTRY)
    return by if by in GROUPINGS else BY_COUNTRY


@login_required
def demand_report_page(request, slug):
    # The campaign check comes before the method check: another organization's
    # campaign is a 404 whatever the method.
    campaign, role = campaign_for(user=request.user, slug=slug, action="catalog.view")
    if request.method not in READ_ONLY:
        return HttpResponseNotAllowed(READ_ONLY)
    by = _grouping(request)
    context = catalog_context(campaign, role, active="demand-report")
    context.update({"report": demand_report(campaign=campaign, by=by), "groupings": GROUPINGS})
    return render(request, "inventory/demand/report.html", context)


@login_required
def demand_report_csv(request, slug):
    campaign, _role = campaign_for(user=request.user, slug=slug, action="catalog.view")
    if request.method not in READ_ONLY:
        return HttpResponseNotAllowed(READ_ONLY)
    by = _grouping(request)
    report = demand_report(campaign=campaign, by=by)
    return csv_response(report_table(report), filename=f"{campaign.slug}-demand-by-{by}.csv")
