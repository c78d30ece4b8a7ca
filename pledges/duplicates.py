"""Backers that look like the same person: flagged for the creator to review,
never merged silently. Merging and keeping apart are logged on each backer."""

from django.db import transaction
from django.db.models import Count
from django.db.models.functions import Lower, Trim
from django.utils import timezone

from .errors import PledgesError
from .models import Backer, BackerEvent, Campaign, DuplicateGroup, DuplicateReason, DuplicateStatus


def flag_duplicates(*, campaign: Campaign) -> int:
    """(Re)compute duplicate groups; returns how many groups are open.

    Same normalised email under several backer ids, or the same name, postal code
    and country on several platforms. A group the creator kept apart reopens only
    when a new backer joins it."""
    active = Backer.objects.filter(campaign=campaign, merged_into__isnull=True)
    found: dict[tuple[str, str], list[int]] = {}
    # Materialise the (few) shared emails first: as a subquery PostgreSQL may
    # re-run the GROUP BY for every backer of a 250,000-backer campaign.
    emails = list(
        active.exclude(email_normalized="")
        .values("email_normalized")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values_list("email_normalized", flat=True)
    )
    for email in emails:
        found[(DuplicateReason.SAME_EMAIL, email)] = []
    for start in range(0, len(emails), 500):
        chunk = emails[start : start + 500]
        for backer_id, email in active.filter(email_normalized__in=chunk).values_list(
            "pk", "email_normalized"
        ):
            found[(DuplicateReason.SAME_EMAIL, email)].append(backer_id)

    # The same person on several platforms needs several platforms first; most
    # campaigns import from one, and the grouping below costs a second at 250,000.
    several_platforms = active.order_by().values("platform").distinct()[:2].count() > 1
    people = (
        list(
            active.exclude(name="")
            .exclude(pledges__shipping_postal_code="")
            .annotate(person=Lower(Trim("name")))
            .values("person", "pledges__shipping_postal_code", "pledges__shipping_country")
            .annotate(platforms=Count("platform", distinct=True))
            .filter(platforms__gt=1)
        )
        if several_platforms
        else []
    )
    for start in range(0, len(people), 200):
        chunk = people[start : start + 200]
        keys = {
            (row["person"], row["pledges__shipping_postal_code"], row["pledges__shipping_country"])
            for row in chunk
        }
        postcodes = {postal for _, postal, _ in keys}
        candidates = (
            active.annotate(person=Lower(Trim("name")))
            .filter(pledges__shipping_postal_code__in=postcodes)
            .values_list(
                "pk", "person", "pledges__shipping_postal_code", "pledges__shipping_country"
            )
        )
        for backer_id, person, postal, country in candidates:
            if (person, postal, country) in keys:
                key = f"{person}|{postal}|{country}"
                found.setdefault((DuplicateReason.SAME_PERSON, key), []).append(backer_id)

    with transaction.atomic():
        groups = {
            (g.reason, g.key): g
            for g in DuplicateGroup.objects.select_for_update().filter(campaign=campaign)
        }
        for (reason, key), ids in found.items():
            group = groups.get((reason, key))
            if group is None:
                group = DuplicateGroup.objects.create(
                    campaign=campaign, reason=reason, key=key, member_count=len(ids)
                )
            elif group.status != DuplicateStatus.OPEN and len(ids) > group.member_count:
                group.status = DuplicateStatus.OPEN
                group.member_count = len(ids)
                group.save(update_fields=["status", "member_count"])
            elif group.status == DuplicateStatus.OPEN and group.member_count != len(ids):
                group.member_count = len(ids)
                group.save(update_fields=["member_count"])
            # A backer in two groups (same email and same address) shows in the first.
            Backer.objects.filter(pk__in=ids, duplicate_group__isnull=True).update(
                duplicate_group=group
            )
        # Groups whose members no longer look alike (a re-import fixed an email).
        stale = [
            g.pk for k, g in groups.items() if k not in found and g.status == DuplicateStatus.OPEN
        ]
        if stale:
            Backer.objects.filter(duplicate_group__in=stale).update(duplicate_group=None)
            DuplicateGroup.objects.filter(pk__in=stale).delete()
    return DuplicateGroup.objects.filter(campaign=campaign, status=DuplicateStatus.OPEN).count()


def _open_group(group: DuplicateGroup) -> DuplicateGroup:
    group = DuplicateGroup.objects.select_for_update().get(pk=group.pk)
    if group.status != DuplicateStatus.OPEN:
        raise PledgesError("This group was already decided.")
    return group


def merge_duplicates(*, group: DuplicateGroup, primary: Backer, actor) -> list[Backer]:
    """Merge the group's other backers into `primary`: they stay on record (their
    pledges too) and point at the primary, so later steps build one order."""
    with transaction.atomic():
        group = _open_group(group)
        members = list(
            Backer.objects.select_for_update()
            .filter(duplicate_group=group, merged_into__isnull=True)
            .order_by("pk")
        )
        if primary.pk not in {b.pk for b in members}:
            raise PledgesError("Choose the backer to keep from this group.")
        merged = [b for b in members if b.pk != primary.pk]
        Backer.objects.filter(pk__in=[b.pk for b in merged]).update(merged_into=primary)
        BackerEvent.objects.bulk_create(
            [
                BackerEvent(
                    backer=b,
                    actor=actor,
                    action="merged",
                    detail={"into": primary.pk, "group": group.pk},
                )
                for b in merged
            ]
            + [
                BackerEvent(
                    backer=primary,
                    actor=actor,
                    action="merged_from",
                    detail={"backers": [b.pk for b in merged], "group": group.pk},
                )
            ]
        )
        group.status = DuplicateStatus.MERGED
        group.decided_by, group.decided_at = actor, timezone.now()
        group.save(update_fields=["status", "decided_by", "decided_at"])
    return merged


def keep_apart(*, group: DuplicateGroup, actor, note: str = "") -> None:
    """Record that these backers are different people; they stay separate."""
    with transaction.atomic():
        group = _open_group(group)
        group.status = DuplicateStatus.KEPT_APART
        group.decided_by, group.decided_at, group.note = actor, timezone.now(), note
        group.save(update_fields=["status", "decided_by", "decided_at", "note"])
        BackerEvent.objects.bulk_create(
            BackerEvent(
                backer=b, actor=actor, action="kept_apart", detail={"group": group.pk, "note": note}
            )
            for b in Backer.objects.filter(duplicate_group=group)
        )


def open_duplicate_count(*, campaign: Campaign) -> int:
    return DuplicateGroup.objects.filter(campaign=campaign, status=DuplicateStatus.OPEN).count()
