"""Invite URLs: the back-office invites page and the backer's lost-link and
unsubscribe pages (relative to the survey root, see surveys/backer_urls.py)."""

from django.urls import path

from . import invite_views

backer_patterns: list = [
    path("lost-link/", invite_views.lost_link, name="survey-lost-link"),
    path("unsubscribe/<str:token>/", invite_views.unsubscribe, name="survey-unsubscribe"),
]

INVITES = "c/<slug:slug>/survey/invites/"

backoffice_patterns: list = [
    path(INVITES, invite_views.invites, name="survey-invites"),
    path(f"{INVITES}progress/", invite_views.invites_progress, name="survey-invites-progress"),
    path(f"{INVITES}send/", invite_views.invite_and_send, name="survey-invites-send"),
    path(f"{INVITES}retry/", invite_views.retry_failed, name="survey-invites-retry"),
    path(f"{INVITES}test/", invite_views.send_test, name="survey-invites-test"),
]
