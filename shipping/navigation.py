"""The Shipping stage's own menu: one entry per page, shown when the role may use it."""

from django.urls import reverse

from accounts.permissions import role_can
from pledges.navigation import campaign_context

# (label, url name taking the campaign slug, action the role needs)
SHIPPING_PAGES: list[tuple[str, str, str]] = [
    ("Zones", "shipping-zones", "shipping.view"),
    ("Method & fees", "shipping-fees", "shipping.view"),
    ("Calculator", "shipping-calculator", "shipping.view"),
    ("Rate cards", "shipping-rate-cards", "shipping.view"),
    ("Margin check", "shipping-margins", "shipping.view"),
]


def shipping_context(campaign, role, active: str) -> dict:
    """campaign_context for a Shipping page, plus the Shipping menu with `active` marked."""
    context = campaign_context(campaign, role, active="shipping-zones")
    nav = []
    for label, url_name, action in SHIPPING_PAGES:
        if not role_can(role, action):
            continue
        url = reverse(url_name, args=[campaign.slug])
        nav.append({"label": label, "url": url, "active": url_name == active})
    context.update(shipping_nav=nav, shipping_active=active)
    return context
