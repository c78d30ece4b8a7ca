"""Benchmark: the demand report over a campaign of N pledges.

    DATABASE_URL=postgres://… .venv/bin/python bench/demand_report.py --rows 250000 [--reuse]

Builds a realistic campaign on the given database (7 rewards with items, a dice
colour choice, a German edition for DE/AT/CH, a stretch goal by tier and an
early-bird one by date, 3 add-on offers mapped from the platform's add-on texts
plus one text left unmapped, 35 countries, dropped/errored payments, merged
backers), written with COPY on PostgreSQL (bulk_create elsewhere); --reuse keeps
a campaign of the same size from an earlier run. Then times demand_report by
country and by region (best of 3) and prints the figures and the bar.
"""

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from djmoney.money import Money  # noqa: E402

from accounts.models import Organization  # noqa: E402
from inventory.demand import demand_report, pledge_groups  # noqa: E402
from inventory.management.commands.demand_report import aligned  # noqa: E402
from inventory.models import Sku  # noqa: E402
from pledges.demo import COUNTRIES  # noqa: E402
from pledges.models import (  # noqa: E402
    Backer,
    Campaign,
    ChoiceGroup,
    ChoiceOption,
    Pledge,
    RegionalRule,
    Reward,
    RewardItem,
    StretchGoal,
)
from surveys.models import AddOnOffer, AddOnOfferItem, ImportedAddOn  # noqa: E402

SLUG = "bench-demand"
BAR_SECONDS = 5.0
CAMPAIGN_START = datetime(2026, 9, 1, 17, tzinfo=UTC)
EARLY_BIRD_ENDS = CAMPAIGN_START + timedelta(days=2)
# The demo's 30 countries plus five more destinations a real campaign reaches.
DESTINATIONS = [(code, weight) for code, _locale, weight in COUNTRIES] + [
    ("SG", 1),
    ("HK", 1),
    ("CN", 1),
    ("ZA", 1),
    ("AR", 1),
]
NO_ADDRESS_SHARE = 0.005  # pledges whose country the report left blank

SKUS = [
    ("BD-CORE-EN", "Core box (English)", False),
    ("BD-CORE-DE", "Core box (German)", False),
    ("BD-EXP-EN", "Expansion (English)", False),
    ("BD-EXP-DE", "Expansion (German)", False),
    ("BD-DICE-RED", "Dice set, red", False),
    ("BD-DICE-BLU", "Dice set, blue", False),
    ("BD-DICE-GRN", "Dice set, green", False),
    ("BD-SLEEVES", "Card sleeves (100)", False),
    ("BD-MAT", "Neoprene playmat", False),
    ("BD-TOWER", "Dice tower", False),
    ("BD-COINS", "Metal coin pack", False),
    ("BD-PROMO", "Early-bird promo cards", False),
    ("BD-ARTBOOK", "Art book", False),
    ("BD-RULES-PDF", "Digital rulebook", True),
    ("BD-PNP", "Print & play files", True),
]
# title, minimum (USD), weight, items (code, quantity), has the dice choice
REWARDS = [
    ("Print & Play", 15, 3, [("BD-PNP", 1)], False),
    ("Art book", 35, 4, [("BD-ARTBOOK", 1)], False),
    ("Core Game", 59, 30, [("BD-CORE-EN", 1), ("BD-RULES-PDF", 1)], False),
    (
        "Core + Expansion",
        89,
        30,
        [("BD-CORE-EN", 1), ("BD-EXP-EN", 1), ("BD-RULES-PDF", 1)],
        False,
    ),
    (
        "Deluxe",
        149,
        20,
        [
            ("BD-CORE-EN", 1),
            ("BD-EXP-EN", 1),
            ("BD-MAT", 1),
            ("BD-SLEEVES", 2),
            ("BD-RULES-PDF", 1),
        ],
        True,
    ),
    (
        "All-in",
        199,
        12,
        [
            ("BD-CORE-EN", 1),
            ("BD-EXP-EN", 1),
            ("BD-MAT", 1),
            ("BD-SLEEVES", 2),
            ("BD-ARTBOOK", 1),
            ("BD-TOWER", 1),
            ("BD-RULES-PDF", 1),
        ],
        True,
    ),
    ("Retailer (6 copies)", 270, 1, [("BD-CORE-EN", 6), ("BD-EXP-EN", 6)], False),
]
# offer name, price, items; the platform's add-on text is the offer name
OFFERS = [
    ("Dice Tower", 25, [("BD-TOWER", 1)]),
    ("Playmat", 20, [("BD-MAT", 1)]),
    ("Sleeve Bundle", 12, [("BD-SLEEVES", 2), ("BD-COINS", 1)]),
]
# add-on text → chance a pledge bought it; "Wooden Insert" is left unmapped
ADDON_TEXTS = [("Dice Tower", 0.18), ("Playmat", 0.22), ("Sleeve Bundle", 0.15)]
UNMAPPED_TEXT = ("Wooden Insert", 0.08)


