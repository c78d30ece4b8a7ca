"""Back-office URLs (mounted under /app/ in config/urls.py)."""

from django.urls import path

from .views import map as views

urlpatterns: list = [
    path("c/<slug:slug>/catalog/check/", views.sku_map_check, name="sku-map-check"),
    path("c/<slug:slug>/catalog/check/lock/", views.sku_map_lock, name="sku-map-lock"),
    path("c/<slug:slug>/catalog/check/unlock/", views.sku_map_unlock, name="sku-map-unlock"),
    path("c/<slug:slug>/catalog/preview/", views.bom_preview, name="bom-preview"),
]
