"""Per-request cost of the search and 360 pages, one request at a time, in-process.

The load benchmark (`bench_search_360.py`) says how the pages behave under 20 users; this one says
where a single request's time goes, without the noise of a load generator on the same cores:
wall time and this process's CPU time per request (median and p95), SQL queries per request and
the time spent waiting for the database. With `--profile` it prints the top functions of a
cProfile run over the same requests.

  DATABASE_URL=postgres://bench:…@127.0.0.1:5432/kehu_load \
      .venv/bin/python benchmarks/bench_pages_inprocess.py --requests 200
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _phone_form(e164: str, rng: random.Random) -> str:
    n = e164[3:]
    return rng.choice([n, f"{n[:3]} {n[3:7]} {n[7:]}", f"+86-{n[:3]}-{n[3:7]}-{n[7:]}", "86" + n])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200, help="requests per page kind")
    parser.add_argument("--language", default="zh-hans")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--only", choices=["360", "name", "phone"], default=None)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    os.environ.setdefault("KEHU_AXES_ENABLED", "0")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from bench_search_360 import PASSWORD, prepare

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    sample = prepare(max(args.requests, 200))
    rng = random.Random(11)
    client = Client()
    assert client.login(username="bench", password=PASSWORD)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = args.language

    kinds = {
        "360": lambda i: f"/customers/{sample['ids'][i % len(sample['ids'])]}/",
        "name": lambda i: "/search/?" + urlencode({"q": sample["names"][i % len(sample["names"])]}),
        "phone": lambda i: (
            "/search/?" + urlencode({"q": _phone_form(sample["phones"][i % len(sample["phones"])], rng)})
        ),
    }
    if args.only:
        kinds = {args.only: kinds[args.only]}

    for path in (kinds.get("360", kinds[next(iter(kinds))])(0),):  # warm caches and imports
        for _ in range(3):
            client.get(path)

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}, language {args.language}")
    print("| page | requests | wall p50 ms | wall p95 ms | CPU p50 ms | CPU p95 ms | queries p50 | SQL wait p50 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for kind, make in kinds.items():
        walls, cpus, counts, sql = [], [], [], []
        for i in range(args.requests):
            path = make(i)
            waited = [0.0, 0]

            def timer(execute, query, params, many, context, waited=waited):
                started = time.perf_counter()
                try:
                    return execute(query, params, many, context)
                finally:
                    waited[0] += time.perf_counter() - started
                    waited[1] += 1

            with connection.execute_wrapper(timer):
                if profiler:
                    profiler.enable()
                c0, w0 = time.process_time(), time.perf_counter()
                response = client.get(path, follow=True)
                w1, c1 = time.perf_counter(), time.process_time()
                if profiler:
                    profiler.disable()
            if response.status_code != 200:
                raise SystemExit(f"{path}: HTTP {response.status_code}")
            walls.append((w1 - w0) * 1000)
            cpus.append((c1 - c0) * 1000)
            sql.append(waited[0] * 1000)
            counts.append(waited[1])

        def p95(values: list[float]) -> float:
            return sorted(values)[int(len(values) * 0.95) - 1]

        print(
            f"| {kind} | {len(walls)} | {statistics.median(walls):.1f} | {p95(walls):.1f} | "
            f"{statistics.median(cpus):.1f} | {p95(cpus):.1f} | {statistics.median(counts):.0f} | "
            f"{statistics.median(sql):.1f} |"
        )
    if profiler:
        import pstats

        stats = pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative"))
        stats.print_stats(int(os.environ.get("TOP", "45")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
