"""Celery entry points of the survey: load ids, call one service."""

from celery import shared_task
from django.core.cache import cache

from .models import Survey, SurveyStatus
from .services import invites

SEND_INTERVAL = 60  # seconds between two batches of `send_per_minute` invites
# While a batch's key lives, another chain of the same survey stops: clicking
# "Invite and send" twice never doubles the pace.
_CHAIN_KEY = "surveys:sending:{survey_id}"
_CHAIN_SECONDS = SEND_INTERVAL - 5


def _live_survey(survey_id: int) -> Survey | None:
    return (
        Survey.objects.select_related("campaign")
        .filter(pk=survey_id, status=SurveyStatus.LIVE)
        .first()
    )


@shared_task(bind=True, acks_late=True)
def send_survey_invites(self, survey_id: int) -> int:
    """Send one batch of `send_per_minute` invites and come back in a minute while
    unsent ones remain; returns how many this run sent.

    In eager mode (demo, tests) a countdown cannot wait, so the batches follow
    one another at once."""
    survey = _live_survey(survey_id)
    if survey is None:
        return 0
    if self.request.is_eager or self.app.conf.task_always_eager:
        sent = 0
        remaining = invites.unsent_invites(survey=survey).count()
        while remaining:
            sent += invites.send_invite_batch(survey=survey, limit=survey.send_per_minute)
            left = invites.unsent_invites(survey=survey).count()
            if left >= remaining:  # nothing moved (rows held elsewhere): stop, not spin
                break
            remaining = left
        return sent
    key = _CHAIN_KEY.format(survey_id=survey_id)
    task_id = self.request.id  # the same on a redelivery (acks_late), which may go on
    sent = 0
    if cache.add(key, task_id or "-", _CHAIN_SECONDS) or (task_id and cache.get(key) == task_id):
        sent = invites.send_invite_batch(survey=survey, limit=survey.send_per_minute)
    # else another chain sent a batch less than a minute ago: wait for the next minute
    if invites.unsent_invites(survey=survey).exists():
        send_survey_invites.apply_async((survey_id,), countdown=SEND_INTERVAL)
    return sent


@shared_task(acks_late=True)
def resend_survey_link(survey_id: int, email: str) -> None:
    """The "I lost my link" email, off the request (its timing tells nothing)."""
    survey = Survey.objects.select_related("campaign").filter(pk=survey_id).first()
    if survey is not None:
        invites.resend_link(survey=survey, email=email)


@shared_task(acks_late=True)
def send_due_reminders() -> int:
    """Every 15 minutes (config/celery.py): the reminders that are due."""
    return invites.send_due_reminders()
