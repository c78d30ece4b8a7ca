"""Benchmark: check every order address of a campaign of N backers.

    DATABASE_URL=postgres://… .venv/bin/python bench/validate_addresses.py --rows 250000 [--reuse]

Uses the build bench's campaign (bench/build_orders.py: addresses from a pool of
Faker localities in the demo's 30 countries, 4 % of them broken), builds its
orders if they are missing (not timed), marks every address version unchecked,
then times `validate_addresses` in one process (bar ≤ 20 s for 250,000): the
rules come from surveys.address's cache per country and area, and each locality
(country, area, city, district) is matched once. Emails go to Django's in-memory
backend (--no-email to leave them out and see the check alone).
"""

import argparse
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
from django.db import connection  # noqa: E402
from tqdm import tqdm  # noqa: E402

from bench.build_orders import seeded_campaign  # noqa: E402
from orders.models import AddressStatus, Order, OrderAddress, OrderEvent, OrderHold  # noqa: E402
from orders.services.addresses import validate_addresses  # noqa: E402
from orders.services.bulk_building import build_orders  # noqa: E402
from pledges.models import Backer, Campaign  # noqa: E402

BAR_SECONDS = 20.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=250_000)
    parser.add_argument("--reuse", action="store_true", help="keep a seeded campaign")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-email", action="store_true")
    args = parser.parse_args()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

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
    # Start from nothing checked: results, their holds and their timeline entries go.
    OrderHold.objects.filter(order__campaign=campaign, reason="address_invalid").delete()
    OrderEvent.objects.filter(
        order__campaign=campaign, actor_label__in=["address check", "system"]
    ).delete()
    versions.update(status=AddressStatus.UNCHECKED, checked_at=None, problems={}, normalized={})
    total = versions.count()
    countries = versions.values("country").distinct().count()
    print(
        f"database: {connection.vendor}; {total:,} addresses in {countries} countries; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    with tqdm(total=total, unit=" addresses") as bar:
        started = time.perf_counter()
        result = validate_addresses(
            campaign=campaign, progress=bar.update, send_emails=not args.no_email
        )
        seconds = time.perf_counter() - started
    print(
        f"validate_addresses: {seconds:.1f} s — {result.checked:,} checked, "
        f"{result.valid:,} valid, {result.invalid:,} invalid, {result.holds_opened:,} holds, "
        f"{result.emails_sent:,} emails ({result.checked / seconds:,.0f} addresses/s)"
    )
    ok = seconds <= BAR_SECONDS
    print(f"bar ≤ {BAR_SECONDS:.0f} s: {'met' if ok else 'NOT met'}")
    sys.exit(0 if ok or args.rows < 250_000 else 1)


if __name__ == "__main__":
    main()
