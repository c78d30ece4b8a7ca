"""Back-office URLs of the orders app (mounted under /app/)."""

from django.urls import include, path

from . import tax_views

TAX = "c/<slug:slug>/tax/"

urlpatterns: list = [
    # Each concept keeps its own URL module.
    path("", include("orders.order_urls")),
    path("", include("orders.export_urls")),
    path("", include("orders.payment_urls")),
    path("", include("orders.invoice_urls")),
    path(TAX, tax_views.tax_rules, name="tax-rules"),
    path(f"{TAX}rules/seed/", tax_views.tax_rules_seed, name="tax-rules-seed"),
    path(f"{TAX}rules/new/", tax_views.tax_rule_create, name="tax-rule-create"),
    path(f"{TAX}rules/<int:rate_id>/", tax_views.tax_rule_edit, name="tax-rule-edit"),
    path(f"{TAX}rules/<int:rate_id>/delete/", tax_views.tax_rule_delete, name="tax-rule-delete"),
    path(f"{TAX}settings/", tax_views.tax_settings, name="tax-settings"),
    path(f"{TAX}exchange-rates/", tax_views.tax_exchange_rates, name="tax-exchange-rates"),
    path(
        f"{TAX}exchange-rates/<int:exchange_rate_id>/delete/",
        tax_views.tax_exchange_rate_delete,
        name="tax-exchange-rate-delete",
    ),
    path(f"{TAX}calculator/", tax_views.tax_calculator, name="tax-calculator"),
    path(f"{TAX}reprice/", tax_views.tax_reprice, name="tax-reprice"),
    path(f"{TAX}reprice/progress/", tax_views.tax_reprice_progress, name="tax-reprice-progress"),
]
