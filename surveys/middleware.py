"""Serve a campaign's survey on its own host name (pledge.example.com).

The Host header picks the survey; such requests get an URLconf that holds only
the backer pages, so the back office is never reachable on a creator's domain.
Each process keeps the host → campaign table for a minute (one query a minute,
not one per request); a change made here is seen at once by this process and
within the minute by the others. Add the host names to ALLOWED_HOSTS."""

import time

from .models import Survey

_TTL_SECONDS = 60.0
_table: dict[str, str] | None = None
_loaded_at = 0.0


def host_table() -> dict[str, str]:
    global _table, _loaded_at
    if _table is None or time.monotonic() - _loaded_at > _TTL_SECONDS:
        _table = dict(
            Survey.objects.exclude(host_name="").values_list("host_name", "campaign__slug")
        )
        _loaded_at = time.monotonic()
    return _table


def forget_host_names() -> None:
    """Call after a survey's host name changes."""
    global _table
    _table = None


class SurveyHostMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        host = request.get_host().rsplit(":", 1)[0].lower()
        slug = host_table().get(host)
        if slug is not None:
            request.urlconf = "config.survey_host_urls"
            request.survey_host_slug = slug
        return self.get_response(request)
