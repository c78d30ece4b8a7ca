"""Cell values as platforms and spreadsheets write them: amounts, dates, whole numbers."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pledges.importers.values import (
    looks_like_scientific_notation,
    normalize_email,
    parse_amount,
    parse_amount_or_zero,
    parse_datetime,
    parse_int,
)


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("$1,234.00", "1234.00", None),
        ("1.234,00 €", "1234.00", "EUR"),
        ("US$ 45", "45", "USD"),
        ("SEK 1,000.00", "1000.00", "SEK"),
        ("SEK 650.00", "650.00", "SEK"),
        ("$59 AUD", "59", "AUD"),
        ("$1,234.00 USD", "1234.00", "USD"),
        ("$5.00 USD", "5.00", "USD"),
        ("$70", "70", None),
        ("€12,50", "12.50", "EUR"),
        ("12.5", "12.5", None),
        ("-3.00", "-3.00", None),
        ("-$3.00", "-3.00", None),
        ("1 234,56", "1234.56", None),
        ("1\u00a0234,56", "1234.56", None),
        ("1\u202f234,56 €", "1234.56", "EUR"),
        ("CA$ 10", "10", "CAD"),
        ("£8", "8", "GBP"),
        ("¥1,200", "1200", "JPY"),
        ("kr 100", "100", None),
        ("1,234", "1234", None),
        ("1,23", "1.23", None),
        ("12,5", "12.5", None),
        ("0,125", "0.125", None),
        ("1.234.567,89", "1234567.89", None),
        ("1'234.50 CHF", "1234.50", "CHF"),
        ("(5.00)", "-5.00", None),
        ("usd 5", "5", "USD"),
    ],
)
def test_amounts_are_read_with_the_currency_they_show(text, amount, currency):
    value, found = parse_amount(text)
    assert value == Decimal(amount)
    assert str(value) == amount  # nothing is rounded or re-scaled
    assert found == currency


@pytest.mark.parametrize(
    "text",
    ["", "abc", "1E5", "NaN", "Infinity", "12.", ".5", "12 34", "1,2,3", "--3", "3-", "1,00,000"],
)
def test_text_that_is_no_amount_is_refused_with_its_value(text):
    with pytest.raises(ValueError) as error:
        parse_amount(text)
    assert str(error.value) == f"{text!r} is not an amount"


def test_an_amount_naming_two_currencies_is_refused():
    with pytest.raises(ValueError, match=r"^'€12 USD' is not an amount$"):
        parse_amount("€12 USD")


def test_an_empty_cell_is_zero_only_where_zero_is_allowed():
    assert parse_amount_or_zero("") == (Decimal("0"), None)
    assert parse_amount_or_zero("  ") == (Decimal("0"), None)
    assert parse_amount_or_zero("$5.00 USD") == (Decimal("5.00"), "USD")
    with pytest.raises(ValueError, match="^'' is not an amount$"):
        parse_amount("")


def _english(value: Decimal) -> str:
    return f"{value:,.2f}"


def _german(value: Decimal) -> str:
    return f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def _french(value: Decimal) -> str:
    return f"{value:,.2f}".replace(",", "\u202f").replace(".", ",")


def _swiss(value: Decimal) -> str:
    return f"{value:,.2f}".replace(",", "'")


STYLES = [
    (lambda v: _english(v), None),
    (lambda v: f"${_english(v)} USD", "USD"),
    (lambda v: f"SEK {_english(v)}", "SEK"),
    (lambda v: f"{_german(v)} €", "EUR"),
    (lambda v: f"€{_german(v)}", "EUR"),
    (lambda v: f"{_french(v)} €", "EUR"),
    (lambda v: f"{_french(v).replace(chr(0x202F), chr(0xA0))} EUR", "EUR"),
    (lambda v: f"CHF {_swiss(v)}", "CHF"),
    (lambda v: f"{v:.2f}", None),
    (lambda v: f"£{v:.2f}", "GBP"),
]


@settings(max_examples=150)
@given(
    value=st.decimals(min_value=0, max_value=10**10, places=2, allow_nan=False),
    negative=st.booleans(),
    style=st.sampled_from(STYLES),
)
def test_formatted_amounts_round_trip_in_every_style(value, negative, style):
    format_amount, currency = style
    text = format_amount(value)
    if negative and value:
        text = f"-{text}"
        value = -value
    assert parse_amount(text) == (value, currency)


@settings(max_examples=200)
@given(st.text(max_size=40))
def test_arbitrary_text_raises_nothing_but_value_error(text):
    for parse, kind in (
        (parse_amount, tuple),
        (parse_amount_or_zero, tuple),
        (parse_datetime, datetime),
        (parse_int, int),
    ):
        try:
            result = parse(text)
        except ValueError as error:
            assert repr(text) in str(error)
        else:
            assert isinstance(result, kind)


@settings(max_examples=200)
@given(
    st.text(
        alphabet=st.sampled_from("0123456789/-:., TZAPMapmUTCESDT+OctNov"),
        max_size=30,
    )
)
def test_date_like_text_raises_nothing_but_value_error(text):
    try:
        moment = parse_datetime(text)
    except ValueError:
        return
    assert moment.tzinfo is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2018/03/28, 10:27", datetime(2018, 3, 28, 10, 27, tzinfo=UTC)),
        ("2018-03-28, 10:27", datetime(2018, 3, 28, 10, 27, tzinfo=UTC)),
        ("2018/03/28, 10:27:33", datetime(2018, 3, 28, 10, 27, 33, tzinfo=UTC)),
        ("2018/03/28, 10:27 UTC", datetime(2018, 3, 28, 10, 27, tzinfo=UTC)),
        ("2018/03/28, 10:27 +02:00", datetime(2018, 3, 28, 8, 27, tzinfo=UTC)),
        ("2018/03/28, 10:27 -0500", datetime(2018, 3, 28, 15, 27, tzinfo=UTC)),
        ("2018/03/28, 10:27Z", datetime(2018, 3, 28, 10, 27, tzinfo=UTC)),
        ("2018/03/28, 10:27 America/New_York", datetime(2018, 3, 28, 14, 27, tzinfo=UTC)),
        ("2026-10-03T14:05:00Z", datetime(2026, 10, 3, 14, 5, tzinfo=UTC)),
        ("2026-10-03T14:05:00.250+02:00", datetime(2026, 10, 3, 12, 5, 0, 250000, tzinfo=UTC)),
        ("2026-10-03 14:05:00", datetime(2026, 10, 3, 14, 5, tzinfo=UTC)),
        ("10/03/2026 14:05", datetime(2026, 10, 3, 14, 5, tzinfo=UTC)),
        ("10/03/2026 2:05 PM", datetime(2026, 10, 3, 14, 5, tzinfo=UTC)),
        ("10/03/2026 12:05 AM", datetime(2026, 10, 3, 0, 5, tzinfo=UTC)),
        ("Oct 03, 2026 02:05 PM PDT", datetime(2026, 10, 3, 21, 5, tzinfo=UTC)),
        ("2026-01-15 09:00 PST", datetime(2026, 1, 15, 17, 0, tzinfo=UTC)),
        ("2026-01-15 09:00 EST", datetime(2026, 1, 15, 14, 0, tzinfo=UTC)),
        ("2026-07-15 09:00 EDT", datetime(2026, 7, 15, 13, 0, tzinfo=UTC)),
        ("2026-01-15 09:00 CST", datetime(2026, 1, 15, 15, 0, tzinfo=UTC)),
        ("2026-07-15 09:00 CDT", datetime(2026, 7, 15, 14, 0, tzinfo=UTC)),
        ("2026-01-15 09:00 MST", datetime(2026, 1, 15, 16, 0, tzinfo=UTC)),
        ("2026-07-15 09:00 MDT", datetime(2026, 7, 15, 15, 0, tzinfo=UTC)),
        ("2026-01-15 09:00 GMT", datetime(2026, 1, 15, 9, 0, tzinfo=UTC)),
        ("2026-07-15 09:00 BST", datetime(2026, 7, 15, 8, 0, tzinfo=UTC)),
        ("2026-01-15 09:00 CET", datetime(2026, 1, 15, 8, 0, tzinfo=UTC)),
        ("2026-07-15 09:00 CEST", datetime(2026, 7, 15, 7, 0, tzinfo=UTC)),
        ("2026-10-03", datetime(2026, 10, 3, tzinfo=UTC)),
    ],
)
def test_dates_are_read_as_aware_utc_moments(text, expected):
    moment = parse_datetime(text)
    assert moment == expected
    assert moment.utcoffset().total_seconds() == 0


def test_a_date_without_zone_is_in_the_default_zone():
    moment = parse_datetime("2018/03/28, 10:27", default_tz="Europe/Stockholm")
    assert moment == datetime(2018, 3, 28, 8, 27, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "31/31/2020",
        "13/01/2020 10:00",  # day-first dates are not guessed
        "2020-02-30",
        "2026-10-03 13:00 PM",
        "2026-10-03 10:00 Mars/Olympus",
        "2026-10-03 10:00 ../../etc/passwd",
        "9999-12-31 23:00 -05:00",
        "yesterday",
        "",
    ],
)
def test_text_that_is_no_date_is_refused_with_its_value(text):
    with pytest.raises(ValueError) as error:
        parse_datetime(text)
    assert str(error.value) == f"{text!r} is not a date"


@pytest.mark.parametrize(
    ("text", "expected"), [("12", 12), (" 12 ", 12), ("12.0", 12), ("1,234", 1234), ("-3", -3)]
)
def test_whole_numbers_are_read_as_spreadsheets_save_them(text, expected):
    assert parse_int(text) == expected


@pytest.mark.parametrize("text", ["1.5", "abc", "", "1E5", "12,34"])
def test_text_that_is_no_whole_number_is_refused_with_its_value(text):
    with pytest.raises(ValueError) as error:
        parse_int(text)
    assert str(error.value) == f"{text!r} is not a whole number"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9.25082E+11", True),
        ("9,25082E+11", True),
        ("1E5", True),
        (" 4.4e11 ", True),
        ("925082000000", False),
        ("ABC123", False),
        ("E5", False),
    ],
)
def test_excel_shortened_numbers_are_recognised(text, expected):
    assert looks_like_scientific_notation(text) is expected


def test_emails_are_normalized_by_trimming_and_lower_casing():
    assert normalize_email("  Anna.Berg@Example.COM ") == "anna.berg@example.com"
