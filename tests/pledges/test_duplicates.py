"""flag_duplicates: matches sharing a backer make one group, decided groups reopen
only when someone new joins, backers that no longer match leave, and re-running
changes nothing."""

from datetime import timedelta

import pytest

from pledges.duplicates import flag_duplicates, keep_apart, merge_duplicates
from pledges.models import Backer, DuplicateGroup, DuplicateReason, DuplicateStatus, Platform
from tests.factories import BackerFactory, CampaignFactory, PledgeFactory, UserFactory

# Measured: emails, platforms, SAVEPOINT, groups, attached backers, RELEASE, open count
# = 7 for a campaign with no duplicates, whatever its size.
NO_DUPLICATES_QUERY_BOUND = 7

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(db):
    return CampaignFactory()


@pytest.fixture
def actor(db):
    return UserFactory()


def _backer(campaign, *, email=None, name="Someone", platform=Platform.KICKSTARTER, postal=""):
    fields = {"campaign": campaign, "name": name, "platform": platform}
    if email is not None:
        fields.update(email=email, email_normalized=email.strip().lower())
    backer = BackerFactory(**fields)
    PledgeFactory(
        backer=backer, shipping_name=name, shipping_postal_code=postal, shipping_country="SE"
    )
    return backer


def _group_of(backer) -> DuplicateGroup | None:
    backer.refresh_from_db()
    return backer.duplicate_group


def _members(group) -> set[int]:
    return set(Backer.objects.filter(duplicate_group=group).values_list("pk", flat=True))


def _state(campaign):
    groups = set(
        DuplicateGroup.objects.filter(campaign=campaign).values_list(
            "pk", "reason", "key", "status", "member_count", "decided_by", "decided_at"
        )
    )
    attached = set(
        Backer.objects.filter(campaign=campaign).values_list("pk", "duplicate_group", "merged_into")
    )
    return groups, attached


def _email_and_person(campaign):
    """a and b share an email; a (Kickstarter) and c (Indiegogo) are the same person."""
    a = _backer(campaign, email="twin@example.net", name="Ada Berg", postal="135 40")
    b = _backer(campaign, email="Twin@Example.net", name="Bo Berg")
    c = _backer(
        campaign,
        email="ada@elsewhere.org",
        name=" ada berg ",
        platform=Platform.INDIEGOGO,
        postal="135 40",
    )
    return a, b, c


@pytest.mark.parametrize("keep", [0, 1, 2])
def test_an_email_match_and_a_person_match_sharing_a_backer_are_one_group(campaign, actor, keep):
    backers = _email_and_person(campaign)
    assert flag_duplicates(campaign=campaign) == 1
    group = DuplicateGroup.objects.get(campaign=campaign)
    assert group.status == DuplicateStatus.OPEN
    assert group.reason == DuplicateReason.SAME_EMAIL
    assert group.key == "twin@example.net"  # an email group is named by its email
    assert group.member_count == 3
    assert _members(group) == {b.pk for b in backers}

    primary = backers[keep]
    merged = merge_duplicates(group=group, primary=primary, actor=actor)
    assert {b.pk for b in merged} == {b.pk for b in backers} - {primary.pk}
    assert set(Backer.objects.filter(merged_into=primary).values_list("pk", flat=True)) == {
        b.pk for b in merged
    }
    group.refresh_from_db()
    assert group.status == DuplicateStatus.MERGED
    # after the merge only the primary is active: nothing to flag, nothing detached
    before = _state(campaign)
    assert flag_duplicates(campaign=campaign) == 0
    assert _state(campaign) == before
    assert _members(group) == {b.pk for b in backers}


def test_groups_flagged_separately_before_join_into_one(campaign, actor):
    """A campaign flagged by the old code: the email group and the person group
    shared a backer that showed only in the first. Re-flagging joins them."""
    a, b, c = _email_and_person(campaign)
    email_group = DuplicateGroup.objects.create(
        campaign=campaign, reason=DuplicateReason.SAME_EMAIL, key="twin@example.net"
    )
    person_group = DuplicateGroup.objects.create(
        campaign=campaign, reason=DuplicateReason.SAME_PERSON, key="ada berg|135 40|SE"
    )
    Backer.objects.filter(pk__in=[a.pk, b.pk]).update(duplicate_group=email_group)
    Backer.objects.filter(pk=c.pk).update(duplicate_group=person_group)
    assert flag_duplicates(campaign=campaign) == 1
    (group,) = DuplicateGroup.objects.filter(campaign=campaign)
    assert _members(group) == {a.pk, b.pk, c.pk}
    merge_duplicates(group=group, primary=c, actor=actor)
    assert Backer.objects.filter(merged_into=c).count() == 2


