"""Back-office URLs (mounted under /app/ by orders/urls.py): invoices and credit notes."""

from django.urls import path

from . import invoice_views

urlpatterns: list = [
    path("c/<slug:slug>/invoices/", invoice_views.invoice_list, name="invoice-list"),
    path("c/<slug:slug>/invoices/<int:number>.pdf", invoice_views.invoice_pdf, name="invoice-pdf"),
    path("c/<slug:slug>/invoices/issue/", invoice_views.invoices_issue, name="invoices-issue"),
    path(
        "c/<slug:slug>/invoices/issue/progress/",
        invoice_views.invoices_issue_progress,
        name="invoices-issue-progress",
    ),
]
