"""A campaign's own host name serves its uploads (the logo its survey pages show)
the way the main site does."""

import pytest
from django.core.files.base import ContentFile
from django.test import override_settings
from django.urls import get_resolver

from surveys.middleware import forget_host_names

from .backer_setup import build_world, open_survey

HOST = "pledge.example.com"
GIF = (  # a 1×1 GIF
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
    b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def _media_pattern(urlconf: str):
    patterns = get_resolver(urlconf).url_patterns
    return next((p for p in patterns if getattr(p, "name", "") == "media"), None)


@pytest.fixture
def media_served_from_this_test(settings, monkeypatch):
    """The media route keeps the MEDIA_ROOT of when its URLconf was imported (maybe
    during another test); point it at this test's temporary folder."""
    pattern = _media_pattern("config.survey_host_urls")
    if pattern is not None:  # without the route, the logo is simply not found
        monkeypatch.setitem(pattern.default_args, "document_root", settings.MEDIA_ROOT)


def _fetch(client, url: str) -> tuple[int, bytes]:
    """GET `url` on the campaign host; the streamed file is read and the response
    closed, which ends the request (and its URLconf) before the next test."""
    response = client.get(url, HTTP_HOST=HOST)
    try:
        body = b"".join(response.streaming_content) if response.streaming else b""
    finally:
        response.close()
    return response.status_code, body


@pytest.fixture
def w(campaign):
    world = build_world(campaign)
    world.survey.host_name = HOST
    world.survey.save()
    forget_host_names()
    yield world
    forget_host_names()


@pytest.fixture
def logo(w):
    w.campaign.logo.save("logo.gif", ContentFile(GIF))
    return w.campaign.logo


@override_settings(ALLOWED_HOSTS=[HOST, "testserver"])
def test_campaign_logo_is_served_on_the_campaign_host_name(
    client, w, logo, media_served_from_this_test
):
    assert _fetch(client, logo.url) == (200, GIF)


@override_settings(ALLOWED_HOSTS=[HOST, "testserver"])
def test_survey_page_on_the_campaign_host_shows_the_logo_it_serves(
    client, w, logo, media_served_from_this_test
):
    open_survey(client, w.alice)
    page = client.get("/step/reward/", HTTP_HOST=HOST).content.decode()
    assert f'src="{logo.url}"' in page
    assert _fetch(client, logo.url)[0] == 200


def test_campaign_host_media_route_is_the_main_site_one():
    ours, main = _media_pattern("config.survey_host_urls"), _media_pattern("config.urls")
    assert ours is not None and main is not None
    assert str(ours.pattern) == str(main.pattern)
    assert ours.callback is main.callback
    assert ours.name == main.name
    assert ours.default_args.keys() == main.default_args.keys() == {"document_root"}
