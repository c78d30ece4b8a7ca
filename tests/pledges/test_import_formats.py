"""Telling a report's layout from its header, and mapping its rows to backer records."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pledges.importers.formats import (
    MAPPABLE_FIELDS,
    BackerRecord,
    ColumnMapping,
    RowMapper,
    detect_format,
    is_no_reward_filename,
    map_row,
    map_row_with_mapping,
    parse_kickstarter_filename,
    suggest_mapping,
)
from pledges.importers.problems import Problem

from .reports import KICKSTARTER_COLUMNS, NO_REWARD_HEADER

KICKSTARTER_HEADER = KICKSTARTER_COLUMNS
ITEMIZED_HEADER = [
    "Backer Number",
    "Backer UID",
    "Backer Name",
    "Email",
    "Shipping Country",
    "Shipping Amount",
    "Reward Title",
    "Backing Minimum",
    "Reward ID",
    "Bonus Support",
    "Pledge Amount",
    "Pledged At",
    "Fulfillment Status",
    "Pledged Status",
    "Notes",
    "Wooden Insert",
    "Sol: Last Days of a Star",
    "[Addon: 1234567] Dice Tower",
    "Late Pledge",
    "Survey Response",
    "Shipping Name",
    "Shipping Address 1",
    "Shipping Address 2",
    "Shipping City",
    "Shipping State",
    "Shipping Postal Code",
    "Shipping Country Name",
    "Shipping Country Code",
    "Shipping Phone Number",
    "Shipping Delivery Notes",
    "What is your favourite colour?",
]
_GROUP = ["Item Name", "Item SKU", "Option 1", "Option 2", "Option 3"]
INDIEGOGO_HEADER = [
    "Order No.",
    "Pledge ID",
    "Referrer ID",
    "Fulfillment Status",
    "Funding Date",
    "Payment Method",
    "Appearance",
    "Name",
    "Email",
    "Amount",
    "Shipping Fees",
    "Platform Fee",
    "Transaction Fee",
    "Perk ID",
    "Perk",
    "Shipping Name",
    "Shipping Phone Number",
    "Shipping Address",
    "Shipping Address 2",
    "Shipping City",
    "Shipping State/Province",
    "Shipping Zip/Postal Code",
    "Shipping Country",
    "Carrier",
    "Tracking Number",
    *_GROUP,
    *_GROUP,
    *_GROUP,
]


def kickstarter_row(**changes) -> list[str]:
    row = {
        "Backer Number": "4811",
        "Backer UID": "925082114411",
        "Backer Name": "Åsa Öberg",
        "Email": " Asa.Oberg@Example.com ",
        "Shipping Country": "SE",
        "Shipping Amount": "SEK 100.00",
        "Reward Title": "Expansion + Base Game",
        "Reward Minimum": "SEK 650.00",
        "Reward ID": "8123456",
        "Pledge Amount": "SEK 1,000.00",
        "Pledged At": "2018/03/28, 10:27",
        "Rewards Sent?": "",
        "Pledged Status": "collected",
        "Notes": "VIP",
        "Billing State/Province": "Stockholms Län",
        "Billing Country": "SE",
        "Survey Response": "2018/04/02, 09:00",
        "Shipping Name": "Åsa Öberg",
        "Shipping Address 1": "Storgatan 1",
        "Shipping Address 2": "lgh 1101",
        "Shipping City": "Tyresö",
        "Shipping State": "Stockholms Län",
        "Shipping Postal Code": "135 40",
        "Shipping Country Name": "Sweden",
        "Shipping Country Code": "SE",
        "Shipping Phone Number": "+46 70 123 45 67",
        "Shipping Delivery Notes": "Leave at the door",
    }
    row.update(changes)
    return [row[column] for column in KICKSTARTER_HEADER]


def map_kickstarter(cells, *, line=4812, sheet_reward=None):
    return map_row(
        "kickstarter",
        KICKSTARTER_HEADER,
        cells,
        file="backers.csv",
        line=line,
        sheet_reward=sheet_reward,
    )


# --- layouts -------------------------------------------------------------------------


def test_each_layout_is_told_from_its_header_row():
    assert detect_format(KICKSTARTER_HEADER) == "kickstarter"
    assert detect_format(ITEMIZED_HEADER) == "kickstarter_itemized"
    assert detect_format(NO_REWARD_HEADER) == "kickstarter_no_reward"
    assert detect_format(INDIEGOGO_HEADER) == "indiegogo"
    assert detect_format(["Name", "Email", "Amount"]) == "unknown"
    assert detect_format([]) == "unknown"


def test_header_matching_ignores_bom_remnants_spaces_and_case():
    messy = ["\ufeffbacker number", "ï»¿BACKER UID ", "  Pledge   Amount", "reward title"]
    assert detect_format(messy) == "kickstarter"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "59.00 USD Expansion + Base Game - Oct 25 10pm.csv",
            (Decimal("59.00"), "USD", "Expansion + Base Game"),
        ),
        (
            "reports/1,250.00 SEK Big Box - Deluxe - Oct 25 10pm.csv",
            (Decimal("1250.00"), "SEK", "Big Box - Deluxe"),
        ),
        ("10.00 EUR Digital - PDF only.csv", (Decimal("10.00"), "EUR", "Digital - PDF only")),
        ("25.00 AUD Base Game - Jan 3 9:30am.csv", (Decimal("25.00"), "AUD", "Base Game")),
        ("No reward - Oct 25 10pm.csv", (None, None, None)),
        ("backers.csv", (None, None, None)),
    ],
)
def test_a_tier_file_name_gives_minimum_currency_and_title(name, expected):
    assert parse_kickstarter_filename(name) == expected


def test_the_no_reward_file_is_recognised_by_name():
    assert is_no_reward_filename("No reward - Oct 25 10pm.csv")
    assert is_no_reward_filename("folder/No Reward.csv")
    assert not is_no_reward_filename("59.00 USD No reward bonus - Oct 25 10pm.csv")
    assert not is_no_reward_filename("backers.csv")


# --- Kickstarter rows ----------------------------------------------------------------


def test_a_kickstarter_row_becomes_a_record():
    record, problems = map_kickstarter(kickstarter_row())
    assert problems == []
    assert record == BackerRecord(
        platform="kickstarter",
        platform_backer_id="925082114411",
        backer_number=4811,
        name="Åsa Öberg",
        email="Asa.Oberg@Example.com",
        email_normalized="asa.oberg@example.com",
        reward_platform_id="8123456",
        reward_title="Expansion + Base Game",
        reward_minimum=Decimal("650.00"),
        currency="SEK",
        pledge_amount=Decimal("1000.00"),
        shipping_paid=Decimal("100.00"),
        bonus_support=Decimal("0"),
        addons_text="",
        pledged_at=datetime(2018, 3, 28, 10, 27, tzinfo=UTC),
        payment_status="collected",
        shipping_name="Åsa Öberg",
        shipping_address_1="Storgatan 1",
        shipping_address_2="lgh 1101",
        shipping_city="Tyresö",
        shipping_region="Stockholms Län",
        shipping_postal_code="135 40",
        shipping_country="SE",
        shipping_phone="+46 70 123 45 67",
        extra={
            "Rewards Sent?": "",
            "Notes": "VIP",
            "Billing State/Province": "Stockholms Län",
            "Billing Country": "SE",
            "Survey Response": "2018/04/02, 09:00",
            "Shipping Delivery Notes": "Leave at the door",
        },
        source_file="backers.csv",
        source_line=4812,
    )


def test_survey_questions_and_unknown_columns_are_kept_in_extra():
    header = [*KICKSTARTER_HEADER, "What size?", "A column from next year"]
    cells = [*kickstarter_row(), "XL", "new"]
    record, _ = map_row("kickstarter", header, cells, file="b.csv", line=2, sheet_reward=None)
    assert record.extra["What size?"] == "XL"
    assert record.extra["A column from next year"] == "new"


def test_the_country_comes_from_the_code_then_the_pledge_country_then_the_name():
    record, _ = map_kickstarter(
        kickstarter_row(**{"Shipping Country Code": "", "Shipping Country": "NO"})
    )
    assert record.shipping_country == "NO"
    row = kickstarter_row(
        **{"Shipping Country Code": "", "Shipping Country": "", "Shipping Country Name": "Germany"}
    )
    assert map_kickstarter(row)[0].shipping_country == "DE"


def test_the_reward_falls_back_to_the_tier_file_name():
    row = kickstarter_row(**{"Reward Title": "", "Reward Minimum": "", "Reward ID": ""})
    record, problems = map_kickstarter(row, sheet_reward=(Decimal("59.00"), "USD", "Base Game"))
    assert problems == []
    assert (record.reward_title, record.reward_minimum, record.reward_platform_id) == (
        "Base Game",
        Decimal("59.00"),
        "",
    )
    assert record.currency == "SEK"  # the amounts' own currency wins


def test_a_no_reward_row_has_no_reward():
    cells = [
        "2",
        "1004",
        "Dan Fors",
        "",
        "$1.00 USD",
        "2018/03/28, 10:27",
        "canceled",
        "",
        "",
        "US",
    ]
    record, problems = map_row(
        "kickstarter_no_reward",
        NO_REWARD_HEADER,
        cells,
        file="No reward - Oct 25 10pm.csv",
        line=2,
        sheet_reward=parse_kickstarter_filename("No reward - Oct 25 10pm.csv"),
    )
    assert problems == []
    assert (record.reward_title, record.reward_minimum, record.reward_platform_id) == ("", None, "")
    assert record.email == ""  # Kickstarter may hide it
    assert record.payment_status == "cancelled"
    assert record.currency == "USD"
    assert record.shipping_country == ""
    assert record.extra == {"Notes": "", "Billing State/Province": "", "Billing Country": "US"}


def test_itemized_rows_list_their_items_and_add_ons():
    values = {
        "Backer Number": "12",
        "Backer UID": "5551234",
        "Backer Name": "Cleo",
        "Email": "cleo@example.com",
        "Shipping Country": "US",
        "Shipping Amount": "$15.00 USD",
        "Reward Title": "All-in",
        "Backing Minimum": "$99.00 USD",
        "Reward ID": "777",
        "Bonus Support": "$5.00 USD",
        "Pledge Amount": "$159.00 USD",
        "Pledged At": "2026-03-01, 12:00",
        "Fulfillment Status": "Not sent",
        "Pledged Status": "collected",
        "Notes": "",
        "Wooden Insert": "1",
        "Sol: Last Days of a Star": "0",
        "[Addon: 1234567] Dice Tower": "2",
        "Late Pledge": "Yes",
        "Survey Response": "",
        "Shipping Country Code": "US",
        "What is your favourite colour?": "Blue",
    }
    cells = [values.get(column, "") for column in ITEMIZED_HEADER]
    record, problems = map_row(
        "kickstarter_itemized",
        ITEMIZED_HEADER,
        cells,
        file="All rewards.csv",
        line=2,
        sheet_reward=None,
    )
    assert problems == []
    assert record.addons_text == "Wooden Insert × 1; [Addon: 1234567] Dice Tower × 2"
    assert record.reward_minimum == Decimal("99.00")
    assert record.bonus_support == Decimal("5.00")
    assert record.shipping_paid == Decimal("15.00")
    assert record.currency == "USD"
    assert record.extra == {
        "Fulfillment Status": "Not sent",
        "Notes": "",
        "Wooden Insert": "1",
        "Sol: Last Days of a Star": "0",
        "[Addon: 1234567] Dice Tower": "2",
        "Late Pledge": "Yes",
        "Survey Response": "",
        "Shipping Delivery Notes": "",
        "What is your favourite colour?": "Blue",
    }


# --- problems ------------------------------------------------------------------------


def only_problem(cells, **kwargs) -> Problem:
    record, problems = map_kickstarter(cells, **kwargs)
    assert record is None
    assert len(problems) == 1
    return problems[0]


def test_a_bad_amount_names_file_line_and_column():
    problem = only_problem(kickstarter_row(**{"Pledge Amount": "abc"}))
    assert str(problem) == "backers.csv line 4812, Pledge Amount: 'abc' is not an amount"
    assert problem.blocking


def test_a_row_with_the_wrong_number_of_cells_is_refused():
    problem = only_problem(kickstarter_row()[:12])
    assert str(problem) == "backers.csv line 4812: has 12 cells, the header has 27"


def test_blank_cells_past_the_header_are_not_a_problem():
    record, problems = map_kickstarter([*kickstarter_row(), "", " "])
    assert record is not None and problems == []
    problem = only_problem([*kickstarter_row(), "", "stray"])
    assert problem.message == "has 29 cells, the header has 27"


@pytest.mark.parametrize("column", ["Backer UID", "Pledge Amount"])
def test_missing_required_values_are_refused(column):
    problem = only_problem(kickstarter_row(**{column: "  "}))
    assert (problem.column, problem.message) == (column, "the cell is empty")


def test_ids_shortened_by_excel_are_refused():
    problem = only_problem(kickstarter_row(**{"Backer UID": "9.25082E+11"}))
    assert str(problem) == (
        "backers.csv line 4812, Backer UID: "
        "'9.25082E+11' looks like a number Excel shortened; export the column as text"
    )


def test_a_phone_number_shortened_by_excel_is_a_warning():
    record, problems = map_kickstarter(kickstarter_row(**{"Shipping Phone Number": "4.67012E+10"}))
    assert record is not None
    assert [(p.column, p.blocking) for p in problems] == [("Shipping Phone Number", False)]


def test_an_email_without_at_sign_is_refused():
    problem = only_problem(kickstarter_row(**{"Email": "asa.example.com"}))
    assert (problem.column, problem.message) == (
        "Email",
        "'asa.example.com' is not an email address",
    )


@pytest.mark.parametrize(
    ("written", "status"),
    [
        ("collected", "collected"),
        ("dropped", "dropped"),
        ("errored", "errored"),
        ("refunded", "refunded"),
        ("canceled", "cancelled"),
        ("Cancelled", "cancelled"),
    ],
)
def test_pledge_statuses_are_read(written, status):
    record, _ = map_kickstarter(kickstarter_row(**{"Pledged Status": written}))
    assert record.payment_status == status


def test_an_unknown_pledge_status_is_refused():
    problem = only_problem(kickstarter_row(**{"Pledged Status": "pending"}))
    assert problem.message == (
        "'pending' is not a pledge status we know (collected, dropped, errored, refunded, cancelled)"
    )


def test_an_unknown_country_is_refused_and_an_empty_one_is_not():
    problem = only_problem(kickstarter_row(**{"Shipping Country Code": "Narnia"}))
    assert (problem.column, problem.message) == (
        "Shipping Country Code",
        "'Narnia' is not a country we know",
    )
    empty = {"Shipping Country Code": "", "Shipping Country": "", "Shipping Country Name": ""}
    record, problems = map_kickstarter(kickstarter_row(**empty))
    assert (record.shipping_country, problems) == ("", [])


def test_a_bad_date_a_bad_backer_number_and_a_negative_amount_are_refused():
    assert only_problem(kickstarter_row(**{"Pledged At": "31/31/2020"})).message == (
        "'31/31/2020' is not a date"
    )
    assert only_problem(kickstarter_row(**{"Backer Number": "abc"})).message == (
        "'abc' is not a whole number"
    )
    assert only_problem(kickstarter_row(**{"Shipping Amount": "-SEK 5.00"})).message == (
        "'-SEK 5.00' is below zero"
    )


def test_amounts_in_two_currencies_are_refused():
    problem = only_problem(kickstarter_row(**{"Shipping Amount": "$5.00 USD"}))
    assert (problem.column, problem.message) == (
        "Pledge Amount",
        "the amounts mix currencies (SEK, USD)",
    )


def test_every_bad_value_of_a_row_is_reported():
    row = kickstarter_row(**{"Pledge Amount": "abc", "Pledged At": "soon", "Email": "nobody"})
    record, problems = map_kickstarter(row)
    assert record is None
    assert [p.column for p in problems] == ["Email", "Pledge Amount", "Pledged At"]


# --- Indiegogo -----------------------------------------------------------------------


def indiegogo_row(**changes) -> list[str]:
    values = {
        "Order No.": "1042",
        "Pledge ID": "31415926",
        "Fulfillment Status": "Unfulfilled",
        "Funding Date": "10/03/2026 14:05",
        "Name": "Bo Lind",
        "Email": "bo@example.com",
        "Amount": "$45.00",
        "Shipping Fees": "$10.00",
        "Platform Fee": "$2.25",
        "Perk ID": "5550001",
        "Perk": "Early Bird",
        "Shipping Name": "Bo Lind",
        "Shipping Address": "1 Main St",
        "Shipping City": "Portland",
        "Shipping State/Province": "OR",
        "Shipping Zip/Postal Code": "97201",
        "Shipping Country": "United States",
        "Tracking Number": "",
    }
    values.update(changes)
    cells = [values.get(column, "") for column in INDIEGOGO_HEADER[:25]]
    groups = [["T-Shirt", "TS-01", "Large", "Blue", ""], ["Sticker Pack", "", "", "", ""], [""] * 5]
    return cells + [cell for group in groups for cell in group]


def map_indiegogo(cells):
    return map_row(
        "indiegogo", INDIEGOGO_HEADER, cells, file="contributions.csv", line=2, sheet_reward=None
    )


def test_an_indiegogo_row_becomes_a_record():
    record, problems = map_indiegogo(indiegogo_row())
    assert problems == []
    assert record.platform == "indiegogo"
    assert record.platform_backer_id == "31415926"
    assert record.backer_number == 1042
    assert (record.reward_platform_id, record.reward_title, record.reward_minimum) == (
        "5550001",
        "Early Bird",
        None,
    )
    assert (record.pledge_amount, record.shipping_paid, record.currency) == (
        Decimal("45.00"),
        Decimal("10.00"),
        None,
    )
    assert record.pledged_at == datetime(2026, 10, 3, 14, 5, tzinfo=UTC)
    assert record.payment_status == "collected"
    assert record.shipping_country == "US"
    assert record.addons_text == "T-Shirt [TS-01] (Large, Blue); Sticker Pack"


def test_repeated_indiegogo_group_columns_are_kept_apart_in_extra():
    record, _ = map_indiegogo(indiegogo_row())
    assert record.extra["Item Name"] == "T-Shirt"
    assert record.extra["Option 2"] == "Blue"
    assert record.extra["Item Name 2"] == "Sticker Pack"
    assert record.extra["Item Name 3"] == ""
    assert record.extra["Fulfillment Status"] == "Unfulfilled"
    assert record.extra["Platform Fee"] == "$2.25"
    assert "Order No." not in record.extra


def test_an_indiegogo_order_number_that_is_no_number_is_kept_in_extra():
    record, problems = map_indiegogo(indiegogo_row(**{"Order No.": "IGG-1042"}))
    assert problems == []
    assert record.backer_number is None
    assert record.extra["Order No."] == "IGG-1042"


def test_indiegogo_refunds_are_read_and_unknown_statuses_only_warned():
    assert map_indiegogo(indiegogo_row(**{"Fulfillment Status": "Refunded"}))[0].payment_status == (
        "refunded"
    )
    record, problems = map_indiegogo(indiegogo_row(**{"Fulfillment Status": "Lost at sea"}))
    assert record.payment_status == "collected"
    assert [(p.column, p.blocking) for p in problems] == [("Fulfillment Status", False)]


def test_excel_shortened_pledge_ids_and_tracking_numbers_are_reported():
    record, problems = map_indiegogo(indiegogo_row(**{"Tracking Number": "9.25082E+11"}))
    assert record is not None
    assert [(p.column, p.blocking) for p in problems] == [("Tracking Number", False)]
    record, problems = map_indiegogo(indiegogo_row(**{"Pledge ID": "3.14159E+7"}))
    assert record is None
    assert problems[0].message == (
        "'3.14159E+7' looks like a number Excel shortened; export the column as text"
    )


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("United States", "US"),
        ("USA", "US"),
        ("UK", "GB"),
        ("Réunion", "RE"),
        ("Reunion", "RE"),
        ("se", "SE"),
        ("SWE", "SE"),
        ("Czech Republic", "CZ"),
        ("The Netherlands", "NL"),
    ],
)
def test_indiegogo_country_names_become_codes(written, code):
    record, _ = map_indiegogo(indiegogo_row(**{"Shipping Country": written}))
    assert record.shipping_country == code


# --- any other CSV -------------------------------------------------------------------

OTHER_HEADER = ["Customer ID", "Full Name", "E-mail", "Total", "Tier", "Date", "Country", "Comment"]
OTHER_ROW = [
    "c-17",
    "Eva Holm",
    "eva@example.com",
    "€45,00",
    "Base",
    "2026-10-03 14:05",
    "Sweden",
    "hi",
]


def test_suggest_mapping_guesses_common_header_names():
    assert suggest_mapping(OTHER_HEADER) == {
        "platform_backer_id": "Customer ID",
        "name": "Full Name",
        "email": "E-mail",
        "reward_title": "Tier",
        "pledge_amount": "Total",
        "pledged_at": "Date",
        "shipping_country": "Country",
    }


def test_a_mapped_csv_row_becomes_a_record_of_platform_other():
    mapping = suggest_mapping(OTHER_HEADER)
    record, problems = map_row_with_mapping(
        mapping, OTHER_HEADER, OTHER_ROW, file="crm.csv", line=2
    )
    assert problems == []
    assert record.platform == "other"
    assert (record.platform_backer_id, record.name, record.pledge_amount, record.currency) == (
        "c-17",
        "Eva Holm",
        Decimal("45.00"),
        "EUR",
    )
    assert record.shipping_country == "SE"
    assert record.extra == {"Comment": "hi"}


def test_a_mapping_without_the_required_columns_is_explained():
    mapping = ColumnMapping({"name": "Full Name", "email": "Mail"})
    assert mapping.errors(OTHER_HEADER) == [
        "The file has no column 'Mail'.",
        "Choose the column that holds the Backer ID.",
        "Choose the column that holds the Pledge amount.",
    ]
    with pytest.raises(ValueError):
        map_row_with_mapping({"name": "Full Name"}, OTHER_HEADER, OTHER_ROW, file="crm.csv", line=2)


def test_only_backer_id_and_pledge_amount_must_be_mapped():
    assert [f.name for f in MAPPABLE_FIELDS if f.required] == [
        "platform_backer_id",
        "pledge_amount",
    ]


def test_a_row_mapper_is_built_once_and_maps_many_rows():
    mapper = RowMapper("kickstarter", KICKSTARTER_HEADER, file="backers.csv")
    results = [mapper.map(kickstarter_row(**{"Backer Number": str(n)}), n + 1) for n in range(1, 4)]
    assert [record.backer_number for record, _ in results] == [1, 2, 3]
    assert [record.source_line for record, _ in results] == [2, 3, 4]


MAPPERS = [
    RowMapper("kickstarter", KICKSTARTER_HEADER, file="a.csv"),
    RowMapper("kickstarter_itemized", ITEMIZED_HEADER, file="a.csv"),
    RowMapper("kickstarter_no_reward", NO_REWARD_HEADER, file="a.csv"),
    RowMapper("indiegogo", INDIEGOGO_HEADER, file="a.csv"),
    RowMapper("other", OTHER_HEADER, file="a.csv", mapping=suggest_mapping(OTHER_HEADER)),
]
CELLS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "0", "2", "$5.00 USD", "9.2E+11", "SE", "canceled", "2018/03/28, 10:27"]),
)


@settings(max_examples=150, deadline=None)
@given(mapper=st.sampled_from(MAPPERS), data=st.data())
def test_any_cells_give_a_record_or_blocking_problems_and_never_raise(mapper, data):
    size = data.draw(st.integers(0, mapper.width + 2))
    cells = data.draw(st.lists(CELLS, min_size=size, max_size=size))
    record, problems = mapper.map(cells, 7)
    assert (record is None) == any(problem.blocking for problem in problems)
    assert all(problem.file == "a.csv" and problem.line == 7 for problem in problems)
