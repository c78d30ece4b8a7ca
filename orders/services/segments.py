"""Segments: a saved filter over a campaign's orders ("EU pilot", "needs a look")."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction

from ..errors_pages import SegmentInvalid
from ..models import Segment
from ..selectors import FILTER_KEYS


def clean_filters(filters: Mapping) -> dict:
    """Only the known keys, without empty values; lists stay lists (sorted strings)."""
    cleaned: dict = {}
    for key in FILTER_KEYS:
        value = filters.get(key)
        if isinstance(value, (list, tuple)):
            value = sorted(str(v) for v in value if str(v))
        elif value is not None:
            value = str(value).strip()
        if value:
            cleaned[key] = value
    return cleaned


def save_segment(*, campaign, name: str, filters: Mapping, actor=None) -> Segment:
    """Save `filters` as the segment `name`; a segment of that name is replaced
    (saving the same name again updates it)."""
    name = " ".join((name or "").split())
    if not name:
        raise SegmentInvalid("Give the segment a name.")
    cleaned = clean_filters(filters)
    if not cleaned:
        raise SegmentInvalid("Pick at least one filter before saving a segment.")
    with transaction.atomic():
        segment = (
            Segment.objects.select_for_update().filter(campaign=campaign, name__iexact=name).first()
        )
        if segment is None:
            return Segment.objects.create(
                campaign=campaign,
                name=name,
                filters=cleaned,
                created_by=actor if actor is not None and not isinstance(actor, str) else None,
            )
        segment.filters = cleaned
        segment.save(update_fields=["filters"])
        return segment


def delete_segment(*, segment: Segment) -> None:
    """Delete a saved segment (the orders are not touched)."""
    segment.delete()
