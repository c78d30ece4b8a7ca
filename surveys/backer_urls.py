"""Backer-facing survey URLs, relative to the survey root.

Mounted twice: under /s/<slug>/ (config/urls.py) and at the root of a
campaign's own host name (config/survey_host_urls.py, chosen per request by
surveys.middleware.SurveyHostMiddleware). Build links with
`surveys.templatetags.survey_urls` / `backer_views.backer_reverse`, which know which."""

from django.urls import include, path

from . import backer_views
from .invite_urls import backer_patterns as invite_patterns
from .store_urls import urlpatterns as store_patterns

urlpatterns = [
    path("", backer_views.home, name="survey-home"),
    path("t/<str:token>/", backer_views.open_link, name="survey-open"),
    path("step/<str:step>/", backer_views.step, name="survey-step"),
    path("done/", backer_views.done, name="survey-done"),
    path("language/", backer_views.set_language, name="survey-language"),
    *invite_patterns,
    *store_patterns,
    path("", include("orders.backer_pay_urls")),
    path("", include("orders.backer_invoice_urls")),
]
