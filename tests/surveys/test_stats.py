"""Completion figures of a survey: the funnel overall and per tier, the backers who
have not completed it, and their CSV."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from surveys import design_views
from surveys.models import SurveyInvite, SurveyResponse
from surveys.stats import completion_stats, non_responders
from tests.factories import (
    BackerFactory,
    PledgeFactory,
    RewardFactory,
    SurveyFactory,
    SurveyInviteFactory,
)

from .conftest import login

NOW = timezone.now()


@pytest.fixture
def survey(campaign):
    return SurveyFactory(campaign=campaign)


@pytest.fixture
def core(campaign):
    return RewardFactory(campaign=campaign, title="Core box")


@pytest.fixture
def deluxe(campaign):
    return RewardFactory(campaign=campaign, title="Deluxe box")


def invite(
    survey,
    reward=None,
    *,
    sent=True,
    opened=False,
    untouched=False,
    started=False,
    completed=False,
    paid=False,
    test=False,
    name="Zoë Åberg",
):
    """An invite at the given stage; `reward` None: a pledge without a reward.
    `untouched`: the link made the response but no step was saved; `started`: the
    response has a saved step."""
    backer = BackerFactory(campaign=survey.campaign, name=name)
    PledgeFactory(backer=backer, reward=reward)
    made = SurveyInviteFactory(
        survey=survey,
        backer=backer,
        is_test=test,
        sent_at=NOW if sent else None,
        opened_at=NOW if opened else None,
    )
    if untouched or started:
        SurveyResponse.objects.create(
            invite=made,
            backer=backer,
            is_test=test,
            steps_done=["reward"] if started else [],
            completed_at=NOW if completed else None,
            paid_at=NOW if paid else None,
        )
    return made


def _stages(funnel):
    return (funnel.invited, funnel.opened, funnel.started, funnel.completed, funnel.paid)


@pytest.fixture
def funnel(survey, core, deluxe):
    """Core: 4 invited, 3 opened, 2 started, 1 completed and paid; one made but not
    sent. Deluxe: 2 invited, both completed, one paid. Tests and no-reward aside."""
    invite(survey, core)
    invite(survey, core, opened=True)
    invite(survey, core, opened=True, started=True)
    invite(survey, core, opened=True, started=True, completed=True, paid=True)
    invite(survey, core, sent=False)
    invite(survey, deluxe, opened=True, started=True, completed=True)
    invite(survey, deluxe, opened=True, started=True, completed=True, paid=True)
    invite(survey, core, opened=True, started=True, completed=True, paid=True, test=True)
    return survey


# --- the funnel -------------------------------------------------------------------------


def test_overall_funnel_counts_each_stage(funnel):
    stats = completion_stats(survey=funnel)
    assert _stages(stats.overall) == (6, 5, 4, 3, 2)


def test_opened_but_untouched_response_is_opened_not_started(survey, core):
    invite(survey, core, opened=True, untouched=True)
    assert _stages(completion_stats(survey=survey).overall) == (1, 1, 0, 0, 0)


def test_response_with_a_saved_step_is_started(survey, core):
    invite(survey, core, opened=True, started=True)
    assert _stages(completion_stats(survey=survey).overall) == (1, 1, 1, 0, 0)


def test_test_invites_count_nowhere(funnel):
    stats = completion_stats(survey=funnel)
    assert stats.test_invites == 1
    assert sum(tier.funnel.completed for tier in stats.tiers) == 3


def test_funnel_per_tier(funnel, core, deluxe):
    tiers = {tier.title: _stages(tier.funnel) for tier in completion_stats(survey=funnel).tiers}
    assert tiers == {"Core box": (4, 3, 2, 1, 1), "Deluxe box": (2, 2, 2, 2, 1)}


def test_percentages_are_of_the_invited(funnel):
    stats = completion_stats(survey=funnel)
    assert [stage.percent for stage in stats.overall.stages] == [100.0, 83.3, 66.7, 50.0, 33.3]


def test_tier_without_invites_shows_zeros(survey, core):
    stats = completion_stats(survey=survey)
    assert [(tier.title, _stages(tier.funnel)) for tier in stats.tiers] == [
        ("Core box", (0, 0, 0, 0, 0))
    ]
    assert stats.overall.completion_percent == 0.0


def test_backers_without_a_reward_have_their_own_row(survey, core):
    invite(survey, None, opened=True)
    tiers = completion_stats(survey=survey).tiers
    assert [(tier.title, tier.key, tier.funnel.opened) for tier in tiers] == [
        ("Core box", str(core.pk), 0),
        ("No reward", "none", 1),
    ]


def test_other_surveys_are_not_counted(funnel, organization):
    from tests.factories import CampaignFactory

    other = SurveyFactory(campaign=CampaignFactory(organization=organization))
    invite(other, RewardFactory(campaign=other.campaign), opened=True)
    assert completion_stats(survey=funnel).overall.invited == 6


@pytest.mark.parametrize("size", [1, 4, 15])
def test_stats_take_three_queries_whatever_the_size(
    survey, core, deluxe, size, django_assert_num_queries
):
    for i in range(size):
        invite(survey, core if i % 2 else deluxe, opened=True, started=i % 3 == 0)
    with django_assert_num_queries(3):
        stats = completion_stats(survey=survey)
    assert stats.overall.invited == size


# Measured on SQLite: host names (the middleware's table, cached a minute), session,
# user, membership, campaign, survey, 3 for the stats, the page of non-responders,
# header memberships = 11 whatever the number of invites.
PAGE_BOUND = 11


@pytest.mark.parametrize("size", [1, 6, 30])
def test_completion_page_query_count_is_constant(
    owner_client, survey, core, deluxe, size, django_assert_max_num_queries
):
    for i in range(size):
        invite(survey, core if i % 2 else deluxe, opened=i % 2 == 0, started=i % 3 == 0)
    with django_assert_max_num_queries(PAGE_BOUND):
        response = owner_client.get(reverse("survey-stats", args=[survey.campaign.slug]))
    assert response.status_code == 200


def test_page_shows_numbers_next_to_the_bars(owner_client, funnel):
    html = owner_client.get(reverse("survey-stats", args=[funnel.campaign.slug])).content.decode()
    assert "Completed" in html and "50.0 %" in html
    assert 'style="width: 50.0%"' in html
    assert "1 test invite" in html


# --- who has not completed ------------------------------------------------------------------


def test_non_responders_are_the_sent_invites_not_completed(funnel):
    rows = list(non_responders(survey=funnel))
    assert len(rows) == 3
    assert all(row.sent_at and not row.is_test for row in rows)
    assert not any(
        SurveyResponse.objects.filter(invite=row, completed_at__isnull=False).exists()
        for row in rows
    )


def test_non_responders_by_tier(funnel, core, deluxe):
    assert non_responders(survey=funnel, tier=str(core.pk)).count() == 3
    assert non_responders(survey=funnel, tier=str(deluxe.pk)).count() == 0


def test_non_responders_who_never_opened(funnel):
    rows = list(non_responders(survey=funnel, never_opened=True))
    assert len(rows) == 1 and rows[0].opened_at is None


def test_non_responders_without_a_reward(survey, core):
    invite(survey, core)
    none = invite(survey, None)
    assert list(non_responders(survey=survey, tier="none")) == [none]


def test_page_filters_non_responders_by_tier_and_never_opened(owner_client, funnel, core):
    never = SurveyInvite.objects.get(
        survey=funnel, is_test=False, sent_at__isnull=False, opened_at__isnull=True
    )
    response = owner_client.get(
        reverse("survey-stats", args=[funnel.campaign.slug]),
        {"tier": str(core.pk), "never_opened": "1"},
    )
    assert [row.pk for row in response.context["rows"]] == [never.pk]


def test_unknown_tier_filter_shows_everyone(owner_client, funnel):
    response = owner_client.get(
        reverse("survey-stats", args=[funnel.campaign.slug]), {"tier": "nonsense"}
    )
    assert response.status_code == 200
    assert len(response.context["rows"]) == 3


def test_non_responders_are_paged_by_invite(owner_client, survey, core, monkeypatch):
    monkeypatch.setattr(design_views, "NON_RESPONDERS_PAGE", 2)
    made = [invite(survey, core) for _ in range(5)]
    url = reverse("survey-stats", args=[survey.campaign.slug])
    first = owner_client.get(url)
    assert [row.pk for row in first.context["rows"]] == [made[0].pk, made[1].pk]
    assert first.context["next_after"] == made[1].pk
    second = owner_client.get(url, {"after": str(made[1].pk)})
    assert [row.pk for row in second.context["rows"]] == [made[2].pk, made[3].pk]
    last = owner_client.get(url, {"after": str(made[3].pk)})
    assert [row.pk for row in last.context["rows"]] == [made[4].pk]
    assert last.context["next_after"] is None


def test_malformed_after_shows_the_first_page(owner_client, survey, core):
    made = invite(survey, core)
    response = owner_client.get(
        reverse("survey-stats", args=[survey.campaign.slug]), {"after": "1; drop"}
    )
    assert [row.pk for row in response.context["rows"]] == [made.pk]


# --- CSV ---------------------------------------------------------------------------------


def _csv(response):
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text)))


def test_csv_lists_the_non_responders(owner_client, funnel):
    response = owner_client.get(reverse("survey-stats-csv", args=[funnel.campaign.slug]))
    assert response["Content-Type"].startswith("text/csv")
    rows = _csv(response)
    assert rows[0][:4] == ["Backer number", "Name", "Email", "Reward"]
    assert len(rows) == 1 + 3


def test_csv_says_how_many_steps_each_non_responder_saved(owner_client, funnel):
    rows = _csv(owner_client.get(reverse("survey-stats-csv", args=[funnel.campaign.slug])))
    column = rows[0].index("Steps saved")
    assert sorted(row[column] for row in rows[1:]) == ["0", "0", "1"]


def test_csv_neutralises_formulas_in_names(owner_client, survey, core):
    invite(survey, core, name='=HYPERLINK("http://evil.example","click")')
    rows = _csv(owner_client.get(reverse("survey-stats-csv", args=[survey.campaign.slug])))
    assert rows[1][1] == '\'=HYPERLINK("http://evil.example","click")'


def test_csv_applies_the_filters(owner_client, funnel):
    response = owner_client.get(
        reverse("survey-stats-csv", args=[funnel.campaign.slug]), {"never_opened": "1"}
    )
    rows = _csv(response)
    assert len(rows) == 2 and rows[1][5] == ""


def test_csv_dates_are_utc(owner_client, survey, core):
    made = invite(survey, core)
    SurveyInvite.objects.filter(pk=made.pk).update(sent_at=NOW - timedelta(days=2))
    rows = _csv(owner_client.get(reverse("survey-stats-csv", args=[survey.campaign.slug])))
    assert rows[1][4] == (NOW - timedelta(days=2)).strftime("%Y-%m-%d %H:%M")


def test_support_may_download_the_csv(client, organization, funnel):
    login(client, organization, Role.SUPPORT)
    response = client.get(reverse("survey-stats-csv", args=[funnel.campaign.slug]))
    assert response.status_code == 200


def test_warehouse_may_not_download_the_csv(client, organization, funnel):
    login(client, organization, Role.WAREHOUSE)
    response = client.get(reverse("survey-stats-csv", args=[funnel.campaign.slug]))
    assert response.status_code == 403