def build_map(org: Organization) -> Campaign:
    """The campaign and its SKU map (a few dozen rows, plain ORM)."""
    campaign = Campaign.objects.create(
        organization=org, name="Demand bench", slug=SLUG, currency="USD"
    )
    sku = {}
    for code, name, digital in SKUS:
        sku[code], _ = Sku.objects.update_or_create(
            organization=org,
            code=code,
            defaults={
                "name": name,
                "is_digital": digital,
                "weight_g": None if digital else 500,
                "hs_code": "" if digital else "950490",
                "country_of_origin": "" if digital else "CN",
            },
        )
    rewards = {}
    for position, (title, minimum, _weight, items, dice) in enumerate(REWARDS):
        reward = Reward.objects.create(
            campaign=campaign,
            platform_reward_id=str(9100 + position),
            title=title,
            minimum=Money(Decimal(minimum), "USD"),
        )
        RewardItem.objects.bulk_create(
            RewardItem(reward=reward, sku=sku[code], quantity=quantity) for code, quantity in items
        )
        if dice:
            group = ChoiceGroup.objects.create(campaign=campaign, reward=reward, name="Dice colour")
            for n, (label, code) in enumerate(
                [("Red", "BD-DICE-RED"), ("Blue", "BD-DICE-BLU"), ("Green", "BD-DICE-GRN")]
            ):
                ChoiceOption.objects.create(
                    group=group, label=label, sku=sku[code], is_default=n == 0, position=n
                )
        rewards[title] = reward
    for from_code, to_code, name in [
        ("BD-CORE-EN", "BD-CORE-DE", "German edition (core box)"),
        ("BD-EXP-EN", "BD-EXP-DE", "German edition (expansion)"),
    ]:
        RegionalRule.objects.create(
            campaign=campaign,
            name=name,
            countries=["DE", "AT", "CH"],
            from_sku=sku[from_code],
            to_sku=sku[to_code],
            backer_can_override=True,
        )
    StretchGoal.objects.create(
        campaign=campaign,
        name="Metal coins for Core + Expansion and up",
        sku=sku["BD-COINS"],
        from_reward=rewards["Core + Expansion"],
    )
    StretchGoal.objects.create(
        campaign=campaign,
        name="Early-bird promo cards",
        sku=sku["BD-PROMO"],
        quantity=1,
        pledged_before=EARLY_BIRD_ENDS,
    )
    for position, (name, price, items) in enumerate(OFFERS):
        offer = AddOnOffer.objects.create(
            campaign=campaign, name=name, price=Money(Decimal(price), "USD"), position=position
        )
        AddOnOfferItem.objects.bulk_create(
            AddOnOfferItem(offer=offer, sku=sku[code], quantity=quantity)
            for code, quantity in items
        )
        ImportedAddOn.objects.create(campaign=campaign, text=name, offer=offer)
    ImportedAddOn.objects.create(campaign=campaign, text=UNMAPPED_TEXT[0])  # not mapped yet
    return campaign


