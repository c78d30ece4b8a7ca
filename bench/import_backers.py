"""Benchmark: import a generated Kickstarter backer report of N rows.

    DATABASE_URL=postgres://… .venv/bin/python bench/import_backers.py --rows 250000

Generates a realistic report ("All rewards" layout: 30+ countries, non-ASCII
names, add-on quantity columns, survey answers), then on the given database:
times the first import, a re-import of the same file, and a raw COPY of the
same rows into a bare table; prints peak memory and the import/COPY ratio.
"""

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from faker import Faker  # noqa: E402

from accounts.models import Organization  # noqa: E402
from pledges.demo import COUNTRIES  # noqa: E402
from pledges.importers.pipeline import import_file  # noqa: E402
from pledges.models import Campaign  # noqa: E402

HEADER = [
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
    "[Addon: 1234567] Dice Tower",
    "[Addon: 1234568] Playmat",
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
    "Which language edition?",
]
REWARDS = [
    ("9001", "Core Game", 59),
    ("9002", "Core + Expansion", 89),
    ("9003", "Deluxe Edition", 149),
    ("9004", "All-in", 199),
]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    pools = {}
    for code, locale, _weight in COUNTRIES:
        fake = Faker(locale)
        fake.seed_instance(seed)
        pools[code] = [
            (
                fake.name(),
                fake.street_address(),
                fake.city(),
                fake.postcode(),
                fake.current_country() if hasattr(fake, "current_country") else code,
            )
            for _ in range(300)
        ]
    codes = [c for c, _, _ in COUNTRIES]
    weights = [w for _, _, w in COUNTRIES]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(1, rows + 1):
            code = rng.choices(codes, weights)[0]
            name, street, city, postcode, _ = rng.choice(pools[code])
            rid, title, minimum = rng.choice(REWARDS)
            shipping = rng.choice([10, 15, 20, 25])
            bonus = rng.choice([0, 0, 0, 5, 10])
            dice, mat = rng.choice([0, 0, 1]), rng.choice([0, 0, 1, 2])
            total = Decimal(minimum + shipping + bonus + 25 * dice + 20 * mat)
            status = rng.choices(["collected", "dropped", "errored"], [95, 3, 2])[0]
            writer.writerow(
                [
                    n,
                    1_000_000_000 + n * 7,
                    name,
                    f"backer{n}@example.net",
                    code,
                    f"${shipping}.00 USD",
                    title,
                    f"${minimum}.00 USD",
                    rid,
                    f"${bonus}.00 USD",
                    f"${total:,.2f} USD",
                    f"2026/10/{rng.randint(1, 28):02d}, "
                    f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
                    "Not sent",
                    status,
                    "",
                    rng.choice([0, 1]),
                    dice,
                    mat,
                    "",
                    name,
                    street,
                    "",
                    city,
                    "",
                    postcode,
                    code,
                    code,
                    "",
                    "",
                    rng.choice(["English", "Deutsch", "Français"]),
                ]
            )


def copy_baseline(path: Path) -> float:
    columns = ", ".join(f"c{i} text" for i in range(len(HEADER)))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy_raw")
        cursor.execute(f"CREATE UNLOGGED TABLE bench_copy_raw ({columns})")
        started = time.perf_counter()
        with (
            cursor.copy("COPY bench_copy_raw FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            path.open("rb") as handle,
        ):
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_copy_raw")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=250_000)
    parser.add_argument("--keep-file", action="store_true")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="pledgeport-bench-"))
    report = workdir / "All rewards - Nov 25 10pm.csv"
    started = time.perf_counter()
    generate(report, args.rows)
    print(
        f"generated {args.rows:,} rows ({report.stat().st_size / 1e6:.1f} MB) "
        f"in {time.perf_counter() - started:.1f} s"
    )

    org, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    Campaign.objects.filter(slug="bench-import").delete()
    campaign = Campaign.objects.create(
        organization=org, name="Bench", slug="bench-import", currency="USD"
    )
    results = {}
    for label in ("first import", "re-import"):
        started = time.perf_counter()
        outcome = import_file(campaign=campaign, path=report, original_name=report.name, apply=True)
        results[label] = time.perf_counter() - started
        print(f"{label}: {results[label]:.2f} s — {outcome.counts()}")
        assert outcome.applied, outcome.problems[:5]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    copy_s = copy_baseline(report) if connection.vendor == "postgresql" else None
    print(f"database: {connection.vendor}")
    print(f"peak memory (whole process): {peak_mb:.0f} MB")
    if copy_s:
        print(f"raw COPY of the same rows: {copy_s:.2f} s")
        print(f"ratio first import / COPY: {results['first import'] / copy_s:.1f}")
        print(f"ratio re-import / COPY: {results['re-import'] / copy_s:.1f}")
    Campaign.objects.filter(slug="bench-import").delete()
    if not args.keep_file:
        report.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
