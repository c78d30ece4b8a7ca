"""Survey pages cost a fixed number of queries, however many add-ons, questions
and cart lines the campaign and the backer have."""

import pytest
from djmoney.money import Money

from surveys.models import CartLine, SurveyResponse
from tests.factories import AddOnOfferFactory, QuestionFactory

from .backer_setup import GERMAN_ADDRESS, build_world, open_survey, step_path

STEPS = ("reward", "choices", "addons", "questions", "address", "review")
MAX_QUERIES = 20


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
@pytest.mark.parametrize("step", STEPS)
def test_step_page_queries_do_not_grow(client, campaign, django_assert_max_num_queries, step, size):
    w = build_world(campaign)
    open_survey(client, w.alice)
    grow(w, size)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(step_path(w.campaign, step))
    assert response.status_code == 200
