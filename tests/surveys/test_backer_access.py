"""Who may open which survey: magic links (expiry, tampering, voiding), the
session that carries the backer, and the wall between two backers."""

import time
from unittest import mock

import pytest
from django.test import override_settings
from django.urls import reverse

from surveys.links import invite_token
from surveys.models import CartLine, SurveyResponse
from tests.factories import CampaignFactory, SurveyFactory

from .backer_setup import GERMAN_ADDRESS, build_world, link_path, new_invite, open_survey, step_path

STEPS = ("reward", "choices", "addons", "questions", "address", "review")


@pytest.fixture
def w(campaign):
    return build_world(campaign)


def test_tampered_link_is_refused(client, w):
    token = invite_token(w.alice)
    response = client.get(
        reverse("survey-open", kwargs={"slug": w.campaign.slug, "token": token[:-2] + "xy"})
    )
    assert response.status_code == 403
    assert b"not valid" in response.content
    assert not SurveyResponse.objects.exists()


def test_link_with_another_invite_id_and_the_same_signature_is_refused(client, w):
    token = invite_token(w.alice)
    forged = invite_token(w.bob).split(":")[0] + ":" + token.split(":", 1)[1]
    response = client.get(reverse("survey-open", kwargs={"slug": w.campaign.slug, "token": forged}))
    assert response.status_code == 403


def test_expired_link_is_refused_and_offers_a_new_one(client, w):
    path = link_path(w.alice)
    later = time.time() + (w.survey.link_max_age_days + 1) * 24 * 3600
    with mock.patch("django.core.signing.time.time", return_value=later):
        response = client.get(path)
    assert response.status_code == 403
    assert b"expired" in response.content
    assert b"lost-link" in response.content


def test_voided_link_is_refused(client, w):
    path = link_path(w.alice)
    w.alice.token_version += 1
    w.alice.save()
    assert client.get(path).status_code == 403


def test_link_of_one_campaign_does_not_open_another(client, w, organization):
    other = CampaignFactory(organization=organization)
    SurveyFactory(campaign=other, status="live")
    token = invite_token(w.alice)
    response = client.get(reverse("survey-open", kwargs={"slug": other.slug, "token": token}))
    assert response.status_code == 403


def test_draft_survey_does_not_open_for_backers(client, w):
    w.survey.status = "draft"
    w.survey.save()
    assert client.get(link_path(w.alice)).status_code == 403


def test_test_invite_opens_a_draft_and_is_marked_test(client, w):
    w.survey.status = "draft"
    w.survey.save()
    from tests.factories import SurveyInviteFactory

    test_invite = SurveyInviteFactory(
        survey=w.survey, backer=w.alice.backer, email="owner@example.com", is_test=True
    )
    assert client.get(link_path(test_invite)).status_code == 302
    page = client.get(step_path(w.campaign, "reward"))
    assert b"Test response" in page.content
    assert SurveyResponse.objects.get(invite=test_invite).is_test


@pytest.mark.parametrize("step", STEPS)
def test_backer_a_sees_only_their_own_survey_on_every_step(client, w, step):
    """Bob has answered; Alice's session shows Alice's data on every page, never Bob's."""
    bob = SurveyResponse.objects.create(
        invite=w.bob,
        backer=w.bob.backer,
        address={**GERMAN_ADDRESS, "name": "Bob Secret", "city": "BOBTOWN"},
        address_country="DE",
        answers={str(w.question.pk): "Bob's answer"},
    )
    open_survey(client, w.alice)
    page = client.get(step_path(w.campaign, step))
    body = page.content.decode()
    assert "Bob Secret" not in body and "BOBTOWN" not in body and "Bob&#x27;s answer" not in body
    done = client.get(reverse("survey-done", kwargs={"slug": w.campaign.slug})).content.decode()
    assert "Bob Secret" not in done
    bob.refresh_from_db()
    assert bob.address["name"] == "Bob Secret"


