"""Benchmark: exporting N locked orders (about 4 lines each) as CSV, one row per line.

    DATABASE_URL=postgres://… .venv/bin/python bench/export_orders.py --sizes 50000 250000 [--reuse]

For each size: seeds a campaign of locked orders with COPY (bench/lock_orders.py's
`seed_orders`; --reuse keeps one of the same size from an earlier run), then, in a
fresh child process (resident memory sampled every 20,000 rows):
  1. `export_orders` with the built-in one-row-per-line template (include already
     exported, so a rerun does the same work): the ExportBatch, its orders, the
     orders marked exported, an event each, and every CSV row written to a file;
  2. a raw `COPY (SELECT … the same rows …) TO STDOUT` of the same orders and lines,
     timed in the same process, as the floor.
Prints seconds, the ratio to COPY, rows and peak RSS (getrusage) per size; the goal
is ≤ 10 s and ≤ 5× COPY at 250,000 orders, with memory flat from 50,000 to 250,000.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from django.db import connection  # noqa: E402
from lock_orders import seed_orders  # noqa: E402  (sets up Django)

from orders.exports.fields import PER_LINE  # noqa: E402
from orders.exports.services import EXPORTABLE, export_orders  # noqa: E402
from orders.exports.writers import write_csv  # noqa: E402
from orders.models import Order, OrderState  # noqa: E402
from pledges.models import Campaign  # noqa: E402

GOAL_SECONDS = 10.0
GOAL_RATIO = 5.0

RAW_SQL = """
COPY (
  SELECT o.number, coalesce(nullif(a.name, ''), o.name), a.company, a.street_address,
         a.city, a.country_area, a.postal_code, coalesce(nullif(a.country, ''), o.country),
         a.phone, o.email, o.shipping_method, o.customs_number, l.sku_code, l.description,
         l.quantity, l.unit_weight_g, l.customs_value, l.hs_code, l.country_of_origin
  FROM orders_order o
  LEFT JOIN orders_orderaddress a ON a.id = o.address_id
  JOIN orders_orderline l ON l.order_id = o.id
  WHERE o.campaign_id = {campaign} AND o.state IN ({states})
  ORDER BY o.id, l.position, l.id
) TO STDOUT WITH (FORMAT csv, HEADER)
"""


def slug_for(size: int) -> str:
    return f"bench-export-{size}"


def prepare(size: int, reuse: bool) -> None:
    campaign = Campaign.objects.filter(slug=slug_for(size)).first()
    if reuse and campaign is not None:
        count = Order.objects.filter(campaign=campaign, state=OrderState.LOCKED).count()
        if count == size:
            print(f"reusing {slug_for(size)!r} with {size:,} locked orders")
            return
    seed_orders(slug=slug_for(size), count=size, state=OrderState.LOCKED)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_mb() -> float:
    """Resident memory now (Linux), to sample during the export."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def sampled(rows, samples: list[float], every: int = 20_000):
    for n, row in enumerate(rows):
        if n % every == 0:
            samples.append(rss_mb())
        yield row


def measure(size: int) -> dict:
    """Run in a child process: the export, then the raw COPY, both timed."""
    campaign = Campaign.objects.get(slug=slug_for(size))
    Order.objects.filter(campaign=campaign).exists()  # connect before the baseline
    baseline = rss_mb()
    samples: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "export.csv"
        started = time.perf_counter()
        batch, rows = export_orders(
            campaign=campaign, template=PER_LINE, fmt="csv", include_exported=True, actor="bench"
        )
        with out.open("w", encoding="utf-8", newline="") as handle:
            write_csv(sampled(rows, samples), handle)
        export_seconds = time.perf_counter() - started
        export_bytes = out.stat().st_size
    batch.refresh_from_db()
    export_peak = max(samples)
    process_peak = peak_rss_mb()

    states = ", ".join(f"'{state}'" for state in EXPORTABLE)
    sql = RAW_SQL.format(campaign=int(campaign.pk), states=states)
    started = time.perf_counter()
    copied = 0
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for block in copy:
            copied += len(block)
    copy_seconds = time.perf_counter() - started
    return {
        "size": size,
        "orders": batch.order_count,
        "rows": batch.row_count,
        "export_seconds": export_seconds,
        "export_mb": export_bytes / 1e6,
        "copy_seconds": copy_seconds,
        "copy_mb": copied / 1e6,
        "baseline_mb": baseline,
        "peak_mb": export_peak,
        "process_peak_mb": process_peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 250_000])
    parser.add_argument("--reuse", action="store_true", help="keep seeded campaigns")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    for size in args.sizes:
        prepare(size, args.reuse)
    results = []
    for size in args.sizes:
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(size)],
            check=True,
            capture_output=True,
            text=True,
            env=os.environ,
        )
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print()
    print(
        f"{'orders':>9} {'rows':>10} {'export s':>9} {'COPY s':>7} {'ratio':>6} "
        f"{'CSV MB':>7} {'RSS before':>11} {'RSS max during':>15} {'growth MB':>10} "
        f"{'ru_maxrss':>10}"
    )
    for r in results:
        print(
            f"{r['orders']:>9,} {r['rows']:>10,} {r['export_seconds']:>9.2f} "
            f"{r['copy_seconds']:>7.2f} {r['export_seconds'] / r['copy_seconds']:>6.1f} "
            f"{r['export_mb']:>7.1f} {r['baseline_mb']:>11.1f} {r['peak_mb']:>15.1f} "
            f"{r['peak_mb'] - r['baseline_mb']:>10.1f} {r['process_peak_mb']:>10.1f}"
        )
    last = results[-1]
    ratio = last["export_seconds"] / last["copy_seconds"]
    ok = last["export_seconds"] <= GOAL_SECONDS and ratio <= GOAL_RATIO
    print(
        f"{'PASS' if ok else 'FAIL'}: goal ≤ {GOAL_SECONDS:.0f} s and ≤ {GOAL_RATIO:.0f}× COPY "
        f"at {last['orders']:,} orders (measured {last['export_seconds']:.2f} s, {ratio:.1f}×)"
    )


if __name__ == "__main__":
    main()
