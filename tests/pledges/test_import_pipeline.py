"""Imports end to end through the pipeline and the database: formats, problems,
idempotency, updates, duplicates, atomicity. On PostgreSQL every test runs with
both merge strategies (COPY + set-based SQL, and the in-memory one)."""

from decimal import Decimal

import pytest
from django.db import connection
from openpyxl import Workbook

from pledges.importers.pipeline import NeedsMapping, import_file
from pledges.models import Backer, BackerEvent, DuplicateGroup, PaymentStatus, Pledge, Reward
from tests.factories import BackerFactory, CampaignFactory

from .reports import (
    INDIEGOGO_HEADER,
    csv_text,
    ks_row,
    write_kickstarter_csv,
    write_kickstarter_zip,
)


@pytest.fixture(params=["python", "postgres"])
def strategy(request, db):
    if request.param == "postgres" and connection.vendor != "postgresql":
        pytest.skip("the COPY strategy needs PostgreSQL")
    return request.param


@pytest.fixture
def campaign(db):
    return CampaignFactory(currency="USD")


def run(campaign, path, strategy, apply=True, **kwargs):
    return import_file(
        campaign=campaign,
        path=path,
        original_name=path.name,
        apply=apply,
        strategy=strategy,
        **kwargs,
    )


def test_kickstarter_csv_imports_backers_pledges_rewards_and_addresses(
    campaign, strategy, tmp_path
):
    path = write_kickstarter_csv(
        tmp_path / "report.csv",
        [
            ks_row(1),
            ks_row(
                2,
                **{
                    "Reward ID": "7002",
                    "Reward Title": "Deluxe",
                    "Reward Minimum": "$99.00 USD",
                    "Pledge Amount": "$1,234.00 USD",
                },
            ),
        ],
    )
    outcome = run(campaign, path, strategy)
    assert outcome.applied and outcome.counts()["new"] == 2
    backer = Backer.objects.get(campaign=campaign, platform_backer_id="5000000001")
    assert (backer.backer_number, backer.name, backer.email_normalized) == (
        1,
        "Backer 1 Åström",
        "backer1@example.se",
    )
    pledge = backer.pledges.get()
    assert pledge.amount.amount == Decimal("69.00") and pledge.shipping_paid.amount == Decimal(
        "10.00"
    )
    assert pledge.shipping_city == "Tyresö" and pledge.shipping_country.code == "SE"
    assert pledge.shipping_postal_code == "135 40"
    assert pledge.extra["Which colour do you want?"] == "Blue"
    assert pledge.pledged_at.isoformat() == "2026-10-02T10:27:00+00:00"
    deluxe = Reward.objects.get(campaign=campaign, platform_reward_id="7002")
    assert deluxe.title == "Deluxe" and deluxe.minimum.amount == Decimal("99.00")
    assert deluxe.backer_count == 1
    assert backer.first_import_run_id is None  # no run object given


def test_kickstarter_zip_reads_every_tier_file_and_the_no_reward_file(campaign, strategy, tmp_path):
    tier_rows = [
        ks_row(n, **{"Reward ID": "", "Reward Title": "", "Reward Minimum": ""}) for n in (1, 2)
    ]
    path = write_kickstarter_zip(
        tmp_path / "backers.zip",
        {
            "59.00 USD Core Game - Oct 25 10pm.csv": tier_rows,
            "99.00 USD Deluxe - Big Box - Oct 25 10pm.csv": [
                ks_row(
                    3,
                    **{
                        "Reward ID": "7003",
                        "Reward Title": "Deluxe - Big Box",
                        "Reward Minimum": "$99.00 USD",
                    },
                )
            ],
        },
        no_reward=[
            {
                "Backer Number": "4",
                "Backer UID": "99",
                "Backer Name": "Nora",
                "Email": "n@x.org",
                "Pledge Amount": "$5.00 USD",
                "Pledged At": "2026/10/01, 09:00",
                "Pledged Status": "collected",
            }
        ],
    )
    outcome = run(campaign, path, strategy)
    assert outcome.applied, outcome.problems
    assert outcome.counts()["new"] == 4
    core = Reward.objects.get(campaign=campaign, title="Core Game")
    assert core.minimum.amount == Decimal("59.00") and core.backer_count == 2
    assert Pledge.objects.get(backer__platform_backer_id="99").reward is None
    assert (
        Reward.objects.get(campaign=campaign, platform_reward_id="7003").title == "Deluxe - Big Box"
    )


