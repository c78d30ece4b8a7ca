"""Benchmark: locking a campaign of N ready orders (about 4 lines each).

    DATABASE_URL=postgres://… .venv/bin/python bench/lock_orders.py --orders 250000

Seeds a campaign of N ready orders with backers, survey invites and responses,
address versions and order lines, written with COPY (PostgreSQL only), then times
`lock_orders` over the whole campaign (ready → locked, a state event per order,
response.locked_at) and checks every order locked. The goal: ≤ 10 s for 250,000.
`seed_orders` is shared with bench/export_orders.py.
"""

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from tqdm import tqdm  # noqa: E402

from accounts.models import Organization  # noqa: E402
from orders.models import Order, OrderAddress, OrderEvent, OrderLine, OrderState  # noqa: E402
from orders.services.locking import lock_orders  # noqa: E402
from pledges.models import Backer, Campaign  # noqa: E402
from surveys.models import Survey, SurveyInvite, SurveyResponse  # noqa: E402

GOAL_SECONDS = 10.0
NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
COUNTRIES = ["US", "DE", "GB", "FR", "CA", "AU", "SE", "NL", "IT", "ES", "JP", "BR", "PL"]
SKUS = [
    ("CORE-BOX", "Core box", 1800),
    ("EXP-1", "Expansion one", 600),
    ("EXP-2", "Expansion two", 650),
    ("DICE-RED", "Red dice set", 120),
    ("DICE-BLU", "Blue dice set", 120),
    ("SLEEVES", "Card sleeves", 90),
    ("MAT", "Play mat", 400),
    ("PIN", "Enamel pin", 20),
]


