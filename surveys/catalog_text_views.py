"""Back-office page that translates what backers read of the catalog (reward
titles, choice groups and options, add-ons, regional editions) into the
survey's extra languages."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.permissions import role_can
from pledges.selectors import campaign_for

from .navigation import survey_context
from .services.catalog_texts import (
    MAX_LENGTHS,
    CatalogTextInvalid,
    TranslatableCatalog,
    catalog_texts,
    save_catalog_texts,
    translatable_catalog,
)
from .services.responses import survey_for

VIEW, CHANGE = "surveys.view", "surveys.change"
INVALID = 400

KIND_LABELS = {
    "reward": "Reward",
    "group": "Choice",
    "option": "Option",
    "offer": "Add-on",
    "offer_description": "Description",
    "rule": "Regional edition",
}


@dataclass(frozen=True)
class Text:
    """One catalog text as the page lists it."""

    kind: str
    id: int
    original: str
    context: str = ""  # what it belongs to: "of Core box"
    note: str = ""
    is_part: bool = False  # an option under its group, a description under its add-on

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


def _sections(catalog: TranslatableCatalog) -> list[tuple[str, list[Text]]]:
    groups = []
    for group in catalog.groups:
        owner = group.reward if group.reward_id is not None else group.addon_offer
        if group.reward_id is not None:
            context = f"of the reward “{owner.title}”" if owner else ""
        else:
            context = f"of the add-on “{owner.name}”" if owner else ""
        groups.append(Text("group", group.pk, group.name, context=context))
        groups += [
            Text("option", option.pk, option.label, is_part=True) for option in group.options.all()
        ]
    offers = []
    for offer in catalog.offers:
        offers.append(Text("offer", offer.pk, offer.name))
        offers.append(Text("offer_description", offer.pk, offer.description, is_part=True))
    rules = [
        Text(
            "rule",
            rule.pk,
            rule.name,
            note=""
            if rule.backer_can_override
            else "Not shown to backers: they cannot keep the original edition.",
        )
        for rule in catalog.rules
    ]
    sections = [
        ("Rewards", [Text("reward", reward.pk, reward.title) for reward in catalog.rewards]),
        ("Choice groups and options", groups),
        ("Add-ons", offers),
        ("Regional editions", rules),
    ]
    return [(title, texts) for title, texts in sections if texts]


class CatalogTextsForm(forms.Form):
    """A text field per catalog text and extra language, named "<language>-<kind>-<id>"."""

    def __init__(self, *args, texts: list[Text], languages, stored: dict, read_only, **kwargs):
        super().__init__(*args, **kwargs)
        self.languages = list(languages)
        self.keys: dict[str, tuple[str, str]] = {}  # field name → (language, key)
        for language in self.languages:
            for text in texts:
                name = self.field_name(language, text)
                self.fields[name] = forms.CharField(
                    required=False,
                    max_length=MAX_LENGTHS[text.kind],
                    initial=stored[language].get(text.key, ""),
                    disabled=read_only,
                    widget=forms.Textarea(attrs={"rows": 3})
                    if text.kind == "offer_description"
                    else forms.TextInput,
                )
                self.keys[name] = (language, text.key)

    @staticmethod
    def field_name(language: str, text: Text) -> str:
        return f"{language}-{text.kind}-{text.id}"

    def texts(self, language: str) -> dict[str, str]:
        return {
            key: self.cleaned_data.get(name, "")
            for name, (code, key) in self.keys.items()
            if code == language
        }


def _save(form: CatalogTextsForm, survey, actor) -> bool:
    """Save every language or none; a refusal is shown next to its field."""
    language = None
    try:
        with transaction.atomic():
            for language in form.languages:
                save_catalog_texts(
                    survey=survey, language=language, texts=form.texts(language), actor=actor
                )
    except CatalogTextInvalid as exc:
        name = next(
            (n for n, (code, key) in form.keys.items() if (code, key) == (language, exc.field)),
            None,
        )
        form.add_error(name, exc.message)
        return False
    return True


@login_required
@require_http_methods(["GET", "POST"])
def survey_translations(request, slug):
    action = CHANGE if request.method == "POST" else VIEW
    campaign, role = campaign_for(user=request.user, slug=slug, action=action)
    survey = survey_for(campaign)
    survey.campaign = campaign  # already loaded with its organization
    can_change = role_can(role, CHANGE)
    languages = [code for code in survey.languages if code != "en"]
    sections = _sections(translatable_catalog(campaign=campaign))
    texts = [text for _title, section in sections for text in section]
    stored = {code: dict(catalog_texts(survey=survey, language=code).own) for code in languages}
    form = CatalogTextsForm(
        request.POST if request.method == "POST" else None,
        texts=texts,
        languages=languages,
        stored=stored,
        read_only=not can_change,
    )
    status = 200
    if form.is_bound:
        status = INVALID
        if form.is_valid() and _save(form, survey, request.user):
            messages.success(request, "Translations saved.")
            return redirect("survey-translations", campaign.slug)
    names = dict(settings.LANGUAGES)
    tables = [
        {
            "code": code,
            "name": names.get(code, code),
            "sections": [
                (title, [(text, form[form.field_name(code, text)]) for text in section])
                for title, section in sections
            ],
        }
        for code in languages
    ]
    context = survey_context(campaign, role, "survey-translations", survey=survey)
    context.update(form=form, tables=tables, can_change=can_change, catalog_empty=not sections)
    return render(request, "surveys/design/translations.html", context, status=status)
