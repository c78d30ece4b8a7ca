"""The late-pledge store's form. It validates input only;
surveys.services.late_pledges.create_late_pledge decides and saves."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django_countries import countries


class LatePledgeForm(forms.Form):
    """Who buys: name, email (where the survey link goes) and the destination country."""

    name = forms.CharField(
        label=_("Your name"),
        max_length=300,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("Your email address"),
        max_length=254,
        help_text=_("We send your personal survey link here."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    country = forms.ChoiceField(
        label=_("Country we ship to"),
        widget=forms.Select(attrs={"autocomplete": "country"}),
        error_messages={"invalid_choice": _("Choose a valid country.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built per form: country names in the language the page is shown in.
        self.fields["country"].choices = [("", _("Choose…")), *countries]

    def clean_name(self) -> str:
        return " ".join(self.cleaned_data["name"].split())
