"""The client address rate limits key on (config/client_ip.py)."""

from django.test import RequestFactory

from config.client_ip import client_ip

rf = RequestFactory()


def _request(remote="10.0.0.1", forwarded=None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return rf.get("/", REMOTE_ADDR=remote, **extra)


def test_without_trusted_proxies_the_forwarded_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(_request(forwarded="203.0.113.5")) == "10.0.0.1"


def test_behind_one_proxy_the_client_is_what_the_proxy_saw(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(_request(forwarded="203.0.113.5")) == "203.0.113.5"
    assert client_ip(_request(forwarded="1.2.3.4, 203.0.113.5")) == "203.0.113.5"


def test_behind_two_proxies_the_outer_ones_entry_counts(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(_request(forwarded="1.2.3.4, 203.0.113.5, 10.0.0.9")) == "203.0.113.5"


def test_a_request_that_skipped_the_proxies_counts_by_its_connection(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(_request(forwarded="203.0.113.5")) == "10.0.0.1"
    assert client_ip(_request()) == "10.0.0.1"


def test_log_in_throttling_uses_the_same_rule(settings):
    from axes.helpers import get_client_ip_address

    settings.TRUSTED_PROXY_COUNT = 1
    assert get_client_ip_address(_request(forwarded="1.2.3.4, 203.0.113.5")) == "203.0.113.5"
