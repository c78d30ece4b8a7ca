"""Back-office URLs (mounted under /app/ in config/urls.py)."""

from django.urls import path

from .views import demand

urlpatterns = [
    path("c/<slug:slug>/catalog/demand/", demand.demand_report_page, name="demand-report"),
    path("c/<slug:slug>/catalog/demand.csv", demand.demand_report_csv, name="demand-report-csv"),
]
