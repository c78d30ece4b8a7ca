"""Benchmark: re-pricing N open orders after a tax rate and a shipping rate change.

    createdb pledgeport_bench_reprice   # its own database, migrated once:
    DATABASE_URL=postgres://…/pledgeport_bench_reprice .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://…/pledgeport_bench_reprice \\
        .venv/bin/python bench/reprice_orders.py --orders 250000 [--reuse]

Seeds a EUR campaign sold from the US (IOSS number, VAT rates for the EU, UK, Norway,
Australia, exchange rates for the import limits), shipped by weight bands in three
zones, with N backers, pledges, orders (about 4 lines each: reward items and priced
add-ons), one address version per order, 8 % of the orders already locked — written
with COPY on PostgreSQL. --reuse keeps a campaign of the same size from an earlier run
(its prices are reset first, so every run re-prices the same work).

Then raises German VAT from 19 % to 21 % and the Europe 2 kg band from 9.00 to 9.50,
runs `reprice_orders` with a tqdm bar, and prints seconds, orders/s and the result.
Goal: ≤ 30 s for 250,000 orders on PostgreSQL.
"""

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, date, datetime
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
from tqdm import tqdm  # noqa: E402

from accounts.models import Organization  # noqa: E402
from inventory.models import Sku  # noqa: E402
from orders.models import (  # noqa: E402
    ExchangeRate,
    Order,
    OrderAddress,
    OrderEvent,
    OrderLine,
    TaxRate,
    TaxSettings,
)
from orders.services.repricing import reprice_orders  # noqa: E402
from pledges.models import Backer, Campaign, Pledge, Reward  # noqa: E402
from shipping.models import ShippingMethod, ShippingProfile, ShippingZone, WeightBand  # noqa: E402

SLUG = "bench-reprice"
GOAL_SECONDS = 30.0
RATE_DAY = date(2026, 1, 1)
CHANGE_DAY = date(2026, 7, 1)
ON = date(2026, 12, 1)
LOCKED_SHARE = 0.08

# country, weight, VAT rate (None: no tax rule), region-free postal code pattern
DESTINATIONS = [
    ("US", 30, None),
    ("DE", 14, "19"),
    ("FR", 8, "20"),
    ("GB", 9, "20"),
    ("CA", 5, None),
    ("AU", 4, "10"),
    ("NL", 4, "21"),
    ("IT", 4, "22"),
    ("ES", 4, "21"),
    ("SE", 3, "25"),
    ("NO", 2, "25"),
    ("PL", 3, "23"),
    ("BE", 2, "21"),
    ("AT", 2, "20"),
    ("JP", 3, None),
    ("BR", 3, None),
]
SKUS = [
    ("RP-CORE", "Core box", 1400, False),
    ("RP-EXP", "Expansion", 800, False),
    ("RP-MAT", "Playmat", 450, False),
    ("RP-DICE", "Dice set", 120, False),
    ("RP-SLEEVES", "Card sleeves", 150, False),
    ("RP-TOWER", "Dice tower", 600, False),
    ("RP-PDF", "Digital rulebook", None, True),
]
# title, minimum (EUR), share, items
REWARDS = [
    ("Digital", 15, 5, [("RP-PDF", 1)]),
    ("Core", 59, 45, [("RP-CORE", 1), ("RP-PDF", 1)]),
    ("Core + Expansion", 89, 35, [("RP-CORE", 1), ("RP-EXP", 1), ("RP-PDF", 1)]),
    ("All-in", 149, 15, [("RP-CORE", 1), ("RP-EXP", 1), ("RP-MAT", 1), ("RP-PDF", 1)]),
]
# add-on sku, unit price, chance
ADDONS = [("RP-MAT", "20.00", 0.3), ("RP-DICE", "8.50", 0.4), ("RP-SLEEVES", "6.00", 0.35)]
ZONES = [
    ("Europe", [c for c, _w, r in DESTINATIONS if r and c not in ("GB", "NO", "AU")], False),
    ("UK and Norway", ["GB", "NO"], False),
    ("Rest of the world", [], True),
]
BANDS = [(2000, "9.00"), (5000, "14.00"), (20000, "29.00")]


