"""Forms of the survey design pages: settings, questions, late-pledge prices,
the status buttons and the backer search of the preview."""

from django import forms
from django.conf import settings
from djmoney.money import Money

from pledges.models import Campaign, Reward

from .models import LateReward, PhonePolicy, Question, QuestionKind, Survey, SurveyStatus
from .services.design import (
    MAX_INTRO,
    MAX_LINK_DAYS,
    MAX_REMINDER_LIMIT,
    MAX_SEND_PER_MINUTE,
    MAX_STOCK,
    LateRewardRow,
    QuestionText,
    SurveySettingsInvalid,
    normalize_host_name,
    parse_reminder_days,
)


def extra_languages() -> list[tuple[str, str]]:
    """The languages a survey may add to English, as in settings.LANGUAGES."""
    return [(code, name) for code, name in settings.LANGUAGES if code != "en"]


def _disable(form: forms.Form) -> None:
    for field in form.fields.values():
        field.disabled = True


class LanguageCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes over the languages; English shows ticked and cannot be unticked."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if value == "en":
            option["selected"] = True
            option["attrs"] = {**option["attrs"], "checked": True, "disabled": True}
        return option


class SurveySettingsForm(forms.Form):
    """Everything about the survey except its status (that moves with buttons)."""

    languages = forms.MultipleChoiceField(
        choices=settings.LANGUAGES,
        required=False,
        widget=LanguageCheckboxes,
        label="Offered in",
        help_text="Backers pick among these; English is always offered.",
    )
    host_name = forms.CharField(
        max_length=253,
        required=False,
        label="Own host name",
        help_text="Optional, like pledge.example.com. Blank: the survey lives under this site.",
    )
    link_max_age_days = forms.IntegerField(
        min_value=1,
        max_value=MAX_LINK_DAYS,
        label="Link lifetime (days)",
        help_text="A magic link older than this asks the backer for a fresh one.",
    )
    reminder_days = forms.CharField(
        required=False,
        max_length=200,
        label="Reminder days",
        help_text="Days after the invite, separated by commas, like 3, 7, 14. Blank: none.",
    )
    reminder_weekly = forms.BooleanField(required=False, label="Then remind weekly")
    reminder_limit = forms.IntegerField(
        min_value=0,
        max_value=MAX_REMINDER_LIMIT,
        label="Reminder limit",
        help_text="At most this many reminders per backer in all.",
    )
    send_per_minute = forms.IntegerField(
        min_value=1,
        max_value=MAX_SEND_PER_MINUTE,
        label="Emails per minute",
        help_text="Keep within what your mail provider allows.",
    )
    phone_policy = forms.ChoiceField(choices=PhonePolicy.choices, label="Phone number")
    bonus_support_is_credit = forms.BooleanField(
        required=False,
        label="Bonus support becomes credit",
        help_text="Money pledged above the reward can pay for add-ons and shipping.",
    )
    include_dropped = forms.BooleanField(
        required=False,
        label="Invite dropped and errored pledges too",
        help_text="They can settle their pledge through the survey.",
    )
    late_pledges_enabled = forms.BooleanField(
        required=False,
        label="Late pledges",
        help_text="New backers can pledge for the rewards priced on the Late pledges page.",
    )

    FIELDSETS = [
        ("Languages", ["languages", "intro_*"]),
        ("Address", ["host_name"]),
        (
            "Links and reminders",
            [
                "link_max_age_days",
                "reminder_days",
                "reminder_weekly",
                "reminder_limit",
                "send_per_minute",
            ],
        ),
        (
            "What backers can do",
            ["phone_policy", "bonus_support_is_credit", "include_dropped", "late_pledges_enabled"],
        ),
    ]

    def __init__(self, *args, survey: Survey, read_only: bool = False, **kwargs):
        texts = survey.texts or {}
        initial = {
            "languages": survey.languages,
            "host_name": survey.host_name,
            "link_max_age_days": survey.link_max_age_days,
            "reminder_days": ", ".join(str(day) for day in survey.reminder_days),
            "reminder_weekly": survey.reminder_weekly,
            "reminder_limit": survey.reminder_limit,
            "send_per_minute": survey.send_per_minute,
            "phone_policy": survey.phone_policy,
            "bonus_support_is_credit": survey.bonus_support_is_credit,
            "include_dropped": survey.include_dropped,
            "late_pledges_enabled": survey.late_pledges_enabled,
        }
        for code, _name in extra_languages():
            initial[f"intro_{code}"] = (texts.get(code) or {}).get("intro", "")
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        for code, name in extra_languages():
            self.fields[f"intro_{code}"] = forms.CharField(
                required=False,
                max_length=MAX_INTRO,
                widget=forms.Textarea(attrs={"rows": 4, "lang": code}),
                label=f"Intro in {name}",
                help_text="Shown on the survey's first page to backers reading this language.",
            )
        if read_only:
            _disable(self)

    def clean_languages(self):
        return ["en", *(code for code in self.cleaned_data["languages"] if code != "en")]

    def clean_host_name(self):
        try:
            return normalize_host_name(self.cleaned_data["host_name"])
        except SurveySettingsInvalid as exc:
            raise forms.ValidationError(exc.message) from exc

    def clean_reminder_days(self):
        try:
            return parse_reminder_days(self.cleaned_data["reminder_days"])
        except SurveySettingsInvalid as exc:
            raise forms.ValidationError(exc.message) from exc

    def fieldsets(self) -> list[tuple[str, list]]:
        sets = []
        for title, names in self.FIELDSETS:
            fields = []
            for name in names:
                if name == "intro_*":
                    fields += [self[f"intro_{code}"] for code, _name in extra_languages()]
                else:
                    fields.append(self[name])
            sets.append((title, fields))
        return sets

    def survey_fields(self) -> dict:
        """The cleaned values as update_survey() takes them."""
        data = self.cleaned_data
        fields = {
            name: data[name]
            for name in self.base_fields
            if name in data and not name.startswith("intro_")
        }
        fields["intros"] = {code: data[f"intro_{code}"] for code, _name in extra_languages()}
        return fields


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=SurveyStatus.choices)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class QuestionForm(forms.Form):
    """A custom question, with its words in each extra language of the survey."""

    kind = forms.ChoiceField(choices=QuestionKind.choices, label="Answer")
    label = forms.CharField(max_length=300, label="Question")
    help_text = forms.CharField(max_length=500, required=False, label="Help text")
    options = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Options",
        help_text="One per line; single and multiple choice questions only.",
    )
    required = forms.BooleanField(required=False, label="Backers must answer it")
    tiers = forms.ModelMultipleChoiceField(
        queryset=Reward.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Only for these reward tiers",
        help_text="Tick none to ask every backer.",
        error_messages={"invalid_choice": "Choose among this campaign's reward tiers."},
    )

    def __init__(self, *args, survey: Survey, question: Question | None = None, **kwargs):
        self.languages = [
            (code, name) for code, name in extra_languages() if code in survey.languages
        ]
        if question is not None:
            initial = {
                "kind": question.kind,
                "label": question.label,
                "help_text": question.help_text,
                "options": "\n".join(question.options),
                "required": question.required,
                "tiers": list(question.tiers.all()),
            }
            for code, _name in self.languages:
                own = (question.translations or {}).get(code) or {}
                initial[f"label_{code}"] = own.get("label", "")
                initial[f"help_text_{code}"] = own.get("help_text", "")
                initial[f"options_{code}"] = "\n".join(own.get("options") or [])
            kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.fields["tiers"].queryset = Reward.objects.filter(
            campaign_id=survey.campaign_id
        ).order_by("minimum", "title")
        for code, name in self.languages:
            self.fields[f"label_{code}"] = forms.CharField(
                max_length=300,
                required=False,
                label=f"Question in {name}",
                widget=forms.TextInput(attrs={"lang": code}),
            )
            self.fields[f"help_text_{code}"] = forms.CharField(
                max_length=500,
                required=False,
                label=f"Help text in {name}",
                widget=forms.TextInput(attrs={"lang": code}),
            )
            self.fields[f"options_{code}"] = forms.CharField(
                required=False,
                label=f"Options in {name}",
                widget=forms.Textarea(attrs={"rows": 4, "lang": code}),
                help_text="Same order as the English, one per line; blank shows the English.",
            )

    def main_fields(self) -> list:
        return [self[name] for name in ("kind", "label", "help_text", "options", "required")]

    def translation_groups(self) -> list[tuple[str, str, list]]:
        return [
            (
                code,
                name,
                [self[f"label_{code}"], self[f"help_text_{code}"], self[f"options_{code}"]],
            )
            for code, name in self.languages
        ]

    def question_fields(self) -> dict:
        """The cleaned values as create_question() / update_question() take them."""
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "label": data["label"],
            "help_text": data["help_text"],
            "options": _lines(data["options"]),
            "required": data["required"],
            "tiers": list(data["tiers"]),
            "translations": {
                code: QuestionText(
                    label=data[f"label_{code}"],
                    help_text=data[f"help_text_{code}"],
                    options=tuple(_lines(data[f"options_{code}"])),
                )
                for code, _name in self.languages
            },
        }


class MoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "Up"), ("down", "Down")])


class LateRewardForm(forms.Form):
    """One reward's late-pledge terms; the reward is fixed by the page."""

    reward = forms.IntegerField(widget=forms.HiddenInput)
    price = forms.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, label="Late price"
    )
    stock_limit = forms.IntegerField(
        min_value=1, max_value=MAX_STOCK, required=False, label="Stock limit"
    )
    shipping_included = forms.BooleanField(required=False, label="Shipping included")
    is_active = forms.BooleanField(required=False, label="Active")

    def __init__(self, *args, rewards: dict[int, Reward], read_only: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.rewards = rewards
        for name in ("price", "stock_limit"):
            self.fields[name].widget.attrs["class"] = "short"
        if read_only:
            _disable(self)

    def clean_reward(self):
        reward = self.rewards.get(self.cleaned_data["reward"])
        if reward is None:
            raise forms.ValidationError("This reward is not in the campaign; reload the page.")
        return reward

    def reward_obj(self) -> Reward | None:
        try:
            return self.rewards.get(int(self["reward"].value()))
        except (TypeError, ValueError):
            return None


class BaseLateRewardFormSet(forms.BaseFormSet):
    def clean(self):
        super().clean()
        rewards = [form.cleaned_data.get("reward") for form in self.forms if form.cleaned_data]
        if len({reward.pk for reward in rewards if reward}) != len(rewards):
            raise forms.ValidationError("A reward is listed twice; reload the page.")

    def rows(self, campaign: Campaign) -> list[LateRewardRow]:
        rows = []
        for form in self.forms:
            data = form.cleaned_data
            price = data["price"]
            rows.append(
                LateRewardRow(
                    reward=data["reward"],
                    price=None if price is None else Money(price, campaign.currency),
                    stock_limit=data["stock_limit"],
                    shipping_included=data["shipping_included"],
                    is_active=data["is_active"],
                )
            )
        return rows


def late_reward_formset(*, rows: int):
    return forms.formset_factory(
        LateRewardForm,
        formset=BaseLateRewardFormSet,
        extra=0,
        max_num=rows,
        validate_max=True,
        absolute_max=max(rows, 1),
    )


def late_reward_initial(rewards: list[Reward], offers: dict[int, LateReward]) -> list[dict]:
    initial = []
    for reward in rewards:
        offer = offers.get(reward.pk)
        if offer is None:
            initial.append({"reward": reward.pk, "is_active": True})
        else:
            initial.append(
                {
                    "reward": reward.pk,
                    "price": offer.price.amount,
                    "stock_limit": offer.stock_limit,
                    "shipping_included": offer.shipping_included,
                    "is_active": offer.is_active,
                }
            )
    return initial


class BackerSearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=200,
        label="Find a backer",
        widget=forms.SearchInput(attrs={"placeholder": "Name, email or backer number"}),
    )


class PreviewForm(forms.Form):
    backer = forms.IntegerField(widget=forms.HiddenInput)
