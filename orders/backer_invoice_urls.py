"""Backer-facing invoice downloads, mounted in the survey (surveys/backer_urls.py)."""

from django.urls import path

from . import invoice_views

urlpatterns: list = [
    path(
        "invoice/<int:number>.pdf",
        invoice_views.backer_invoice_pdf,
        name="survey-invoice-pdf",
    ),
]
