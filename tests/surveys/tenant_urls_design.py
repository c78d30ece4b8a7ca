"""Survey design URLs for the tenancy test (tests/accounts/test_tenancy.py): another
organization's people get 404 on each of them."""


def _slug(o):
    return {"slug": o["campaign"].slug}


def _question(o):
    return {"slug": o["campaign"].slug, "question_id": o["design_question"].pk}


URLS = {
    "survey-settings": _slug,
    "survey-status": _slug,
    "survey-questions": _slug,
    "survey-question-create": _slug,
    "survey-question-edit": _question,
    "survey-question-delete": _question,
    "survey-question-move": _question,
    "survey-late-rewards": _slug,
    "survey-preview": _slug,
    "survey-stats": _slug,
    "survey-stats-csv": _slug,
}


def build(victim: dict) -> dict:
    """A smoke-testing survey with a question and a late reward, so an outsider's
    status, delete, move or preview POST would change something if it were let in."""
    from djmoney.money import Money

    from surveys.models import LateReward, SurveyStatus
    from tests.factories import QuestionFactory, SurveyFactory

    survey = SurveyFactory(campaign=victim["campaign"], status=SurveyStatus.SMOKE_TEST)
    question = QuestionFactory(survey=survey, label="Victim's T-shirt size")
    QuestionFactory(survey=survey, label="Victim's second question", position=1)
    reward = victim["backer"].pledges.get().reward
    LateReward.objects.create(survey=survey, reward=reward, price=Money("80.00", "USD"))
    return {"design_survey": survey, "design_question": question}
