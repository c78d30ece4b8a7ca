"""Benchmark: exporting N locked orders (about 4 lines each) with the built-in templates.

    DATABASE_URL=postgres://… .venv/bin/python bench/export_orders.py --sizes 50000 250000 [--reuse]
        [--templates per-line per-order-skus shipstation] [--xlsx]

For each size: seeds a campaign of locked orders with COPY (bench/lock_orders.py's
`seed_orders`; --reuse keeps one of the same size from an earlier run), then, for
each template, in a fresh child process (resident memory sampled as the file grows):
  1. the path a creator's export takes (the command and the download view do the
     same): `export_orders` (include already exported, so a rerun does the same
     work) records the ExportBatch, its orders, the orders marked exported and an
     event each, then `write_csv` writes every row to a file (on PostgreSQL straight
     from COPY) and the batch's row count is set;
  2. a raw `COPY (SELECT … the one-row-per-line rows …) TO STDOUT` of the same orders
     and lines, timed in the same process, as the floor.
--xlsx also times the one-row-per-line export as XLSX (the Python rows and
openpyxl's write-only mode: no goal, for the record).
Prints seconds (the bookkeeping apart), process CPU seconds, the ratio to COPY, rows
and memory per size and template, and the load average; the goal is ≤ 10 s and
≤ 5× COPY at 250,000 orders with the one-row-per-line template, with memory flat
from 50,000 to 250,000.
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

from tqdm import tqdm

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from django.db import connection  # noqa: E402
from lock_orders import seed_orders  # noqa: E402  (sets up Django)

from orders.exports.fields import BUILTIN_TEMPLATES  # noqa: E402
from orders.exports.services import EXPORTABLE, export_orders  # noqa: E402
from orders.exports.writers import CSV, XLSX, csv_chunks, write_xlsx  # noqa: E402
from orders.models import Order, OrderState  # noqa: E402
from pledges.models import Campaign  # noqa: E402

GOAL_SECONDS = 10.0
GOAL_RATIO = 5.0
TEMPLATES = {template.key: template for template in BUILTIN_TEMPLATES}
HEADLINE = "per-line"

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


def sampled(items, samples: list[float], every: int):
    for n, item in enumerate(items):
        if n % every == 0:
            samples.append(rss_mb())
        yield item


def write_export(rows, fmt: str, out: Path, samples: list[float]) -> None:
    """What the export command writes (orders/management/commands/export_orders.py)."""
    if fmt == CSV:
        with out.open("w", encoding="utf-8", newline="") as handle:
            for chunk in sampled(csv_chunks(rows), samples, every=50):
                handle.write(chunk)
    else:
        with out.open("wb") as handle:
            write_xlsx(sampled(rows, samples, every=20_000), handle, title="Bench")


def raw_copy(campaign: Campaign) -> tuple[float, int]:
    states = ", ".join(f"'{state}'" for state in EXPORTABLE)
    sql = RAW_SQL.format(campaign=int(campaign.pk), states=states)
    started = time.perf_counter()
    copied = 0
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for block in copy:
            copied += len(block)
    return time.perf_counter() - started, copied


def measure(size: int, key: str, fmt: str) -> dict:
    """Run in a child process: the export, then the raw COPY, both timed."""
    campaign = Campaign.objects.get(slug=slug_for(size))
    Order.objects.filter(campaign=campaign).exists()  # connect before the baseline
    baseline = rss_mb()
    samples: list[float] = [baseline]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / f"export.{fmt}"
        started, cpu = time.perf_counter(), time.process_time()
        batch, rows = export_orders(
            campaign=campaign,
            template=TEMPLATES[key],
            fmt=fmt,
            include_exported=True,
            actor="bench",
        )
        recorded, recorded_cpu = time.perf_counter(), time.process_time()
        write_export(rows, fmt, out, samples)
        export_seconds = time.perf_counter() - started
        export_cpu = time.process_time() - cpu
        export_bytes = out.stat().st_size
    batch.refresh_from_db()
    copy_seconds, copied = raw_copy(campaign)
    return {
        "size": size,
        "template": key,
        "format": fmt,
        "orders": batch.order_count,
        "rows": batch.row_count,
        "finished": batch.finished_at is not None,
        "record_seconds": recorded - started,
        "record_cpu": recorded_cpu - cpu,
        "export_seconds": export_seconds,
        "export_cpu": export_cpu,
        "export_mb": export_bytes / 1e6,
        "copy_seconds": copy_seconds,
        "copy_mb": copied / 1e6,
        "baseline_mb": baseline,
        "peak_mb": max(samples),
        "process_peak_mb": peak_rss_mb(),
        "load": (load_before, os.getloadavg()[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 250_000])
    parser.add_argument("--reuse", action="store_true", help="keep seeded campaigns")
    parser.add_argument("--templates", nargs="+", choices=list(TEMPLATES), default=list(TEMPLATES))
    parser.add_argument("--xlsx", action="store_true", help="also time per-line as XLSX")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        size, key, fmt = args.child
        print(json.dumps(measure(int(size), key, fmt)))
        return
    for size in args.sizes:
        prepare(size, args.reuse)
    runs = [(key, CSV) for key in args.templates] + ([(HEADLINE, XLSX)] if args.xlsx else [])
    results = []
    for size, (key, fmt) in tqdm([(s, run) for s in args.sizes for run in runs], unit=" export"):
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(size), key, fmt],
            check=True,
            capture_output=True,
            text=True,
            env=os.environ,
        )
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print()
    print(
        f"{'orders':>9} {'template':>15} {'fmt':>4} {'rows':>10} {'export s':>9} "
        f"{'of which record':>15} {'CPU s':>6} {'COPY s':>7} {'ratio':>6} {'MB':>6} "
        f"{'RSS before':>11} {'RSS max':>8} {'growth':>7} {'load':>10}"
    )
    for r in results:
        print(
            f"{r['orders']:>9,} {r['template']:>15} {r['format']:>4} {r['rows']:>10,} "
            f"{r['export_seconds']:>9.2f} {r['record_seconds']:>15.2f} {r['export_cpu']:>6.2f} "
            f"{r['copy_seconds']:>7.2f} {r['export_seconds'] / r['copy_seconds']:>6.1f} "
            f"{r['export_mb']:>6.1f} {r['baseline_mb']:>11.1f} {r['peak_mb']:>8.1f} "
            f"{r['peak_mb'] - r['baseline_mb']:>7.1f} {r['load'][0]:>4.1f}→{r['load'][1]:<4.1f}"
        )
    headline = [r for r in results if r["template"] == HEADLINE and r["format"] == CSV]
    if headline:
        last = headline[-1]
        ratio = last["export_seconds"] / last["copy_seconds"]
        ok = last["export_seconds"] <= GOAL_SECONDS and ratio <= GOAL_RATIO
        print(
            f"{'PASS' if ok else 'FAIL'}: goal ≤ {GOAL_SECONDS:.0f} s and ≤ {GOAL_RATIO:.0f}× "
            f"COPY at {last['orders']:,} orders, one row per line "
            f"(measured {last['export_seconds']:.2f} s, {ratio:.1f}×)"
        )


if __name__ == "__main__":
    main()
