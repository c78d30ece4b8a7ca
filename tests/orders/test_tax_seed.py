"""The standard rates each campaign gets its own copy of: EU-27 and UK exactly as the
reference CSV (a verbatim copy sits next to this file), Norway, Switzerland,
Australia and Canada; seeding twice adds nothing and keeps the creator's edits."""

import csv
from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orders.models import TaxRate
from orders.services.taxes import seed_tax_rates, update_tax_rate
from orders.tax import EU_MEMBER_STATES
from tests.factories import CampaignFactory

# The German rate seeded from 2021-01-01 (16 % came before it, from 2020-07-01).
GERMAN_19 = date(2021, 1, 1)

REFERENCE_CSV = Path(__file__).with_name("eu-vat-standard-rates.csv")


def _reference_rows() -> list[dict]:
    with REFERENCE_CSV.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _seeded(campaign) -> dict[tuple[str, str, date | None], TaxRate]:
    return {
        (str(r.country), r.region, r.valid_from): r
        for r in TaxRate.objects.filter(campaign=campaign)
    }


@pytest.fixture
def seeded(campaign):
    seed_tax_rates(campaign=campaign)
    return _seeded(campaign)


def test_every_row_of_the_reference_csv_is_seeded_with_its_rate_and_date(seeded):
    for row in _reference_rows():
        valid_from = date.fromisoformat(row["effective_from"]) if row["effective_from"] else None
        rate = seeded[(row["country"], "", valid_from)]
        assert rate.rate == Decimal(row["standard_rate_percent"]), row["country"]


def test_the_reference_csv_covers_the_27_member_states_and_the_uk(seeded):
    assert {row["country"] for row in _reference_rows()} == EU_MEMBER_STATES | {"GB"}


def test_eu_and_uk_have_no_other_seeded_rates_than_the_csvs(seeded):
    """A row per CSV row, and one more for each earlier rate a row's note gives."""
    eu_and_uk = {key for key in seeded if key[0] in EU_MEMBER_STATES | {"GB"}}
    notes = [row for row in _reference_rows() if " from " in row["note"]]
    assert len(eu_and_uk) == len(_reference_rows()) + len(notes) == 30


@pytest.mark.parametrize(
    ("country", "rate", "valid_from"),
    [("DE", "16", date(2020, 7, 1)), ("IE", "21", date(2020, 9, 1))],
)
def test_the_earlier_rate_of_a_csv_note_is_seeded(seeded, country, rate, valid_from):
    assert seeded[(country, "", valid_from)].rate == Decimal(rate)


@pytest.mark.parametrize(
    ("country", "name", "rate", "valid_from"),
    [
        ("NO", "VAT", "25", None),
        ("CH", "VAT", "8.1", date(2024, 1, 1)),
        ("AU", "GST", "10", None),
        ("CA", "GST", "5", None),
    ],
)
def test_countries_outside_the_eu_are_seeded(seeded, country, name, rate, valid_from):
    row = seeded[(country, "", valid_from)]
    assert (row.name, row.rate) == (name, Decimal(rate))


@pytest.mark.parametrize(
    ("region", "rate", "valid_from"),
    [
        ("CA-ON", "13", None),
        ("CA-NB", "15", None),
        ("CA-NL", "15", None),
        ("CA-PE", "15", None),
        ("CA-NS", "15", None),
        ("CA-NS", "14", date(2025, 4, 1)),
    ],
)
def test_canadian_hst_provinces_are_seeded(seeded, region, rate, valid_from):
    row = seeded[("CA", region, valid_from)]
    assert (row.name, row.rate) == ("HST", Decimal(rate))


def test_provinces_with_their_own_sales_tax_get_no_row(seeded):
    assert not {key for key in seeded if key[1] in ("CA-QC", "CA-BC", "CA-SK", "CA-MB")}


def test_seeded_rates_apply_to_goods_shipping_and_digital(seeded):
    assert all(
        r.applies_to_goods and r.applies_to_shipping and r.applies_to_digital
        for r in seeded.values()
    )


def test_seeding_twice_adds_nothing(campaign):
    first = seed_tax_rates(campaign=campaign)
    assert seed_tax_rates(campaign=campaign) == 0
    assert TaxRate.objects.filter(campaign=campaign).count() == first


def test_seeding_again_keeps_a_rate_the_creator_changed(campaign):
    seed_tax_rates(campaign=campaign)
    germany = TaxRate.objects.get(campaign=campaign, country="DE", valid_from=GERMAN_19)
    update_tax_rate(tax_rate=germany, rate=Decimal("7"))
    seed_tax_rates(campaign=campaign)
    assert TaxRate.objects.get(
        campaign=campaign, country="DE", valid_from=GERMAN_19
    ).rate == Decimal("7")


def test_seeding_again_restores_a_deleted_standard_rate(campaign):
    added = seed_tax_rates(campaign=campaign)
    TaxRate.objects.filter(campaign=campaign, country="FR").delete()
    assert seed_tax_rates(campaign=campaign) == 1
    assert TaxRate.objects.filter(campaign=campaign).count() == added


def test_each_campaign_gets_its_own_copy(campaign):
    other = CampaignFactory(organization=campaign.organization)
    seed_tax_rates(campaign=campaign)
    seed_tax_rates(campaign=other)
    update_tax_rate(
        tax_rate=TaxRate.objects.get(campaign=campaign, country="DE", valid_from=GERMAN_19),
        rate=Decimal("7"),
    )
    assert TaxRate.objects.get(campaign=other, country="DE", valid_from=GERMAN_19).rate == Decimal(
        "19"
    )


def test_the_command_seeds_the_named_campaigns(campaign):
    out = StringIO()
    call_command("seed_tax_rates", campaign.slug, stdout=out)
    assert TaxRate.objects.filter(campaign=campaign).exists()
    assert f"{campaign.slug}: " in out.getvalue()


def test_the_command_refuses_an_unknown_campaign(db):
    with pytest.raises(CommandError, match="no-such-campaign"):
        call_command("seed_tax_rates", "no-such-campaign")