def pledge_rows(campaign: Campaign, rewards: list[Reward], rows: int, first_backer_id: int, seed):
    """(backer row, pledge row) pairs as plain tuples, in the COPY column order.

    A generator that runs no query: it is consumed while a COPY holds the connection."""
    rng = random.Random(seed)
    reward_weights = [w for _, _, w, _, _ in REWARDS]
    minimum = {r.pk: r.minimum.amount for r in rewards}
    codes = [c for c, _ in DESTINATIONS]
    weights = [w for _, w in DESTINATIONS]
    prices = {name: price for name, price, _ in OFFERS}
    span = 30 * 86400
    now = datetime.now(UTC)
    for n in range(rows):
        backer_id = first_backer_id + n
        country = "" if rng.random() < NO_ADDRESS_SHARE else rng.choices(codes, weights)[0]
        reward = rng.choices(rewards, reward_weights)[0]
        # Kickstarter's curve: a rush in the first two days, a bump at the end.
        phase = rng.random()
        if phase < 0.35:
            offset = rng.uniform(0, 2 * 86400)
        elif phase < 0.8:
            offset = rng.uniform(2 * 86400, span - 3 * 86400)
        else:
            offset = rng.uniform(span - 3 * 86400, span)
        pledged_at = CAMPAIGN_START + timedelta(seconds=int(offset))
        addons, addon_total = [], 0
        for text, chance in [*ADDON_TEXTS, UNMAPPED_TEXT]:
            if rng.random() < chance:
                quantity = rng.choice([1, 1, 1, 2])
                addons.append(f"{text} × {quantity}")
                addon_total += prices.get(text, 15) * quantity
        shipping = Decimal(rng.choice([10, 15, 20, 25]))
        bonus = Decimal(rng.choice([0, 0, 0, 5, 10]))
        amount = minimum[reward.pk] + shipping + bonus + addon_total
        status = rng.choices(["collected", "dropped", "errored"], [95, 3, 2])[0]
        # One backer in 200 was merged into the previous one (same person twice).
        merged_into = backer_id - 1 if n and rng.random() < 0.005 else None
        backer = (
            backer_id,
            campaign.pk,
            "kickstarter",
            str(2_000_000_000 + n),
            n + 1,
            f"Backer {n + 1}",
            f"backer{n + 1}@example.net",
            f"backer{n + 1}@example.net",
            "campaign",
            merged_into,
            now,
            now,
        )
        pledge = (
            backer_id,
            reward.pk,
            amount,
            "USD",
            shipping,
            "USD",
            bonus,
            "USD",
            "; ".join(addons),
            pledged_at,
            status,
            f"Backer {n + 1}",
            f"{n % 400 + 1} Example Street",
            "",
            "Springfield",
            "",
            f"{10000 + n % 89999}",
            country,
            "",
            "{}",
            now,
            now,
        )
        yield backer, pledge


BACKER_COLUMNS = [
    "id",
    "campaign_id",
    "platform",
    "platform_backer_id",
    "backer_number",
    "name",
    "email",
    "email_normalized",
    "source",
    "merged_into_id",
    "created_at",
    "updated_at",
]
PLEDGE_COLUMNS = [
    "backer_id",
    "reward_id",
    "amount",
    "amount_currency",
    "shipping_paid",
    "shipping_paid_currency",
    "bonus_support",
    "bonus_support_currency",
    "addons_text",
    "pledged_at",
    "payment_status",
    "shipping_name",
    "shipping_address_1",
    "shipping_address_2",
    "shipping_city",
    "shipping_region",
    "shipping_postal_code",
    "shipping_country",
    "shipping_phone",
    "extra",
    "created_at",
    "updated_at",
]


def reserve_backer_ids(rows: int) -> int:
    """The first of `rows` consecutive backer ids nobody else will get."""
    if connection.vendor == "postgresql":
        table = Backer._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                "nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
                [table, table, rows],
            )
            return cursor.fetchone()[0] - rows + 1
    last = Backer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return last + 1


def write_pledges(campaign: Campaign, rows: int, seed: int) -> None:
    first = reserve_backer_ids(rows)
    rewards = list(campaign.rewards.order_by("platform_reward_id"))
    generated = pledge_rows(campaign, rewards, rows, first, seed)
    if connection.vendor == "postgresql":
        pledges = []
        with connection.cursor() as cursor:
            with cursor.copy(
                f"COPY {Backer._meta.db_table} ({', '.join(BACKER_COLUMNS)}) FROM STDIN"
            ) as copy:
                for backer, pledge in generated:
                    copy.write_row(backer)
                    pledges.append(pledge)
            with cursor.copy(
                f"COPY {Pledge._meta.db_table} ({', '.join(PLEDGE_COLUMNS)}) FROM STDIN"
            ) as copy:
                for pledge in pledges:
                    copy.write_row(pledge)
        return
    backers, pledges = [], []
    for backer, pledge in generated:
        backers.append(Backer(**dict(zip(BACKER_COLUMNS, backer, strict=True))))
        values = dict(zip(PLEDGE_COLUMNS, pledge, strict=True))
        values["extra"] = json.loads(values["extra"])
        pledges.append(Pledge(**values))
    Backer.objects.bulk_create(backers, batch_size=5000)
    Pledge.objects.bulk_create(pledges, batch_size=5000)


