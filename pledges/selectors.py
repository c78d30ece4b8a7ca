from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.http import Http404
from django_countries import countries

from accounts.models import Membership
from accounts.permissions import role_can

from .models import Backer, Campaign, DuplicateGroup, DuplicateStatus, PaymentStatus, Pledge


def campaigns_for(*, user) -> QuerySet[Campaign]:
    """Every campaign of every organization the user belongs to."""
    if not user.is_authenticated:
        return Campaign.objects.none()
    return Campaign.objects.filter(organization__memberships__user=user).select_related(
        "organization"
    )


def campaign_for(*, user, slug: str, action: str = "campaign.view") -> tuple[Campaign, str]:
    """The campaign and the user's role in its organization.

    Another organization's campaign does not exist for this user (404); a role
    that may see it but not do `action` gets 403."""
    membership = (
        Membership.objects.filter(user=user, organization__campaigns__slug=slug)
        .select_related("organization")
        .first()
        if user.is_authenticated
        else None
    )
    if membership is None:
        raise Http404("No such campaign.")
    if not role_can(membership.role, "campaign.view"):
        raise Http404("No such campaign.")
    if not role_can(membership.role, action):
        raise PermissionDenied("Your role does not allow this.")
    campaign = Campaign.objects.select_related("organization").get(slug=slug)
    return campaign, membership.role


def campaign_overview(*, campaign: Campaign) -> dict:
    """Headline figures for the overview page, in a constant number of queries."""
    pledges = Pledge.objects.filter(backer__campaign=campaign)
    totals = pledges.aggregate(
        pledges=Count("pk"),
        collected=Count("pk", filter=Q(payment_status=PaymentStatus.COLLECTED)),
        dropped=Count("pk", filter=Q(payment_status=PaymentStatus.DROPPED)),
        errored=Count("pk", filter=Q(payment_status=PaymentStatus.ERRORED)),
        countries=Count("shipping_country", distinct=True),
    )
    backers = Backer.objects.filter(campaign=campaign)
    duplicate_emails = (
        backers.exclude(email_normalized="")
        .values("email_normalized")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    rewards = list(
        campaign.rewards.annotate(
            pledge_count=Count("pledges"),
            collected_count=Count(
                "pledges", filter=Q(pledges__payment_status=PaymentStatus.COLLECTED)
            ),
        ).order_by("minimum", "title")
    )
    top_countries = list(
        pledges.exclude(shipping_country="")
        .values("shipping_country")
        .annotate(n=Count("pk"))
        .order_by("-n", "shipping_country")[:10]
    )
    # Bar lengths relative to the largest row, so the chart reads at a glance.
    top_reward = max((r.pledge_count for r in rewards), default=0) or 1
    for reward in rewards:
        reward.share = round(100 * reward.pledge_count / top_reward)
    top_country = top_countries[0]["n"] if top_countries else 1
    for row in top_countries:
        row["name"] = countries.name(row["shipping_country"]) or row["shipping_country"]
        row["share"] = round(100 * row["n"] / top_country)
    return {
        "backers": backers.count(),
        "duplicate_emails": duplicate_emails,
        "rewards": rewards,
        "top_countries": top_countries,
        **totals,
    }


def backers_with_pledge(backers: QuerySet[Backer]) -> QuerySet[Backer]:
    """Backers with their pledge (and its reward) and duplicate group: any number
    of rows in two queries."""
    return backers.select_related("duplicate_group").prefetch_related(
        Prefetch("pledges", queryset=Pledge.objects.select_related("reward"))
    )


def backer_counts(*, campaign: Campaign) -> dict:
    """The counts strip above the backer list, in one query."""

    def having(condition: Q) -> Count:
        # distinct: the pledge and duplicate group joins must not count a backer twice
        return Count("pk", filter=condition, distinct=True)

    return Backer.objects.filter(campaign=campaign).aggregate(
        total=Count("pk", distinct=True),
        dropped=having(Q(pledges__payment_status=PaymentStatus.DROPPED)),
        errored=having(Q(pledges__payment_status=PaymentStatus.ERRORED)),
        open_duplicates=having(Q(duplicate_group__status=DuplicateStatus.OPEN)),
        merged=having(Q(merged_into__isnull=False)),
    )


def duplicate_groups(*, campaign: Campaign, decided: bool) -> QuerySet[DuplicateGroup]:
    """Open groups oldest first, or decided groups latest decision first, each with
    its members (pledge and reward included) in a constant number of queries."""
    members = backers_with_pledge(
        Backer.objects.order_by(F("backer_number").asc(nulls_last=True), "pk")
    )
    groups = DuplicateGroup.objects.filter(campaign=campaign).prefetch_related(
        Prefetch("backers", queryset=members)
    )
    if decided:
        return (
            groups.exclude(status=DuplicateStatus.OPEN)
            .select_related("decided_by")
            .order_by(F("decided_at").desc(nulls_last=True), "-pk")
        )
    return groups.filter(status=DuplicateStatus.OPEN).order_by("created_at", "pk")


def backer_to_keep(group: DuplicateGroup) -> Backer | None:
    """The backer a merge keeps unless the creator picks another: the lowest backer
    number (the earliest pledge) among members not merged yet. Uses prefetched members."""
    active = [b for b in group.backers.all() if b.merged_into_id is None]
    return min(
        active,
        key=lambda b: (b.backer_number is None, b.backer_number or 0, b.pk),
        default=None,
    )
