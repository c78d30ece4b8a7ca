"""Reminders stop at the campaign's survey lock date: none is sent once it has
passed, and none is scheduled at or after it."""

from datetime import UTC, datetime, timedelta

import pytest

from surveys.services.invites import next_reminder_at, send_due_reminders
from tests.factories import SurveyFactory, SurveyInviteFactory

SENT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def day(n: float) -> datetime:
    return SENT + timedelta(days=n)


def lock_on(campaign, when: datetime | None) -> None:
    campaign.survey_lock_at = when
    campaign.save(update_fields=["survey_lock_at"])


@pytest.fixture
def survey(campaign):
    return SurveyFactory(campaign=campaign, status="live")


@pytest.fixture
def invite(survey):
    """An invite emailed at SENT, its first reminder (day 3) scheduled without a lock date."""
    invite = SurveyInviteFactory(survey=survey, sent_at=SENT)
    invite.next_reminder_at = next_reminder_at(invite=invite, survey=survey)
    invite.save()
    assert invite.next_reminder_at == day(3)
    return invite


def test_no_reminder_is_sent_after_the_lock_date(campaign, invite, mailoutbox):
    lock_on(campaign, day(2))
    assert send_due_reminders(now=day(3)) == 0
    assert send_due_reminders(now=day(30)) == 0
    assert mailoutbox == []


def test_reminder_due_before_the_lock_date_still_goes(campaign, invite, mailoutbox):
    lock_on(campaign, day(5))
    assert send_due_reminders(now=day(3)) == 1
    assert len(mailoutbox) == 1


def test_reminder_due_before_the_lock_date_is_not_sent_once_it_passed(campaign, invite, mailoutbox):
    lock_on(campaign, day(4))
    assert send_due_reminders(now=day(4)) == 0
    assert mailoutbox == []


def test_no_next_reminder_is_scheduled_past_the_lock_date(campaign, survey, invite, mailoutbox):
    lock_on(campaign, day(5))
    send_due_reminders(now=day(3))
    invite.refresh_from_db()
    assert invite.reminders_sent == 1
    assert invite.next_reminder_at is None  # the second would be on day 7


def test_next_reminder_before_the_lock_date_is_still_scheduled(campaign, survey, invite):
    lock_on(campaign, day(8))
    invite.reminders_sent = 1
    assert next_reminder_at(invite=invite, survey=survey) == day(7)


def test_no_reminder_is_scheduled_at_the_lock_date_itself(campaign, survey, invite):
    lock_on(campaign, day(7))
    invite.reminders_sent = 1
    assert next_reminder_at(invite=invite, survey=survey) is None


def test_reminders_scheduled_before_the_lock_date_was_set_stop_at_it(campaign, invite, mailoutbox):
    assert sum(send_due_reminders(now=day(n)) for n in range(9)) == 2  # days 3 and 7
    lock_on(campaign, day(10))
    assert sum(send_due_reminders(now=day(n)) for n in range(9, 60)) == 0
    invite.refresh_from_db()
    assert invite.next_reminder_at is None
