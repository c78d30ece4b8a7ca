"""Refused actions of the orders back-office pages (tags, segments, review queue)."""

from .errors import OrdersError


class TagNameTaken(OrdersError):
    """Another tag of the campaign already has this name."""

    code = "tag_name_taken"
    default_field = "name"


class TagNameRequired(OrdersError):
    code = "tag_name_required"
    default_field = "name"


class SegmentInvalid(OrdersError):
    """A segment without a name or without any filter."""

    code = "segment_invalid"
    default_field = "name"


class NoteRequired(OrdersError):
    """Clearing holds in bulk needs a note saying why."""

    code = "note_required"
    default_field = "note"