def _reserve(model, count: int) -> int:
    """The first of `count` consecutive ids of `model` nobody else will get."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
            "nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
            [table, table, count],
        )
        return cursor.fetchone()[0] - count + 1


class Copier:
    """COPY rows of `model`: every concrete column (but the id with `database_ids`),
    taken from a prototype instance (so the NOT NULL defaults are right) and
    overridden per row by name."""

    def __init__(self, model, *, database_ids: bool = False, **prototype):
        self.model = model
        instance = model(**prototype)
        fields = [f for f in model._meta.concrete_fields if not (database_ids and f.primary_key)]
        self.columns = [f.column for f in fields]
        self.index = {f.attname: i for i, f in enumerate(fields)}
        self.index.update({f.name: i for i, f in enumerate(fields)})
        proto = []
        for f in fields:
            value = getattr(instance, f.attname)
            if f.get_internal_type() in ("DateTimeField",) and value is None and not f.null:
                value = NOW
            value = f.get_db_prep_save(value, connection)
            if hasattr(value, "obj"):  # Jsonb wrapper: COPY takes the JSON text
                value = json.dumps(value.obj)
            proto.append(value)
        self.proto = proto

    def row(self, **values) -> list:
        row = self.proto.copy()
        for name, value in values.items():
            row[self.index[name]] = value
        return row

    def copy(self, cursor, rows) -> None:
        table = self.model._meta.db_table
        with cursor.copy(f"COPY {table} ({', '.join(self.columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def seed_orders(*, slug: str, count: int, state: str, seed: int = 7) -> Campaign:
    """A campaign of `count` orders in `state` (≈4 lines each, an address version,
    a backer with invite and response), replacing an earlier one of that slug."""
    if connection.vendor != "postgresql":
        raise SystemExit("This benchmark needs PostgreSQL (DATABASE_URL=postgres://…).")
    rng = random.Random(seed)
    org, _ = Organization.objects.get_or_create(slug="bench-lock", defaults={"name": "Bench"})
    old = Campaign.objects.filter(slug=slug).first()
    if old is not None:
        started = time.perf_counter()
        _delete_campaign(old)
        print(f"deleted the earlier {slug!r} in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    with transaction.atomic():
        campaign = Campaign.objects.create(organization=org, name=slug, slug=slug)
        survey = Survey.objects.create(campaign=campaign, status="live")
        backer0 = _reserve(Backer, count)
        invite0 = _reserve(SurveyInvite, count)
        response0 = _reserve(SurveyResponse, count)
        order0 = _reserve(Order, count)
        address0 = _reserve(OrderAddress, count)
        backers = Copier(Backer, campaign_id=campaign.pk, platform="kickstarter")
        invites = Copier(SurveyInvite, survey_id=survey.pk, email="x@example.net")
        responses = Copier(SurveyResponse, invite_id=0, backer_id=0, completed_at=NOW)
        orders = Copier(
            Order,
            campaign_id=campaign.pk,
            backer_id=0,
            number=1,
            state=state,
            state_changed_at=NOW,
            submitted_at=NOW,
            locked_at=NOW if state == OrderState.LOCKED else None,
            created_at=NOW,
            updated_at=NOW,
            # Checked, as every ready order's address is (the lock leaves unchecked ones).
            address_status="valid",
        )
        addresses = Copier(
            OrderAddress,
            order_id=0,
            version=1,
            source="survey",
            created_at=NOW,
            status="valid",
            checked_at=NOW,
        )
        lines = Copier(OrderLine, database_ids=True, order_id=0, quantity=1, source="reward")
        with connection.cursor() as cursor:
            bar = tqdm(total=count * 5, unit=" rows", desc="seeding", dynamic_ncols=True)
            emails = [f"backer{n}@example.net" for n in range(count)]
            backers.copy(
                cursor,
                (
                    backers.row(
                        id=backer0 + n,
                        platform_backer_id=str(n),
                        name=f"Backer {n}",
                        email=emails[n],
                        email_normalized=emails[n],
                    )
                    for n in range(count)
                ),
            )
            bar.update(count)
            invites.copy(
                cursor,
                (
                    invites.row(id=invite0 + n, backer_id=backer0 + n, email=emails[n])
                    for n in range(count)
                ),
            )
            responses.copy(
                cursor,
                (
                    responses.row(id=response0 + n, invite_id=invite0 + n, backer_id=backer0 + n)
                    for n in range(count)
                ),
            )
            bar.update(count)
            countries = [rng.choice(COUNTRIES) for _ in range(count)]
            orders.copy(
                cursor,
                (
                    orders.row(
                        id=order0 + n,
                        backer_id=backer0 + n,
                        response_id=response0 + n,
                        number=n + 1,
                        name=f"Backer {n}",
                        email=emails[n],
                        country=countries[n],
                        address_id=address0 + n,
                        shipping_method="Standard",
                        total=Decimal("35.00"),
                        paid_total=Decimal("35.00"),
                        weight_g=2500,
                    )
                    for n in range(count)
                ),
            )
            bar.update(count)
            addresses.copy(
                cursor,
                (
                    addresses.row(
                        id=address0 + n,
                        order_id=order0 + n,
                        name=f"Backer {n}",
                        street_address=f"{n % 900 + 1} Main Street\nApt {n % 40}",
                        city="Springfield",
                        postal_code=f"{10000 + n % 89999}",
                        country=countries[n],
                        phone="+1 555 0100" if n % 3 else "",
                    )
                    for n in range(count)
                ),
            )
            bar.update(count)

            def line_rows():
                for n in range(count):
                    for position, (code, name, weight) in enumerate(
                        rng.sample(SKUS, rng.choice((3, 4, 4, 5)))
                    ):
                        yield lines.row(
                            order_id=order0 + n,
                            position=position,
                            sku_code=code,
                            description=name,
                            quantity=rng.choice((1, 1, 1, 2)),
                            unit_weight_g=weight,
                            customs_value=Decimal("12.50"),
                            hs_code="950490",
                            country_of_origin="CN",
                        )

            lines.copy(cursor, line_rows())
            bar.update(count)
            bar.close()
    with connection.cursor() as cursor:
        for model in (Order, OrderLine, OrderAddress, OrderEvent, SurveyResponse):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    line_count = OrderLine.objects.filter(order__campaign=campaign).count()
    print(
        f"seeded {slug!r}: {count:,} {state} orders, {line_count:,} lines "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return campaign


def _delete_campaign(campaign: Campaign) -> None:
    """Plain DELETEs: the ORM's cascade would load every row first."""
    ids = "SELECT id FROM orders_order WHERE campaign_id = %s"
    with transaction.atomic(), connection.cursor() as cursor:
        for table in (
            "orders_orderline",
            "orders_orderevent",
            "orders_exportbatchorder",
            "orders_orderhold",
        ):
            cursor.execute(f"DELETE FROM {table} WHERE order_id IN ({ids})", [campaign.pk])
        cursor.execute(
            "UPDATE orders_order SET address_id = NULL WHERE campaign_id = %s", [campaign.pk]
        )
        cursor.execute(f"DELETE FROM orders_orderaddress WHERE order_id IN ({ids})", [campaign.pk])
        cursor.execute("DELETE FROM orders_order WHERE campaign_id = %s", [campaign.pk])
        cursor.execute(
            "DELETE FROM surveys_surveyresponse WHERE backer_id IN "
            "(SELECT id FROM pledges_backer WHERE campaign_id = %s)",
            [campaign.pk],
        )
        cursor.execute(
            "DELETE FROM surveys_surveyinvite WHERE backer_id IN "
            "(SELECT id FROM pledges_backer WHERE campaign_id = %s)",
            [campaign.pk],
        )
        cursor.execute("DELETE FROM orders_exportbatch WHERE campaign_id = %s", [campaign.pk])
        cursor.execute("DELETE FROM pledges_backer WHERE campaign_id = %s", [campaign.pk])
        campaign.delete()


