"""The application's URLs plus /bench/bare/: a view that returns a small response
through the normal middleware stack, the yardstick of bench/survey_surge.py."""

from django.http import HttpResponse
from django.urls import include, path

BARE_PATH = "/bench/bare/"


def bare(request):
    return HttpResponse(b"ok\n", content_type="text/plain")


urlpatterns = [
    path(BARE_PATH.strip("/") + "/", bare, name="bench-bare"),
    path("", include("config.urls")),
]
