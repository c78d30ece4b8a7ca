"""Survey invites: who is eligible, making them in bulk, sending at the survey's
pace and resuming, the smoke test, the emails, the back-office page and the
management command."""

from datetime import timedelta
from smtplib import SMTPRecipientsRefused
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Role
from config.celery import app as celery_app
from pledges.models import PaymentStatus
from surveys import tasks
from surveys.links import invite_from_token
from surveys.models import SurveyInvite, SurveyResponse
from surveys.services import invites
from surveys.services.invites import SendingRefused
from tests.conftest import member
from tests.factories import (
    BackerFactory,
    CampaignFactory,
    PledgeFactory,
    SurveyFactory,
    SurveyInviteFactory,
    UserFactory,
)

GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


@pytest.fixture
def survey(campaign):
    return SurveyFactory(campaign=campaign, status="live")


def pledged(campaign, status=PaymentStatus.COLLECTED, **backer):
    """A backer of `campaign` with a pledge in `status`."""
    return PledgeFactory(
        backer=BackerFactory(campaign=campaign, **backer), payment_status=status
    ).backer


def invited(survey, n):
    return [SurveyInviteFactory(survey=survey) for _ in range(n)]


@pytest.fixture
def failing_for(monkeypatch):
    """Make the email backend refuse the given addresses (the others are delivered)."""
    from django.core.mail.backends.locmem import EmailBackend

    refused: set[str] = set()
    original = EmailBackend.send_messages

    def send_messages(self, messages):
        for message in messages:
            if set(message.to) & refused:
                raise SMTPRecipientsRefused({message.to[0]: (550, b"No such user")})
        return original(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", send_messages)
    return refused


# --- eligibility ---------------------------------------------------------------


def test_collected_backers_are_eligible(survey, campaign):
    backer = pledged(campaign)
    assert list(invites.eligible_backers(survey=survey)) == [backer]


def test_dropped_and_errored_pledges_are_not_eligible_by_default(survey, campaign):
    pledged(campaign, PaymentStatus.DROPPED)
    pledged(campaign, PaymentStatus.ERRORED)
    assert not invites.eligible_backers(survey=survey).exists()


def test_dropped_and_errored_pledges_are_eligible_when_the_survey_includes_them(survey, campaign):
    survey.include_dropped = True
    dropped = pledged(campaign, PaymentStatus.DROPPED)
    errored = pledged(campaign, PaymentStatus.ERRORED)
    pledged(campaign, PaymentStatus.REFUNDED)
    assert set(invites.eligible_backers(survey=survey)) == {dropped, errored}


def test_merged_backer_is_not_eligible(survey, campaign):
    kept = pledged(campaign)
    pledged(campaign, merged_into=kept)
    assert list(invites.eligible_backers(survey=survey)) == [kept]


def test_backer_without_email_is_not_eligible(survey, campaign):
    pledged(campaign, email="", email_normalized="")
    assert not invites.eligible_backers(survey=survey).exists()


def test_backer_without_pledge_is_not_eligible(survey, campaign):
    BackerFactory(campaign=campaign)
    assert not invites.eligible_backers(survey=survey).exists()


def test_backer_of_another_campaign_is_not_eligible(survey, organization):
    pledged(CampaignFactory(organization=organization))
    assert not invites.eligible_backers(survey=survey).exists()


def test_invited_backer_is_not_eligible_but_a_test_invite_does_not_count(survey, campaign):
    invited_backer = pledged(campaign)
    SurveyInvite.objects.create(survey=survey, backer=invited_backer, email="x@example.net")
    tested = pledged(campaign)
    SurveyInvite.objects.create(survey=survey, backer=tested, email="team@x.org", is_test=True)
    assert list(invites.eligible_backers(survey=survey)) == [tested]


# --- making invites ------------------------------------------------------------


def test_create_invites_makes_one_unsent_invite_per_eligible_backer(survey, campaign):
    backers = [pledged(campaign) for _ in range(3)]
    pledged(campaign, PaymentStatus.DROPPED)
    assert invites.create_invites(survey=survey) == 3
    made = SurveyInvite.objects.filter(survey=survey).order_by("backer_id")
    assert [(i.backer_id, i.email, i.sent_at) for i in made] == [
        (b.pk, b.email, None) for b in backers
    ]


def test_create_invites_again_makes_none(survey, campaign):
    pledged(campaign)
    invites.create_invites(survey=survey)
    assert invites.create_invites(survey=survey) == 0
    assert SurveyInvite.objects.filter(survey=survey).count() == 1


def test_create_invites_goes_through_every_batch(survey, campaign, monkeypatch):
    monkeypatch.setattr(invites, "CREATE_BATCH", 2)
    for _ in range(5):
        pledged(campaign)
    assert invites.create_invites(survey=survey) == 5
    assert SurveyInvite.objects.filter(survey=survey).count() == 5


def test_create_invites_costs_a_few_queries_not_one_per_backer(
    survey, campaign, django_assert_max_num_queries
):
    for _ in range(40):
        pledged(campaign)
    with django_assert_max_num_queries(6):
        assert invites.create_invites(survey=survey) == 40


def test_create_invites_is_refused_unless_the_survey_is_live(survey, campaign):
    survey.status = "smoke_test"
    pledged(campaign)
    with pytest.raises(SendingRefused):
        invites.create_invites(survey=survey)
    assert not SurveyInvite.objects.exists()


# --- sending -------------------------------------------------------------------


def test_batch_sends_at_most_the_limit_in_pk_order(survey, mailoutbox):
    first, second, third = invited(survey, 3)
    assert invites.send_invite_batch(survey=survey, limit=2) == 2
    assert [m.to for m in mailoutbox] == [[first.email], [second.email]]
    third.refresh_from_db()
    assert third.sent_at is None


def test_sent_invite_is_marked_with_its_first_reminder_date(survey):
    (invite,) = invited(survey, 1)
    invites.send_invite_batch(survey=survey, limit=10)
    invite.refresh_from_db()
    assert invite.sent_at is not None
    assert invite.next_reminder_at == invite.sent_at + timedelta(days=3)


def test_failing_email_is_recorded_and_the_batch_goes_on(survey, mailoutbox, failing_for):
    first, broken, third = invited(survey, 3)
    failing_for.add(broken.email)
    assert invites.send_invite_batch(survey=survey, limit=10) == 2
    broken.refresh_from_db()
    assert broken.sent_at is None and "No such user" in broken.send_error
    assert [m.to[0] for m in mailoutbox] == [first.email, third.email]


def test_next_run_sends_the_rest_and_nothing_twice(survey, mailoutbox, failing_for):
    rows = invited(survey, 5)
    failing_for.add(rows[1].email)
    invites.send_invite_batch(survey=survey, limit=3)
    invites.send_invite_batch(survey=survey, limit=3)
    assert invites.send_invite_batch(survey=survey, limit=3) == 0
    recipients = [m.to[0] for m in mailoutbox]
    assert sorted(recipients) == sorted(r.email for r in rows if r != rows[1])
    assert len(set(recipients)) == len(recipients)


def test_crash_in_the_middle_resumes_without_resending(survey, mailoutbox, monkeypatch):
    from django.core.mail.backends.locmem import EmailBackend

    rows = invited(survey, 4)
    original = EmailBackend.send_messages
    calls = []

    def crash_on_third(self, messages):
        calls.append(messages)
        if len(calls) == 3:
            raise RuntimeError("worker killed")
        return original(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", crash_on_third)
    with pytest.raises(RuntimeError):
        invites.send_invite_batch(survey=survey, limit=10)
    monkeypatch.setattr(EmailBackend, "send_messages", original)
    assert invites.send_invite_batch(survey=survey, limit=10) == 2
    assert [m.to[0] for m in mailoutbox] == [r.email for r in rows]


def test_sending_is_refused_unless_the_survey_is_live(survey):
    invited(survey, 1)
    survey.status = "draft"
    with pytest.raises(SendingRefused) as refused:
        invites.send_invite_batch(survey=survey, limit=10)
    assert refused.value.code == "sending_refused"


def test_retry_failed_puts_failed_invites_back_in_the_queue(survey, mailoutbox, failing_for):
    (invite,) = invited(survey, 1)
    failing_for.add(invite.email)
    invites.send_invite_batch(survey=survey, limit=10)
    failing_for.clear()
    assert invites.retry_failed(survey=survey) == 1
    assert invites.send_invite_batch(survey=survey, limit=10) == 1
    assert [m.to[0] for m in mailoutbox] == [invite.email]


def test_task_in_eager_mode_sends_every_batch_without_waiting(survey, mailoutbox, monkeypatch):
    survey.send_per_minute = 2
    survey.save()
    invited(survey, 5)
    enqueued = []
    monkeypatch.setattr(
        tasks.send_survey_invites, "apply_async", lambda *a, **k: enqueued.append(k)
    )
    assert tasks.send_survey_invites.apply((survey.pk,)).get() == 5
    assert len(mailoutbox) == 5
    assert enqueued == []


@pytest.fixture
def with_broker(monkeypatch):
    """Tasks behave as on a worker: not eager, re-enqueueing recorded instead of sent."""
    from django.core.cache import cache

    cache.clear()
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    enqueued = []
    monkeypatch.setattr(
        tasks.send_survey_invites, "apply_async", lambda args, **kw: enqueued.append((args, kw))
    )
    yield enqueued
    celery_app.conf.task_always_eager = eager
    cache.clear()


def test_task_sends_one_batch_a_minute_and_comes_back(survey, mailoutbox, with_broker):
    survey.send_per_minute = 2
    survey.save()
    invited(survey, 5)
    assert tasks.send_survey_invites(survey.pk) == 2
    assert len(mailoutbox) == 2
    assert with_broker == [((survey.pk,), {"countdown": 60})]


def test_task_stops_coming_back_once_everything_is_sent(survey, mailoutbox, with_broker):
    survey.send_per_minute = 10
    survey.save()
    invited(survey, 3)
    assert tasks.send_survey_invites(survey.pk) == 3
    assert with_broker == []


def test_a_second_chain_within_the_minute_does_not_double_the_pace(survey, mailoutbox, with_broker):
    survey.send_per_minute = 2
    survey.save()
    invited(survey, 5)
    tasks.send_survey_invites(survey.pk)
    assert tasks.send_survey_invites(survey.pk) == 0
    assert len(mailoutbox) == 2


def test_task_of_a_survey_no_longer_live_sends_nothing(survey, mailoutbox):
    invited(survey, 1)
    survey.status = "closed"
    survey.save()
    assert tasks.send_survey_invites.apply((survey.pk,)).get() == 0
    assert mailoutbox == []


# --- smoke test ----------------------------------------------------------------


def test_test_invites_go_to_every_active_team_member(survey, campaign, organization, mailoutbox):
    survey.status = "smoke_test"
    sample = pledged(campaign)
    owner = member(organization, Role.OWNER)
    manager = member(organization, Role.MANAGER)
    gone = member(organization, Role.SUPPORT)
    gone.is_active = False
    gone.save()
    assert invites.send_test_invites(survey=survey) == 2
    assert sorted(m.to[0] for m in mailoutbox) == sorted([owner.email, manager.email])
    assert all(m.subject.startswith("[TEST] ") for m in mailoutbox)
    made = SurveyInvite.objects.filter(survey=survey)
    assert {(i.is_test, i.backer_id) for i in made} == {(True, sample.pk)}


def test_test_invites_answer_as_the_given_sample_backer(survey, campaign, organization):
    survey.status = "smoke_test"
    pledged(campaign)
    chosen = pledged(campaign)
    member(organization, Role.OWNER)
    invites.send_test_invites(survey=survey, sample_backer=chosen)
    assert SurveyInvite.objects.get(survey=survey).backer == chosen


def test_test_invites_get_no_reminder_and_count_nowhere(survey, campaign, organization):
    survey.status = "draft"
    pledged(campaign)
    member(organization, Role.OWNER)
    invites.send_test_invites(survey=survey)
    invite = SurveyInvite.objects.get(survey=survey)
    assert invite.sent_at is not None and invite.next_reminder_at is None
    counts = invites.invite_counts(survey=survey)
    assert (counts["invited"], counts["sent"], counts["eligible"]) == (0, 0, 1)


def test_test_invites_are_refused_once_live(survey, campaign, organization):
    pledged(campaign)
    member(organization, Role.OWNER)
    with pytest.raises(SendingRefused):
        invites.send_test_invites(survey=survey)


def test_test_invites_need_a_backer_to_answer_as(survey, organization):
    survey.status = "smoke_test"
    member(organization, Role.OWNER)
    with pytest.raises(SendingRefused):
        invites.send_test_invites(survey=survey)


# --- the email -----------------------------------------------------------------


@pytest.fixture
def sent_invite(survey, mailoutbox):
    (invite,) = invited(survey, 1)
    invites.send_invite_batch(survey=survey, limit=1)
    return invite, mailoutbox[0]


def _link_in(message) -> str:
    return next(w for w in message.body.split() if "/t/" in w)


def test_invite_email_magic_link_opens_the_survey(client, sent_invite):
    invite, message = sent_invite
    link = _link_in(message)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert invite_from_token(token, survey=invite.survey) == invite
    response = client.get(urlsplit(link).path)
    assert response.status_code == 302
    assert SurveyResponse.objects.filter(invite=invite).exists()


def test_invite_email_carries_one_click_unsubscribe_headers(sent_invite):
    _invite, message = sent_invite
    unsubscribe = message.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<http") and "/unsubscribe/" in unsubscribe
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe.strip("<>") in message.body
    assert unsubscribe.strip("<>") in message.alternatives[0][0]


def test_invite_email_comes_from_the_campaign(survey, campaign, mailoutbox, settings):
    settings.DEFAULT_FROM_EMAIL = "Pledgeport <surveys@pledgeport.example>"
    campaign.sender_name = "Tabletop Forge"
    campaign.sender_email = "help@forge.example"
    campaign.save()
    invited(survey, 1)
    invites.send_invite_batch(survey=survey, limit=1)
    message = mailoutbox[0]
    assert message.from_email == "Tabletop Forge <surveys@pledgeport.example>"
    assert message.reply_to == ["help@forge.example"]


def test_invite_email_without_sender_name_uses_the_campaign_name(survey, campaign, mailoutbox):
    invited(survey, 1)
    invites.send_invite_batch(survey=survey, limit=1)
    assert mailoutbox[0].from_email.startswith(f"{campaign.name} <")
    assert mailoutbox[0].reply_to == []


def test_invite_email_html_is_branded(survey, campaign, mailoutbox, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.SITE_URL = "https://pledges.example"
    campaign.primary_colour = "#123456"
    campaign.accent_colour = "#abcdef"
    campaign.intro_text = "The dice are cast."
    campaign.logo = SimpleUploadedFile("logo.gif", GIF, content_type="image/gif")
    campaign.save()
    invited(survey, 1)
    invites.send_invite_batch(survey=survey, limit=1)
    html = mailoutbox[0].alternatives[0][0]
    assert f'src="https://pledges.example{campaign.logo.url}"' in html
    assert "#123456" in html and "#abcdef" in html
    assert "The dice are cast." in html and "The dice are cast." in mailoutbox[0].body


def test_invite_email_without_logo_shows_the_campaign_name(sent_invite):
    invite, message = sent_invite
    html = message.alternatives[0][0]
    assert "<img" not in html
    assert invite.survey.campaign.name in html


def test_invite_email_uses_the_survey_intro_of_its_language(survey, campaign, mailoutbox):
    survey.languages = ["de"]
    survey.texts = {"de": {"intro": "Die Würfel sind gefallen."}}
    survey.save()
    campaign.intro_text = "The dice are cast."
    campaign.save()
    invited(survey, 1)
    invites.send_invite_batch(survey=survey, limit=1)
    assert "Die Würfel sind gefallen." in mailoutbox[0].body


def test_invite_email_renders_in_german(survey, mailoutbox):
    survey.languages = ["de", "en"]
    survey.save()
    (invite,) = invited(survey, 1)
    with translation.override("en"):
        invites.send_invite_batch(survey=survey, limit=1)
    message = mailoutbox[0]
    assert message.subject and "/t/" in message.body
    invite.refresh_from_db()
    assert invite.sent_at is not None


def test_email_follows_the_language_the_backer_answers_in(survey):
    survey.languages = ["en", "de"]
    (invite,) = invited(survey, 1)
    SurveyResponse.objects.create(invite=invite, backer=invite.backer, language="de")
    invite.refresh_from_db()
    assert invites.invite_language(invite=invite, survey=survey) == "de"


# --- the back-office page ------------------------------------------------------


def page(campaign, **query):
    url = reverse("survey-invites", args=[campaign.slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_invites_page_shows_the_figures(owner_client, survey, campaign):
    rows = invited(survey, 2)
    SurveyInvite.objects.filter(pk=rows[0].pk).update(sent_at=timezone.now())
    pledged(campaign)
    response = owner_client.get(page(campaign))
    assert response.status_code == 200
    progress = response.context["progress"]
    assert (progress["eligible"], progress["invited"], progress["sent"]) == (1, 2, 1)
    assert b"Invite and send" in response.content


def test_support_may_see_the_invites_page(client, organization, survey, campaign):
    client.force_login(member(organization, Role.SUPPORT))
    response = client.get(page(campaign))
    assert response.status_code == 200
    assert b"Invite and send" not in response.content


def test_support_may_not_send(client, organization, survey, campaign):
    client.force_login(member(organization, Role.SUPPORT))
    pledged(campaign)
    response = client.post(reverse("survey-invites-send", args=[campaign.slug]))
    assert response.status_code == 403
    assert not SurveyInvite.objects.exists()


def test_warehouse_may_not_see_the_invites_page(client, organization, survey, campaign):
    client.force_login(member(organization, Role.WAREHOUSE))
    assert client.get(page(campaign)).status_code == 403


def test_outsider_gets_404(outsider_client, survey, campaign):
    assert outsider_client.get(page(campaign)).status_code == 404


def test_invite_and_send_invites_and_sends_everyone(
    owner_client, survey, campaign, mailoutbox, django_capture_on_commit_callbacks
):
    for _ in range(3):
        pledged(campaign)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("survey-invites-send", args=[campaign.slug]))
    assert response.status_code == 302
    assert len(mailoutbox) == 3
    assert SurveyInvite.objects.filter(survey=survey, sent_at__isnull=False).count() == 3


def test_invite_and_send_is_refused_with_a_message_unless_live(owner_client, survey, campaign):
    survey.status = "smoke_test"
    survey.save()
    pledged(campaign)
    response = owner_client.post(reverse("survey-invites-send", args=[campaign.slug]), follow=True)
    assert b"only while the survey is live" in response.content
    assert not SurveyInvite.objects.exists()


def test_retry_button_sends_the_failed_invites_again(
    owner_client, survey, campaign, mailoutbox, django_capture_on_commit_callbacks
):
    (invite,) = invited(survey, 1)
    SurveyInvite.objects.filter(pk=invite.pk).update(send_error="SMTP 451")
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("survey-invites-retry", args=[campaign.slug]))
    invite.refresh_from_db()
    assert invite.sent_at is not None and invite.send_error == ""
    assert [m.to for m in mailoutbox] == [[invite.email]]


def test_send_test_button_sends_the_smoke_test(owner_client, survey, campaign, owner, mailoutbox):
    survey.status = "smoke_test"
    survey.save()
    pledged(campaign)
    response = owner_client.post(reverse("survey-invites-test", args=[campaign.slug]))
    assert response.status_code == 302
    assert [m.to for m in mailoutbox] == [[owner.email]]


def test_progress_partial_polls_while_invites_wait(owner_client, survey, campaign):
    invited(survey, 2)
    response = owner_client.get(reverse("survey-invites-progress", args=[campaign.slug]))
    assert response.status_code == 200
    assert b'hx-trigger="every 2s"' in response.content


def test_progress_partial_stops_polling_when_all_are_sent(owner_client, survey, campaign):
    invited(survey, 2)
    invites.send_invite_batch(survey=survey, limit=10)
    response = owner_client.get(reverse("survey-invites-progress", args=[campaign.slug]))
    assert b"hx-trigger" not in response.content
    assert b"2 of 2 sent" in response.content


def test_list_costs_the_same_queries_for_many_invites(
    owner_client, survey, campaign, django_assert_max_num_queries
):
    invited(survey, 3)
    with django_assert_max_num_queries(12) as few:
        owner_client.get(page(campaign))
    invited(survey, 30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = owner_client.get(page(campaign))
    assert len(response.context["invites"]) == 33


def test_failed_filter_lists_only_failed_invites(owner_client, survey, campaign):
    ok, broken = invited(survey, 2)
    SurveyInvite.objects.filter(pk=broken.pk).update(send_error="SMTP 550")
    response = owner_client.get(page(campaign, show="failed"))
    assert response.context["invites"] == [broken]


def test_not_opened_and_unsubscribed_filters(owner_client, survey, campaign):
    now = timezone.now()
    opened, unopened, gone = invited(survey, 3)
    SurveyInvite.objects.update(sent_at=now)
    SurveyInvite.objects.filter(pk=opened.pk).update(opened_at=now)
    SurveyInvite.objects.filter(pk=gone.pk).update(opened_at=now, unsubscribed_at=now)
    assert owner_client.get(page(campaign, show="not_opened")).context["invites"] == [unopened]
    assert owner_client.get(page(campaign, show="unsubscribed")).context["invites"] == [gone]


def test_list_pages_by_keyset(owner_client, survey, campaign, monkeypatch):
    from surveys import invite_views

    monkeypatch.setattr(invite_views, "PER_PAGE", 2)
    rows = invited(survey, 3)
    first = owner_client.get(page(campaign))
    assert first.context["invites"] == rows[:2]
    after = first.context["next_after"]
    second = owner_client.get(page(campaign, after=after))
    assert second.context["invites"] == rows[2:]
    assert second.context["next_after"] is None


def test_test_invites_are_not_listed(owner_client, survey, campaign):
    backer = pledged(campaign)
    SurveyInvite.objects.create(survey=survey, backer=backer, email="t@x.org", is_test=True)
    assert owner_client.get(page(campaign)).context["invites"] == []


# --- the command ---------------------------------------------------------------


def test_command_invites_and_sends(survey, campaign, mailoutbox):
    for _ in range(3):
        pledged(campaign)
    call_command("send_survey_invites", campaign.slug, verbosity=0)
    assert len(mailoutbox) == 3


def test_command_stops_at_the_limit(survey, campaign, mailoutbox):
    for _ in range(3):
        pledged(campaign)
    call_command("send_survey_invites", campaign.slug, "--limit", "2", verbosity=0)
    assert len(mailoutbox) == 2
    assert SurveyInvite.objects.filter(sent_at__isnull=True).count() == 1


def test_command_fails_when_the_survey_is_not_live(survey, campaign):
    survey.status = "draft"
    survey.save()
    pledged(campaign)
    with pytest.raises(CommandError, match="live"):
        call_command("send_survey_invites", campaign.slug, verbosity=0)


def test_command_test_flag_sends_the_smoke_test(survey, campaign, organization, mailoutbox):
    survey.status = "smoke_test"
    survey.save()
    pledged(campaign)
    member(organization, Role.OWNER)
    call_command("send_survey_invites", campaign.slug, "--test", verbosity=0)
    assert [m.subject[:7] for m in mailoutbox] == ["[TEST] "]


def test_command_fails_for_an_unknown_campaign(db):
    with pytest.raises(CommandError, match="No campaign"):
        call_command("send_survey_invites", "nope", verbosity=0)


def test_team_member_without_membership_gets_no_test_invite(survey, campaign, organization):
    survey.status = "smoke_test"
    pledged(campaign)
    member(organization, Role.OWNER)
    UserFactory()  # a user of no organization
    assert invites.send_test_invites(survey=survey) == 1
