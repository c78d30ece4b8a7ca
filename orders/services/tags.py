"""Tags on orders: the campaign's tag list, and tagging orders in bulk.

Bulk tagging is set-based (one insert or delete of M2M rows, one batch of
OrderEvents, one per order that changed), and only ever touches orders of the
tag's own campaign, whatever ids a form posts."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction

from ..errors_pages import TagNameRequired, TagNameTaken
from ..events import order_events_bulk_create
from ..models import EventKind, Order, Tag

DEFAULT_COLOUR = "#6b7280"
OrderTag = Order.tags.through


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise TagNameRequired("Give the tag a name.")
    return name


def _name_free(*, campaign, name: str, exclude_pk: int | None = None) -> None:
    taken = Tag.objects.filter(campaign=campaign, name__iexact=name)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise TagNameTaken(f"There is already a tag “{name}”.")


def create_tag(*, campaign, name: str, colour: str = DEFAULT_COLOUR) -> Tag:
    """A new tag of the campaign; names are unique per campaign, ignoring case."""
    name = _clean_name(name)
    with transaction.atomic():
        _name_free(campaign=campaign, name=name)
        try:
            with transaction.atomic():
                return Tag.objects.create(
                    campaign=campaign, name=name, colour=colour or DEFAULT_COLOUR
                )
        except IntegrityError as exc:  # a concurrent create of the same name
            raise TagNameTaken(f"There is already a tag “{name}”.") from exc


def tag_by_name(*, campaign, name: str) -> Tag:
    """The campaign's tag called `name` (any case), created when there is none."""
    name = _clean_name(name)
    tag = Tag.objects.filter(campaign=campaign, name__iexact=name).first()
    return tag or create_tag(campaign=campaign, name=name)


def rename_tag(*, tag: Tag, name: str, colour: str | None = None) -> Tag:
    """Rename (and recolour) a tag; the orders keep it."""
    name = _clean_name(name)
    with transaction.atomic():
        _name_free(campaign=tag.campaign_id, name=name, exclude_pk=tag.pk)
        tag.name = name
        if colour:
            tag.colour = colour
        tag.save(update_fields=["name", "colour"])
    return tag


def delete_tag(*, tag: Tag, actor=None) -> int:
    """Delete a tag; each order that carried it gets a timeline entry. Returns how
    many orders lost it."""
    with transaction.atomic():
        order_ids = list(
            OrderTag.objects.filter(tag=tag).order_by("order_id").values_list("order_id", flat=True)
        )
        order_events_bulk_create(
            order_ids=order_ids,
            kind=EventKind.TAG,
            actor=actor,
            message=f"Tag “{tag.name}” deleted",
            before={"tag": tag.name},
        )
        tag.delete()
    return len(order_ids)


def _campaign_order_ids(tag: Tag, order_ids: Iterable[int]) -> set[int]:
    ids = {int(pk) for pk in order_ids}
    return set(
        Order.objects.filter(campaign_id=tag.campaign_id, pk__in=ids).values_list("pk", flat=True)
    )


def tag_orders(*, tag: Tag, order_ids: Iterable[int], actor=None) -> int:
    """Put `tag` on the given orders of its campaign (others are ignored). Orders that
    already carry it are left alone. Returns how many orders got it."""
    with transaction.atomic():
        wanted = _campaign_order_ids(tag, order_ids)
        have = set(
            OrderTag.objects.filter(tag=tag, order_id__in=wanted).values_list("order_id", flat=True)
        )
        new = sorted(wanted - have)
        OrderTag.objects.bulk_create(
            [OrderTag(order_id=pk, tag_id=tag.pk) for pk in new],
            ignore_conflicts=True,
            batch_size=5000,
        )
        order_events_bulk_create(
            order_ids=new,
            kind=EventKind.TAG,
            actor=actor,
            message=f"Tagged “{tag.name}”",
            after={"added": tag.name},
        )
    return len(new)


def untag_orders(*, tag: Tag, order_ids: Iterable[int], actor=None) -> int:
    """Take `tag` off the given orders of its campaign. Returns how many lost it."""
    with transaction.atomic():
        wanted = _campaign_order_ids(tag, order_ids)
        rows = OrderTag.objects.filter(tag=tag, order_id__in=wanted)
        had = sorted(rows.values_list("order_id", flat=True))
        rows.delete()
        order_events_bulk_create(
            order_ids=had,
            kind=EventKind.TAG,
            actor=actor,
            message=f"Untagged “{tag.name}”",
            before={"removed": tag.name},
        )
    return len(had)
