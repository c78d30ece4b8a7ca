"""Survey response URLs for the tenancy test (tests/accounts/test_tenancy.py): another
organization's people get 404 on each of them."""


def _slug(o):
    return {"slug": o["campaign"].slug}


def _backer(o):
    return {"slug": o["campaign"].slug, "backer_id": o["backer"].pk}


URLS = {
    "survey-responses": _slug,
    "survey-responses-csv": _slug,
    "survey-response": _backer,
    "survey-response-resend": _backer,
    "survey-response-link": _backer,
}


def build(victim: dict) -> dict:
    """The victim backer with an invite and an answered response, so a leak would
    show their answer (other modules may have invited the backer already)."""
    from surveys.models import SurveyInvite, SurveyResponse
    from tests.factories import SurveyFactory

    backer = victim["backer"]
    survey = SurveyFactory(campaign=victim["campaign"], status="live")
    invite = SurveyInvite.objects.filter(backer=backer, is_test=False).first()
    if invite is None:
        invite = SurveyInvite.objects.create(survey=survey, backer=backer, email=backer.email)
    response, _created = SurveyResponse.objects.get_or_create(
        invite=invite, defaults={"backer": backer, "answers": {"0": "Victim's secret answer"}}
    )
    return {"responses_invite": invite, "responses_response": response}
