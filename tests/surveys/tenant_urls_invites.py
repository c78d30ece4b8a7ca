"""Survey invite URLs for the tenancy test (tests/accounts/test_tenancy.py): another
organization's people get 404 on each of them."""


def _campaign(o):
    return {"slug": o["campaign"].slug}


URLS = {
    "survey-invites": _campaign,
    "survey-invites-progress": _campaign,
    "survey-invites-send": _campaign,
    "survey-invites-retry": _campaign,
    "survey-invites-test": _campaign,
}


def build(victim: dict) -> dict:
    from surveys.models import SurveyInvite
    from tests.factories import SurveyFactory

    survey = SurveyFactory(campaign=victim["campaign"], status="live")
    invite = SurveyInvite.objects.create(
        survey=survey, backer=victim["backer"], email=victim["backer"].email, send_error="550"
    )
    return {"invites_survey": survey, "invites_invite": invite}