def _unlock_all(campaign: Campaign) -> None:
    """Back to ready with plain SQL (not timed): orders, their events, responses."""
    started = time.perf_counter()
    ids = "SELECT id FROM orders_order WHERE campaign_id = %s"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM orders_orderevent WHERE order_id IN ({ids})", [campaign.pk])
        cursor.execute(
            "UPDATE surveys_surveyresponse SET locked_at = NULL WHERE id IN "
            "(SELECT response_id FROM orders_order WHERE campaign_id = %s)",
            [campaign.pk],
        )
        cursor.execute(
            "UPDATE orders_order SET state = 'ready', locked_at = NULL WHERE campaign_id = %s",
            [campaign.pk],
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE orders_order")
        cursor.execute("VACUUM ANALYZE surveys_surveyresponse")
    print(f"reusing {campaign.slug!r}, unlocked in {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=250_000)
    parser.add_argument(
        "--reuse", action="store_true", help="unlock the campaign of an earlier run, no seeding"
    )
    args = parser.parse_args()
    slug = f"bench-lock-{args.orders}"
    campaign = Campaign.objects.filter(slug=slug).first()
    if args.reuse and campaign is not None:
        _unlock_all(campaign)
    else:
        campaign = seed_orders(slug=slug, count=args.orders, state="ready")
    bar = tqdm(total=args.orders, unit=" orders", desc="locking", dynamic_ncols=True)
    started = time.perf_counter()
    result = lock_orders(campaign=campaign, actor="bench", progress=bar.update)
    seconds = time.perf_counter() - started
    bar.close()
    left = Order.objects.filter(campaign=campaign, state=OrderState.READY).count()
    responses = SurveyResponse.objects.filter(
        order__campaign=campaign, locked_at__isnull=False
    ).count()
    events = OrderEvent.objects.filter(order__campaign=campaign).count()
    print(f"locked {result.locked:,} orders in {seconds:.2f} s")
    print(f"  responses read-only: {responses:,}; state events: {events:,}; still ready: {left}")
    verdict = "PASS" if seconds <= GOAL_SECONDS and not left else "FAIL"
    print(f"{verdict}: goal ≤ {GOAL_SECONDS:.0f} s")


if __name__ == "__main__":
    main()
