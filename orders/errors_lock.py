"""Refused actions of locking and warehouse exports (each with a stable `code`)."""

from .errors import OrdersError


class OrderNotLocked(OrdersError):
    """Only a locked order can be unlocked."""

    code = "order_not_locked"


class SegmentNotFound(OrdersError):
    code = "segment_not_found"
    default_field = "segment"


class NothingToExport(OrdersError):
    """No locked order is left to export (already exported ones need an explicit choice)."""

    code = "nothing_to_export"
    default_field = "include_exported"
    exported_before = False  # every locked order went before (the choice would send them)


class ExportFormatUnknown(OrdersError):
    code = "export_format_unknown"
    default_field = "format"


class ExportTemplateUnknown(OrdersError):
    code = "export_template_unknown"
    default_field = "template"


class ExportTemplateInvalid(OrdersError):
    """A column template that names an unknown field, a line field in a one-row-per-order
    layout, no columns, or a name already taken."""

    code = "export_template_invalid"
    default_field = "columns"
