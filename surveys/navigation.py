"""The Survey stage's own menu: one entry per page, shown when the role may use it."""

from django.urls import reverse

from accounts.permissions import role_can
from pledges.navigation import campaign_context

# (label, url name taking the campaign slug, action the role needs)
SURVEY_PAGES: list[tuple[str, str, str]] = [
    ("Settings", "survey-settings", "surveys.view"),
    ("Questions", "survey-questions", "surveys.view"),
    ("Translations", "survey-translations", "surveys.view"),
    ("Late pledges", "survey-late-rewards", "surveys.view"),
    ("Invites", "survey-invites", "surveys.view"),
    ("Responses", "survey-responses", "surveys.view"),
    ("Preview", "survey-preview", "surveys.view"),
    ("Completion", "survey-stats", "surveys.view"),
]


def survey_context(campaign, role, active: str, *, survey) -> dict:
    """campaign_context for a Survey page, plus the Survey menu with `active` marked."""
    context = campaign_context(campaign, role, active="survey-settings")
    nav = []
    for label, url_name, action in SURVEY_PAGES:
        if not role_can(role, action):
            continue
        url = reverse(url_name, args=[campaign.slug])
        nav.append({"label": label, "url": url, "active": url_name == active})
    context.update(survey=survey, survey_nav=nav, survey_active=active)
    return context