def test_same_file_three_times_changes_nothing_after_the_first(campaign, strategy, tmp_path):
    path = write_kickstarter_csv(tmp_path / "r.csv", [ks_row(n) for n in range(1, 6)])
    first = run(campaign, path, strategy)
    snapshot = list(Pledge.objects.order_by("pk").values())
    for _ in range(2):
        again = run(campaign, path, strategy)
        assert (again.new, again.updated, again.unchanged) == (0, 0, 5)
    assert first.new == 5
    assert list(Pledge.objects.order_by("pk").values()) == snapshot
    assert Backer.objects.count() == 5
    assert not BackerEvent.objects.exists()


def test_newer_report_updates_what_changed_and_reports_the_diff(campaign, strategy, tmp_path):
    run(
        campaign,
        write_kickstarter_csv(
            tmp_path / "a.csv", [ks_row(1, **{"Pledged Status": "errored"}), ks_row(2)]
        ),
        strategy,
    )
    newer = write_kickstarter_csv(
        tmp_path / "b.csv",
        [
            ks_row(1, **{"Pledged Status": "collected"}),
            ks_row(2, **{"Shipping City": "Nacka"}),
            ks_row(3),
        ],
    )
    outcome = run(campaign, newer, strategy)
    assert (outcome.new, outcome.updated, outcome.unchanged) == (1, 2, 0)
    assert outcome.diff["status_changes"] == {"errored → collected": 1}
    assert outcome.diff["fields"] == {"payment_status": 1, "shipping_city": 1}
    updated = {s["platform_backer_id"]: s["changes"] for s in outcome.samples["updated"]}
    assert updated["5000000002"] == {"shipping_city": ["Tyresö", "Nacka"]}
    assert Pledge.objects.get(backer__platform_backer_id="5000000001").payment_status == "collected"
    event = BackerEvent.objects.get(backer__platform_backer_id="5000000002")
    assert event.detail == {"shipping_city": ["Tyresö", "Nacka"]}


def test_dry_run_counts_but_changes_nothing(campaign, strategy, tmp_path):
    path = write_kickstarter_csv(tmp_path / "r.csv", [ks_row(1), ks_row(2)])
    outcome = run(campaign, path, strategy, apply=False)
    assert (outcome.new, outcome.applied) == (2, False)
    assert not Backer.objects.exists() and not Reward.objects.exists()


def test_dropped_and_errored_pledges_are_imported_and_flagged(campaign, strategy, tmp_path):
    rows = [
        ks_row(1, **{"Pledged Status": "dropped"}),
        ks_row(2, **{"Pledged Status": "errored"}),
        ks_row(3),
    ]
    run(campaign, write_kickstarter_csv(tmp_path / "r.csv", rows), strategy)
    statuses = dict(Pledge.objects.values_list("backer__backer_number", "payment_status"))
    assert statuses == {
        1: PaymentStatus.DROPPED,
        2: PaymentStatus.ERRORED,
        3: PaymentStatus.COLLECTED,
    }


def test_a_blocking_problem_changes_nothing_and_says_where(campaign, strategy, tmp_path):
    rows = [ks_row(1), ks_row(2, **{"Pledge Amount": "abc"}), ks_row(3)]
    outcome = run(campaign, write_kickstarter_csv(tmp_path / "bad.csv", rows), strategy)
    assert not outcome.applied
    assert [str(p) for p in outcome.problems] == [
        "bad.csv line 3, Pledge Amount: 'abc' is not an amount"
    ]
    assert not Backer.objects.exists() and not Reward.objects.exists()


def test_the_same_backer_twice_in_a_file_is_a_blocking_problem(campaign, strategy, tmp_path):
    rows = [ks_row(1), ks_row(2), ks_row(1, **{"Backer Number": "9"})]
    outcome = run(campaign, write_kickstarter_csv(tmp_path / "d.csv", rows), strategy)
    assert not outcome.applied
    assert outcome.problems[0].line == 4
    assert "appears twice (first on line 2)" in outcome.problems[0].message


