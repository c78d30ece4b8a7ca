"""The public late-pledge store limits how many pledges one connection makes an
hour: unpaid late pledges hold stock, so a script must not sell a reward out."""

from pledges.models import Backer, BackerSource
from surveys.store_views import STORE_LIMIT_PER_HOUR

from .test_late_pledges import reward_path, w  # noqa: F401 - the fixture


def unlimited(world):
    world.late.stock_limit = None
    world.late.save()


def test_one_connection_makes_only_a_few_late_pledges_an_hour(client, w):  # noqa: F811
    unlimited(w)
    path = reward_path(w.campaign, w.reward)
    for n in range(STORE_LIMIT_PER_HOUR):
        response = client.post(
            path, {"name": f"Buyer {n}", "email": f"buyer{n}@example.net", "country": "DE"}
        )
        assert response.status_code == 302
    refused = client.post(path, {"name": "One more", "email": "more@example.net", "country": "DE"})
    assert refused.status_code == 400
    assert "Too many orders" in refused.content.decode()
    assert refused.content.decode().count('value="One more"') == 1  # what was typed stays
    late = Backer.objects.filter(campaign=w.campaign, source=BackerSource.LATE_PLEDGE)
    assert late.count() == STORE_LIMIT_PER_HOUR


def test_another_connection_is_not_held_back(client, w):  # noqa: F811
    unlimited(w)
    path = reward_path(w.campaign, w.reward)
    for n in range(STORE_LIMIT_PER_HOUR):
        client.post(path, {"name": f"B{n}", "email": f"b{n}@example.net", "country": "DE"})
    other = client.post(
        path,
        {"name": "Neighbour", "email": "n@example.net", "country": "DE"},
        REMOTE_ADDR="10.0.0.2",
    )
    assert other.status_code == 302


def test_behind_a_trusted_proxy_each_client_is_counted_apart(client, w, settings):  # noqa: F811
    settings.TRUSTED_PROXY_COUNT = 1
    unlimited(w)
    path = reward_path(w.campaign, w.reward)
    for n in range(STORE_LIMIT_PER_HOUR + 1):
        response = client.post(
            path,
            {"name": f"Buyer {n}", "email": f"buyer{n}@example.net", "country": "DE"},
            REMOTE_ADDR="10.0.0.1",  # the proxy
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )
        assert response.status_code == 302


def test_a_client_cannot_dodge_the_limit_by_writing_its_own_forwarded_header(
    client,
    w,  # noqa: F811
    settings,
):
    settings.TRUSTED_PROXY_COUNT = 1
    unlimited(w)
    path = reward_path(w.campaign, w.reward)
    codes = [
        client.post(
            path,
            {"name": f"Buyer {n}", "email": f"buyer{n}@example.net", "country": "DE"},
            REMOTE_ADDR="10.0.0.1",
            # The client wrote the first entry; our proxy appended what it saw.
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.9",
        ).status_code
        for n in range(STORE_LIMIT_PER_HOUR + 1)
    ]
    assert codes[-1] == 400
