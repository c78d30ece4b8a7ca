"""The role matrix: which role may do what. Views and services ask `can()`;
hiding a button is never the only guard."""

from .models import Role

OWNER, MANAGER, SUPPORT, WAREHOUSE = Role.OWNER, Role.MANAGER, Role.SUPPORT, Role.WAREHOUSE

ROLE_MATRIX: dict[str, frozenset[str]] = {
    # campaigns
    "campaign.view": frozenset({OWNER, MANAGER, SUPPORT, WAREHOUSE}),
    "campaign.create": frozenset({OWNER, MANAGER}),
    "campaign.change": frozenset({OWNER, MANAGER}),
    "campaign.delete": frozenset({OWNER}),
    # backers and pledges
    "backers.view": frozenset({OWNER, MANAGER, SUPPORT}),
    "backers.import": frozenset({OWNER, MANAGER}),
    # SKU catalog and reward map
    "catalog.view": frozenset({OWNER, MANAGER, SUPPORT, WAREHOUSE}),
    "catalog.change": frozenset({OWNER, MANAGER}),
    "catalog.lock": frozenset({OWNER, MANAGER}),
    # backer survey
    "surveys.view": frozenset({OWNER, MANAGER, SUPPORT}),
    "surveys.change": frozenset({OWNER, MANAGER}),
    "surveys.send": frozenset({OWNER, MANAGER}),
    # orders and fulfilment
    "orders.view": frozenset({OWNER, MANAGER, SUPPORT, WAREHOUSE}),
    "orders.change": frozenset({OWNER, MANAGER, SUPPORT}),
    "orders.lock": frozenset({OWNER, MANAGER}),
    "orders.export": frozenset({OWNER, MANAGER, WAREHOUSE}),
    "payments.view": frozenset({OWNER, MANAGER, SUPPORT}),
    "payments.refund": frozenset({OWNER, MANAGER}),
    "orders.release": frozenset({OWNER, MANAGER}),
    "warehouse.operate": frozenset({OWNER, MANAGER, WAREHOUSE}),
    # shipping fees charged to backers
    "shipping.view": frozenset({OWNER, MANAGER, SUPPORT, WAREHOUSE}),
    "shipping.change": frozenset({OWNER, MANAGER}),
    # tax rules and import regimes
    "tax.view": frozenset({OWNER, MANAGER, SUPPORT}),
    "tax.change": frozenset({OWNER, MANAGER}),
    # support
    "tickets.answer": frozenset({OWNER, MANAGER, SUPPORT}),
    # team
    "team.view": frozenset({OWNER, MANAGER, SUPPORT, WAREHOUSE}),
    "team.manage": frozenset({OWNER}),
}

ACTIONS_DESCRIBED = {
    "campaign.view": "See campaigns and their overview",
    "campaign.create": "Create campaigns",
    "campaign.change": "Change campaign settings and branding",
    "campaign.delete": "Delete campaigns",
    "backers.view": "See backers and pledges",
    "backers.import": "Import backer reports",
    "catalog.view": "See SKUs, the reward map and the demand report",
    "catalog.change": "Change SKUs, reward composition, regional rules, stretch goals, add-ons",
    "catalog.lock": "Lock and unlock the SKU map",
    "surveys.view": "See the survey, its answers and completion figures",
    "surveys.change": "Design the survey (questions, languages, reminders, late pledges)",
    "surveys.send": "Send survey invites and reminders",
    "orders.view": "See orders",
    "orders.change": "Work holds, addresses, tags and segments of orders",
    "orders.lock": "Lock and unlock orders",
    "orders.export": "Export orders for the warehouse",
    "payments.view": "See payments, the ledger and invoices",
    "payments.refund": "Refund payments, issue missing invoices, change payment settings",
    "orders.release": "Release waves to the warehouse",
    "warehouse.operate": "Work warehouse exports and shipments",
    "shipping.view": "See shipping zones, fees, the calculator and the margin check",
    "shipping.change": "Change shipping zones, fees and weight bands; upload rate cards",
    "tax.view": "See tax rules, tax settings, exchange rates and the tax calculator",
    "tax.change": "Change tax rates, tax settings (IOSS, UK VAT, VOEC, ABN) and exchange rates",
    "tickets.answer": "Answer support tickets",
    "team.view": "See the team",
    "team.manage": "Invite, change roles and remove team members",
}


def role_can(role: str | None, action: str) -> bool:
    if action not in ROLE_MATRIX:
        raise KeyError(f"Unknown action {action!r}: add it to ROLE_MATRIX")
    return role in ROLE_MATRIX[action]