def test_amounts_in_another_currency_than_the_campaign_are_refused(campaign, strategy, tmp_path):
    rows = [
        ks_row(
            1,
            **{
                "Pledge Amount": "SEK 650.00",
                "Shipping Amount": "SEK 10.00",
                "Reward Minimum": "SEK 500.00",
            },
        )
    ]
    outcome = run(campaign, write_kickstarter_csv(tmp_path / "sek.csv", rows), strategy)
    assert not outcome.applied
    assert outcome.problems[0].message == "the amount is in SEK; the campaign is in USD"


def test_same_email_under_two_ids_is_flagged_never_merged(campaign, strategy, tmp_path):
    rows = [ks_row(1, Email="Twin@Example.se"), ks_row(2, Email=" twin@example.se "), ks_row(3)]
    outcome = run(campaign, write_kickstarter_csv(tmp_path / "r.csv", rows), strategy)
    assert outcome.open_duplicates == 1
    group = DuplicateGroup.objects.get(campaign=campaign)
    assert group.key == "twin@example.se" and group.member_count == 2
    assert Backer.objects.filter(duplicate_group=group).count() == 2
    assert not Backer.objects.filter(merged_into__isnull=False).exists()


def test_same_person_on_kickstarter_and_indiegogo_is_flagged(campaign, strategy, tmp_path):
    BackerFactory(campaign=campaign)  # someone else
    run(
        campaign,
        write_kickstarter_csv(tmp_path / "ks.csv", [ks_row(1, Email="a@one.se")]),
        strategy,
    )
    igg = tmp_path / "igg.csv"
    igg.write_text(
        csv_text(
            INDIEGOGO_HEADER,
            [
                {
                    "Order No.": "1",
                    "Pledge ID": "IGG-1",
                    "Fulfillment Status": "Fulfilled",
                    "Funding Date": "2026-10-05 12:00:00",
                    "Name": "Backer 1 Åström",
                    "Email": "other@two.se",
                    "Amount": "$69.00",
                    "Shipping Fees": "$10.00",
                    "Perk ID": "P1",
                    "Perk": "Core Game",
                    "Shipping Name": "Backer 1 Åström",
                    "Shipping Address": "Storgatan 1",
                    "Shipping City": "Tyresö",
                    "Shipping Zip/Postal Code": "135 40",
                    "Shipping Country": "Sweden",
                }
            ],
        ),
        encoding="utf-8",
    )
    outcome = run(campaign, igg, strategy)
    assert outcome.applied, outcome.problems
    assert outcome.formats == ["indiegogo"]
    group = DuplicateGroup.objects.get(campaign=campaign, reason="same_person")
    assert sorted(
        Backer.objects.filter(duplicate_group=group).values_list("platform", flat=True)
    ) == ["indiegogo", "kickstarter"]


def test_indiegogo_and_kickstarter_backers_live_side_by_side(campaign, strategy, tmp_path):
    run(
        campaign,
        write_kickstarter_csv(tmp_path / "ks.csv", [ks_row(1, **{"Backer UID": "42"})]),
        strategy,
    )
    igg = tmp_path / "igg.csv"
    igg.write_text(
        csv_text(
            INDIEGOGO_HEADER,
            [
                {
                    "Order No.": "5",
                    "Pledge ID": "42",
                    "Funding Date": "2026-10-05 12:00:00",
                    "Name": "Ina",
                    "Email": "ina@x.org",
                    "Amount": "$25.00",
                    "Perk ID": "",
                    "Perk": "",
                }
            ],
        ),
        encoding="utf-8",
    )
    run(campaign, igg, strategy)
    assert sorted(Backer.objects.values_list("platform", "platform_backer_id")) == [
        ("indiegogo", "42"),
        ("kickstarter", "42"),
    ]