def campaign_with(rows: int, *, reuse: bool, seed: int) -> Campaign:
    org, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    existing = Campaign.objects.filter(slug=SLUG).first()
    if (
        reuse
        and existing is not None
        and Pledge.objects.filter(backer__campaign=existing).count() == rows
    ):
        print(f"reusing campaign {SLUG!r} with {rows:,} pledges")
        return existing
    if existing is not None:
        started = time.perf_counter()
        # Plain DELETEs: the ORM's cascade would load 250,000 backers to delete them.
        # Only this script writes the bench campaign, so nothing else points at them.
        with transaction.atomic(), connection.cursor() as cursor:
            pledges, backers = Pledge._meta.db_table, Backer._meta.db_table
            cursor.execute(
                f"DELETE FROM {pledges} WHERE backer_id IN "
                f"(SELECT id FROM {backers} WHERE campaign_id = %s)",
                [existing.pk],
            )
            cursor.execute(f"DELETE FROM {backers} WHERE campaign_id = %s", [existing.pk])
            existing.delete()
        print(f"deleted the earlier bench campaign in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    with transaction.atomic():
        campaign = build_map(org)
        write_pledges(campaign, rows, seed)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Backer._meta.db_table}, {Pledge._meta.db_table}")
    print(f"built campaign {SLUG!r} with {rows:,} pledges in {time.perf_counter() - started:.1f} s")
    return campaign


def best_of(runs: int, fn):
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), times, result


def show(report) -> None:
    heads = [d.key or d.label for d in report.destinations]
    if report.by == "country" and len(heads) > 12:  # the 12 largest columns, then the rest
        heads = heads[:12] + ["other"]
    table = [["SKU", "Name", "Total", *heads]]
    for row in [*report.rows, None]:
        label, name, total, cells = (
            (row.sku.code, row.sku.name, row.total, row.by_destination)
            if row
            else ("Total", "", report.grand_total, report.column_totals)
        )
        if len(cells) > 12 and report.by == "country":
            cells = [*cells[:12], sum(cells[12:])]
        table.append([label, name, *(f"{v:,}" for v in (total, *cells))])
    for line in aligned(table):
        print("  " + line)
    for choice in report.pending_choices:
        defaults = ", ".join(f"{sku.code} ({q:,})" for sku, q in choice.defaults)
        print(f"  pending: {choice.name} — not yet chosen: {choice.total:,}; default {defaults}")
    for addon in report.unmapped_addons:
        print(f"  unmapped add-on: {addon.text}: {addon.total:,} units")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=250_000)
    parser.add_argument("--reuse", action="store_true", help="keep a campaign of this size")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    campaign = campaign_with(args.rows, reuse=args.reuse, seed=args.seed)
    print(f"database: {connection.vendor}")

    cutoffs = [EARLY_BIRD_ENDS]
    query_s, _, groups = best_of(
        args.runs, lambda: pledge_groups(campaign=campaign, cutoffs=cutoffs)
    )
    print(f"grouping query alone: {query_s:.2f} s → {len(groups):,} pledge groups")

    verdicts = []
    for by in ("country", "region"):
        best, times, report = best_of(
            args.runs, lambda by=by: demand_report(campaign=campaign, by=by)
        )
        ok = best <= BAR_SECONDS
        verdicts.append(ok)
        print(
            f"\ndemand_report by {by}: best {best:.2f} s of {', '.join(f'{t:.2f}' for t in times)} "
            f"(bar ≤ {BAR_SECONDS:.0f} s: {'met' if ok else 'NOT met'}) — "
            f"{report.pledges_counted:,} pledges counted, {report.groups:,} groups, "
            f"{len(report.rows)} SKUs, {report.grand_total:,} units, "
            f"{len(report.destinations)} columns"
        )
        show(report)
    sys.exit(0 if all(verdicts) else 1)


if __name__ == "__main__":
    main()
