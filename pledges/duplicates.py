"""Backers that look like the same person: flagged for the creator to review,
never merged silently. Merging and keeping apart are logged on each backer, and
reach the group's orders once the decision is committed: kept apart, each order is
rebuilt (the duplicate hold goes); merged, the merged backers' orders are merged into
the primary's (one parcel)."""

from collections import defaultdict

from django.db import transaction
from django.db.models import Count
from django.db.models.functions import Lower, Trim
from django.utils import timezone

from .errors import PledgesError
from .models import Backer, BackerEvent, Campaign, DuplicateGroup, DuplicateReason, DuplicateStatus

# Rows per `pk__in` of the bulk updates.
CHUNK = 1000

Key = tuple[str, str]  # (reason, key)


def flag_duplicates(*, campaign: Campaign) -> int:
    """(Re)compute duplicate groups; returns how many groups are open.

    Same normalised email under several backer ids, or the same name, postal code
    and country on several platforms. Matches that share a backer make one group
    (a backer has one group). A decided group (merged, kept apart) reopens only
    when a backer not in it yet joins it; backers that no longer match leave."""
    active = Backer.objects.filter(campaign=campaign, merged_into__isnull=True)
    components = _components(_matches(active))
    with transaction.atomic():
        _persist(campaign, components)
    return open_duplicate_count(campaign=campaign)


def _matches(active) -> dict[Key, set[int]]:
    """Every set of active backers that match by one rule, by (reason, key)."""
    found: dict[Key, set[int]] = {}
    # Materialise the (few) shared emails first: as a subquery PostgreSQL may
    # re-run the GROUP BY for every backer of a 250,000-backer campaign.
    emails = list(
        active.exclude(email_normalized="")
        .values("email_normalized")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values_list("email_normalized", flat=True)
    )
    for start in range(0, len(emails), 500):
        chunk = emails[start : start + 500]
        for backer_id, email in active.filter(email_normalized__in=chunk).values_list(
            "pk", "email_normalized"
        ):
            found.setdefault((DuplicateReason.SAME_EMAIL, email), set()).add(backer_id)

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
                found.setdefault((DuplicateReason.SAME_PERSON, key), set()).add(backer_id)
    return {k: ids for k, ids in found.items() if len(ids) > 1}