def test_unknown_layout_needs_a_mapping_then_imports_with_it(campaign, strategy, tmp_path):
    path = tmp_path / "shopify.csv"
    path.write_text(
        "Order;Customer;E-mail;Total;Country\n1001;Chloé;c@x.fr;1.234,00 €;France\n",
        encoding="utf-8",
    )
    with pytest.raises(NeedsMapping) as caught:
        run(campaign, path, strategy)
    assert caught.value.header == ["Order", "Customer", "E-mail", "Total", "Country"]
    campaign.currency = "EUR"
    campaign.save()
    mapping = {
        "platform_backer_id": "Order",
        "name": "Customer",
        "email": "E-mail",
        "pledge_amount": "Total",
        "shipping_country": "Country",
    }
    outcome = run(campaign, path, strategy, fmt="mapped", mapping=mapping)
    assert outcome.applied, outcome.problems
    pledge = Pledge.objects.get()
    assert (pledge.backer.platform, pledge.amount.amount, pledge.shipping_country.code) == (
        "other",
        Decimal("1234.00"),
        "FR",
    )


def test_xlsx_with_a_mapping_imports(campaign, strategy, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["ID", "Full name", "Paid"])
    sheet.append([7, "Jürgen", 45])
    path = tmp_path / "late.xlsx"
    book.save(path)
    mapping = {"platform_backer_id": "ID", "name": "Full name", "pledge_amount": "Paid"}
    outcome = run(campaign, path, strategy, fmt="mapped", mapping=mapping)
    assert outcome.applied, outcome.problems
    assert Pledge.objects.get().amount.amount == Decimal("45")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1252"])
def test_encodings_excel_writes_are_read(campaign, strategy, tmp_path, encoding):
    path = write_kickstarter_csv(tmp_path / "r.csv", [ks_row(1)], encoding=encoding)
    outcome = run(campaign, path, strategy)
    assert outcome.applied, outcome.problems
    assert Pledge.objects.get().shipping_city == "Tyresö"


def test_an_unreadable_file_is_one_blocking_problem(campaign, strategy, tmp_path):
    path = tmp_path / "report.zip"
    path.write_bytes(b"PK\x03\x04 this is not really a zip")
    outcome = run(campaign, path, strategy)
    assert not outcome.applied and outcome.blocking == 1
    assert outcome.problems[0].file == "report.zip"


@pytest.mark.postgres
def test_a_bad_row_at_line_200000_leaves_nothing_behind(campaign, tmp_path):
    path = tmp_path / "big.csv"
    good = csv_text(list(ks_row(0)), [ks_row(1)]).splitlines()[1]
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(f'"{h}"' for h in ks_row(0)) + "\r\n")
        for n in range(1, 200_000):
            handle.write(good.replace("5000000001", str(5_000_000_000 + n), 1) + "\r\n")
        handle.write(
            good.replace("5000000001", "1", 1).replace("$69.00 USD", "sixty-nine") + "\r\n"
        )
    outcome = import_file(campaign=campaign, path=path, original_name="big.csv", apply=True)
    assert not outcome.applied
    assert [(p.line, p.column) for p in outcome.problems] == [(200_001, "Pledge Amount")]
    assert not Backer.objects.exists() and not Reward.objects.exists()


def test_a_bad_last_row_leaves_nothing_behind_on_any_database(campaign, strategy, tmp_path):
    rows = [ks_row(n) for n in range(1, 2001)] + [ks_row(2001, **{"Pledged At": "31/31/2020"})]
    outcome = run(campaign, write_kickstarter_csv(tmp_path / "r.csv", rows), strategy)
    assert not outcome.applied and outcome.problems[0].line == 2002
    assert not Backer.objects.exists()


def test_values_past_the_database_limits_are_problems_of_their_row(campaign, strategy, tmp_path):
    rows = [
        ks_row(1, **{"Backer UID": "9" * 65}),
        ks_row(2, **{"Backer Number": str(2**31)}),
        ks_row(3, **{"Pledge Amount": "$10,000,000,000.00 USD"}),
        ks_row(4, **{"Shipping Postal Code": "1" * 41}),
        ks_row(5),
    ]
    outcome = run(campaign, write_kickstarter_csv(tmp_path / "big.csv", rows), strategy)
    assert not outcome.applied
    assert [(p.line, p.column) for p in outcome.problems] == [
        (2, "Backer id"),
        (3, "Backer number"),
        (4, "Pledge amount"),
        (5, "Shipping postal code"),
    ]
    assert "at most 64 fit" in outcome.problems[0].message
    assert not Backer.objects.exists()
