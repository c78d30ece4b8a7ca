"""Forms of the export and lock pages."""

from django import forms

from ..models import ExportLayout
from .fields import FIELD_LIST, LINE
from .writers import CSV, FORMATS


class ExportForm(forms.Form):
    template = forms.ChoiceField(label="Column template")
    fmt = forms.ChoiceField(label="Format", choices=list(FORMATS.items()), initial=CSV)
    include_exported = forms.BooleanField(
        label="Include orders already exported",
        required=False,
        help_text="Off: only locked orders that no export has carried yet.",
    )

    def __init__(self, *args, templates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [(t.name, t.name) for t in templates]


class TemplateCreateForm(forms.Form):
    name = forms.CharField(max_length=80)
    layout = forms.ChoiceField(choices=ExportLayout.choices)


def field_choices(layout: str) -> list[tuple[str, str]]:
    """The fields a column of `layout` may show (line fields only one row per line)."""
    return [
        (f.key, f.label) for f in FIELD_LIST if f.level != LINE or layout == ExportLayout.PER_LINE
    ]


def posted_columns(data) -> list[dict]:
    """The editor's columns as posted: field_0/header_0, field_1/header_1, …"""
    columns = []
    index = 0
    while f"field_{index}" in data:
        columns.append({"field": data[f"field_{index}"], "header": data.get(f"header_{index}", "")})
        index += 1
    return columns


def apply_editor_action(columns: list[dict], action: str, add_field: str) -> list[dict]:
    """One editor button: add (add_field), remove-N, up-N, down-N; save changes nothing."""
    columns = list(columns)
    verb, _, position = action.partition("-")
    if verb == "add" and add_field:
        columns.append({"field": add_field, "header": ""})
        return columns
    if not position.isdigit() or int(position) >= len(columns):
        return columns
    n = int(position)
    if verb == "remove":
        del columns[n]
    elif verb == "up" and n > 0:
        columns[n - 1], columns[n] = columns[n], columns[n - 1]
    elif verb == "down" and n < len(columns) - 1:
        columns[n + 1], columns[n] = columns[n], columns[n + 1]
    return columns
