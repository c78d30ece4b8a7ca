"""How far backers got with the survey: invited, opened, started (saved at least
one step), completed, paid.

Only real invites count; test invites (previews, smoke tests) are left out.
Figures come from grouped queries, so the page costs the same for 10 backers or
100,000."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from pledges.models import Reward

from .models import Survey, SurveyInvite

STAGES = (
    ("invited", "Invited"),
    ("opened", "Opened the link"),
    ("started", "Started"),
    ("completed", "Completed"),
    ("paid", "Paid"),
)
NO_REWARD = "none"


def _counts(real: Q) -> dict[str, Count]:
    return {
        "invited": Count("pk", filter=real & Q(sent_at__isnull=False)),
        "opened": Count("pk", filter=real & Q(opened_at__isnull=False)),
        # Opening the link makes the response; only a saved step makes it started.
        "started": Count("pk", filter=real & Q(response__steps_done__0__isnull=False)),
        "completed": Count("pk", filter=real & Q(response__completed_at__isnull=False)),
        "paid": Count("pk", filter=real & Q(response__paid_at__isnull=False)),
    }


@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    count: int
    percent: float  # of the invited


@dataclass(frozen=True)
class Funnel:
    invited: int = 0
    opened: int = 0
    started: int = 0
    completed: int = 0
    paid: int = 0

    def percent(self, count: int) -> float:
        return round(100 * count / self.invited, 1) if self.invited else 0.0

    @property
    def stages(self) -> list[Stage]:
        return [
            Stage(key, label, getattr(self, key), self.percent(getattr(self, key)))
            for key, label in STAGES
        ]

    @property
    def completion_percent(self) -> float:
        return self.percent(self.completed)


@dataclass(frozen=True)
class TierFunnel:
    reward: Reward | None  # None: pledges without a reward
    funnel: Funnel

    @property
    def title(self) -> str:
        return self.reward.title if self.reward is not None else "No reward"

    @property
    def key(self) -> str:
        return str(self.reward.pk) if self.reward is not None else NO_REWARD


@dataclass(frozen=True)
class CompletionStats:
    overall: Funnel
    tiers: list[TierFunnel] = field(default_factory=list)
    test_invites: int = 0


def completion_stats(*, survey: Survey) -> CompletionStats:
    """The funnel overall and per reward tier (every tier of the campaign, plus
    "No reward" when such backers were invited), in three queries."""
    real = Q(is_test=False)
    invites = SurveyInvite.objects.filter(survey=survey)
    totals = invites.aggregate(**_counts(real), tests=Count("pk", filter=Q(is_test=True)))
    tests = totals.pop("tests")
    # One pledge per backer (a constraint), so the join never counts an invite twice.
    by_reward = {
        row.pop("backer__pledges__reward"): Funnel(**row)
        for row in invites.filter(real)
        .values("backer__pledges__reward")
        .annotate(**_counts(Q()))
        .order_by()
    }
    tiers = [
        TierFunnel(reward=reward, funnel=by_reward.get(reward.pk, Funnel()))
        for reward in Reward.objects.filter(campaign_id=survey.campaign_id).order_by(
            "minimum", "title", "pk"
        )
    ]
    if None in by_reward:
        tiers.append(TierFunnel(reward=None, funnel=by_reward[None]))
    return CompletionStats(overall=Funnel(**totals), tiers=tiers, test_invites=tests)


def non_responders(
    *, survey: Survey, tier: str = "", never_opened: bool = False
) -> QuerySet[SurveyInvite]:
    """Real invites that were sent and whose backer has not completed the survey,
    oldest invite first (keyset-paginate by pk). `tier`: a reward's pk, or "none"
    for backers without a reward; `never_opened`: only those who never opened
    the link."""
    invites = (
        SurveyInvite.objects.filter(survey=survey, is_test=False, sent_at__isnull=False)
        .filter(Q(response__isnull=True) | Q(response__completed_at__isnull=True))
        .order_by("pk")
    )
    if tier == NO_REWARD:
        invites = invites.filter(backer__pledges__reward__isnull=True)
    elif tier:
        invites = invites.filter(backer__pledges__reward_id=tier)
    if never_opened:
        invites = invites.filter(opened_at__isnull=True)
    return invites
