"""Benchmark of the demo-data loader: rows per second per table and in total.

Run against a database you can wipe (its demo data is replaced):

    createdb -h 127.0.0.1 -U postgres kehu_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kehu_bench kehu migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kehu_bench python benchmarks/bench_demo_load.py --customers 100000

Without DATABASE_URL it runs on the embedded SQLite database under var/. Run it as the database
owner the application uses in production (not a superuser): a superuser's load skips the foreign-key
triggers instead of dropping and re-adding the constraints, which is a different (faster) path.

Besides wall time it prints the CPU seconds of this process and, when the database server runs on
the same machine, of its server backend (parallel index-build workers not included)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
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

    backend = _backend(connection)
    result = generate(
        customers=args.customers,
        seed=args.seed,
        reset=True,
        now=dt.datetime(2026, 11, 23, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        chunk_size=args.chunk_size,
        tracking_months=args.tracking_months,
        progress=sys.stderr.isatty(),
    )
    role = ""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
            user, superuser = cursor.fetchone()
        role = f" as {user} ({'superuser' if superuser else 'not a superuser'})"
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}{role}, customers: {args.customers:,}")
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
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = f"cpu: this process {usage.ru_utime + usage.ru_stime:.1f} s"
    if backend is not None:
        server = _cpu_seconds(backend)
        if server is not None:
            cpu += f", database backend {server:.1f} s"
    print(f"{cpu}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


def _backend(connection) -> int | None:  # type: ignore[no-untyped-def]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a local process from /proc (None if it is elsewhere or gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    sys.exit(main())
