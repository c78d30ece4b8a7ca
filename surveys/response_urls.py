"""Back-office survey response URLs (mounted under /app/)."""

from django.urls import path

from . import response_views as views

RESPONSES = "c/<slug:slug>/survey/responses/"
RESPONSE = f"{RESPONSES}<int:backer_id>/"

urlpatterns: list = [
    path(RESPONSES, views.response_list, name="survey-responses"),
    path("c/<slug:slug>/survey/responses.csv", views.response_csv, name="survey-responses-csv"),
    path(RESPONSE, views.response_detail, name="survey-response"),
    path(f"{RESPONSE}resend/", views.response_resend, name="survey-response-resend"),
    path(f"{RESPONSE}link/", views.response_link, name="survey-response-link"),
]
