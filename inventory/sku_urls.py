"""Back-office URLs (mounted under /app/ in config/urls.py)."""

from django.urls import path

from .views import skus

PREFIX = "c/<slug:slug>/catalog/skus/"

urlpatterns: list = [
    path(PREFIX, skus.sku_list, name="sku-list"),
    path(f"{PREFIX}new/", skus.sku_create, name="sku-create"),
    path(f"{PREFIX}<int:sku_id>/", skus.sku_edit, name="sku-edit"),
    path(f"{PREFIX}<int:sku_id>/delete/", skus.sku_delete, name="sku-delete"),
    path(f"{PREFIX}import/", skus.sku_import, name="sku-import"),
    path(f"{PREFIX}import/<int:import_id>/", skus.sku_import_detail, name="sku-import-detail"),
    path(
        f"{PREFIX}import/<int:import_id>/problems.csv",
        skus.sku_import_problems_csv,
        name="sku-import-problems-csv",
    ),
    path(f"{PREFIX}export.csv", skus.sku_export, name="sku-export"),
]
