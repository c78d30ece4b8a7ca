""" "Use this address for all my pledges" reaches every pledge of the same person in the
organization, also those whose survey link was never opened: saving starts their
response (the link stays unopened). Locked pledges and test invites stay out."""

import pytest
from django.utils import timezone
from djmoney.money import Money

from orders.models import Order
from orders.services.building import build_order_for_backer
from surveys.models import SurveyResponse
from surveys.services.responses import open_invite, sibling_invites, sibling_responses
from tests.factories import (
    BackerFactory,
    CampaignFactory,
    PledgeFactory,
    SurveyFactory,
    SurveyInviteFactory,
)

from .backer_setup import GERMAN_ADDRESS, build_world, new_invite, open_survey, step_path


@pytest.fixture
def w(campaign):
    return build_world(campaign)


def other_campaign_invite(w, *, email: str, status: str = "live", organization=None):
    """An invite of the same email in another campaign (of the same organization)."""
    campaign = CampaignFactory(organization=organization or w.campaign.organization)
    survey = SurveyFactory(campaign=campaign, status=status)
    backer = BackerFactory(campaign=campaign, email=email, email_normalized=email.lower())
    PledgeFactory(backer=backer, amount=Money("59.00", "USD"))
    return SurveyInviteFactory(survey=survey, backer=backer, email=email)


def save_for_all(client, w):
    return client.post(step_path(w.campaign, "address"), {**GERMAN_ADDRESS, "apply_to_all": "1"})


def test_a_sibling_invite_never_opened_gets_the_address(client, w):
    sibling = other_campaign_invite(w, email="Alice@Example.net")
    open_survey(client, w.alice)
    assert save_for_all(client, w).status_code == 302
    other = SurveyResponse.objects.get(invite=sibling)
    assert other.address["postal_code"] == "10115" and other.address_country == "DE"
    assert "address" in other.steps_done and other.completed_at is None
    assert other.backer_id == sibling.backer_id and not other.is_test


def test_starting_a_siblings_response_leaves_its_link_unopened(client, w):
    sibling = other_campaign_invite(w, email="alice@example.net")
    open_survey(client, w.alice)
    save_for_all(client, w)
    sibling.refresh_from_db()
    assert sibling.opened_at is None


def test_the_siblings_response_is_there_when_its_link_is_opened(client, w):
    sibling = other_campaign_invite(w, email="alice@example.net")
    open_survey(client, w.alice)
    save_for_all(client, w)
    opened = open_invite(invite=sibling)
    assert opened.address["postal_code"] == "10115"
    assert SurveyResponse.objects.filter(invite=sibling).count() == 1


def test_the_checkbox_shows_for_a_sibling_invite_never_opened(client, w):
    other_campaign_invite(w, email="alice@example.net")
    open_survey(client, w.alice)
    page = client.get(step_path(w.campaign, "address")).content.decode()
    assert 'name="apply_to_all"' in page and "Use this address for my other pledge too" in page


def test_the_checkbox_counts_opened_and_unopened_siblings(client, w):
    other_campaign_invite(w, email="alice@example.net")
    begun = new_invite(w, email="ALICE@example.net")
    open_invite(invite=begun)
    open_survey(client, w.alice)
    page = client.get(step_path(w.campaign, "address")).content.decode()
    assert "Use this address for my 2 other pledges too" in page


def test_the_message_counts_the_unopened_sibling(client, w):
    other_campaign_invite(w, email="alice@example.net")
    open_survey(client, w.alice)
    page = client.post(
        step_path(w.campaign, "address"), {**GERMAN_ADDRESS, "apply_to_all": "1"}, follow=True
    )
    assert "The address was also saved on your other pledge." in page.content.decode()


def test_without_the_checkbox_an_unopened_sibling_gets_nothing(client, w):
    sibling = other_campaign_invite(w, email="alice@example.net")
    open_survey(client, w.alice)
    client.post(step_path(w.campaign, "address"), GERMAN_ADDRESS)
    assert not SurveyResponse.objects.filter(invite=sibling).exists()


def test_a_sibling_whose_order_is_locked_is_skipped(client, w):
    sibling = other_campaign_invite(w, email="alice@example.net")
    order = build_order_for_backer(backer=sibling.backer)
    Order.objects.filter(pk=order.pk).update(state="locked", locked_at=timezone.now())
    open_survey(client, w.alice)
    page = client.get(step_path(w.campaign, "address")).content.decode()
    assert 'name="apply_to_all"' not in page
    save_for_all(client, w)
    assert not SurveyResponse.objects.filter(invite=sibling).exists()


def test_a_sibling_invite_of_a_closed_survey_is_skipped(client, w):
    sibling = other_campaign_invite(w, email="alice@example.net", status="closed")
    open_survey(client, w.alice)
    save_for_all(client, w)
    assert not SurveyResponse.objects.filter(invite=sibling).exists()


def test_a_locked_sibling_response_is_skipped_and_offers_no_checkbox(client, w):
    begun = new_invite(w, email="alice@example.net")
    SurveyResponse.objects.filter(pk=open_invite(invite=begun).pk).update(locked_at=timezone.now())
    open_survey(client, w.alice)
    page = client.get(step_path(w.campaign, "address")).content.decode()
    assert 'name="apply_to_all"' not in page
    save_for_all(client, w)
    assert SurveyResponse.objects.get(invite=begun).address == {}


def test_test_invites_stay_out(w):
    """A team member's test invite answering as Alice's other pledge is no pledge of hers."""
    sibling = other_campaign_invite(w, email="alice@example.net")
    tester = SurveyInviteFactory(survey=sibling.survey, backer=sibling.backer, is_test=True)
    response = open_invite(invite=w.alice)
    assert sibling_invites(response) == [sibling]
    assert tester not in sibling_invites(response)


def test_a_test_response_reaches_no_real_invite(w):
    other_campaign_invite(w, email="alice@example.net")
    tester = SurveyInviteFactory(survey=w.survey, backer=w.alice.backer, is_test=True)
    assert sibling_invites(open_invite(invite=tester)) == []


def test_another_organizations_invite_of_the_same_email_is_not_a_sibling(w):
    stranger = other_campaign_invite(
        w, email="alice@example.net", organization=CampaignFactory().organization
    )
    response = open_invite(invite=w.alice)
    assert stranger not in sibling_invites(response)


def test_a_backer_without_an_email_has_no_siblings(w):
    w.alice.backer.__class__.objects.filter(pk=w.alice.backer_id).update(email_normalized="")
    w.bob.backer.__class__.objects.filter(pk=w.bob.backer_id).update(email_normalized="")
    open_invite(invite=w.bob)
    other_campaign_invite(w, email="")
    response = open_invite(invite=w.alice)
    assert sibling_invites(response) == [] and sibling_responses(response) == []


def test_the_address_step_reads_siblings_in_fixed_queries(client, w, django_assert_max_num_queries):
    for _ in range(5):
        other_campaign_invite(w, email="alice@example.net")
    open_survey(client, w.alice)
    client.get(step_path(w.campaign, "address"))  # the catalog into the cache
    with django_assert_max_num_queries(6):
        page = client.get(step_path(w.campaign, "address"))
    assert "Use this address for my 5 other pledges too" in page.content.decode()
