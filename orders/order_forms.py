"""Forms of the orders back office: the list's filters, bulk actions, and the
staff actions on one order (clear a hold, accept an address, unlock, merge)."""

from __future__ import annotations

from django import forms
from django.http import QueryDict
from django_countries import countries

from .models import HoldReason, OrderState, Tag
from .selectors import FILTER_KEYS

YES_NO = [("", "Any"), ("yes", "Yes"), ("no", "No")]


class OrderFilterForm(forms.Form):
    """The order list's filters; the same values are what a segment saves.
    Invalid values are dropped (the valid ones still apply)."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.SearchInput(attrs={"placeholder": "Number, name or email"}),
    )
    country = forms.ChoiceField(label="Country", required=False)
    reward = forms.ChoiceField(label="Reward", required=False)
    addon_sku = forms.CharField(label="Add-on SKU", required=False, max_length=64)
    hold = forms.ChoiceField(
        label="Open hold", required=False, choices=[("", "Any"), *HoldReason.choices]
    )
    state = forms.MultipleChoiceField(
        label="State",
        required=False,
        choices=OrderState.choices,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    tags = forms.MultipleChoiceField(
        label="Tags (all of)", required=False, widget=forms.SelectMultiple(attrs={"size": 4})
    )
    exported = forms.ChoiceField(label="Exported", required=False, choices=YES_NO)
    paid = forms.ChoiceField(label="Paid", required=False, choices=YES_NO)
    address = forms.ChoiceField(
        label="Address",
        required=False,
        choices=[("", "Any"), ("ok", "Valid or accepted"), ("problem", "Not valid yet")],
    )

    def __init__(self, data=None, *, campaign, tags=None, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["country"].choices = [("", "Any"), *countries]
        rewards = campaign.rewards.order_by("minimum", "title", "pk").values_list("pk", "title")
        self.fields["reward"].choices = [("", "Any"), *((str(pk), t) for pk, t in rewards)]
        tags = tags if tags is not None else Tag.objects.filter(campaign=campaign)
        self.fields["tags"].choices = [(str(tag.pk), tag.name) for tag in tags]

    def filters(self) -> dict:
        """The valid, non-empty filter values (invalid ones dropped one by one)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        values = {}
        for key in FILTER_KEYS:
            if key in self.errors:
                continue
            value = self.cleaned_data.get(key)
            if value:
                values[key] = value
        return values

    @property
    def ignored(self) -> bool:
        return self.is_bound and bool(self.errors)


def filters_query(filters: dict) -> QueryDict:
    """A segment's (or a form's) filters as the list's query string."""
    query = QueryDict(mutable=True)
    for key in FILTER_KEYS:
        value = filters.get(key)
        if isinstance(value, (list, tuple)):
            query.setlist(key, [str(v) for v in value])
        elif value:
            query[key] = str(value)
    return query


class SelectedOrdersForm(forms.Form):
    """Orders ticked on a list page (ids; other campaigns' ids are ignored later)."""

    orders = forms.TypedMultipleChoiceField(coerce=int, required=True)

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        # Any integer is accepted here; the service keeps only the campaign's orders.
        values = data.getlist("orders") if data is not None else []
        self.fields["orders"].choices = [(v, v) for v in values if str(v).isdigit()]


class BulkTagForm(SelectedOrdersForm):
    action = forms.ChoiceField(choices=[("add", "Add tag"), ("remove", "Remove tag")])
    tag = forms.CharField(
        label="Tag",
        max_length=60,
        help_text="An existing tag's name, or a new one.",
    )


class TagForm(forms.Form):
    name = forms.CharField(label="Name", max_length=60)
    colour = forms.CharField(
        label="Colour",
        max_length=7,
        initial="#6b7280",
        widget=forms.TextInput(attrs={"type": "color"}),
    )


class SegmentForm(forms.Form):
    name = forms.CharField(label="Segment name", max_length=80)


class NoteForm(forms.Form):
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "Why it can go (optional)"}),
    )


class ReasonForm(forms.Form):
    """Staff actions that bypass a check need a reason: accept an address, unlock."""

    reason = forms.CharField(
        label="Reason", max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class MergeForm(forms.Form):
    number = forms.IntegerField(label="Order number to merge into this one", min_value=1)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class ReviewFilterForm(forms.Form):
    reason = forms.ChoiceField(
        label="Reason", required=False, choices=[("", "Any"), *HoldReason.choices]
    )
    country = forms.ChoiceField(label="Country", required=False)

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["country"].choices = [("", "Any"), *countries]

    def values(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {"reason": "", "country": ""}
        return {"reason": self.cleaned_data["reason"], "country": self.cleaned_data["country"]}


class ReviewBulkForm(forms.Form):
    """Bulk action on the ticked holds of the review queue."""

    ACTIONS = [
        ("clear", "Clear the holds"),
        ("email", "Email the backers to fix"),
        ("tag", "Add a tag to the orders"),
    ]
    holds = forms.TypedMultipleChoiceField(coerce=int)
    action = forms.ChoiceField(choices=ACTIONS)
    note = forms.CharField(label="Note", required=False, max_length=500)
    tag = forms.CharField(label="Tag", required=False, max_length=60)

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        values = data.getlist("holds") if data is not None else []
        self.fields["holds"].choices = [(v, v) for v in values if str(v).isdigit()]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "clear" and not (cleaned.get("note") or "").strip():
            self.add_error("note", "Say why these holds can be cleared.")
        if cleaned.get("action") == "tag" and not (cleaned.get("tag") or "").strip():
            self.add_error("tag", "Name the tag to add.")
        return cleaned
