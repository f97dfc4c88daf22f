"""Load benchmark: search and the customer 360 page under concurrent users (locust, headless).

Starts gunicorn on the database in DATABASE_URL (which should already hold demo data, e.g.
`kehu demo-data --customers 1000000`), logs 20 simulated staff users in, and for the given
duration has them search by phone (in mixed written forms), by partial Chinese name, and open
360 pages. Prints p50/p95/p99 and error counts per request kind, and the same figures for
/healthz measured in the same run as the reference for this machine's noise.

The users log in together at the start (20 Argon2 hashes, about a second of CPU each, queue on the
two cores for 10-20 s); the measured window begins once the last of them is in and lasts the
given duration, so that the figures are of the steady state, not of that login storm. The logins
are reported on their own row, measured before the window.

  DATABASE_URL=postgres://postgres@127.0.0.1:5432/kehu_bench \
      .venv/bin/python benchmarks/bench_search_360.py --users 20 --duration 300
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-2026"

LOCUSTFILE = r"""
import json, random, re
from urllib.parse import urlencode
import gevent
from gevent.event import Event
from locust import HttpUser, task, between
from locust.contrib.fasthttp import FastHttpUser

USERS, DURATION = __USERS__, __DURATION__
logged_in = []
all_in = Event()


def start_window(environment):
    # Once every user is logged in: keep the login figures, reset the statistics, and stop the
    # run DURATION seconds later.
    entry = environment.stats.get("login", "POST")
    with open(__LOGINS__, "w") as out:
        json.dump({"requests": entry.num_requests, "failures": entry.num_failures,
                   "p50": entry.get_response_time_percentile(0.5), "p95": entry.get_response_time_percentile(0.95),
                   "p99": entry.get_response_time_percentile(0.99)}, out)
    environment.stats.reset_all()
    all_in.set()
    gevent.spawn_later(DURATION, environment.runner.quit)

BASE = FastHttpUser if __FAST__ else HttpUser

SAMPLE = json.load(open(__SAMPLE__))

def forms(e164):
    n = e164[3:]
    return random.choice([n, f"{n[:3]} {n[3:7]} {n[7:]}", f"+86-{n[:3]}-{n[3:7]}-{n[7:]}", "86" + n,
                          n.translate(str.maketrans("0123456789", "０１２３４５６７８９"))])

class Staff(BASE):
    wait_time = between(__WAIT_MIN__, __WAIT_MAX__)

    def on_start(self):
        page = self.client.get("/accounts/login/", name="login page")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        form = {"username": "bench", "password": __PASSWORD__, "csrfmiddlewaretoken": token}
        referer = {"Referer": self.host + "/accounts/login/"}
        self.client.post("/accounts/login/", data=form, name="login", headers=referer)
        logged_in.append(self)
        if len(logged_in) == USERS:
            start_window(self.environment)
        all_in.wait()

    @task(3)
    def search_phone(self):
        self.client.get("/search/?" + urlencode({"q": forms(random.choice(SAMPLE["phones"]))}), name="search phone")

    @task(3)
    def search_name(self):
        self.client.get("/search/?" + urlencode({"q": random.choice(SAMPLE["names"])}), name="search name")

    @task(4)
    def customer_360(self):
        self.client.get(f"/customers/{random.choice(SAMPLE['ids'])}/", name="360 page")

    @task(1)
    def health(self):
        self.client.get("/healthz", name="healthz (reference)")
"""


def prepare(sample_size: int) -> dict[str, list]:
    """Create the bench user and draw customers to look up, in the target database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    import django

    django.setup()
    from kehu.accounts.models import User
    from kehu.customers.models import Customer, CustomerIdentity

    user, _ = User.objects.get_or_create(username="bench", defaults={"role": "service"})
    user.set_password(PASSWORD)
    user.role = "service"
    user.save()
    top = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    rng = random.Random(7)
    ids = sorted({rng.randint(1, top) for _ in range(sample_size * 2)})
    customers = list(Customer.objects.filter(pk__in=ids).values_list("pk", "name")[:sample_size])
    phones = list(
        CustomerIdentity.objects.filter(kind="phone", customer_id__in=[c[0] for c in customers]).values_list(
            "value", flat=True
        )
    )
    names = [name[1:3] if len(name) >= 3 else name for _, name in customers]
    return {"ids": [c[0] for c in customers], "phones": phones, "names": names}


# What the requests read: kept in the operating system's cache, as on a server that has been up for a
# while (the 14 GB database of 1M customers fits in this machine's memory).
PREWARM_TABLES = [
    "customers_customer",
    "customers_searchtoken",
    "customers_customeridentity",
    "customers_address",
    "customers_customer_tags",
    "customers_note",
    "customers_interaction",
    "commerce_order",
    "commerce_orderline",
    "commerce_return",
    "privacy_consent",
    "scoring_customerscore",
    "scoring_gradesnapshot",
    "scoring_gradewarning",
]


