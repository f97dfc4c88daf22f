"""Benchmark the customer export: time and peak memory of writing N customers to CSV and XLSX
exactly as a background export job does (role-scoped query, filters, masking, formula guard,
openpyxl write-only), plus the data-quality page's counts on the same database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kehu_exports_bench \
        .venv/bin/python benchmarks/bench_export.py --rows 100000 [--rows 10000]

The database must hold demo data (`kehu demo-data --customers 100000`). Each export runs in a
fresh child process so that its peak RSS (`ru_maxrss`) is its own; the child also reports its RSS
just before writing, so the table shows what the export itself added. Ends with Markdown tables
for docs/benchmarks.md."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _rss_now_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def child(fmt: str, rows: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    import django

    django.setup()
    from django.http import QueryDict

    from kehu.accounts.models import User
    from kehu.exports.registry import get_list
    from kehu.exports.writers import write_csv, write_xlsx

    analyst = User(username="bench", role="analyst", is_active=True)  # masked, like the analyst role
    customers = get_list("customers")
    queryset = customers.queryset(analyst, QueryDict(""))[:rows]
    list(customers.rows(queryset[:10], unmasked=False))  # warm up imports and the connection
    before = _rss_now_mb()
    started = time.perf_counter()
    with tempfile.NamedTemporaryFile(suffix=f".{fmt}") as handle:
        writer = write_csv if fmt == "csv" else write_xlsx
        written = writer(handle, customers.headers(), customers.rows(queryset, unmasked=False))
        handle.flush()
        size = os.path.getsize(handle.name)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # Reference for this machine's noise, timed in the same process: fetching the same rows'
    # columns as bare tuples, with no models, masking or writing.
    started = time.perf_counter()
    for _row in queryset.values_list(
        "pk", "name", "kind", "home_store__name", "order_count", "total_spent", "first_order_at", "last_order_at"
    ).iterator(chunk_size=2000):
        pass
    reference = time.perf_counter() - started
    print(json.dumps({"format": fmt, "rows": written, "seconds": seconds, "size_mb": size / 1e6,
                      "rss_before_mb": before, "peak_rss_mb": peak, "reference_seconds": reference}))  # fmt: skip


def quality_counts() -> list[tuple[str, float, int]]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    import django

    django.setup()
    from kehu.accounts.models import User
    from kehu.quality.checks import CHECKS

    admin = User(username="bench", role="admin", is_active=True)
    timings = []
    for check in CHECKS:
        started = time.perf_counter()
        n = check.count(admin)
        timings.append((check.key, time.perf_counter() - started, n))
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, action="append", help="rows to export (repeatable)")
    parser.add_argument("--formats", nargs="+", default=["csv", "xlsx"])
    parser.add_argument("--child", nargs=2, metavar=("FORMAT", "ROWS"), help=argparse.SUPPRESS)
    parser.add_argument("--no-quality", action="store_true", help="skip timing the data-quality counts")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    results = []
    for rows in args.rows or [100_000]:
        for fmt in args.formats:
            out = subprocess.run(
                [sys.executable, __file__, "--child", fmt, str(rows)],
                env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            result = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(result)
            print(result, file=sys.stderr)
    engine = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    print(f"\n| {engine} | rows | time | rows/s | file | RSS before | peak RSS | reference: bare fetch |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r['format'].upper()} | {r['rows']:,} | {r['seconds']:.1f} s | {r['rows'] / r['seconds']:,.0f} |"
            f" {r['size_mb']:.1f} MB | {r['rss_before_mb']:.0f} MB | {r['peak_rss_mb']:.0f} MB |"
            f" {r['reference_seconds']:.1f} s |"
        )
    if not args.no_quality:
        print("\n| data-quality check | count | time |")
        print("| --- | ---: | ---: |")
        for key, seconds, n in quality_counts():
            print(f"| {key} | {n:,} | {seconds * 1000:,.0f} ms |")


if __name__ == "__main__":
    main()
