"""Benchmark: check every order address of a campaign of N backers.

    DATABASE_URL=postgres://… .venv/bin/python bench/validate_addresses.py --rows 250000 [--reuse]

Uses the build bench's campaign (bench/build_orders.py: addresses from a pool of
Faker localities in the demo's 30 countries, a share of them broken), builds its
orders if they are missing (not timed), and puts them back as a build leaves them
(every version unchecked, no address holds, orders that only those held ready
again). Then it times `validate_addresses` in one process (bar ≤ 20 s for 250,000):
rules cached per country and area, each place (locality and postal code) judged
once, each batch written with COPY and a few set-based statements, by two writer
threads with their own connections while this one reads and checks (--writers 1 to
write in the reading thread).

The "fix your address" emails are not part of the bar: the service hands each
batch's bad versions to one Celery task. They are timed after, through that task
(one mail connection per batch), with Django's in-memory backend or, with
--email-backend console, the console one writing to /dev/null; --no-email leaves
them out.
"""

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core import mail  # noqa: E402
from django.db import connection  # noqa: E402
from tqdm import tqdm  # noqa: E402

from bench.build_orders import seeded_campaign  # noqa: E402
from orders.models import (  # noqa: E402
    AddressStatus,
    HoldReason,
    Order,
    OrderAddress,
    OrderEvent,
    OrderHold,
    OrderState,
)
from orders.services import addresses  # noqa: E402
from orders.services.addresses import validate_addresses  # noqa: E402
from orders.services.bulk_building import build_orders  # noqa: E402
from orders.tasks import send_fix_address_emails  # noqa: E402
from pledges.models import Backer, Campaign  # noqa: E402

BAR_SECONDS = 20.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=250_000)
    parser.add_argument("--reuse", action="store_true", help="keep a seeded campaign")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-email", action="store_true", help="do not time the emails")
    parser.add_argument("--email-backend", choices=["locmem", "console"], default="locmem")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--writers", type=int, default=addresses.WRITERS)
    parser.add_argument("--no-vacuum", action="store_true", help="check right after the reset")
    args = parser.parse_args()
    addresses.WRITERS = args.writers
    settings.EMAIL_BACKEND = f"django.core.mail.backends.{args.email_backend}.EmailBackend"

    campaign = Campaign.objects.filter(slug="bench-build").first()
    reusable = (
        args.reuse
        and campaign is not None
        and Backer.objects.filter(campaign=campaign).count() == args.rows
        and Order.objects.filter(campaign=campaign).exists()
    )
    if not reusable:
        campaign = seeded_campaign(args.rows, reuse=args.reuse, seed=args.seed)
        started = time.perf_counter()
        build_orders(campaign=campaign)
        print(f"built the orders in {time.perf_counter() - started:.1f} s (not timed)")
    versions = OrderAddress.objects.filter(order__campaign=campaign)
    orders = Order.objects.filter(campaign=campaign)
    _as_built(campaign, orders, versions, vacuum=not args.no_vacuum)
    total = versions.count()
    countries = versions.values("country").distinct().count()
    print(
        f"database: {connection.vendor}; {total:,} addresses in {countries} countries; "
        f"{args.writers} writer(s); load average {os.getloadavg()[0]:.1f}"
    )
    with tqdm(total=total, unit=" addresses") as bar:
        started, cpu = time.perf_counter(), time.process_time()
        result = validate_addresses(
            campaign=campaign, progress=bar.update, send_emails=False, batch_size=args.batch_size
        )
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"validate_addresses: {seconds:.1f} s (this process' CPU {cpu:.1f} s) — "
        f"{result.checked:,} checked, {result.valid:,} valid, {result.invalid:,} invalid, "
        f"{result.holds_opened:,} holds ({result.checked / seconds:,.0f} addresses/s); "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    if not args.no_email:
        _time_emails(orders, args.batch_size, args.email_backend)
    ok = seconds <= BAR_SECONDS
    print(f"bar ≤ {BAR_SECONDS:.0f} s: {'met' if ok else 'NOT met'}")
    sys.exit(0 if ok or args.rows < 250_000 else 1)


def _as_built(campaign, orders, versions, *, vacuum: bool = True) -> None:
    """The campaign as build_orders leaves it: versions unchecked, no address holds,
    no timeline entries of checks or their emails, every order of a finished survey
    waiting in submitted for its address check (the check makes the good ones ready)."""
    OrderHold.objects.filter(order__campaign=campaign, reason=HoldReason.ADDRESS_INVALID).delete()
    OrderEvent.objects.filter(
        order__campaign=campaign, actor_label__in=["address check", "system"]
    ).delete()
    versions.update(status=AddressStatus.UNCHECKED, checked_at=None, problems={}, normalized={})
    orders.filter(state=OrderState.READY).update(state=OrderState.SUBMITTED)
    orders.update(address_status=AddressStatus.UNCHECKED)
    if vacuum and connection.vendor == "postgresql":
        # The reset leaves a dead copy of every order and version; autovacuum removes
        # them between a build and a check, so the timing does not depend on whether
        # it got there yet (--no-vacuum to measure that worst case).
        with connection.cursor() as cursor:
            for table in (Order, OrderAddress, OrderHold, OrderEvent):
                cursor.execute(f"VACUUM ANALYZE {table._meta.db_table}")


def _time_emails(orders, batch_size: int, backend: str) -> None:
    """The emails the check asks for, through their task, batch by batch."""
    bad = list(
        orders.filter(address__status=AddressStatus.INVALID)
        .order_by("address_id")
        .values_list("address_id", flat=True)
    )
    mail.outbox = []
    sent = 0
    with (
        tqdm(total=len(bad), unit=" emails") as bar,
        open(os.devnull, "w") as devnull,
        contextlib.redirect_stdout(devnull if backend == "console" else sys.stdout),
    ):
        started = time.perf_counter()
        for start in range(0, len(bad), batch_size):
            chunk = bad[start : start + batch_size]
            sent += send_fix_address_emails.delay(chunk).get()
            bar.update(len(chunk))
        seconds = time.perf_counter() - started
    per_thousand = seconds / sent * 1000 if sent else 0.0
    print(
        f"fix-address emails ({backend} backend): {sent:,} sent of {len(bad):,} bad addresses "
        f"in {seconds:.1f} s — {per_thousand:.2f} s per 1,000 (not in the bar)"
    )


if __name__ == "__main__":
    main()
