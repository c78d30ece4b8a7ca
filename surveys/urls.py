"""Back-office URLs (mounted under /app/ in config/urls.py)."""

from django.urls import path

from . import views

ADDONS = "c/<slug:slug>/catalog/addons/"

urlpatterns = [
    path(ADDONS, views.addon_list, name="addon-list"),
    path(f"{ADDONS}new/", views.addon_create, name="addon-create"),
    path(f"{ADDONS}<int:offer_id>/", views.addon_edit, name="addon-edit"),
    path(f"{ADDONS}<int:offer_id>/delete/", views.addon_delete, name="addon-delete"),
    path(f"{ADDONS}<int:offer_id>/items/", views.addon_item_add, name="addon-item-add"),
    path(
        f"{ADDONS}<int:offer_id>/items/<int:item_id>/",
        views.addon_item_update,
        name="addon-item-update",
    ),
    path(
        f"{ADDONS}<int:offer_id>/items/<int:item_id>/delete/",
        views.addon_item_delete,
        name="addon-item-delete",
    ),
    path(
        "c/<slug:slug>/catalog/imported-addons/",
        views.imported_addon_list,
        name="imported-addon-list",
    ),
]
