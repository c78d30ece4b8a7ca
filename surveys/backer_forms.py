"""Forms of the backer's survey steps. They validate input only; the services
in surveys/services/responses.py decide and save."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from stdnum.eu import vat as eu_vat

from inventory import bom

from .models import QuestionKind
from .services.catalog_texts import CatalogTexts


class ChoicesForm(forms.Form):
    """One field per choice group the backer has (reward and bought add-ons),
    plus "keep the original edition" for regional rules backers may decline."""

    def __init__(
        self,
        *args,
        groups: list[bom.CatalogGroup],
        rules=(),
        texts: CatalogTexts | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.groups = groups
        texts = texts or CatalogTexts()
        for group in groups:
            picks = group.picks
            options = [(str(o.id), texts.option(o.id, o.label)) for o in group.options]
            group_name = texts.group(group.id, group.name)
            name = f"group_{group.id}"
            if picks == 1:
                self.fields[name] = forms.ChoiceField(
                    label=group_name, choices=options, widget=forms.RadioSelect
                )
            elif group.allow_repeats:
                for n in range(picks):
                    self.fields[f"{name}_{n}"] = forms.ChoiceField(
                        label=f"{group_name} ({n + 1}/{picks})",
                        choices=[("", _("Choose…")), *options],
                    )
            else:
                self.fields[name] = forms.MultipleChoiceField(
                    label=group_name,
                    choices=options,
                    widget=forms.CheckboxSelectMultiple,
                    help_text=ngettext("Choose %(n)s.", "Choose %(n)s.", picks) % {"n": picks},
                )
            self.fields[name if name in self.fields else f"{name}_0"].group_picks = picks
        for rule in rules:
            self.fields[f"keep_{rule.id}"] = forms.BooleanField(
                required=False,
                label=_("Keep the original edition instead of “%(name)s”")
                % {"name": texts.rule(rule.id, rule.name)},
            )

    def clean(self):
        data = super().clean()
        for group in self.groups:
            name = f"group_{group.id}"
            field = self.fields.get(name)
            if isinstance(field, forms.MultipleChoiceField):
                picked = data.get(name) or []
                if len(picked) != field.group_picks:
                    self.add_error(
                        name,
                        ngettext(
                            "Choose exactly %(n)s.", "Choose exactly %(n)s.", field.group_picks
                        )
                        % {"n": field.group_picks},
                    )
        return data

    def initial_from(self, choices: dict, opt_outs) -> dict:
        initial = {}
        for group in self.groups:
            picked = [str(o) for o in choices.get(str(group.id), [])]
            name = f"group_{group.id}"
            if name in self.fields:
                field = self.fields[name]
                initial[name] = (
                    picked
                    if isinstance(field, forms.MultipleChoiceField)
                    else (picked[0] if picked else None)
                )
            else:
                for n, value in enumerate(picked):
                    initial[f"{name}_{n}"] = value
        for rule_id in opt_outs:
            initial[f"keep_{rule_id}"] = True
        return initial

    def choices(self) -> dict[int, list[int]]:
        result: dict[int, list[int]] = {}
        for group in self.groups:
            name = f"group_{group.id}"
            if name in self.cleaned_data:
                value = self.cleaned_data[name]
                values = value if isinstance(value, list) else [value]
            else:
                values = [
                    self.cleaned_data[key]
                    for key in sorted(self.cleaned_data)
                    if key.startswith(f"{name}_")
                ]
            result[group.id] = [int(v) for v in values if v]
        return result

    def opt_outs(self) -> list[int]:
        return [
            int(name.removeprefix("keep_"))
            for name, value in self.cleaned_data.items()
            if name.startswith("keep_") and value
        ]


class AddOnsForm(forms.Form):
    """A quantity per offer on sale to this backer (0 = none)."""

    def __init__(self, *args, offers, texts: CatalogTexts | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.offers = offers
        texts = texts or CatalogTexts()
        for offer in offers:
            top = offer.per_backer_limit if offer.per_backer_limit is not None else 99
            self.fields[f"offer_{offer.pk}"] = forms.IntegerField(
                label=texts.offer(offer.pk, offer.name),
                min_value=0,
                max_value=top,
                initial=0,
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "qty"}),
            )

    def quantities(self) -> dict[int, int]:
        return {offer.pk: self.cleaned_data[f"offer_{offer.pk}"] or 0 for offer in self.offers}


class QuestionsForm(forms.Form):
    """The custom questions, in the backer's language."""

    def __init__(self, *args, questions, language: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = questions
        for question in questions:
            text = question.text(language)
            name = f"q_{question.pk}"
            common = {
                "label": text["label"],
                "help_text": text["help_text"],
                "required": question.required,
            }
            options = list(enumerate(text["options"]))
            kind = question.kind
            if kind == QuestionKind.SHORT_TEXT:
                field = forms.CharField(max_length=500, **common)
            elif kind == QuestionKind.LONG_TEXT:
                field = forms.CharField(
                    max_length=5000, widget=forms.Textarea(attrs={"rows": 4}), **common
                )
            elif kind == QuestionKind.SINGLE_CHOICE:
                field = forms.ChoiceField(
                    choices=[(str(i), label) for i, label in options],
                    widget=forms.RadioSelect,
                    **common,
                )
            elif kind == QuestionKind.MULTI_CHOICE:
                field = forms.MultipleChoiceField(
                    choices=[(str(i), label) for i, label in options],
                    widget=forms.CheckboxSelectMultiple,
                    **common,
                )
            elif kind == QuestionKind.CHECKBOX:
                field = forms.BooleanField(**common)
            elif kind == QuestionKind.NUMBER:
                field = forms.DecimalField(
                    max_digits=12,
                    decimal_places=2,
                    widget=forms.NumberInput(attrs={"inputmode": "decimal"}),
                    **common,
                )
            else:
                field = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
            self.fields[name] = field

    def initial_from(self, answers: dict) -> dict:
        initial = {}
        for question in self.questions:
            value = answers.get(str(question.pk))
            if value is None:
                continue
            if question.kind == QuestionKind.SINGLE_CHOICE:
                value = str(question.options.index(value)) if value in question.options else None
            elif question.kind == QuestionKind.MULTI_CHOICE:
                value = [str(question.options.index(v)) for v in value if v in question.options]
            initial[f"q_{question.pk}"] = value
        return initial

    def answers(self) -> dict[str, object]:
        """Answers as stored: choice answers by their (English) option text, so a
        later reorder or translation of options does not change what was answered."""
        result: dict[str, object] = {}
        for question in self.questions:
            value = self.cleaned_data.get(f"q_{question.pk}")
            if question.kind == QuestionKind.SINGLE_CHOICE:
                value = question.options[int(value)] if value not in (None, "") else ""
            elif question.kind == QuestionKind.MULTI_CHOICE:
                value = [question.options[int(v)] for v in value or []]
            elif question.kind == QuestionKind.NUMBER:
                value = str(value) if value is not None else ""
            elif question.kind == QuestionKind.DATE:
                value = value.isoformat() if value else ""
            result[str(question.pk)] = value
        return result


def clean_vat_number(value: str, country_code: str) -> str:
    """An EU VAT number, compacted, with its country prefix; format and check
    digits only (python-stdnum), no online lookup."""
    value = (value or "").strip()
    if not value:
        return ""
    compact = eu_vat.compact(value)
    if not compact[:2].isalpha() and country_code:
        compact = eu_vat.compact(country_code + compact)
    if not eu_vat.is_valid(compact):
        raise forms.ValidationError(
            _("Enter a valid EU VAT number, for example DE136695976."), code="invalid"
        )
    return compact
