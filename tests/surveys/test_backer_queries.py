"""Survey pages cost a fixed, small number of queries, however many add-ons,
questions and cart lines the campaign and the backer have: the campaign's map,
offers and questions come from the process's cache (one query reads the
response with its survey, whose catalog_version keys that cache)."""

import pytest
from djmoney.money import Money

from inventory import bom
from surveys.models import CartLine, SurveyResponse
from surveys.services.responses import open_invite, update_cart
from tests.factories import AddOnOfferFactory, QuestionFactory

from .backer_setup import GERMAN_ADDRESS, build_world, new_invite, open_survey, step_path

# session, response + invite + survey + campaign, cart, pledge + reward, then the step's own
# (the quote's reads count here too: surveys/pricing.py).
GET_QUERIES = {
    "reward": 7,
    "choices": 4,
    "addons": 8,
    "questions": 4,
    "address": 6,
    "review": 7,
}
# The first page after a change reads the map (5 queries), the offers and the questions
# (2 each) into the cache.
CATALOG_QUERIES = 9


def grow(w, n: int) -> None:
    """n more offers (each in Alice's cart) and n more questions."""
    response = SurveyResponse.objects.get(invite=w.alice)
    for i in range(n):
        offer = AddOnOfferFactory(campaign=w.campaign, name=f"Extra {i}", price=Money("3", "USD"))
        CartLine.objects.create(response=response, offer=offer, quantity=1, unit_price=offer.price)
        QuestionFactory(survey=w.survey, label=f"Extra question {i}")
    response.address = GERMAN_ADDRESS
    response.save()


@pytest.mark.parametrize("size", [1, 12])
@pytest.mark.parametrize("step", GET_QUERIES)
def test_step_page_queries_do_not_grow(client, campaign, django_assert_max_num_queries, step, size):
    w = build_world(campaign)
    open_survey(client, w.alice)
    grow(w, size)
    client.get(step_path(w.campaign, "reward"))  # the catalog into the cache
    with django_assert_max_num_queries(GET_QUERIES[step]):
        response = client.get(step_path(w.campaign, step))
    assert response.status_code == 200


@pytest.mark.parametrize("size", [1, 12])
def test_the_first_page_after_a_change_reads_the_catalog_in_fixed_queries(
    client, campaign, django_assert_max_num_queries, size
):
    w = build_world(campaign)
    open_survey(client, w.alice)
    grow(w, size)
    bom.catalog_changed(campaign=w.campaign)
    with django_assert_max_num_queries(GET_QUERIES["reward"] + CATALOG_QUERIES):
        response = client.get(step_path(w.campaign, "reward"))
    assert response.status_code == 200


@pytest.mark.parametrize("size", [1, 9])
def test_adding_to_the_cart_costs_a_fixed_number_of_queries(
    client, campaign, django_assert_max_num_queries, size
):
    """However many other backers hold units of the stock-limited offer."""
    w = build_world(campaign)
    for i in range(size):
        other = open_invite(invite=new_invite(w, email=f"other{i}@example.net"))
        update_cart(response=other, survey=w.survey, quantities={w.coin.pk: 1})
    open_survey(client, w.alice)
    client.get(step_path(w.campaign, "addons"))  # the catalog into the cache
    with django_assert_max_num_queries(14):
        response = client.post(
            step_path(w.campaign, "addons"), {f"offer_{w.mat.pk}": "1", f"offer_{w.coin.pk}": "1"}
        )
    assert response.status_code == 302


def test_saving_the_address_costs_a_fixed_number_of_queries(
    client, campaign, django_assert_max_num_queries
):
    w = build_world(campaign)
    open_survey(client, w.alice)
    client.get(step_path(w.campaign, "address"))  # the catalog into the cache
    with django_assert_max_num_queries(9):
        response = client.post(step_path(w.campaign, "address"), GERMAN_ADDRESS)
    assert response.status_code == 302
