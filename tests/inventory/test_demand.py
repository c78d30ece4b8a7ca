"""The demand report on a hand-built campaign: figures, page, CSV and command."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from djmoney.money import Money

from accounts.models import Role
from inventory.demand import demand_report, report_table
from inventory.regions import NO_COUNTRY
from pledges.models import (
    Backer,
    ChoiceGroup,
    ChoiceOption,
    PaymentStatus,
    RegionalRule,
    RewardItem,
    StretchGoal,
)
from surveys.models import AddOnOfferItem, ImportedAddOn
from tests.conftest import member
from tests.factories import (
    AddOnOfferFactory,
    BackerFactory,
    CampaignFactory,
    PledgeFactory,
    RewardFactory,
    SkuFactory,
)

EARLY_BIRD_ENDS = datetime(2026, 10, 5, tzinfo=UTC)
EARLY = datetime(2026, 10, 1, 12, tzinfo=UTC)
LATE = datetime(2026, 10, 10, 12, tzinfo=UTC)


def pledge(campaign, reward, country, pledged_at=LATE, addons="", **extra):
    return PledgeFactory(
        backer=BackerFactory(campaign=campaign),
        reward=reward,
        shipping_country=country,
        pledged_at=pledged_at,
        addons_text=addons,
        **extra,
    )


@pytest.fixture
def shop(campaign):
    """Two tiers, a dice colour choice, a German edition, two stretch goals (by
    tier, dated), a mapped Dice Tower add-on and an unmapped Playmat text."""
    org = campaign.organization
    sku = {
        code: SkuFactory(organization=org, code=code, name=name)
        for code, name in [
            ("GAME-EN", "Core game, English"),
            ("GAME-DE", "Core game, German"),
            ("EXP", "Expansion"),
            ("DICE-RED", "Dice, red"),
            ("DICE-BLUE", "Dice, blue"),
            ("TOWER", "Dice tower"),
            ("PIN", "Enamel pin"),
            ("COIN", "Early-bird coin"),
        ]
    }
    core = RewardFactory(campaign=campaign, title="Core", minimum=Money(Decimal("59"), "USD"))
    deluxe = RewardFactory(campaign=campaign, title="Deluxe", minimum=Money(Decimal("149"), "USD"))
    RewardItem.objects.create(reward=core, sku=sku["GAME-EN"])
    RewardItem.objects.create(reward=deluxe, sku=sku["GAME-EN"])
    RewardItem.objects.create(reward=deluxe, sku=sku["EXP"])
    dice = ChoiceGroup.objects.create(campaign=campaign, reward=deluxe, name="Dice colour")
    ChoiceOption.objects.create(group=dice, label="Red", sku=sku["DICE-RED"], is_default=True)
    ChoiceOption.objects.create(group=dice, label="Blue", sku=sku["DICE-BLUE"])
    RegionalRule.objects.create(
        campaign=campaign,
        name="German edition",
        countries=["DE", "AT", "CH"],
        from_sku=sku["GAME-EN"],
        to_sku=sku["GAME-DE"],
    )
    StretchGoal.objects.create(campaign=campaign, name="Pin", sku=sku["PIN"], from_reward=deluxe)
    StretchGoal.objects.create(
        campaign=campaign, name="Early birds", sku=sku["COIN"], pledged_before=EARLY_BIRD_ENDS
    )
    tower = AddOnOfferFactory(campaign=campaign, name="Dice Tower")
    AddOnOfferItem.objects.create(offer=tower, sku=sku["TOWER"])
    ImportedAddOn.objects.create(campaign=campaign, text="Dice Tower", offer=tower)
    ImportedAddOn.objects.create(campaign=campaign, text="Playmat")  # not mapped yet

    first = pledge(campaign, core, "US", EARLY, "Dice Tower × 2")
    pledge(campaign, core, "DE")
    pledge(campaign, deluxe, "DE", EARLY, "Playmat × 1")
    pledge(campaign, deluxe, "GB", EARLY_BIRD_ENDS)  # at the cut-off: not early any more
    pledge(campaign, core, "", None)  # no address yet, no pledge date
    # Not counted: payment not collected, backer merged into another, another campaign.
    pledge(campaign, core, "FR", payment_status=PaymentStatus.DROPPED)
    pledge(campaign, core, "FR", payment_status=PaymentStatus.ERRORED)
    merged = pledge(campaign, deluxe, "FR", EARLY, "Dice Tower × 1")
    Backer.objects.filter(pk=merged.backer_id).update(merged_into=first.backer)
    other = CampaignFactory(organization=org)
    other_reward = RewardFactory(campaign=other)
    RewardItem.objects.create(reward=other_reward, sku=sku["GAME-EN"])
    pledge(other, other_reward, "FR")
    return sku


def figures(report):
    """{code: (total, {column label: units})} without the zero cells."""
    labels = [d.label for d in report.destinations]
    return {
        row.sku.code: (
            row.total,
            {k: v for k, v in zip(labels, row.by_destination, strict=True) if v},
        )
        for row in report.rows
    }


def test_units_per_sku_and_country(campaign, shop):
    report = demand_report(campaign=campaign, by="country")

    assert report.pledges_counted == 5
    assert figures(report) == {
        "GAME-EN": (3, {"United States of America": 1, "United Kingdom": 1, NO_COUNTRY: 1}),
        "GAME-DE": (2, {"Germany": 2}),
        "EXP": (2, {"Germany": 1, "United Kingdom": 1}),
        "COIN": (2, {"United States of America": 1, "Germany": 1}),
        "TOWER": (2, {"United States of America": 2}),
        "PIN": (2, {"Germany": 1, "United Kingdom": 1}),
    }
    # Columns by volume, the pledges without a country last.
    assert [d.key for d in report.destinations] == ["DE", "US", "GB", ""]
    assert report.column_totals == [5, 4, 3, 1]
    assert [d.pledges for d in report.destinations] == [2, 1, 1, 1]
    assert report.grand_total == 13
    # Rows by volume, then code.
    assert [r.sku.code for r in report.rows] == [
        "GAME-EN",
        "COIN",
        "EXP",
        "GAME-DE",
        "PIN",
        "TOWER",
    ]
    assert report.rows[0].share == 100 and report.rows[1].share == 67
    assert report.rows[0].percent == pytest.approx(23.1)


def test_units_per_region(campaign, shop):
    report = demand_report(campaign=campaign, by="region")

    assert [(d.label, d.pledges) for d in report.destinations] == [
        ("EU", 2),
        ("United States", 1),
        ("United Kingdom", 1),
        (NO_COUNTRY, 1),
    ]
    assert report.column_totals == [5, 4, 3, 1]
    assert figures(report)["GAME-EN"] == (
        3,
        {"United States": 1, "United Kingdom": 1, NO_COUNTRY: 1},
    )
    assert figures(report)["GAME-DE"] == (2, {"EU": 2})
    assert report.grand_total == 13


def test_pending_choices_are_reported_apart_with_their_default(campaign, shop):
    report = demand_report(campaign=campaign, by="country")

    [choice] = report.pending_choices
    assert choice.name == "Dice colour (Deluxe)"
    assert choice.total == 2
    assert dict(zip([d.key for d in report.destinations], choice.by_destination, strict=True)) == {
        "DE": 1,
        "US": 0,
        "GB": 1,
        "": 0,
    }
    assert [(sku.code, units) for sku, units in choice.defaults] == [("DICE-RED", 2)]
    assert "DICE-RED" not in figures(report) and "DICE-BLUE" not in figures(report)
    assert report.pending_total == 2


def test_unmapped_addons_are_reported_apart(campaign, shop):
    report = demand_report(campaign=campaign, by="region")

    assert [(a.text, a.total) for a in report.unmapped_addons] == [("Playmat", 1)]
    eu = [d.label for d in report.destinations].index("EU")
    assert report.unmapped_addons[0].by_destination[eu] == 1
    assert report.unmapped_total == 1


def test_an_empty_campaign_has_an_empty_report(campaign):
    report = demand_report(campaign=campaign, by="country")
    assert (report.pledges_counted, report.rows, report.destinations) == (0, [], [])
    assert report.grand_total == 0


def test_an_unknown_grouping_is_refused(campaign):
    with pytest.raises(ValueError, match="country, region"):
        demand_report(campaign=campaign, by="continent")


# --- page ---------------------------------------------------------------------


def test_page_shows_table_chart_pending_and_unmapped(owner_client, campaign, shop):
    response = owner_client.get(reverse("demand-report", args=[campaign.slug]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "5 collected pledges" in html
    assert "Germany" in html and "United States of America" in html
    assert 'class="bar" style="width: 100%"' in html  # GAME-EN, the largest row
    assert "Dice colour (Deluxe)" in html and "DICE-RED" in html
    assert "Playmat" in html
    assert 'aria-current="page">By country' in html
    assert response.context["report"].by == "country"


def test_page_by_region(owner_client, campaign, shop):
    response = owner_client.get(reverse("demand-report", args=[campaign.slug]), {"by": "region"})

    report = response.context["report"]
    assert report.by == "region"
    assert [d.label for d in report.destinations][0] == "EU"
    assert 'aria-current="page">By region' in response.content.decode()


def test_page_falls_back_to_countries_for_an_unknown_grouping(owner_client, campaign, shop):
    response = owner_client.get(reverse("demand-report", args=[campaign.slug]), {"by": "moon"})
    assert response.context["report"].by == "country"


def test_page_refuses_to_be_posted_to(owner_client, campaign):
    response = owner_client.post(reverse("demand-report", args=[campaign.slug]))
    assert response.status_code == 405


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER, Role.SUPPORT, Role.WAREHOUSE])
def test_every_role_may_see_the_report_and_its_csv(client, campaign, shop, role):
    client.force_login(member(campaign.organization, role))
    assert client.get(reverse("demand-report", args=[campaign.slug])).status_code == 200
    assert client.get(reverse("demand-report-csv", args=[campaign.slug])).status_code == 200


def test_page_query_count_does_not_grow_with_pledges(
    owner_client, campaign, shop, django_assert_max_num_queries
):
    url = reverse("demand-report", args=[campaign.slug])
    with django_assert_max_num_queries(12):
        owner_client.get(url)
    rewards = list(campaign.rewards.all())
    for i in range(40):
        pledge(
            campaign,
            rewards[i % 2],
            ["SE", "JP", "CA", "AU", "BR"][i % 5],
            EARLY if i % 3 else LATE,
            f"Dice Tower × {i % 3 + 1}; Sticker {i}",
        )
    with django_assert_max_num_queries(12):
        response = owner_client.get(url, {"by": "region"})
    assert response.context["report"].pledges_counted == 45


# --- CSV ----------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))


def test_csv_has_the_page_figures(owner_client, campaign, shop):
    response = owner_client.get(reverse("demand-report-csv", args=[campaign.slug]))

    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="{campaign.slug}-demand-by-country.csv"' in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == [
        "Line",
        "SKU code",
        "Description",
        "Total units",
        "Germany (DE)",
        "United States of America (US)",
        "United Kingdom (GB)",
        NO_COUNTRY,
    ]
    assert rows[1] == ["SKU", "GAME-EN", "Core game, English", "3", "0", "1", "1", "1"]
    by_kind = {}
    for row in rows[1:]:
        by_kind.setdefault(row[0], []).append(row)
    assert len(by_kind["SKU"]) == 6
    assert by_kind["Total"] == [["Total", "", "All SKUs", "13", "5", "4", "3", "1"]]
    assert by_kind["Choice not made yet"] == [
        [
            "Choice not made yet",
            "",
            "Dice colour (Deluxe): not yet chosen; default ships DICE-RED (2)",
            "2",
            "1",
            "0",
            "1",
            "0",
        ]
    ]
    assert by_kind["Add-on not mapped"] == [
        ["Add-on not mapped", "", "Playmat", "1", "1", "0", "0", "0"]
    ]
    assert by_kind["Pledges"] == [
        ["Pledges", "", "Collected pledges counted", "5", "2", "1", "1", "1"]
    ]


def test_csv_by_region(owner_client, campaign, shop):
    response = owner_client.get(
        reverse("demand-report-csv", args=[campaign.slug]), {"by": "region"}
    )
    rows = read_csv(response)
    assert rows[0][4:] == ["EU", "United States", "United Kingdom", NO_COUNTRY]
    assert "demand-by-region.csv" in response["Content-Disposition"]


def test_csv_neutralises_formulas(owner_client, campaign, shop):
    shop["EXP"].name = '=HYPERLINK("http://evil.example","x")'
    shop["EXP"].save()
    pledge(campaign, campaign.rewards.get(title="Core"), "US", addons="@SUM(1+1) × 2")

    rows = read_csv(owner_client.get(reverse("demand-report-csv", args=[campaign.slug])))

    cells = [cell for row in rows for cell in row]
    assert '\'=HYPERLINK("http://evil.example","x")' in cells
    assert "'@SUM(1+1)" in cells
    assert not any(cell.startswith(("=", "@", "+")) for cell in cells)


# --- command --------------------------------------------------------------------


def test_command_prints_the_table(campaign, shop):
    out = io.StringIO()
    call_command("demand_report", campaign.slug, stdout=out)

    text = out.getvalue()
    lines = text.splitlines()
    assert "demand by country from 5 collected pledges" in lines[0]
    header = next(line for line in lines if line.startswith("SKU "))
    assert header.split()[:6] == ["SKU", "Name", "Total", "DE", "US", "GB"]
    assert header.endswith(NO_COUNTRY)
    game = next(line for line in lines if line.startswith("GAME-EN"))
    assert game.split()[-5:] == ["3", "0", "1", "1", "1"]
    total = next(line for line in lines if line.startswith("Total"))
    assert total.split() == ["Total", "13", "5", "4", "3", "1"]
    assert "Dice colour (Deluxe) — not yet chosen: 2 units; default ships DICE-RED (2)" in text
    assert "Playmat: 1 unit\n" in text
    # Figures are right-aligned under their heading.
    assert game.index("3") + 1 == header.index("Total") + len("Total")


def test_command_by_region(campaign, shop):
    out = io.StringIO()
    call_command("demand_report", campaign.slug, "--by", "region", stdout=out)
    header = next(line for line in out.getvalue().splitlines() if line.startswith("SKU "))
    assert "EU" in header and "United States" in header and "United Kingdom" in header


def test_command_writes_the_csv_of_the_page(campaign, shop, tmp_path, owner_client):
    target = tmp_path / "demand.csv"
    out = io.StringIO()
    call_command("demand_report", campaign.slug, "--by", "region", "--csv", str(target), stdout=out)

    written = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    page = read_csv(
        owner_client.get(reverse("demand-report-csv", args=[campaign.slug]), {"by": "region"})
    )
    assert written == page
    assert written == [
        [str(c) for c in row] for row in report_table(demand_report(campaign=campaign, by="region"))
    ]
    assert "6 SKUs, 13 units, 5 pledges" in out.getvalue()


def test_command_fails_for_an_unknown_campaign(db):
    with pytest.raises(CommandError, match="No campaign with the slug 'nope'"):
        call_command("demand_report", "nope", stdout=io.StringIO())


def test_command_fails_for_an_unwritable_csv(campaign, tmp_path):
    with pytest.raises(CommandError, match="missing"):
        call_command(
            "demand_report",
            campaign.slug,
            "--csv",
            str(tmp_path / "missing" / "demand.csv"),
            stdout=io.StringIO(),
        )


def test_digital_units_are_told_apart_from_physical_ones(owner_client, campaign):
    from tests.factories import PledgeFactory, RewardFactory, RewardItemFactory, SkuFactory

    reward = RewardFactory(campaign=campaign)
    RewardItemFactory(reward=reward, sku=SkuFactory(organization=campaign.organization))
    pdf = SkuFactory(organization=campaign.organization, is_digital=True, code="PDF")
    RewardItemFactory(reward=reward, sku=pdf)
    for _ in range(3):
        PledgeFactory(backer__campaign=campaign, reward=reward)
    page = owner_client.get(reverse("demand-report", args=[campaign.slug])).content.decode()
    assert "(3 physical, 3 digital)" in page
