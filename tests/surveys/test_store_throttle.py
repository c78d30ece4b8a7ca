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
