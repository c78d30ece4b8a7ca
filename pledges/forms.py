from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from .models import BackerSource, Campaign, ImportFormat


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def format_value(self, value):
        if hasattr(value, "strftime"):
            return value.strftime("%Y-%m-%dT%H:%M")
        return value


class ColourInput(forms.TextInput):
    input_type = "color"


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = [
            "name",
            "slug",
            "platform",
            "currency",
            "closed_on",
            "survey_lock_at",
            "logo",
            "primary_colour",
            "accent_colour",
            "intro_text",
            "sender_name",
            "sender_email",
        ]
        widgets = {
            "closed_on": DateInput,
            "survey_lock_at": DateTimeInput,
            "primary_colour": ColourInput,
            "accent_colour": ColourInput,
            "intro_text": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "slug": "Used in links: /s/<address>/ for surveys and in commands.",
            "survey_lock_at": "After this moment backers can no longer change address or choices.",
            "logo": "PNG, JPEG or WebP, at most 2 MB. Shown on survey pages and emails.",
            "sender_name": "The name backers see on survey emails.",
        }

    def __init__(self, *args, organizations=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["survey_lock_at"].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        self.fields["logo"].widget.attrs["accept"] = "image/png,image/jpeg,image/webp"
        if organizations is not None:
            self.fields["organization"] = forms.ModelChoiceField(
                queryset=organizations, empty_label=None
            )
            self.order_fields(["organization"])
            if organizations.count() == 1:
                self.fields["organization"].widget = forms.HiddenInput()
                self.fields["organization"].initial = organizations.first()

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo and hasattr(logo, "size") and logo.size > settings.LOGO_MAX_BYTES:
            raise forms.ValidationError(
                f"The logo is too large ({filesizeformat(logo.size)}): "
                f"at most {filesizeformat(settings.LOGO_MAX_BYTES)}."
            )
        image = getattr(logo, "image", None)
        if image is not None and image.format not in {"PNG", "JPEG", "WEBP"}:
            raise forms.ValidationError("Use a PNG, JPEG or WebP image.")
        return logo


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="Backer report",
        help_text="Kickstarter's ZIP or CSV, Indiegogo's CSV, "
        "or any CSV/XLSX (you map its columns).",
    )
    format = forms.ChoiceField(
        choices=ImportFormat.choices, initial=ImportFormat.AUTO, label="Layout"
    )
    source = forms.ChoiceField(
        choices=BackerSource.choices,
        initial=BackerSource.CAMPAIGN,
        label="These backers come from",
        required=False,
        help_text="The campaign itself, late pledges (pre-orders after it closed), "
        "or a list you keep by hand.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = ".zip,.csv,.tsv,.txt,.xlsx"

    def clean_source(self):
        return self.cleaned_data.get("source") or BackerSource.CAMPAIGN

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {filesizeformat(upload.size)}; the limit is "
                f"{filesizeformat(settings.IMPORT_MAX_BYTES)}."
            )
        return upload


class ColumnMappingForm(forms.Form):
    """One select per field the importer knows; choices are the file's columns."""

    def __init__(self, *args, header: list[str], initial_mapping: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        from .importers.formats import MAPPABLE_FIELDS

        choices = [("", "— not in this file —")] + [(h, h) for h in header if h]
        for item in MAPPABLE_FIELDS:
            self.fields[item.name] = forms.ChoiceField(
                label=item.label,
                choices=choices,
                required=item.required,
                initial=initial_mapping.get(item.name, ""),
            )

    def mapping(self) -> dict[str, str]:
        return {name: column for name, column in self.cleaned_data.items() if column}