def test_a_new_backer_reopens_a_merged_group_and_merges_into_the_primary(campaign, actor):
    first = _backer(campaign, email="twin@example.net")
    second = _backer(campaign, email="twin@example.net")
    flag_duplicates(campaign=campaign)
    group = _group_of(first)
    merge_duplicates(group=group, primary=first, actor=actor)

    late = _backer(campaign, email="TWIN@example.net ")
    assert flag_duplicates(campaign=campaign) == 1
    group.refresh_from_db()
    assert group.status == DuplicateStatus.OPEN
    assert (group.decided_by, group.decided_at) == (None, None)
    assert group.member_count == 2
    # the merged backer stays attached, the newcomer joins
    assert _members(group) == {first.pk, second.pk, late.pk}

    assert merge_duplicates(group=group, primary=first, actor=actor) == [late]
    late.refresh_from_db()
    assert late.merged_into == first
    group.refresh_from_db()
    assert group.status == DuplicateStatus.MERGED
    assert flag_duplicates(campaign=campaign) == 0
    assert _members(group) == {first.pk, second.pk, late.pk}


def test_a_reopened_merged_group_whose_newcomer_leaves_is_merged_again(campaign, actor):
    first = _backer(campaign, email="twin@example.net")
    second = _backer(campaign, email="twin@example.net")
    flag_duplicates(campaign=campaign)
    group = _group_of(first)
    merge_duplicates(group=group, primary=first, actor=actor)
    group.refresh_from_db()
    decided_by, decided_at = group.decided_by_id, group.decided_at

    late = _backer(campaign, email="twin@example.net")
    flag_duplicates(campaign=campaign)
    Backer.objects.filter(pk=late.pk).update(email_normalized="late@example.net")
    assert flag_duplicates(campaign=campaign) == 0
    group.refresh_from_db()
    assert group.status == DuplicateStatus.MERGED
    # the decision is taken back from the merge's events
    assert group.decided_by_id == decided_by
    assert abs(group.decided_at - decided_at) < timedelta(seconds=1)
    assert _members(group) == {first.pk, second.pk}
    assert _group_of(late) is None


def test_a_kept_apart_group_stays_so_until_someone_new_joins(campaign, actor):
    first = _backer(campaign, email="twin@example.net")
    second = _backer(campaign, email="twin@example.net")
    flag_duplicates(campaign=campaign)
    group = _group_of(first)
    keep_apart(group=group, actor=actor, note="twins")

    assert flag_duplicates(campaign=campaign) == 0
    group.refresh_from_db()
    assert group.status == DuplicateStatus.KEPT_APART
    assert group.decided_by == actor
    assert _members(group) == {first.pk, second.pk}

    third = _backer(campaign, email="twin@example.net")
    assert flag_duplicates(campaign=campaign) == 1
    group.refresh_from_db()
    assert group.status == DuplicateStatus.OPEN
    assert (group.decided_by, group.decided_at) == (None, None)
    assert group.member_count == 3
    assert _members(group) == {first.pk, second.pk, third.pk}


def test_a_kept_apart_group_reopens_when_its_members_change(campaign, actor):
    """Same number of members, other members: sets are compared, not counts."""
    first = _backer(campaign, email="twin@example.net")
    second = _backer(campaign, email="twin@example.net")
    third = _backer(campaign, email="third@example.net")
    flag_duplicates(campaign=campaign)
    group = _group_of(first)
    keep_apart(group=group, actor=actor)
    Backer.objects.filter(pk=second.pk).update(email_normalized="second@example.net")
    Backer.objects.filter(pk=third.pk).update(email_normalized="twin@example.net")
    assert flag_duplicates(campaign=campaign) == 1
    group.refresh_from_db()
    assert group.status == DuplicateStatus.OPEN
    assert group.member_count == 2
    assert _members(group) == {first.pk, third.pk}
    assert _group_of(second) is None