def test_backer_a_cannot_change_backer_b(client, w):
    bob = SurveyResponse.objects.create(invite=w.bob, backer=w.bob.backer)
    open_survey(client, w.alice)
    client.post(step_path(w.campaign, "address"), {**GERMAN_ADDRESS, "name": "Mallory"})
    client.post(
        step_path(w.campaign, "addons"), {f"offer_{w.mat.pk}": "1", f"offer_{w.coin.pk}": "0"}
    )
    bob.refresh_from_db()
    assert bob.address == {}
    assert not CartLine.objects.filter(response=bob).exists()
    alice = SurveyResponse.objects.get(invite=w.alice)
    assert alice.address["name"] == "Mallory"


def test_session_of_one_campaign_gives_nothing_in_another(client, w, organization):
    other = CampaignFactory(organization=organization)
    SurveyFactory(campaign=other, status="live")
    open_survey(client, w.alice)
    response = client.get(step_path(other, "reward"))
    assert response.status_code == 302
    assert response.url == reverse("survey-home", kwargs={"slug": other.slug})


def test_same_email_in_another_organization_never_takes_the_address(client, w):
    from tests.factories import OrganizationFactory

    foreign_campaign = CampaignFactory(organization=OrganizationFactory())
    foreign = build_world(foreign_campaign)
    theirs = SurveyResponse.objects.create(invite=foreign.alice, backer=foreign.alice.backer)
    open_survey(client, w.alice)
    page = client.get(step_path(w.campaign, "address"))
    assert b"apply_to_all" not in page.content
    client.post(step_path(w.campaign, "address"), {**GERMAN_ADDRESS, "apply_to_all": "1"})
    theirs.refresh_from_db()
    assert theirs.address == {}


def test_opening_a_link_gives_a_new_session_id(client, w):
    client.get(reverse("survey-home", kwargs={"slug": w.campaign.slug}))
    client.cookies["sessionid"] = "x"
    open_survey(client, w.alice)
    first = client.cookies["sessionid"].value
    open_survey(client, w.bob)
    assert client.cookies["sessionid"].value != first


@override_settings(ALLOWED_HOSTS=["pledge.example.com", "testserver"])
def test_survey_on_its_own_host_name(client, w):
    from surveys.middleware import forget_host_names

    w.survey.host_name = "pledge.example.com"
    w.survey.save()
    forget_host_names()
    token = invite_token(w.alice)
    opened = client.get(f"/t/{token}/", HTTP_HOST="pledge.example.com")
    assert opened.status_code == 302 and opened.url == "/"
    first = client.get("/", HTTP_HOST="pledge.example.com")
    assert first.status_code == 302 and first.url == "/step/reward/"
    page = client.get("/step/reward/", HTTP_HOST="pledge.example.com")
    assert page.status_code == 200 and b"Core box game" in page.content
    assert b'href="/step/reward/"' in page.content  # links stay on the creator's host
    # The back office is not served on a creator's host name.
    assert client.get("/app/", HTTP_HOST="pledge.example.com").status_code == 404
    forget_host_names()


def test_several_pledges_other_backers_listed_only_with_the_same_email(client, w):
    new_invite(w, email="carol@example.net")
    open_survey(client, w.alice)
    page = client.get(step_path(w.campaign, "address"))
    assert b"apply_to_all" not in page.content


def test_a_link_naming_a_step_opens_that_step(client, w):
    response = client.get(link_path(w.bob) + "?step=address")
    assert response.status_code == 302
    assert response.url == step_path(w.campaign, "address")


def test_a_link_naming_no_step_of_this_survey_resumes_as_usual(client, w):
    response = client.get(link_path(w.bob) + "?step=../../admin")
    assert response.status_code == 302
    assert response.url == reverse("survey-home", kwargs={"slug": w.campaign.slug})


def test_a_link_naming_a_step_of_a_locked_survey_resumes_as_usual(client, w):
    from django.utils import timezone

    from surveys.services.responses import open_invite

    response = open_invite(invite=w.bob)
    response.locked_at = timezone.now()
    response.save()
    opened = client.get(link_path(w.bob) + "?step=address")
    assert opened.url == reverse("survey-home", kwargs={"slug": w.campaign.slug})
