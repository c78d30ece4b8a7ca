"""Forms of the reward composition pages. SKU and reward fields only ever offer
(and accept) the campaign's own organization's SKUs and the campaign's rewards:
a posted id from elsewhere is "not one of the available choices"."""

from django import forms
from django_countries import countries

from inventory.models import Sku

from .forms import DateTimeInput
from .models import Reward
from .services.catalog import MAX_PICKS, MAX_QUANTITY

# Quick country groups for regional editions; picked ones are added to the countries chosen.
# fmt: off
EU_27 = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
]
# fmt: on
COUNTRY_PRESETS: dict[str, tuple[str, list[str]]] = {
    "dach": ("DACH (DE, AT, CH)", ["DE", "AT", "CH"]),
    "eu27": ("EU-27", EU_27),
    "ukie": ("UK + IE", ["GB", "IE"]),
    "usca": ("US + CA", ["US", "CA"]),
    "anz": ("ANZ (AU, NZ)", ["AU", "NZ"]),
}


def sku_label(sku: Sku) -> str:
    return f"{sku.code} – {sku.name}"


class SkuChoiceField(forms.ModelChoiceField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("empty_label", "Choose a SKU")
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj):
        return sku_label(obj)


class SkuMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return sku_label(obj)


class RewardChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.title} ({obj.minimum})"


class CatalogForm(forms.Form):
    """Takes the organization's SKUs as a queryset (what is accepted) and,
    optionally, as ready-made choices (what is shown), so a page with many
    forms reads the catalog once."""

    sku_fields: tuple[str, ...] = ()

    def __init__(self, *args, skus=None, sku_choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.sku_fields:
            field = self.fields[name]
            field.queryset = skus if skus is not None else Sku.objects.none()
            if sku_choices is not None:
                multiple = isinstance(field, forms.ModelMultipleChoiceField)
                field.widget.choices = (
                    sku_choices if multiple else [("", field.empty_label), *sku_choices]
                )


def sku_choices(skus) -> list[tuple[int, str]]:
    return [(sku.pk, sku_label(sku)) for sku in skus]


class AddItemsForm(CatalogForm):
    sku_fields = ("skus",)
    skus = SkuMultipleChoiceField(
        queryset=Sku.objects.none(),
        label="SKUs to add",
        widget=forms.CheckboxSelectMultiple,
        help_text="Each is added × 1; one already in the reward gets one more unit.",
        error_messages={"required": "Pick at least one SKU to add."},
    )


class ItemQuantityForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY, label="Quantity")


class ChoiceGroupForm(forms.Form):
    name = forms.CharField(max_length=120, label="Name", help_text="What the backer chooses.")
    picks = forms.IntegerField(
        min_value=1, max_value=MAX_PICKS, initial=1, label="Picks", help_text="Options chosen."
    )
    allow_repeats = forms.BooleanField(
        required=False, label="The same option may be picked more than once"
    )


class ChoiceGroupFromSkusForm(CatalogForm, ChoiceGroupForm):
    sku_fields = ("skus",)
    skus = SkuMultipleChoiceField(
        queryset=Sku.objects.none(),
        label="One option per SKU",
        widget=forms.CheckboxSelectMultiple,
        help_text="Labels come from the variant attributes that differ (colour, language…), "
        "else from the SKU's name.",
    )

    def clean_skus(self):
        skus = self.cleaned_data["skus"]
        if len(skus) < 2:
            raise forms.ValidationError("Pick at least two SKUs: one option each.")
        return skus


class ChoiceOptionForm(CatalogForm):
    sku_fields = ("sku",)
    label = forms.CharField(max_length=120, label="Label", help_text="As the backer sees it.")
    sku = SkuChoiceField(queryset=Sku.objects.none(), label="SKU")
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY, initial=1, label="Quantity")
    is_default = forms.BooleanField(
        required=False, label="Default", help_text="Ships when the backer never chooses."
    )


class CopyCompositionForm(forms.Form):
    source = RewardChoiceField(
        queryset=Reward.objects.none(), label="Copy from", empty_label="Choose a reward"
    )
    replace = forms.BooleanField(
        required=False,
        initial=True,
        label="Replace this reward's components",
        help_text="Unticked: items add up and the choice groups are appended.",
    )

    def __init__(self, *args, rewards=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = rewards if rewards is not None else Reward.objects.none()


class RegionalRuleForm(CatalogForm):
    sku_fields = ("from_sku", "to_sku")
    name = forms.CharField(max_length=120, label="Name", help_text="For example “German edition”.")
    countries = forms.MultipleChoiceField(
        choices=list(countries),
        required=False,
        label="Destination countries",
        widget=forms.SelectMultiple(attrs={"size": 10}),
        help_text="Hold Ctrl (⌘ on a Mac) to pick several.",
    )
    presets = forms.MultipleChoiceField(
        choices=[(key, label) for key, (label, _) in COUNTRY_PRESETS.items()],
        required=False,
        label="Add a group of countries",
        widget=forms.CheckboxSelectMultiple,
        help_text="Ticked groups are added to the countries above when you save.",
    )
    from_sku = SkuChoiceField(queryset=Sku.objects.none(), label="Instead of")
    to_sku = SkuChoiceField(queryset=Sku.objects.none(), label="Ship")
    backer_can_override = forms.BooleanField(
        required=False,
        label="The backer may keep the original",
        help_text="For example an English speaker living in Germany.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A long select hides what is picked: spell the current picks out.
        field = self.fields["countries"]
        if self.is_bound:
            codes = field.widget.value_from_datadict(
                self.data, self.files, self.add_prefix("countries")
            )
        else:
            codes = self.get_initial_for_field(field, "countries")
        names = sorted(filter(None, (countries.name(c) for c in codes or [])))
        if names:
            chosen = ", ".join(names)
            field.help_text = f"Chosen: {chosen}. Hold Ctrl (⌘ on a Mac) to pick or unpick several."

    def clean(self):
        cleaned = super().clean()
        chosen = set(cleaned.get("countries") or [])
        for key in cleaned.get("presets") or []:
            chosen.update(COUNTRY_PRESETS[key][1])
        if not chosen and "countries" not in self.errors:
            self.add_error("countries", "Choose at least one country or tick a group.")
        cleaned["countries"] = sorted(chosen)
        from_sku, to_sku = cleaned.get("from_sku"), cleaned.get("to_sku")
        if from_sku and to_sku and from_sku == to_sku:
            self.add_error("to_sku", "Ship a different SKU than the one it replaces.")
        return cleaned


class StretchGoalForm(CatalogForm):
    sku_fields = ("sku",)
    name = forms.CharField(max_length=120, label="Name", help_text="For example “Metal coins”.")
    sku = SkuChoiceField(queryset=Sku.objects.none(), label="SKU")
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY, initial=1, label="Quantity")
    from_reward = RewardChoiceField(
        queryset=Reward.objects.none(),
        required=False,
        label="For rewards at or above tier",
        empty_label="Any reward",
        help_text="Every reward whose minimum is at least this tier's gets the item.",
    )
    pledged_before = forms.DateTimeField(
        required=False,
        label="For pledges made before (UTC)",
        widget=DateTimeInput,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        help_text=(
            "Leave empty for every pledge. Both set: a pledge needs both. "
            "A pledge without a reward ships nothing, stretch goals included."
        ),
    )

    def __init__(self, *args, rewards=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from_reward"].queryset = (
            rewards if rewards is not None else Reward.objects.none()
        )
