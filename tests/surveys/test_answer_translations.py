"""The review shows a choice answer in the backer's language: answers are stored as
the option's own text, the page shows its translation. Date answers, stored as ISO
dates, are written as the backer's language writes dates."""

import pytest

from surveys.models import SurveyResponse
from tests.factories import QuestionFactory

from .backer_setup import build_world, open_survey, step_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(campaign):
    return build_world(campaign)


def _rules_language(w, kind):
    return QuestionFactory(
        survey=w.survey,
        kind=kind,
        label="Rules language",
        options=["English", "German", "French"],
        translations={
            "de": {
                "label": "Sprache der Spielregeln",
                "options": ["Englisch", "Deutsch", "Französisch"],
            }
        },
    )


def _review(client, w, question, answer, language):
    open_survey(client, w.alice)
    w.survey.languages = ["en", "de"]
    w.survey.save()
    response = SurveyResponse.objects.get(invite=w.alice)
    response.language = language
    response.answers = {**response.answers, str(question.pk): answer}
    response.save()
    return client.get(step_path(w.campaign, "review")).content.decode()


def test_a_single_choice_answer_is_shown_in_german(client, w):
    question = _rules_language(w, "single_choice")
    page = _review(client, w, question, "German", "de")
    assert "Sprache der Spielregeln" in page and "Deutsch" in page


def test_a_multiple_choice_answer_is_shown_in_german(client, w):
    question = _rules_language(w, "multi_choice")
    page = _review(client, w, question, ["English", "French"], "de")
    assert "Englisch, Französisch" in page


def test_an_english_backer_sees_the_options_as_written(client, w):
    question = _rules_language(w, "multi_choice")
    page = _review(client, w, question, ["English", "French"], "en")
    assert "Rules language" in page and "English, French" in page
    assert "Französisch" not in page


def _delivery_date(w):
    return QuestionFactory(
        survey=w.survey,
        kind="date",
        label="Deliver after",
        options=[],
        translations={"de": {"label": "Lieferung nach"}},
    )


def test_a_date_answer_is_written_the_german_way(client, w):
    page = _review(client, w, _delivery_date(w), "2026-05-01", "de")
    assert "Lieferung nach" in page and "1. Mai 2026" in page
    assert "2026-05-01" not in page


def test_a_date_answer_is_written_the_english_way(client, w):
    page = _review(client, w, _delivery_date(w), "2026-05-01", "en")
    assert "May 1, 2026" in page