def build_campaign(org: Organization) -> Campaign:
    """The campaign with its tax and shipping tables (a few dozen rows, plain ORM)."""
    campaign = Campaign.objects.create(
        organization=org, name="Re-pricing bench", slug=SLUG, currency="EUR"
    )
    TaxSettings.objects.create(
        campaign=campaign,
        seller_name="Bench Games LLC",
        seller_country="US",
        ioss_number="IM2760000001",
        uk_vat_number="GB980780684",
        voec_number="VOEC2012345",
        abn="51824753556",
    )
    TaxRate.objects.bulk_create(
        TaxRate(
            campaign=campaign,
            country=country,
            rate=Decimal(rate),
            name="GST" if country == "AU" else "VAT",
            valid_from=RATE_DAY,
        )
        for country, _weight, rate in DESTINATIONS
        if rate
    )
    for quote, rate in (("GBP", "0.86"), ("NOK", "11.6"), ("AUD", "1.65")):
        ExchangeRate.objects.create(
            campaign=campaign,
            base_currency="EUR",
            quote_currency=quote,
            rate=Decimal(rate),
            valid_from=RATE_DAY,
        )
    for code, name, weight, digital in SKUS:
        Sku.objects.update_or_create(
            organization=org,
            code=code,
            defaults={"name": name, "weight_g": weight, "is_digital": digital},
        )
    for position, (title, minimum, _share, _items) in enumerate(REWARDS):
        Reward.objects.create(
            campaign=campaign,
            platform_reward_id=str(7100 + position),
            title=title,
            minimum=Money(Decimal(minimum), "EUR"),
        )
    ShippingProfile.objects.create(campaign=campaign, method=ShippingMethod.WEIGHT_BANDS)
    for position, (name, countries, rest) in enumerate(ZONES):
        zone = ShippingZone.objects.create(
            campaign=campaign,
            name=name,
            countries=countries,
            is_rest_of_world=rest,
            position=position,
        )
        factor = Decimal(1 + position)
        WeightBand.objects.bulk_create(
            WeightBand(zone=zone, up_to_g=up_to, fee=Decimal(fee) * factor) for up_to, fee in BANDS
        )
    return campaign


