"""The backer's "I lost my link" page and unsubscribing from reminders."""

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from surveys.links import magic_link, unsubscribe_token
from surveys.middleware import forget_host_names
from surveys.models import SurveyInvite
from surveys.services import invites
from tests.factories import (
    BackerFactory,
    CampaignFactory,
    PledgeFactory,
    SurveyFactory,
    SurveyInviteFactory,
)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The per-address throttle and the host table live in the cache."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def survey(campaign):
    return SurveyFactory(campaign=campaign, status="live")


@pytest.fixture
def invite(survey):
    backer = BackerFactory(
        campaign=survey.campaign, email="Ada@Example.net", email_normalized="ada@example.net"
    )
    PledgeFactory(backer=backer)
    return SurveyInviteFactory(survey=survey, backer=backer, sent_at=timezone.now())


def lost_link_url(campaign):
    return reverse("survey-lost-link", kwargs={"slug": campaign.slug})


@pytest.fixture
def ask(client, django_capture_on_commit_callbacks):
    """POST the lost-link form, running what the request leaves for after commit."""

    def ask(campaign, email):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(lost_link_url(campaign), {"email": email})

    return ask


# --- lost link -----------------------------------------------------------------


def test_lost_link_page_shows_the_form(client, survey, campaign):
    response = client.get(lost_link_url(campaign))
    assert response.status_code == 200
    assert b'name="email"' in response.content


def test_known_and_unknown_addresses_get_the_same_answer(ask, invite, campaign):
    known = ask(campaign, "ada@example.net")
    unknown = ask(campaign, "nobody@example.net")
    assert known.status_code == unknown.status_code == 200
    assert [t.name for t in known.templates] == [t.name for t in unknown.templates]
    assert b"If this address has a survey" in known.content
    assert b"If this address has a survey" in unknown.content


def test_known_address_gets_its_magic_link(ask, invite, campaign, mailoutbox):
    ask(campaign, "  ADA@example.NET ")
    assert [m.to for m in mailoutbox] == [["Ada@Example.net"]]
    assert magic_link(invite).split("/t/")[0] in mailoutbox[0].body
    assert "/t/" in mailoutbox[0].body


def test_unknown_address_gets_no_email(ask, invite, campaign, mailoutbox):
    ask(campaign, "nobody@example.net")
    assert mailoutbox == []


def test_address_of_another_campaign_gets_no_email(ask, invite, organization, mailoutbox):
    other = CampaignFactory(organization=organization)
    SurveyFactory(campaign=other, status="live")
    ask(other, "ada@example.net")
    assert mailoutbox == []


def test_test_invite_is_not_resent(ask, survey, campaign, mailoutbox):
    backer = PledgeFactory(backer__campaign=campaign).backer
    SurveyInvite.objects.create(survey=survey, backer=backer, email=backer.email, is_test=True)
    ask(campaign, backer.email)
    assert mailoutbox == []


def test_invite_never_sent_counts_as_sent_once_its_link_goes_out(ask, invite, campaign):
    SurveyInvite.objects.filter(pk=invite.pk).update(sent_at=None, send_error="timeout")
    ask(campaign, "ada@example.net")
    invite.refresh_from_db()
    assert invite.sent_at is not None and invite.send_error == ""
    assert invite.next_reminder_at is not None


def test_an_address_gets_at_most_three_links_an_hour(ask, invite, campaign, mailoutbox):
    answers = [ask(campaign, "ada@example.net").status_code for _ in range(5)]
    assert answers == [200] * 5
    assert len(mailoutbox) == 3


def test_lost_link_refuses_a_post_without_csrf_token(invite, campaign, mailoutbox):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(lost_link_url(campaign), {"email": "ada@example.net"})
    assert response.status_code == 403
    assert mailoutbox == []


def test_malformed_address_shows_the_form_again(client, survey, campaign):
    response = client.post(lost_link_url(campaign), {"email": "not an address"})
    assert response.status_code == 400
    assert b"field-error" in response.content


def test_lost_link_renders_in_german(client, survey, campaign):
    survey.languages = ["de"]
    survey.save()
    response = client.get(lost_link_url(campaign), HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 200
    assert response["Content-Language"] == "de"


def test_lost_link_works_on_the_campaigns_own_host(client, survey, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "pledge.forge.example"]
    survey.host_name = "pledge.forge.example"
    survey.save()
    forget_host_names()
    try:
        response = client.get("/lost-link/", HTTP_HOST="pledge.forge.example")
    finally:
        forget_host_names()  # the next test's database has no such host
    assert response.status_code == 200
    assert b'name="email"' in response.content


def test_resend_link_service_tells_nothing(invite, survey):
    assert invites.resend_link(survey=survey, email="ada@example.net") is None
    assert invites.resend_link(survey=survey, email="nobody@example.net") is None


# --- unsubscribe ---------------------------------------------------------------


def unsubscribe_url(invite, token=None):
    return reverse(
        "survey-unsubscribe",
        kwargs={"slug": invite.survey.campaign.slug, "token": token or unsubscribe_token(invite)},
    )


def test_unsubscribe_page_asks_to_confirm_and_changes_nothing(client, invite):
    response = client.get(unsubscribe_url(invite))
    assert response.status_code == 200
    assert b"<form" in response.content
    invite.refresh_from_db()
    assert invite.unsubscribed_at is None


def test_confirming_unsubscribes_and_cancels_the_next_reminder(client, invite):
    SurveyInvite.objects.filter(pk=invite.pk).update(next_reminder_at=timezone.now())
    response = client.post(unsubscribe_url(invite))
    assert response.status_code == 200
    invite.refresh_from_db()
    assert invite.unsubscribed_at is not None and invite.next_reminder_at is None


def test_one_click_post_from_a_mail_client_needs_no_csrf_token(invite):
    mail_client = Client(enforce_csrf_checks=True)
    response = mail_client.post(
        unsubscribe_url(invite),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    invite.refresh_from_db()
    assert invite.unsubscribed_at is not None


def test_unsubscribing_twice_keeps_the_first_date(client, invite):
    client.post(unsubscribe_url(invite))
    invite.refresh_from_db()
    first = invite.unsubscribed_at
    client.post(unsubscribe_url(invite))
    invite.refresh_from_db()
    assert invite.unsubscribed_at == first


def test_tampered_token_is_refused(client, invite):
    token = unsubscribe_token(invite)
    response = client.post(unsubscribe_url(invite, token=token[:-2] + "xx"))
    assert response.status_code == 403
    invite.refresh_from_db()
    assert invite.unsubscribed_at is None


def test_token_of_another_campaigns_invite_is_refused(client, invite, organization):
    other = SurveyInviteFactory(
        survey=SurveyFactory(campaign=CampaignFactory(organization=organization))
    )
    url = reverse(
        "survey-unsubscribe",
        kwargs={"slug": invite.survey.campaign.slug, "token": unsubscribe_token(other)},
    )
    assert client.post(url).status_code == 403
    other.refresh_from_db()
    assert other.unsubscribed_at is None


def test_unsubscribed_backer_can_still_open_the_survey(client, invite):
    client.post(unsubscribe_url(invite))
    path = "/" + magic_link(invite).split("/", 3)[3]
    assert client.get(path).status_code == 302
