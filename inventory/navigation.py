"""The Catalog stage's own menu: one entry per page, shown when the role may use it."""

from django.urls import reverse

from accounts.permissions import role_can
from pledges.navigation import campaign_context

# (label, url name taking the campaign slug, action the role needs)
CATALOG_PAGES: list[tuple[str, str, str]] = [
    ("SKUs", "sku-list", "catalog.view"),
    ("Rewards", "reward-map", "catalog.view"),
    ("Regional editions", "regional-rule-list", "catalog.view"),
    ("Stretch goals", "stretch-goal-list", "catalog.view"),
    ("Add-on offers", "addon-list", "catalog.view"),
    ("Imported add-ons", "imported-addon-list", "catalog.view"),
    ("Map check", "sku-map-check", "catalog.view"),
    ("Preview", "bom-preview", "backers.view"),
    ("Demand", "demand-report", "catalog.view"),
]


def catalog_context(campaign, role, active: str) -> dict:
    """campaign_context for a Catalog page, plus the Catalog menu with `active` marked."""
    context = campaign_context(campaign, role, active="sku-list")
    nav = []
    for label, url_name, action in CATALOG_PAGES:
        if not role_can(role, action):
            continue
        url = reverse(url_name, args=[campaign.slug])
        nav.append({"label": label, "url": url, "active": url_name == active})
    context["catalog_nav"] = nav
    context["catalog_active"] = active
    return context
