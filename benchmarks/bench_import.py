"""Benchmark `kehu import orders` end to end against a bare COPY of the same file.

    python benchmarks/bench_import.py --lines 100000 \
        --pg postgres://postgres@127.0.0.1:5432/kehu_import_bench [--sqlite]

Generates a CSV of N order lines (~N/1.5 orders, ~N/8 customers with phones in mixed formats),
migrates the target databases, times the console command in a child process (validation,
identity resolution, bulk SQL, derived data) and reports rows/s, the ratio to a bare `COPY` into
an unlogged table in the same database, and the child's peak RSS. On a shared machine wall time
swings with other work, so it also reports CPU seconds (the child's, plus those of the PostgreSQL
backends serving it, read from /proc) and the import/COPY ratio in CPU terms. It also measures
each database's schema floor: the rows the import ended with, copied without Python into the
database as it stood before the import (what any importer producing those rows must at least
pay for their tables, indexes and triggers). Ends with a Markdown table for docs/benchmarks.md."""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KEHU = [sys.executable, "-c", "import sys; from kehu.cli import main; sys.exit(main())"]
HEADER = ["订单号", "下单时间", "渠道", "门店", "客户姓名", "手机", "邮箱", "商品编码", "数量", "单价"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华"


def phone_text(n: int, rng: random.Random) -> str:
    digits = f"1{rng.choice('35789')}{n:09d}"[:11]
    style = rng.randrange(4)
    if style == 0:
        return digits
    if style == 1:
        return f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"
    if style == 2:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    return "86" + digits


def generate(path: Path, lines: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    customers = max(1, lines // 8)
    phones = [phone_text(10_000_000 + i * 7, rng) for i in range(customers)]
    names = [rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN) for _ in range(customers)]
    channels = ["web", "app", "store"]
    stores = ["sh-01", "hz-01", "bj-01"]
    skus = ["M-SHIRT-01", "M-COAT-01", "S-SNEAK-01"] + [f"SKU-{i:05d}" for i in range(200)]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        written = order = 0
        while written < lines:
            order += 1
            buyer = rng.randrange(customers)
            channel = rng.choice(channels)
            store = rng.choice(stores) if channel == "store" else ""
            day = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            when = f"{day} {rng.randint(8, 22):02d}:{rng.randint(0, 59):02d}"
            email = f"u{buyer}@example.com" if buyer % 3 == 0 else ""
            for _line in range(min(rng.choice((1, 1, 2, 2)), lines - written)):
                writer.writerow([f"B{order:08d}", when, channel, store, names[buyer], phones[buyer], email,
                                 rng.choice(skus), rng.randint(1, 3), f"{rng.randint(50, 2000)}.00"])  # fmt: skip
                written += 1


def _backend_cpu(database: str) -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend serving `database` (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not title.startswith("postgres: ") or f" {database} " not in title:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def run_child(args: list[str], env: dict[str, str], database: str = "") -> tuple[float, float, str, float, float]:
    """Seconds, peak RSS (MiB) of the child, its last stdout line, the child's CPU seconds and
    the CPU seconds of the PostgreSQL backends serving it (sampled every 0.1 s; 0 for SQLite).
    CPU seconds are far less sensitive than wall time to other work on a shared machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    server: dict[int, float] = {}
    with subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as child:
        while child.poll() is None:
            if database:
                for pid, seconds in _backend_cpu(database).items():
                    server[pid] = max(seconds, server.get(pid, 0.0))
            time.sleep(0.1)
        stdout, stderr = child.communicate()
    elapsed = time.perf_counter() - start
    if child.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak = max(after.ru_maxrss, before.ru_maxrss)
    return elapsed, peak / 1024, stdout.strip().splitlines()[-1], client, sum(server.values())


def seed_reference(env: dict[str, str]) -> None:
    code = "import django; django.setup();from tests.factories import make_reference_data; make_reference_data()"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def bare_copy(url: str, path: Path) -> tuple[float, float]:
    """Seconds and server CPU seconds of a bare COPY of the file into an unlogged table."""
    import psycopg

    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_bare_copy")
        cur.execute(
            "CREATE UNLOGGED TABLE bench_bare_copy (" + ", ".join(f"c{i} text" for i in range(len(HEADER))) + ")"
        )
        conn.commit()
        pid = conn.info.backend_pid
        cpu_before = _backend_cpu(url.rsplit("/", 1)[1]).get(pid, 0.0)
        start = time.perf_counter()
        with (
            path.open("rb") as handle,
            cur.copy("COPY bench_bare_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)
        conn.commit()
        elapsed = time.perf_counter() - start
        cpu = _backend_cpu(url.rsplit("/", 1)[1]).get(pid, 0.0) - cpu_before
        cur.execute("DROP TABLE bench_bare_copy")
        conn.commit()
    return elapsed, cpu


def schema_floor(url: str, floor_url: str) -> tuple[float, float, int, list[str]]:
    """The schema's own cost of holding an import's result: every row the import wrote, copied
    in binary from the imported database into a copy of the database as it stood before the
    import (migrated, reference data seeded), in one transaction, with its indexes, its
    always-on triggers and the import's own trigger settings (foreign-key triggers off, as the
    import runs them). No parsing, validation, identity resolution or Python per row: a lower
    bound for any import that ends with the same rows. Seconds, server CPU seconds, rows, tables."""
    import psycopg
    from psycopg import sql

    floor_name = floor_url.rsplit("/", 1)[1]
    with psycopg.connect(url) as source, psycopg.connect(floor_url) as target:
        tables = [row[0] for row in source.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1"
        )]  # fmt: skip
        written = []
        for relname in tables:
            ident = sql.Identifier(relname)
            has_rows = source.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(ident)).fetchone()[0]
            empty = not target.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(ident)).fetchone()[0]
            if has_rows and empty and relname != "django_migrations":
                written.append(relname)
        target.commit()
        pid = target.info.backend_pid
        cpu_before = _backend_cpu(floor_name).get(pid, 0.0)
        rows = 0
        start = time.perf_counter()
        target.execute("SET LOCAL session_replication_role = replica")
        # The rows carry their final values: the name tokens their customer's spend, so the
        # token trigger stands aside as it does for the import's own token write.
        target.execute("SET LOCAL kehu.token_spent_joined = 'on'")
        for relname in written:
            began = time.perf_counter()
            ident = sql.Identifier(relname)
            query_out = sql.SQL("COPY {} TO STDOUT (FORMAT binary)").format(ident)
            query_in = sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(ident)
            with source.cursor().copy(query_out) as out, target.cursor().copy(query_in) as into:
                for block in out:
                    into.write(block)
            count = target.execute(sql.SQL("SELECT count(*) FROM {}").format(ident)).fetchone()[0]
            rows += count
            print(f"  floor: {relname} {count:,} rows {time.perf_counter() - began:.2f} s")
        target.commit()
        elapsed = time.perf_counter() - start
        cpu = _backend_cpu(floor_name).get(pid, 0.0) - cpu_before
    return elapsed, cpu, rows, written


def sqlite_floor(imported: Path, pre_import: Path) -> tuple[float, float, int, list[str]]:
    """SQLite's form of `schema_floor`: the import's result rows copied table by table with
    `INSERT … SELECT` from the imported file (attached) into a copy of the file as it stood
    before the import, in one transaction, with the application's settings (foreign keys on,
    the name-token trigger in place). No Python per row. Seconds, CPU seconds, rows, tables."""
    import sqlite3

    conn = sqlite3.connect(pre_import, isolation_level=None)
    conn.executescript(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-64000;"
    )
    conn.execute("ATTACH DATABASE ? AS src", (str(imported),))
    tables = [r[0] for r in conn.execute("SELECT name FROM src.sqlite_master WHERE type = 'table' ORDER BY name")]
    written = [
        t for t in tables
        if t not in ("django_migrations", "sqlite_sequence")
        and conn.execute(f'SELECT EXISTS (SELECT 1 FROM src."{t}")').fetchone()[0]
        and not conn.execute(f'SELECT EXISTS (SELECT 1 FROM main."{t}")').fetchone()[0]
    ]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    conn.execute("BEGIN")
    rows = 0
    for name in written:
        # `WHERE 1` keeps SQLite from copying the table's and its indexes' pages as they are (its
        # transfer optimisation for `INSERT … SELECT *` into an empty table of the same shape):
        # every row and index entry is inserted, as an importer's would be.
        rows += conn.execute(f'INSERT INTO main."{name}" SELECT * FROM src."{name}" WHERE 1').rowcount
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    conn.close()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, rows, written


def reset_pg(url: str, template: str = "") -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/kehu_import_bench")
    parser.add_argument("--sqlite", action="store_true", help="also measure SQLite")
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    parser.add_argument("--no-rerun", action="store_true", help="skip the second (idempotent) run")
    parser.add_argument("--no-floor", action="store_true", help="skip the schema-floor copies")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only (with --sqlite)")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kehu-bench-"))
    data = work / "orders.csv"
    generate(data, options.lines)
    size = data.stat().st_size / 1e6
    print(f"{options.lines:,} lines, {size:.0f} MB: {data}")
    root = Path(__file__).resolve().parent.parent
    base_env = {**os.environ, "PYTHONPATH": f"{root}/src:{root}", "DJANGO_SETTINGS_MODULE": "kehu.settings",
                "KEHU_LOG_LEVEL": "WARNING"}  # fmt: skip
    targets = [] if options.no_postgres else [("PostgreSQL", {"DATABASE_URL": options.pg})]
    if options.sqlite:
        targets.append(("SQLite", {"DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}", "KEHU_VAR_DIR": str(work)}))
    command = [*KEHU, "import", "orders", str(data), "--source", "bench", "--no-progress",
               "--chunk-rows", str(options.chunk_rows), "--report", str(work / "errors.csv")]  # fmt: skip
    table: list[str] = [
        "| database | lines | import s | lines/s | CPU s (client + server) | same file again | bare COPY lines/s "
        "| import/COPY wall | import/COPY CPU | peak RSS |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, extra in targets:
        env = {**base_env, **extra}
        database = options.pg.rsplit("/", 1)[1] if label == "PostgreSQL" else ""
        if label == "PostgreSQL":
            reset_pg(options.pg)
        subprocess.run([*KEHU, "migrate", "-v0", "--skip-checks"], env=env, check=True)
        seed_reference(env)
        floor_url = f"{options.pg}_floor"
        if label == "PostgreSQL" and not options.no_floor:
            reset_pg(floor_url, template=database)
        sqlite_file, sqlite_floor_file = work / "bench.sqlite3", work / "floor.sqlite3"
        if label == "SQLite" and not options.no_floor:
            import sqlite3

            with sqlite3.connect(sqlite_file) as source, sqlite3.connect(sqlite_floor_file) as copy:
                source.backup(copy)
        seconds, rss, summary, client, server = run_child(command, env, database)
        rate = options.lines / seconds
        print(
            f"{label}: kehu import orders {seconds:.1f} s = {rate:,.0f} lines/s, CPU {client:.1f} s client + "
            f"{server:.1f} s server, peak RSS {rss:.0f} MiB, {summary}"
        )
        again = "–"
        if not options.no_rerun:
            seconds2, _rss, summary2, client2, server2 = run_child(command, env, database)
            print(
                f"{label}: same file again {seconds2:.1f} s = {options.lines / seconds2:,.0f} lines/s, "
                f"CPU {client2:.1f} s client + {server2:.1f} s server, {summary2}"
            )
            again = f"{options.lines / seconds2:,.0f} lines/s"
        copy_rate = ratio = cpu_ratio = "–"
        if label == "PostgreSQL":
            copy_seconds, copy_cpu = bare_copy(options.pg, data)
            print(
                f"PostgreSQL: bare COPY into an unlogged table {copy_seconds:.2f} s (server CPU {copy_cpu:.2f} s) = "
                f"{options.lines / copy_seconds:,.0f} lines/s; import/COPY wall ratio {seconds / copy_seconds:.1f}x"
            )
            copy_rate, ratio = f"{options.lines / copy_seconds:,.0f}", f"{seconds / copy_seconds:.1f}×"
            if copy_cpu > 0:
                cpu_ratio = f"{(client + server) / copy_cpu:.1f}×"
            if not options.no_floor:
                floor_seconds, floor_cpu, floor_rows, floor_tables = schema_floor(options.pg, floor_url)
                print(
                    f"PostgreSQL: schema floor (the import's {floor_rows:,} result rows in {len(floor_tables)} tables "
                    f"copied in binary into the pre-import database) {floor_seconds:.2f} s (server CPU "
                    f"{floor_cpu:.2f} s) = {options.lines / floor_seconds:,.0f} lines/s; floor/COPY "
                    f"{floor_seconds / copy_seconds:.1f}x, import/floor {seconds / floor_seconds:.1f}x; tables: "
                    + ", ".join(floor_tables)
                )
        if label == "SQLite" and not options.no_floor:
            floor_seconds, floor_cpu, floor_rows, floor_tables = sqlite_floor(sqlite_file, sqlite_floor_file)
            print(
                f"SQLite: schema floor (the import's {floor_rows:,} result rows in {len(floor_tables)} tables copied "
                f"with INSERT … SELECT into the pre-import file) {floor_seconds:.2f} s (CPU {floor_cpu:.2f} s) = "
                f"{options.lines / floor_seconds:,.0f} lines/s; import/floor {seconds / floor_seconds:.1f}x"
            )
        table.append(
            f"| {label} | {options.lines:,} | {seconds:.1f} | {rate:,.0f} | {client:.1f} + {server:.1f} | {again} "
            f"| {copy_rate} | {ratio} | {cpu_ratio} | {rss:.0f} MiB |"
        )
    print(f"\nMachine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end.\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