def test_a_person_match_joining_a_kept_apart_email_group_reopens_that_group(campaign, actor):
    """An email group keeps its email as its name when a same-person match joins:
    the decided group itself reopens, with the newcomer, for the creator to decide."""
    a, b, c = _email_and_person(campaign)
    Backer.objects.filter(pk=c.pk).update(platform=Platform.KICKSTARTER)  # not a match yet
    flag_duplicates(campaign=campaign)
    kept = _group_of(a)
    assert kept.key == "twin@example.net"
    keep_apart(group=kept, actor=actor)
    Backer.objects.filter(pk=c.pk).update(platform=Platform.INDIEGOGO)
    assert flag_duplicates(campaign=campaign) == 1
    group = _group_of(a)
    assert group.pk == kept.pk
    assert (group.reason, group.key) == (DuplicateReason.SAME_EMAIL, "twin@example.net")
    assert group.status == DuplicateStatus.OPEN
    assert _members(group) == {a.pk, b.pk, c.pk}


def test_a_backer_that_no_longer_matches_leaves_and_a_lone_group_goes(campaign):
    first = _backer(campaign, email="twin@example.net")
    second = _backer(campaign, email="twin@example.net")
    third = _backer(campaign, email="twin@example.net")
    flag_duplicates(campaign=campaign)
    group = _group_of(first)

    Backer.objects.filter(pk=third.pk).update(email_normalized="third@example.net")
    assert flag_duplicates(campaign=campaign) == 1
    group.refresh_from_db()
    assert group.member_count == 2
    assert _members(group) == {first.pk, second.pk}
    assert _group_of(third) is None

    Backer.objects.filter(pk=second.pk).update(email_normalized="second@example.net")
    assert flag_duplicates(campaign=campaign) == 0
    assert not DuplicateGroup.objects.filter(campaign=campaign).exists()
    assert not Backer.objects.filter(campaign=campaign, duplicate_group__isnull=False).exists()


def test_a_decided_group_nothing_matches_any_more_is_kept_as_history(campaign, actor):
    first = _backer(campaign, email="twin@example.net")
    second = _backer(campaign, email="twin@example.net")
    flag_duplicates(campaign=campaign)
    group = _group_of(first)
    keep_apart(group=group, actor=actor)
    Backer.objects.filter(pk=second.pk).update(email_normalized="second@example.net")
    assert flag_duplicates(campaign=campaign) == 0
    group.refresh_from_db()
    assert group.status == DuplicateStatus.KEPT_APART
    assert _members(group) == {first.pk, second.pk}


def test_flagging_twice_changes_nothing(campaign, actor):
    _email_and_person(campaign)
    kept = [_backer(campaign, email="kept@example.net") for _ in range(2)]
    done = [_backer(campaign, email="done@example.net") for _ in range(3)]
    _backer(campaign, email="alone@example.net")
    assert flag_duplicates(campaign=campaign) == 3
    keep_apart(group=_group_of(kept[0]), actor=actor)
    merge_duplicates(group=_group_of(done[0]), primary=done[1], actor=actor)
    first = _state(campaign)
    assert flag_duplicates(campaign=campaign) == 1
    assert _state(campaign) == first
    assert flag_duplicates(campaign=campaign) == 1
    assert _state(campaign) == first


def test_other_campaigns_are_left_alone(campaign):
    other = CampaignFactory(organization=campaign.organization)
    theirs = [_backer(other, email="twin@example.net") for _ in range(2)]
    flag_duplicates(campaign=other)
    ours = [_backer(campaign, email="twin@example.net") for _ in range(2)]
    assert flag_duplicates(campaign=campaign) == 1
    assert _group_of(theirs[0]) != _group_of(ours[0])
    assert _group_of(theirs[0]).campaign == other
    assert _members(_group_of(theirs[0])) == {b.pk for b in theirs}


@pytest.mark.parametrize("platforms", [1, 2])
def test_a_large_campaign_without_duplicates_takes_few_queries(
    campaign, platforms, django_assert_max_num_queries
):
    choices = [Platform.KICKSTARTER, Platform.INDIEGOGO][:platforms]
    Backer.objects.bulk_create(
        Backer(
            campaign=campaign,
            platform=choices[i % platforms],
            platform_backer_id=str(i),
            name=f"Backer {i}",
            email=f"b{i}@example.net",
            email_normalized=f"b{i}@example.net",
        )
        for i in range(1000)
    )
    # the person match costs one query more with several platforms
    with django_assert_max_num_queries(NO_DUPLICATES_QUERY_BOUND + platforms - 1):
        assert flag_duplicates(campaign=campaign) == 0
    assert not DuplicateGroup.objects.exists()
