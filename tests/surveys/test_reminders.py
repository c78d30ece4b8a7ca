"""Survey reminders: their schedule, who gets none, and the beat that sends them."""

from datetime import UTC, datetime, timedelta

import pytest

from config.celery import app as celery_app
from surveys.models import SurveyInvite, SurveyResponse
from surveys.services import invites
from surveys.services.invites import next_reminder_at, send_due_reminders
from tests.factories import SurveyFactory, SurveyInviteFactory

SENT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def survey(campaign):
    return SurveyFactory(campaign=campaign, status="live")


@pytest.fixture
def invite(survey):
    """An invite emailed at SENT, its first reminder scheduled."""
    invite = SurveyInviteFactory(survey=survey, sent_at=SENT)
    invite.next_reminder_at = next_reminder_at(invite=invite, survey=survey)
    invite.save()
    return invite


def day(n: float) -> datetime:
    return SENT + timedelta(days=n)


def run_days(last_day: int) -> int:
    """The beat, once a day from the invite until `last_day`; reminders sent."""
    return sum(send_due_reminders(now=day(n)) for n in range(last_day + 1))


def schedule(survey, invite) -> list:
    dates = []
    for n in range(10):
        invite.reminders_sent = n
        dates.append(next_reminder_at(invite=invite, survey=survey))
    return dates


# --- the schedule --------------------------------------------------------------


def test_reminders_come_after_3_7_14_days_then_weekly_up_to_the_limit(survey, invite):
    survey.reminder_limit = 6
    expected = [day(3), day(7), day(14), day(21), day(28), day(35)] + [None] * 4
    assert schedule(survey, invite) == expected


def test_no_weekly_reminders_when_turned_off(survey, invite):
    survey.reminder_weekly = False
    assert schedule(survey, invite)[:4] == [day(3), day(7), day(14), None]


def test_the_limit_caps_the_listed_days_too(survey, invite):
    survey.reminder_limit = 2
    assert schedule(survey, invite)[:3] == [day(3), day(7), None]


def test_unsent_invite_has_no_reminder(survey):
    assert next_reminder_at(invite=SurveyInviteFactory(survey=survey), survey=survey) is None


def test_completed_response_has_no_reminder(survey, invite):
    SurveyResponse.objects.create(invite=invite, backer=invite.backer, completed_at=day(1))
    invite.refresh_from_db()
    assert next_reminder_at(invite=invite, survey=survey) is None


def test_unsubscribed_invite_has_no_reminder(survey, invite):
    invite.unsubscribed_at = day(1)
    assert next_reminder_at(invite=invite, survey=survey) is None


def test_test_invite_has_no_reminder(survey, invite):
    invite.is_test = True
    assert next_reminder_at(invite=invite, survey=survey) is None


# --- sending them --------------------------------------------------------------


def test_nothing_is_sent_before_the_first_reminder_is_due(invite, mailoutbox):
    assert send_due_reminders(now=day(2.9)) == 0
    assert mailoutbox == []


def test_due_reminder_is_sent_and_the_next_one_scheduled(invite, mailoutbox):
    assert send_due_reminders(now=day(3)) == 1
    invite.refresh_from_db()
    assert invite.reminders_sent == 1
    assert invite.last_reminder_at is not None
    assert invite.next_reminder_at == day(7)
    assert [m.to for m in mailoutbox] == [[invite.email]]


def test_a_whole_season_sends_the_limit_and_no_more(survey, invite, mailoutbox):
    survey.reminder_limit = 6
    survey.save()
    assert run_days(90) == 6
    invite.refresh_from_db()
    assert invite.reminders_sent == 6 and invite.next_reminder_at is None
    assert len(mailoutbox) == 6


def test_running_the_beat_twice_sends_once(invite, mailoutbox):
    send_due_reminders(now=day(3))
    assert send_due_reminders(now=day(3)) == 0
    assert len(mailoutbox) == 1