def prewarm() -> None:
    """Read the tables and indexes the requests touch into the OS page cache (pg_prewarm, 'read' mode)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    started = time.perf_counter()
    with connection.cursor() as cursor:
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        except Exception as exc:
            print(f"prewarm skipped ({exc.__class__.__name__}: {exc})".strip(), file=sys.stderr)
            return
        cursor.execute(
            "SELECT c.oid::regclass::text FROM pg_class c WHERE c.relname = ANY(%s) "
            "UNION ALL SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
            "WHERE c.relname = ANY(%s)",
            [PREWARM_TABLES, PREWARM_TABLES],
        )
        relations = [row[0] for row in cursor.fetchall()]
        blocks = 0
        for relation in relations:
            cursor.execute("SELECT pg_prewarm(%s::regclass, 'read')", [relation])
            blocks += cursor.fetchone()[0]
    print(
        f"prewarmed {len(relations)} relations, {blocks * 8 / 1024 / 1024:.1f} GiB "
        f"in {time.perf_counter() - started:.0f} s"
    )


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"server did not start at {url}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=int, default=300, help="seconds")
    parser.add_argument("--port", type=int, default=8799)
    from kehu.web.serve import default_web_workers

    parser.add_argument("--web-workers", type=int, default=default_web_workers(), help="default: as `kehu serve`")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (as `kehu serve`)")
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--think", default="0.5-1.5", help="seconds each user waits between requests, min-max")
    parser.add_argument(
        "--client",
        choices=["fast", "requests"],
        default="fast",
        help="locust's HTTP client: 'fast' (geventhttpclient, little CPU taken from the server on a shared "
        "machine) or 'requests'",
    )
    parser.add_argument("--no-prewarm", action="store_true", help="measure with a cold database cache")
    args = parser.parse_args()
    sample = prepare(args.sample)
    if not args.no_prewarm:
        prewarm()
    host = f"http://127.0.0.1:{args.port}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kehu.settings", "KEHU_AXES_ENABLED": "0"}
    from kehu.web.serve import static_files_stale

    if static_files_stale():  # as `kehu serve` does
        subprocess.run([sys.executable, "-m", "kehu.cli", "collectstatic", "--noinput", "-v", "0"], check=True, env=env)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "kehu.wsgi",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.web_workers),
            "--threads",
            str(args.threads),
            "--log-level",
            "warning",
            "--preload",
        ],
        env=env,
    )
    try:
        wait_for(host + "/healthz")
        with tempfile.TemporaryDirectory() as tmp:
            sample_file = Path(tmp) / "sample.json"
            sample_file.write_text(json.dumps(sample))
            locustfile = Path(tmp) / "locustfile.py"
            logins_file = Path(tmp) / "logins.json"
            locustfile.write_text(
                LOCUSTFILE.replace("__SAMPLE__", repr(str(sample_file)))
                .replace("__PASSWORD__", repr(PASSWORD))
                .replace("__WAIT_MIN__", args.think.split("-")[0])
                .replace("__WAIT_MAX__", args.think.split("-")[1])
                .replace("__FAST__", repr(args.client == "fast"))
                .replace("__USERS__", str(args.users))
                .replace("__DURATION__", str(args.duration))
                .replace("__LOGINS__", repr(str(logins_file)))
            )
            prefix = Path(tmp) / "stats"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "locust",
                    "-f",
                    str(locustfile),
                    "--headless",
                    "-u",
                    str(args.users),
                    "-r",
                    str(max(1, args.users // 4)),
                    "-t",  # a cap: the run ends `duration` seconds after the last login
                    f"{args.duration + 180}s",
                    "--host",
                    host,
                    "--csv",
                    str(prefix),
                    "--only-summary",
                    "--loglevel",
                    "WARNING",
                ],
                check=False,
            )
            with open(f"{prefix}_stats.csv") as stats:
                rows = [row for row in csv.DictReader(stats) if row["Name"] != "login"]
            logins = json.loads(logins_file.read_text()) if logins_file.exists() else None
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(
        f"\n{args.users} users, {args.duration} s, think {args.think} s, {args.client} client, "
        f"{'cold' if args.no_prewarm else 'prewarmed'} cache, "
        f"{args.web_workers} gunicorn workers × {args.threads} threads, "
        f"database {os.environ.get('DATABASE_URL', 'sqlite (default)').split('@')[-1]}\n"
    )
    print("| request | requests | failures | p50 ms | p95 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['Name']} | {row['Request Count']} | {row['Failure Count']} | {row['50%']} | {row['95%']} "
            f"| {row['99%']} |"
        )
    if logins is None:
        print("\nnot every user logged in: no measured window")
        return 1
    print(
        f"| login (all users at once, before the window) | {logins['requests']} | {logins['failures']} "
        f"| {logins['p50']:.0f} | {logins['p95']:.0f} | {logins['p99']:.0f} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