def reserve_ids(model, rows: int) -> int:
    """The first of `rows` consecutive ids of `model` nobody else will get."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
            "nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
            [table, table, rows],
        )
        return cursor.fetchone()[0] - rows + 1


def _plain(value):
    if isinstance(value, Money):
        return value.amount
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def copier(model, given: list[str]):
    """COPY columns of `model` and a function turning a dict of the `given` fields
    into a full row (every other column takes the model's default)."""
    fields = [f for f in model._meta.concrete_fields if f.name in given or not f.primary_key]
    columns = [f.column for f in fields]
    defaults = {f.name: _plain(f.get_default()) for f in fields if f.name not in given}

    def row(values: dict) -> tuple:
        return tuple(
            _plain(values[f.name]) if f.name in values else defaults[f.name] for f in fields
        )

    return columns, row


def copy_rows(model, given: list[str], rows, total: int, label: str) -> None:
    columns, row = copier(model, given)
    sql = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for values in tqdm(rows, total=total, desc=label, unit=" rows", leave=False):
            copy.write_row(row(values))


def seed(campaign: Campaign, orders: int, seed_value: int) -> None:
    rng = random.Random(seed_value)
    now = datetime.now(UTC)
    skus = dict(Sku.objects.filter(organization=campaign.organization).values_list("code", "pk"))
    names = dict(Sku.objects.filter(organization=campaign.organization).values_list("code", "name"))
    rewards = list(campaign.rewards.order_by("platform_reward_id"))
    reward_items = {r.pk: items for r, (_t, _m, _s, items) in zip(rewards, REWARDS, strict=True)}
    shares = [share for _t, _m, share, _i in REWARDS]
    codes = [c for c, _w, _r in DESTINATIONS]
    weights = [w for _c, w, _r in DESTINATIONS]
    first_backer = reserve_ids(Backer, orders)
    first_order = reserve_ids(Order, orders)
    first_address = reserve_ids(OrderAddress, orders)

    plan = []
    for _n in range(orders):
        reward = rng.choices(rewards, shares)[0]
        lines = [(code, 1, Decimal("0"), "reward") for code, _q in reward_items[reward.pk]]
        for code, price, chance in ADDONS:
            if rng.random() < chance:
                lines.append((code, rng.choice([1, 1, 2]), Decimal(price), "addon"))
        locked = rng.random() < LOCKED_SHARE
        plan.append((rng.choices(codes, weights)[0], reward, lines, locked))

    def backers():
        for n in range(orders):
            yield {
                "id": first_backer + n,
                "campaign": campaign.pk,
                "platform": "kickstarter",
                "platform_backer_id": str(3_000_000_000 + n),
                "backer_number": n + 1,
                "name": f"Backer {n + 1}",
                "email": f"backer{n + 1}@example.net",
                "email_normalized": f"backer{n + 1}@example.net",
                "created_at": now,
                "updated_at": now,
            }

    def pledges():
        for n, (country, reward, _lines, _locked) in enumerate(plan):
            yield {
                "backer": first_backer + n,
                "reward": reward.pk,
                "amount": reward.minimum.amount + 10,
                "amount_currency": "EUR",
                "shipping_paid": Decimal(rng.choice([0, 0, 5, 10])),
                "shipping_paid_currency": "EUR",
                "shipping_country": country,
                "created_at": now,
                "updated_at": now,
            }

    def order_rows():
        for n, (country, reward, lines, locked) in enumerate(plan):
            goods = sum((price * quantity for _c, quantity, price, _s in lines), Decimal("0"))
            yield {
                "id": first_order + n,
                "campaign": campaign.pk,
                "backer": first_backer + n,
                "number": n + 1,
                "state": "locked" if locked else rng.choice(["submitted", "ready"]),
                "locked_at": now if locked else None,
                "name": f"Backer {n + 1}",
                "country": country,
                "currency": "EUR",
                "reward": reward.pk,
                "address": first_address + n,
                "goods_total": goods,
                "total": goods,
                "balance_due": goods,
                "created_at": now,
                "updated_at": now,
            }

    def address_rows():
        for n, (country, _reward, _lines, _locked) in enumerate(plan):
            yield {
                "id": first_address + n,
                "order": first_order + n,
                "version": 1,
                "name": f"Backer {n + 1}",
                "street_address": f"{n % 400 + 1} Example Street",
                "city": "Springfield",
                "postal_code": f"{10000 + n % 89999}",
                "country": country,
                "source": "survey",
                "created_at": now,
            }

    def line_rows():
        for n, (_country, _reward, lines, _locked) in enumerate(plan):
            for position, (code, quantity, price, source) in enumerate(lines):
                yield {
                    "order": first_order + n,
                    "position": position,
                    "sku": skus[code],
                    "sku_code": code,
                    "description": names[code],
                    "quantity": quantity,
                    "source": source,
                    "unit_price": price,
                    "unit_price_currency": "EUR",
                    "line_total": price * quantity,
                    "line_total_currency": "EUR",
                    "customs_value_currency": "EUR",
                }

    line_count = sum(len(lines) for _c, _r, lines, _l in plan)
    # Order.address and OrderAddress.order point at each other: PostgreSQL checks the
    # (deferred) foreign keys at commit, when both tables are written.
    copy_rows(Backer, ["id"], backers(), orders, "backers")
    copy_rows(Pledge, [], pledges(), orders, "pledges")
    copy_rows(Order, ["id"], order_rows(), orders, "orders")
    copy_rows(OrderAddress, ["id"], address_rows(), orders, "addresses")
    copy_rows(OrderLine, [], line_rows(), line_count, "lines")


def reset_prices(campaign: Campaign) -> None:
    """Back to the old tables and unpriced orders, so each run does the same work."""
    TaxRate.objects.filter(campaign=campaign, valid_from=CHANGE_DAY).delete()
    WeightBand.objects.filter(zone__campaign=campaign, zone__name="Europe", up_to_g=2000).update(
        fee=Decimal("9.00")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {OrderEvent._meta.db_table} WHERE order_id IN "
            f"(SELECT id FROM {Order._meta.db_table} WHERE campaign_id = %s)",
            [campaign.pk],
        )
        cursor.execute(
            f"UPDATE {Order._meta.db_table} SET shipping_fee = 0, tax_total = 0, "
            "total = goods_total, balance_due = goods_total WHERE campaign_id = %s",
            [campaign.pk],
        )
        # What autovacuum does between two mass updates of a live campaign: the
        # reset's old row versions go, so the run starts from a table in its usual state.
        cursor.execute(f"VACUUM ANALYZE {Order._meta.db_table}, {OrderEvent._meta.db_table}")


def campaign_with(orders: int, *, reuse: bool, seed_value: int) -> Campaign:
    org, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    existing = Campaign.objects.filter(slug=SLUG).first()
    if reuse and existing is not None and existing.orders.count() == orders:
        print(f"reusing campaign {SLUG!r} with {orders:,} orders")
        reset_prices(existing)
        return existing
    if existing is not None:
        started = time.perf_counter()
        # Plain DELETEs: the ORM's cascade would load every order to delete it.
        with transaction.atomic(), connection.cursor() as cursor:
            orders_t = Order._meta.db_table
            mine = f"(SELECT id FROM {orders_t} WHERE campaign_id = %s)"
            cursor.execute(
                f"UPDATE {orders_t} SET address_id = NULL WHERE campaign_id = %s", [existing.pk]
            )
            for model in (OrderEvent, OrderLine, OrderAddress):
                cursor.execute(
                    f"DELETE FROM {model._meta.db_table} WHERE order_id IN {mine}", [existing.pk]
                )
            cursor.execute(f"DELETE FROM {orders_t} WHERE campaign_id = %s", [existing.pk])
            cursor.execute(
                f"DELETE FROM {Pledge._meta.db_table} WHERE backer_id IN "
                f"(SELECT id FROM {Backer._meta.db_table} WHERE campaign_id = %s)",
                [existing.pk],
            )
            cursor.execute(
                f"DELETE FROM {Backer._meta.db_table} WHERE campaign_id = %s", [existing.pk]
            )
            existing.delete()
        print(f"deleted the earlier bench campaign in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    with transaction.atomic():
        campaign = build_campaign(org)
        seed(campaign, orders, seed_value)
    with connection.cursor() as cursor:
        tables = [m._meta.db_table for m in (Backer, Pledge, Order, OrderAddress, OrderLine)]
        cursor.execute(f"ANALYZE {', '.join(tables)}")
    print(f"seeded {orders:,} orders in {time.perf_counter() - started:.1f} s")
    return campaign


def change_rates(campaign: Campaign) -> None:
    TaxRate.objects.create(
        campaign=campaign, country="DE", rate=Decimal("21"), valid_from=CHANGE_DAY
    )
    WeightBand.objects.filter(zone__campaign=campaign, zone__name="Europe", up_to_g=2000).update(
        fee=Decimal("9.50")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=250_000)
    parser.add_argument("--reuse", action="store_true", help="keep a campaign of this size")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("This benchmark seeds with COPY: point DATABASE_URL at a PostgreSQL database.")

    campaign = campaign_with(args.orders, reuse=args.reuse, seed_value=args.seed)
    change_rates(campaign)
    lines = OrderLine.objects.filter(order__campaign=campaign).count()
    print(f"{args.orders:,} orders, {lines:,} lines; load: {os.getloadavg()[0]:.2f}")

    started, cpu_started = time.perf_counter(), time.process_time()
    with tqdm(total=args.orders, unit=" orders", dynamic_ncols=True) as bar:
        result = reprice_orders(campaign=campaign, on=ON, progress=bar.update)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    ok = seconds <= GOAL_SECONDS * args.orders / 250_000
    print(
        f"re-priced in {seconds:.1f} s ({result.orders / seconds:,.0f} open orders/s): "
        f"{result.changed:,} changed, {result.unchanged:,} unchanged, "
        f"{result.locked_skipped:,} locked skipped, {result.failed_count:,} failed"
    )
    print(
        f"  this process used {cpu:.1f} s of CPU; the rest ({seconds - cpu:.1f} s) is "
        f"PostgreSQL and waiting for a CPU (load now {os.getloadavg()[0]:.2f})"
    )
    for reason, count in result.failed.most_common(5):
        print(f"  {count:,} × {reason}")
    print(
        f"goal ≤ {GOAL_SECONDS * args.orders / 250_000:.1f} s at this size: "
        f"{'met' if ok else 'NOT met'}"
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
