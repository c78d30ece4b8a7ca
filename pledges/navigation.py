"""The back office's stage navigation for one campaign.

A stage is listed only once it has pages: later apps add their entry here
(label, url name taking the campaign slug, action the role needs)."""

from accounts.permissions import role_can

STAGES: list[tuple[str, str, str]] = [
    ("Overview", "campaign-overview", "campaign.view"),
    ("Backers", "backer-list", "backers.view"),
    ("Imports", "import-list", "backers.import"),
    ("Duplicates", "duplicate-list", "backers.view"),
    ("Catalog", "sku-list", "catalog.view"),
    ("Survey", "survey-settings", "surveys.view"),
    ("Shipping", "shipping-zones", "shipping.view"),
    ("Tax", "tax-rules", "tax.view"),
    ("Orders", "order-list", "orders.view"),
    ("Payments", "payment-list", "payments.view"),
    ("Settings", "campaign-settings", "campaign.change"),
]


def stages_for(*, role: str | None) -> list[tuple[str, str]]:
    return [(label, url_name) for label, url_name, action in STAGES if role_can(role, action)]


def campaign_context(campaign, role, active: str) -> dict:
    """What every campaign page's template needs for the header and the stage menu."""
    return {"campaign": campaign, "role": role, "stages": stages_for(role=role), "active": active}
