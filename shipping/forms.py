"""Forms of the shipping pages: they read what a creator types; the services
enforce the rules."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.forms import formset_factory
from django_countries import countries

from .destinations import parse_countries, parse_postal_prefixes, parse_regions
from .models import DEFAULT_VOLUMETRIC_DIVISOR, ShippingMethod

MAX_UNITS = 999


def _parsed(value: str, parse) -> list[str]:
    try:
        return parse(value)
    except ValueError as exc:
        raise forms.ValidationError(str(exc)) from None


def _list_text(values) -> str:
    return ", ".join(values or [])


class ZoneForm(forms.Form):
    name = forms.CharField(max_length=120)
    countries = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="ISO codes or English names, separated by commas: DE, FR, Austria. "
        "“EU” adds the 27 member states.",
    )
    regions = forms.CharField(
        required=False,
        label="Regions",
        help_text="ISO 3166-2 codes, separated by commas: US-AK, US-HI. "
        "A region is more specific than its country.",
    )
    postal_prefixes = forms.CharField(
        required=False,
        label="Postal-code prefixes",
        help_text="country:prefix, separated by commas: GB:BT, GB:HS. "
        "The most specific entry: a matching postal code wins over region and country.",
    )
    is_rest_of_world = forms.BooleanField(
        required=False,
        label="Rest of the world",
        help_text="Every country no other zone names and the campaign does not exclude.",
    )
    position = forms.IntegerField(required=False, min_value=0, label="Position in the list")

    @classmethod
    def initial_for(cls, zone) -> dict:
        return {
            "name": zone.name,
            "countries": _list_text(zone.countries),
            "regions": _list_text(zone.regions),
            "postal_prefixes": _list_text(zone.postal_prefixes),
            "is_rest_of_world": zone.is_rest_of_world,
            "position": zone.position,
        }

    def clean_countries(self):
        return _parsed(self.cleaned_data["countries"], parse_countries)

    def clean_regions(self):
        return _parsed(self.cleaned_data["regions"], parse_regions)

    def clean_postal_prefixes(self):
        return _parsed(self.cleaned_data["postal_prefixes"], parse_postal_prefixes)


class ExcludedCountriesForm(forms.Form):
    countries = forms.CharField(
        required=False,
        label="Countries the campaign does not ship to",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="ISO codes or English names, separated by commas. "
        "Backers there cannot get a shipping fee, not even through the rest of the world.",
    )

    def clean_countries(self):
        return _parsed(self.cleaned_data["countries"], parse_countries)


class MethodForm(forms.Form):
    method = forms.ChoiceField(choices=ShippingMethod.choices, widget=forms.RadioSelect)
    use_volumetric = forms.BooleanField(
        required=False,
        label="Charge the volumetric weight when it is larger (weight method)",
    )
    volumetric_divisor = forms.IntegerField(
        min_value=1,
        max_value=1_000_000,
        initial=DEFAULT_VOLUMETRIC_DIVISOR,
        label="Volumetric divisor (cm³ per kg)",
        help_text="Length × width × height in cm ÷ divisor = kg. Most couriers use 5000.",
    )
    credit_platform_shipping = forms.BooleanField(
        required=False,
        label="Credit shipping paid on the platform",
        help_text="Backers pay only what the fee exceeds what they already paid.",
    )


class FeeGridForm(forms.Form):
    """One amount field per (row, zone) cell, named fee-<row id>-<zone id>."""

    def __init__(self, *args, rows, zones, fees, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.grid_rows = list(rows)
        self.grid_zones = list(zones)
        for row in self.grid_rows:
            for zone in self.grid_zones:
                name = f"fee-{row.pk}-{zone.pk}"
                amount = fees.get((row.pk, zone.pk))
                self.fields[name] = forms.DecimalField(
                    required=False,
                    min_value=Decimal("0"),
                    max_digits=12,
                    decimal_places=2,
                    label=f"{row} in {zone.name} ({currency})",
                    initial=amount,
                    widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "class": "fee"}),
                )

    def table(self):
        """[(row, [bound field per zone])] for the template."""
        return [
            (row, [self[f"fee-{row.pk}-{zone.pk}"] for zone in self.grid_zones])
            for row in self.grid_rows
        ]

    def cell_values(self) -> dict[tuple[int, int], Decimal | None]:
        return {
            (row.pk, zone.pk): self.cleaned_data.get(f"fee-{row.pk}-{zone.pk}")
            for row in self.grid_rows
            for zone in self.grid_zones
        }


class BandForm(forms.Form):
    up_to_g = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=2_147_483_647,
        label="Up to (g)",
        widget=forms.NumberInput(attrs={"aria-label": "Up to (g)", "min": "1"}),
    )
    fee = forms.DecimalField(
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"aria-label": "Fee", "min": "0", "step": "0.01"}),
    )

    def clean(self):
        data = super().clean()
        if self.cleaned_data.get("DELETE"):
            return data
        if (data.get("up_to_g") is None) != (data.get("fee") is None):
            raise forms.ValidationError("Give both the weight and the fee, or neither.")
        return data


BandFormSet = formset_factory(BandForm, extra=3, can_delete=True)


class CalculatorForm(forms.Form):
    country = forms.ChoiceField(label="Country")
    region = forms.CharField(
        required=False, max_length=60, help_text="State or province code, e.g. AK or US-AK."
    )
    postal_code = forms.CharField(required=False, max_length=20)
    reward = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    platform_paid = forms.DecimalField(
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        initial=Decimal("0"),
        label="Shipping paid on the platform",
    )

    def __init__(self, *args, rewards, offers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [("", "Choose a country")] + list(countries)
        self.fields["reward"].choices = [("", "No reward")] + [
            (reward.pk, reward.title) for reward in rewards
        ]
        self.offers = list(offers)
        for offer in self.offers:
            self.fields[f"addon-{offer.pk}"] = forms.IntegerField(
                required=False,
                min_value=0,
                max_value=MAX_UNITS,
                label=offer.name,
                widget=forms.NumberInput(attrs={"min": "0", "class": "qty"}),
            )

    def addon_fields(self):
        return [self[f"addon-{offer.pk}"] for offer in self.offers]

    def addon_units(self) -> dict[int, int]:
        units = {}
        for offer in self.offers:
            value = self.cleaned_data.get(f"addon-{offer.pk}")
            if value:
                units[offer.pk] = value
        return units


class RateCardForm(forms.Form):
    name = forms.CharField(
        required=False, max_length=120, help_text="Empty: the file's name, e.g. “DHL 2026”."
    )
    file = forms.FileField(
        label="Rate card (CSV or Excel)",
        help_text="Columns zone_or_country, up_to_g, cost: a zone of this campaign by name or "
        "a country, a parcel up to this many grams, the carrier's price in the campaign's "
        "currency.",
    )
