"""Preview as a backer: the team opens the survey as one backer through a test invite."""

import pytest
from django.urls import reverse

from accounts.models import Role
from surveys.links import invite_from_token
from surveys.models import SurveyInvite, SurveyResponse
from surveys.services.design import PreviewRefused, start_preview
from surveys.services.responses import open_invite, survey_for
from surveys.stats import completion_stats
from tests.factories import BackerFactory, CampaignFactory, PledgeFactory

from .conftest import login


@pytest.fixture
def survey(campaign):
    return survey_for(campaign)


@pytest.fixture
def backer(campaign):
    return PledgeFactory(
        backer=BackerFactory(
            campaign=campaign, name="Hedda Gabler", email="hedda@example.net", backer_number=4711
        )
    ).backer


def _search(client, campaign, query):
    return client.get(reverse("survey-preview", args=[campaign.slug]), {"q": query})


@pytest.mark.parametrize("query", ["hedda", "HEDDA@example.net", "4711", "#4711"])
def test_search_finds_the_backer_by_name_email_or_number(owner_client, campaign, backer, query):
    response = _search(owner_client, campaign, query)
    assert [found.pk for found in response.context["backers"]] == [backer.pk]
    assert "Preview as this backer" in response.content.decode()


def test_search_leaves_out_other_campaigns_backers(owner_client, campaign, organization):
    other = CampaignFactory(organization=organization)
    PledgeFactory(backer=BackerFactory(campaign=other, name="Hedda Gabler"))
    assert _search(owner_client, campaign, "hedda").context["backers"] == []


def test_search_leaves_out_merged_backers(owner_client, campaign, backer):
    kept = PledgeFactory(backer=BackerFactory(campaign=campaign, name="Hedda Tesman")).backer
    backer.merged_into = kept
    backer.save(update_fields=["merged_into"])
    found = _search(owner_client, campaign, "hedda").context["backers"]
    assert [b.pk for b in found] == [kept.pk]


def test_page_without_a_search_lists_nobody(owner_client, campaign, backer):
    response = owner_client.get(reverse("survey-preview", args=[campaign.slug]))
    assert response.status_code == 200
    assert response.context["backers"] == []


def test_preview_makes_a_test_invite_and_opens_its_link(owner_client, owner, survey, backer):
    response = owner_client.post(
        reverse("survey-preview", args=[survey.campaign.slug]), {"backer": backer.pk}
    )
    invite = SurveyInvite.objects.get(survey=survey)
    assert (invite.is_test, invite.backer, invite.email) == (True, backer, owner.email)
    token = response["Location"].rstrip("/").rsplit("/", 1)[1]
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "survey-open", kwargs={"slug": survey.campaign.slug, "token": token}
    )
    assert invite_from_token(token, survey=survey) == invite


def test_preview_link_starts_a_test_response(owner_client, survey, backer):
    response = owner_client.post(
        reverse("survey-preview", args=[survey.campaign.slug]), {"backer": backer.pk}
    )
    owner_client.get(response["Location"])
    answer = SurveyResponse.objects.get(backer=backer)
    assert answer.is_test is True


def test_preview_works_while_the_backer_has_a_real_invite(owner_client, survey, backer):
    SurveyInvite.objects.create(survey=survey, backer=backer, email=backer.email)
    response = owner_client.post(
        reverse("survey-preview", args=[survey.campaign.slug]), {"backer": backer.pk}
    )
    assert response.status_code == 302
    assert survey.invites.filter(backer=backer, is_test=True).count() == 1


def test_previews_count_nowhere_in_the_figures(survey, backer, owner):
    invite = start_preview(survey=survey, backer=backer, actor=owner)
    open_invite(invite=invite)
    stats = completion_stats(survey=survey)
    assert stats.overall.started == 0
    assert stats.test_invites == 1


def test_another_campaigns_backer_cannot_be_previewed(owner_client, survey, organization):
    stranger = PledgeFactory(
        backer=BackerFactory(campaign=CampaignFactory(organization=organization))
    ).backer
    response = owner_client.post(
        reverse("survey-preview", args=[survey.campaign.slug]), {"backer": stranger.pk}
    )
    assert response.status_code == 404
    assert not SurveyInvite.objects.exists()


def test_service_refuses_another_campaigns_backer(survey, owner, organization):
    stranger = BackerFactory(campaign=CampaignFactory(organization=organization))
    with pytest.raises(PreviewRefused):
        start_preview(survey=survey, backer=stranger, actor=owner)


def test_malformed_preview_post_is_not_found(owner_client, survey):
    response = owner_client.post(
        reverse("survey-preview", args=[survey.campaign.slug]), {"backer": "x"}
    )
    assert response.status_code == 404


def test_support_may_preview(client, organization, survey, backer):
    login(client, organization, Role.SUPPORT)
    response = client.post(
        reverse("survey-preview", args=[survey.campaign.slug]), {"backer": backer.pk}
    )
    assert response.status_code == 302
    assert SurveyInvite.objects.filter(is_test=True).count() == 1


def test_warehouse_may_not_preview(client, organization, survey, backer):
    login(client, organization, Role.WAREHOUSE)
    response = client.post(
        reverse("survey-preview", args=[survey.campaign.slug]), {"backer": backer.pk}
    )
    assert response.status_code == 403
    assert not SurveyInvite.objects.exists()


def test_outsider_cannot_preview(outsider_client, survey, backer):
    response = outsider_client.post(
        reverse("survey-preview", args=[survey.campaign.slug]), {"backer": backer.pk}
    )
    assert response.status_code == 404
    assert not SurveyInvite.objects.exists()
