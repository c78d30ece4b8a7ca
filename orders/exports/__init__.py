"""Exports for warehouses: the field registry and built-in column templates
(`fields`), the streamed rows (`rows`), CSV/XLSX writers (`writers`) and the
actions that run an export and keep the creator's templates (`services`)."""

from .fields import BUILTIN_TEMPLATES, FIELD_LIST, FIELDS, ColumnTemplate

__all__ = ["BUILTIN_TEMPLATES", "FIELDS", "FIELD_LIST", "ColumnTemplate"]
