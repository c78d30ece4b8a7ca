"""Backer-facing payment URLs, mounted in the survey (surveys/backer_urls.py)."""

from django.urls import path

from . import backer_pay_views

urlpatterns: list = [
    path("pay/", backer_pay_views.pay, name="survey-pay"),
    path("pay/return/", backer_pay_views.pay_return, name="survey-pay-return"),
    path("pay/t/<str:token>/", backer_pay_views.pay_link, name="survey-pay-link"),
    path(
        "pay/test/<str:session_id>/",
        backer_pay_views.test_gateway_page,
        name="survey-pay-test",
    ),
]
