from django import forms

from inventory.models import Sku
from pledges.forms import DateTimeInput
from pledges.models import Campaign
from pledges.services.catalog import MAX_QUANTITY

from .models import AddOnOffer
from .services.imported_addons import TEXT_MAX

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
INCLUDED = "included"


# Beyond these a number is a typo (and past a database integer a server error):
# the form says so next to the field.
MAX_UNITS = 10_000_000


class AddOnOfferForm(forms.Form):
    """An offer's terms. The price is an amount in the campaign's currency (no
    currency to pick); tiers are the campaign's own."""

    name = forms.CharField(max_length=200)
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown to backers on the survey page.",
    )
    price = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    stock_limit = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_UNITS,
        label="Stock limit",
        help_text="Units for sale in all. Leave blank for unlimited.",
    )
    per_backer_limit = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_UNITS,
        label="Limit per backer",
        help_text="Leave blank for no limit.",
    )
    tiers = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Reward tiers that may buy it",
        help_text="Tick none to offer it to every tier.",
        error_messages={"invalid_choice": "Choose among this campaign's reward tiers."},
    )
    opens_at = forms.DateTimeField(
        required=False,
        widget=DateTimeInput,
        input_formats=DATETIME_FORMATS,
        label="Opens at",
        help_text="Blank: open as soon as surveys go out.",
    )
    closes_at = forms.DateTimeField(
        required=False,
        widget=DateTimeInput,
        input_formats=DATETIME_FORMATS,
        label="Closes at",
        help_text="Blank: open until the survey locks.",
    )
    is_active = forms.BooleanField(
        required=False, initial=True, label="Active (offered to backers)"
    )
    imported_text = forms.CharField(required=False, widget=forms.HiddenInput, max_length=TEXT_MAX)

    def __init__(self, *args, campaign: Campaign, offer: AddOnOffer | None = None, **kwargs):
        if offer is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": offer.name,
                    "description": offer.description,
                    "price": offer.price.amount,
                    "stock_limit": offer.stock_limit,
                    "per_backer_limit": offer.per_backer_limit,
                    "tiers": list(offer.tiers.all()),
                    "opens_at": offer.opens_at,
                    "closes_at": offer.closes_at,
                    "is_active": offer.is_active,
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["price"].label = f"Price ({campaign.currency})"
        self.fields["tiers"].queryset = campaign.rewards.order_by("minimum", "title")
        if offer is not None:
            del self.fields["imported_text"]

    def clean(self):
        data = super().clean()
        opens_at, closes_at = data.get("opens_at"), data.get("closes_at")
        if opens_at and closes_at and closes_at <= opens_at:
            self.add_error("closes_at", "The add-on must close after it opens.")
        return data


class AddOnItemForm(forms.Form):
    """Add one SKU × quantity to an offer."""

    sku = forms.ModelChoiceField(
        queryset=None,
        label="SKU",
        empty_label="Choose a SKU…",
        error_messages={"invalid_choice": "Choose one of your organization's SKUs."},
    )
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY, initial=1)

    def __init__(self, *args, campaign: Campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sku"].queryset = Sku.objects.filter(
            organization_id=campaign.organization_id
        ).order_by("code")
        self.fields["sku"].label_from_instance = lambda sku: f"{sku.code} – {sku.name}"


class AddOnItemQuantityForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY)


class ImportedAddOnRowForm(forms.Form):
    """One imported add-on text: an offer, "included in the reward" or unmapped,
    and how many units of the offer one item stands for."""

    text = forms.CharField(widget=forms.HiddenInput, strip=False)
    target = forms.ChoiceField(required=False, label="Maps to")
    units_per_item = forms.IntegerField(
        min_value=1,
        max_value=MAX_QUANTITY,
        initial=1,
        label="Units per item",
        widget=forms.NumberInput(attrs={"min": 1, "class": "units"}),
    )

    def __init__(self, *args, offers, known_texts: set[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.offers = {str(offer.pk): offer for offer in offers}
        self.known_texts = known_texts
        self.fields["target"].choices = [
            ("", "Unmapped"),
            (INCLUDED, "Included in the reward"),
            ("Offers", [(pk, f"{o.name} ({o.price})") for pk, o in self.offers.items()]),
        ]

    def clean_text(self):
        text = self.cleaned_data["text"]
        if text not in self.known_texts:
            raise forms.ValidationError(
                "This add-on text is no longer in the campaign's pledges; reload the page."
            )
        return text

    def clean(self):
        data = super().clean()
        text, target = data.get("text") or "", data.get("target")
        if target and len(text) > TEXT_MAX:
            self.add_error(
                "target",
                f"Longer than {TEXT_MAX} characters: shorten that column's header in the "
                "report and import it again to map it.",
            )
        data["offer"] = self.offers.get(target) if target and target != INCLUDED else None
        data["included_in_reward"] = target == INCLUDED
        return data


class BaseImportedAddOnFormSet(forms.BaseFormSet):
    def clean(self):
        super().clean()
        texts = [form.cleaned_data.get("text") for form in self.forms if form.cleaned_data]
        if len(texts) != len(set(texts)):
            raise forms.ValidationError("An add-on text is listed twice; reload the page.")


def imported_addon_formset(*, rows: int):
    return forms.formset_factory(
        ImportedAddOnRowForm,
        formset=BaseImportedAddOnFormSet,
        extra=0,
        max_num=rows,
        validate_max=True,
        absolute_max=max(rows, 1),
    )