def _components(found: dict[Key, set[int]]) -> dict[Key, set[int]]:
    """Matches sharing a backer joined into one group (union-find over backer ids),
    by identity: same_email if any match is one, and the smallest key of that reason."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        top = x
        while parent.setdefault(top, top) != top:
            top = parent[top]
        while parent[x] != top:  # path compression
            parent[x], x = top, parent[x]
        return top

    for ids in found.values():
        first, *others = ids
        top = root(first)
        for other in others:
            other_top = root(other)
            if other_top != top:
                parent[other_top] = top

    keys: dict[int, list[Key]] = defaultdict(list)
    for match, ids in found.items():
        keys[root(next(iter(ids)))].append(match)
    members: dict[int, set[int]] = defaultdict(set)
    for backer_id in list(parent):
        members[root(backer_id)].add(backer_id)

    components = {}
    for top, matches in keys.items():
        reason = (
            DuplicateReason.SAME_EMAIL
            if any(r == DuplicateReason.SAME_EMAIL for r, _ in matches)
            else DuplicateReason.SAME_PERSON
        )
        # The key shown is one of the reason's own (an email for same_email).
        key = min(k for r, k in matches if r == reason)
        components[(str(reason), key)] = members[top]
    return components


def _persist(campaign: Campaign, components: dict[Key, set[int]]) -> None:
    groups = list(DuplicateGroup.objects.select_for_update().filter(campaign=campaign))
    by_identity = {(g.reason, g.key): g for g in groups}
    attached: dict[int, set[int]] = defaultdict(set)  # group → its active backers
    merged: dict[int, set[int]] = defaultdict(set)  # group → backers its merged ones point at
    rows = Backer.objects.filter(campaign=campaign, duplicate_group__isnull=False).order_by()
    for backer_id, group_id, into in rows.values_list("pk", "duplicate_group_id", "merged_into_id"):
        if into is None:
            attached[group_id].add(backer_id)
        else:
            merged[group_id].add(into)

    new = [
        DuplicateGroup(campaign=campaign, reason=reason, key=key, member_count=len(ids))
        for (reason, key), ids in components.items()
        if (reason, key) not in by_identity
    ]
    if new:
        new = DuplicateGroup.objects.bulk_create(new, batch_size=CHUNK)
        if any(g.pk is None for g in new):  # a backend that returns no ids
            new = DuplicateGroup.objects.filter(
                campaign=campaign, key__in=[g.key for g in new]
            ).exclude(pk__in=[g.pk for g in groups])
        by_identity.update({(g.reason, g.key): g for g in new})

    matched = set().union(*components.values())
    attach: dict[int, list[int]] = {}
    changed: list[DuplicateGroup] = []
    claimed: dict[int, set[int]] = {}
    for identity, ids in components.items():
        group = by_identity[identity]
        claimed[group.pk] = ids
        joining = ids - attached.get(group.pk, set())
        dirty = group.member_count != len(ids)
        group.member_count = len(ids)
        if joining:
            attach[group.pk] = sorted(joining)
            if group.status != DuplicateStatus.OPEN:  # someone new: the creator decides again
                group.status, group.decided_by, group.decided_at = DuplicateStatus.OPEN, None, None
                dirty = True
        if dirty:
            changed.append(group)

    detach: list[int] = []
    stale: list[int] = []
    remerged: list[DuplicateGroup] = []
    for group in groups:
        ids = claimed.get(group.pk)
        leaving = [pk for pk in attached.get(group.pk, ()) if pk not in matched]
        if ids is not None:
            detach += leaving  # no longer look alike (a re-import fixed an email)
        elif group.status == DuplicateStatus.OPEN:
            primaries = merged.get(group.pk)
            if primaries:
                # Reopened after a merge and the newcomers left: merged again, the
                # merged backers and whom they were merged into stay attached.
                detach += [pk for pk in leaving if pk not in primaries]
                remerged.append(group)
            else:
                detach += leaving
                stale.append(group.pk)
        # A decided group nothing matches any more stays as it is, as history.

    for group_id, ids in attach.items():
        for start in range(0, len(ids), CHUNK):
            Backer.objects.filter(pk__in=ids[start : start + CHUNK]).update(
                duplicate_group_id=group_id
            )
    detach.sort()
    for start in range(0, len(detach), CHUNK):
        Backer.objects.filter(pk__in=detach[start : start + CHUNK]).update(duplicate_group=None)
    for group in remerged:
        last = (
            BackerEvent.objects.filter(action="merged_from", detail__group=group.pk)
            .order_by("-created_at", "-pk")
            .first()
        )
        group.status = DuplicateStatus.MERGED
        group.decided_by_id, group.decided_at = (
            (last.actor_id, last.created_at) if last else (None, None)
        )
        changed.append(group)
    if changed:
        DuplicateGroup.objects.bulk_update(
            changed, ["status", "decided_by", "decided_at", "member_count"], batch_size=CHUNK
        )
    if stale:
        DuplicateGroup.objects.filter(pk__in=stale).delete()


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
    _orders_follow(primary=primary, backers=merged, actor=actor)
    return merged


def keep_apart(*, group: DuplicateGroup, actor, note: str = "") -> None:
    """Record that these backers are different people; they stay separate."""
    with transaction.atomic():
        group = _open_group(group)
        group.status = DuplicateStatus.KEPT_APART
        group.decided_by, group.decided_at, group.note = actor, timezone.now(), note
        group.save(update_fields=["status", "decided_by", "decided_at", "note"])
        members = list(Backer.objects.filter(duplicate_group=group).order_by("pk"))
        BackerEvent.objects.bulk_create(
            BackerEvent(
                backer=b, actor=actor, action="kept_apart", detail={"group": group.pk, "note": note}
            )
            for b in members
        )
    _orders_follow(primary=None, backers=members, actor=actor)


def _orders_follow(*, primary: Backer | None, backers: list[Backer], actor) -> None:
    """After a decision committed: the orders of the group's backers follow it, one
    backer at a time (a group is a handful). With a `primary` (a merge), each of
    `backers`' live orders is merged into the primary's order (built first if the
    primary has none yet), which is then rebuilt; without one (kept apart), each
    backer's order is rebuilt, so the duplicate hold clears. Backers without an order
    get none here (the next build makes them). An order that can no longer change
    (locked or further on) stays as it is, with a note on its timeline.

    Pledges reach orders only here, through orders' own services (imported when
    needed: orders depend on pledges, not the other way)."""
    from inventory.bom import BomError
    from orders.errors import OrdersError
    from orders.events import order_event_create
    from orders.models import EventKind, Order, OrderState
    from orders.services.building import build_order_for_backer, merge_orders

    ids = [b.pk for b in backers] + ([primary.pk] if primary is not None else [])
    orders = {
        order.backer_id: order
        for order in Order.objects.filter(
            backer_id__in=ids, kind="standard", merged_into__isnull=True
        )
        .exclude(state=OrderState.CANCELLED)
        .order_by("pk")
    }

    def note(order, text: str) -> None:
        order_event_create(order=order, kind=EventKind.NOTE, actor=actor, message=text)

    if primary is None:
        for backer in backers:
            order = orders.get(backer.pk)
            if order is None:
                continue
            try:
                build_order_for_backer(backer=backer, actor=actor)
            except (OrdersError, BomError) as exc:
                note(order, f"Backer kept apart from look-alikes; order not rebuilt: {exc}")
        return

    keep = orders.get(primary.pk)
    rebuilt = False
    for backer in backers:
        order = orders.get(backer.pk)
        if order is None:
            continue
        try:
            if keep is None:
                keep = build_order_for_backer(backer=primary, actor=actor)
            keep = merge_orders(keep=keep, merge=order, actor=actor)
            rebuilt = True
        except (OrdersError, BomError) as exc:
            note(order, f"Backer merged into another; order not merged: {exc}")
    if keep is not None and not rebuilt:
        try:
            build_order_for_backer(backer=primary, actor=actor)
        except (OrdersError, BomError) as exc:
            note(keep, f"Look-alike backers merged into this one; order not rebuilt: {exc}")


def open_duplicate_count(*, campaign: Campaign) -> int:
    return DuplicateGroup.objects.filter(campaign=campaign, status=DuplicateStatus.OPEN).count()
