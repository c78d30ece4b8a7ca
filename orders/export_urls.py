"""Back-office URLs of exports and locking (mounted under /app/ by orders/urls.py)."""

from django.urls import path

from . import export_views, lock_views

EXPORTS = "c/<slug:slug>/orders/exports/"

urlpatterns: list = [
    path("c/<slug:slug>/orders/lock/", lock_views.lock_page, name="order-lock"),
    path(EXPORTS, export_views.export_list, name="order-exports"),
    path(
        f"{EXPORTS}<int:batch_id>/download/",
        export_views.export_download,
        name="order-export-download",
    ),
    path(f"{EXPORTS}templates/", export_views.export_templates, name="export-templates"),
    path(
        f"{EXPORTS}templates/<int:template_id>/",
        export_views.export_template_edit,
        name="export-template-edit",
    ),
    path(
        f"{EXPORTS}templates/<int:template_id>/delete/",
        export_views.export_template_delete,
        name="export-template-delete",
    ),
]
