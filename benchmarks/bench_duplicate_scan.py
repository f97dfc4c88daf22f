"""Duplicate scan at scale: synthetic customers with realistic Chinese names, birthdays and
addresses, 1% planted duplicates (homophone or identical names with the same birthday or street
address, and legacy phone spellings), then one full `do_run_scan`. Reports the time, the pairs
compared (blocking keeps this far below n²/2) and how many planted pairs were found.

  DATABASE_URL=sqlite:////tmp/dupes.sqlite3 .venv/bin/python benchmarks/bench_duplicate_scan.py --customers 100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402

from bench_name_search import make_names  # noqa: E402
from kehu.customers.models import Address, Customer, CustomerIdentity  # noqa: E402
from kehu.identity.actions import do_run_scan  # noqa: E402
from kehu.identity.models import DuplicateScan, DuplicateSuggestion  # noqa: E402

HOMOPHONES = {
    "伟": "玮",
    "芳": "方",
    "娜": "纳",
    "静": "晶",
    "敏": "民",
    "丽": "莉",
    "军": "君",
    "洋": "阳",
    "明": "铭",
}
DISTRICTS = [(f"省{p}", f"市{p}-{c}", f"区{p}-{c}-{d}") for p in range(30) for c in range(5) for d in range(6)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    if Customer.objects.exists():
        sys.exit("use an empty database")
    rng = np.random.default_rng(args.seed)
    n = args.customers
    names = make_names(n, seed=args.seed)
    base = dt.date(1960, 1, 1)
    days = rng.integers(0, 45 * 365, n)
    has_birthday = rng.random(n) < 0.7
    start = time.perf_counter()
    Customer.objects.bulk_create(
        [
            Customer(name=names[i], birthday=base + dt.timedelta(days=int(days[i])) if has_birthday[i] else None)
            for i in range(n)
        ],
        batch_size=5000,
    )
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    district = rng.integers(0, len(DISTRICTS), n)
    with_address = rng.random(n) < 0.6
    Address.objects.bulk_create(
        [
            Address(customer_id=ids[i], province=DISTRICTS[district[i]][0], city=DISTRICTS[district[i]][1],
                    district=DISTRICTS[district[i]][2], detail=f"路{int(rng.integers(1, 300))}号{i % 97}室")
            for i in range(n) if with_address[i]
        ],
        batch_size=5000,
    )  # fmt: skip
    # Plant 1% duplicates: a copy with a homophone (or the same) name and the same birthday or address.
    planted: set[tuple[int, int]] = set()
    sources = rng.choice(n, size=n // 100, replace=False)
    copies = []
    for i in sources:
        name = names[i]
        for a, b in HOMOPHONES.items():
            if a in name:
                name = name.replace(a, b, 1)
                break
        use_birthday = bool(has_birthday[i]) and (rng.random() < 0.6 or not with_address[i])
        copies.append(
            (i, Customer(name=name, birthday=base + dt.timedelta(days=int(days[i])) if use_birthday else None))
        )
    Customer.objects.bulk_create([c for _i, c in copies], batch_size=5000)
    addresses = []
    for i, copy in copies:
        planted.add(tuple(sorted((ids[i], copy.pk))))
        if copy.birthday is None and with_address[i]:
            p, c, d = DISTRICTS[district[i]]
            original = Address.objects.filter(customer_id=ids[i]).values_list("detail", flat=True).first()
            addresses.append(Address(customer_id=copy.pk, province=p, city=c, district=d, detail=original))
    Address.objects.bulk_create(addresses, batch_size=5000)
    CustomerIdentity.objects.bulk_create(
        [CustomerIdentity(customer_id=ids[k], kind="phone", value=f"+86139{k:08d}") for k in range(0, n, 2)]
        + [CustomerIdentity(customer_id=ids[k + 1], kind="phone", value=f"139 {k:08d}") for k in range(0, n // 50, 2)],
        batch_size=5000,
    )
    legacy = n // 100
    print(f"built {Customer.objects.count():,} customers in {time.perf_counter() - start:.1f} s")

    start = time.perf_counter()
    scan = do_run_scan(DuplicateScan.objects.create())
    elapsed = time.perf_counter() - start
    found = set(DuplicateSuggestion.objects.values_list("customer_a_id", "customer_b_id"))
    deterministic = DuplicateSuggestion.objects.filter(method="deterministic").count()
    hit = len(found & planted)
    total = Customer.objects.count()
    print(f"scan: {elapsed:.1f} s, {scan.pairs_compared:,} pairs compared "
          f"({scan.pairs_compared / (total * (total - 1) / 2):.5%} of all pairs)")  # fmt: skip
    print(f"suggestions: {len(found):,}; planted profile duplicates found {hit:,} of {len(planted):,}; "
          f"legacy phone spellings found {deterministic:,} of {legacy:,}")  # fmt: skip


if __name__ == "__main__":
    main()
