"""Load benchmark: search and the customer 360 page under concurrent users (locust, headless).

Starts gunicorn on the database in DATABASE_URL (which should already hold demo data, e.g.
`kehu demo-data --customers 1000000`), logs 20 simulated staff users in, and for the given
duration has them search by phone (in mixed written forms), by partial Chinese name, and open
360 pages. Prints p50/p95/p99 and error counts per request kind, and the same figures for
/healthz measured in the same run as the reference for this machine's noise.

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
from locust import HttpUser, task, between

SAMPLE = json.load(open(__SAMPLE__))

def forms(e164):
    n = e164[3:]
    return random.choice([n, f"{n[:3]} {n[3:7]} {n[7:]}", f"+86-{n[:3]}-{n[3:7]}-{n[7:]}", "86" + n,
                          n.translate(str.maketrans("0123456789", "０１２３４５６７８９"))])

class Staff(HttpUser):
    wait_time = between(__WAIT_MIN__, __WAIT_MAX__)

    def on_start(self):
        page = self.client.get("/accounts/login/", name="login page")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        form = {"username": "bench", "password": __PASSWORD__, "csrfmiddlewaretoken": token}
        referer = {"Referer": self.host + "/accounts/login/"}
        self.client.post("/accounts/login/", form, name="login", headers=referer)

    @task(3)
    def search_phone(self):
        self.client.get("/search/", params={"q": forms(random.choice(SAMPLE["phones"]))}, name="search phone")

    @task(3)
    def search_name(self):
        self.client.get("/search/", params={"q": random.choice(SAMPLE["names"])}, name="search name")

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
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--think", default="0.5-1.5", help="seconds each user waits between requests, min-max")
    args = parser.parse_args()
    sample = prepare(args.sample)
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
        ],
        env=env,
    )
    try:
        wait_for(host + "/healthz")
        with tempfile.TemporaryDirectory() as tmp:
            sample_file = Path(tmp) / "sample.json"
            sample_file.write_text(json.dumps(sample))
            locustfile = Path(tmp) / "locustfile.py"
            locustfile.write_text(
                LOCUSTFILE.replace("__SAMPLE__", repr(str(sample_file)))
                .replace("__PASSWORD__", repr(PASSWORD))
                .replace("__WAIT_MIN__", args.think.split("-")[0])
                .replace("__WAIT_MAX__", args.think.split("-")[1])
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
                    "-t",
                    f"{args.duration}s",
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
                rows = list(csv.DictReader(stats))
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(
        f"\n{args.users} users, {args.duration} s, {args.web_workers} gunicorn workers, "
        f"database {os.environ.get('DATABASE_URL', 'sqlite (default)').split('@')[-1]}\n"
    )
    print("| request | requests | failures | p50 ms | p95 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['Name']} | {row['Request Count']} | {row['Failure Count']} | {row['50%']} | {row['95%']} "
            f"| {row['99%']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
