"""Benchmark of the demo-data loader: rows per second per table and in total.

Run against a database you can wipe (its demo data is replaced):

    createdb -h 127.0.0.1 -U postgres kehu_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kehu_bench kehu migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kehu_bench python benchmarks/bench_demo_load.py --customers 100000

Without DATABASE_URL it runs on the embedded SQLite database under var/."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--tracking-months", type=int, default=6)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    import django

    django.setup()
    from django.db import connection

    from kehu.demo.generate import generate

    result = generate(
        customers=args.customers,
        seed=args.seed,
        reset=True,
        now=dt.datetime(2026, 11, 23, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        chunk_size=args.chunk_size,
        tracking_months=args.tracking_months,
        progress=sys.stderr.isatty(),
    )
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}, customers: {args.customers:,}")
    if result.deleted:
        print(f"deleted {result.deleted:,} rows of earlier demo data first (included in the total time)")
    print(f"{'table':<32} {'rows':>12} {'write s':>9} {'rows/s':>12}")
    for table in sorted(result.rows, key=lambda t: -result.rows[t]):
        rows, seconds = result.rows[table], result.seconds[table]
        print(f"{table:<32} {rows:>12,} {seconds:>9.1f} {rows / max(seconds, 1e-9):>12,.0f}")
    written = sum(result.seconds[t] for t in result.rows)
    print(f"{'total':<32} {result.total_rows:>12,} {written:>9.1f} {result.total_rows / max(written, 1e-9):>12,.0f}")
    for step in sorted(set(result.seconds) - set(result.rows)):
        print(f"{step:<32} {'':>12} {result.seconds[step]:>9.1f}")
    print(
        f"wall time {result.elapsed:.1f} s including simulation, reset and ANALYZE: "
        f"{result.total_rows / result.elapsed:,.0f} rows/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