def test_completion_stops_reminders_and_clears_the_date(invite, mailoutbox):
    send_due_reminders(now=day(3))
    SurveyResponse.objects.create(invite=invite, backer=invite.backer, completed_at=day(4))
    assert run_days(60) == 0
    invite.refresh_from_db()
    assert invite.next_reminder_at is None
    assert len(mailoutbox) == 1


def test_unsubscribe_stops_reminders(invite, mailoutbox):
    send_due_reminders(now=day(3))
    invites.unsubscribe(invite=invite)
    assert run_days(60) == 0
    assert len(mailoutbox) == 1


def test_test_invite_gets_no_reminder_even_with_a_date(invite, mailoutbox):
    SurveyInvite.objects.filter(pk=invite.pk).update(is_test=True)
    assert send_due_reminders(now=day(30)) == 0
    assert mailoutbox == []


def test_survey_no_longer_live_sends_no_reminders(survey, invite, mailoutbox):
    survey.status = "closed"
    survey.save()
    assert send_due_reminders(now=day(30)) == 0


def test_reminders_go_through_every_batch(survey, monkeypatch, mailoutbox):
    monkeypatch.setattr(invites, "REMINDER_BATCH", 2)
    for _ in range(5):
        SurveyInviteFactory(survey=survey, sent_at=SENT, next_reminder_at=day(3))
    assert send_due_reminders(now=day(3)) == 5
    assert len({m.to[0] for m in mailoutbox}) == 5


def test_failed_reminder_is_retried_after_the_lease(invite, mailoutbox, monkeypatch):
    from smtplib import SMTPServerDisconnected

    from django.core.mail.backends.locmem import EmailBackend

    original = EmailBackend.send_messages

    def down(self, messages):
        raise SMTPServerDisconnected("relay down")

    monkeypatch.setattr(EmailBackend, "send_messages", down)
    assert send_due_reminders(now=day(3)) == 0
    monkeypatch.setattr(EmailBackend, "send_messages", original)
    assert send_due_reminders(now=day(3) + timedelta(minutes=30)) == 0
    assert send_due_reminders(now=day(3) + invites.REMINDER_LEASE) == 1
    invite.refresh_from_db()
    assert invite.reminders_sent == 1 and invite.next_reminder_at == day(7)


def test_reminder_email_carries_the_link_and_one_click_unsubscribe(invite, mailoutbox):
    send_due_reminders(now=day(3))
    message = mailoutbox[0]
    unsubscribe = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert "/unsubscribe/" in unsubscribe and unsubscribe in message.body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"/s/{invite.survey.campaign.slug}/t/" in message.body
    assert message.subject.startswith("Reminder")


def test_beat_runs_the_reminders_every_15_minutes():
    entries = [e for e in celery_app.conf.beat_schedule.values() if "reminders" in e["task"]]
    assert [(e["task"], e["schedule"]) for e in entries] == [
        ("surveys.tasks.send_due_reminders", 15 * 60)
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_invites_locked_by_another_beat_are_skipped(campaign):
    """A second beat running while the first holds its batch skips it (skip_locked)."""
    import threading

    from django.db import connection, connections, transaction

    survey = SurveyFactory(campaign=campaign, status="live")
    invite = SurveyInviteFactory(survey=survey, sent_at=SENT, next_reminder_at=day(3))
    locked, release = threading.Event(), threading.Event()

    def first_beat():
        with transaction.atomic():
            list(SurveyInvite.objects.select_for_update().filter(pk=invite.pk))
            locked.set()
            release.wait(10)
        connections.close_all()

    holder = threading.Thread(target=first_beat)
    holder.start()
    try:
        assert locked.wait(10)
        assert send_due_reminders(now=day(3)) == 0
    finally:
        release.set()
        holder.join()
    assert connection.vendor == "postgresql"
    invite.refresh_from_db()
    assert invite.reminders_sent == 0 and invite.next_reminder_at == day(3)
