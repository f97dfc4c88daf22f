"""Benchmark: the customer list filtered on custom fields (JSON lookups) at scale.

Creates a scratch database (SQLite file in a temp dir, or the PostgreSQL database named in
DATABASE_URL, which must be a throwaway one), loads N customers whose `custom` JSON holds six
fields of every type, then times the list's first page (50 rows, newest first, as the page asks
for it) under each filter, with a common value (a third of customers match) and a rare one (a
handful match, so the database reads every row). Prints the median of 5 runs per filter.

  .venv/bin/python benchmarks/bench_custom_filters.py --customers 300000
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/kehu_fields_bench \
      .venv/bin/python benchmarks/bench_custom_filters.py --customers 300000
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        os.environ["KEHU_VAR_DIR"] = tempfile.mkdtemp(prefix="kehu-cf-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.http import QueryDict
    from django.utils import timezone

    from kehu.accounts.models import Role, User
    from kehu.customers.models import Customer
    from kehu.customers.queries import CustomerFilters, list_customers
    from kehu.customfields.actions import FieldInput, check_create_field
    from kehu.customfields.queries import parse_filters
    from kehu.imports import bulksql

    call_command("migrate", verbosity=0)
    levels = [{"value": v, "zh": v} for v in ("gold", "silver", "bronze")]
    interests = [{"value": v, "zh": v} for v in ("shoes", "kids", "home", "beauty", "sport", "outdoor")]
    specs = [
        ("wechat_group", "text", []), ("shoe_size", "number", []), ("joined_on", "date", []),
        ("level", "choice", levels), ("interests", "multi_choice", interests), ("newsletter", "boolean", []),
    ]  # fmt: skip
    from kehu.customfields.models import FieldDefinition

    for key, kind, choices in specs:
        if not FieldDefinition.objects.filter(entity="customer", key=key).exists():
            check_create_field(None, FieldInput("customer", key, key, kind, choices=choices))
    user, _ = User.objects.get_or_create(username="bench-cf", defaults={"role": Role.ANALYST})

    have = Customer.objects.count()
    rng = random.Random(7)
    now = timezone.now()
    start = time.perf_counter()
    batch = 20_000
    for first in range(have, args.customers, batch):
        rows = []
        for i in range(first, min(first + batch, args.customers)):
            custom = {
                "wechat_group": f"群{i % 500}",
                "shoe_size": 34 + (i % 13) + (0.5 if i % 2 else 0),
                "joined_on": (dt.date(2018, 1, 1) + dt.timedelta(days=i % 2500)).isoformat(),
                "level": ("gold", "silver", "bronze")[i % 3],
                "interests": sorted(rng.sample(["shoes", "kids", "home", "beauty", "sport"], 2)),
                "newsletter": i % 2 == 0,
            }
            if i % 100_000 == 99_999:
                custom["interests"] = ["outdoor"]
                custom["wechat_group"] = "稀有群"
            stamp = now - dt.timedelta(seconds=args.customers - i)
            rows.append(("consumer", "person", f"客户{i}", "", None, None, None, "bench", f"B{i}", custom, 0, 0,
                         stamp, stamp))  # fmt: skip
        with transaction.atomic():
            bulksql.copy_insert(
                Customer,
                ["kind", "party_type", "name", "gender", "birthday", "home_store_id", "preferred_channel_id",
                 "source_system", "source_id", "custom", "order_count", "total_spent", "created_at", "updated_at"],
                rows,
            )  # fmt: skip
    from kehu.customfields.indexes import ensure_indexes
    from kehu.customfields.models import FieldDefinition

    begin = time.perf_counter()
    for definition in FieldDefinition.objects.filter(entity="customer"):
        ensure_indexes(definition.pk)  # what defining the field does after its commit
    print(f"indexes ensured in {time.perf_counter() - begin:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer" if connection.vendor == "postgresql" else "ANALYZE")
    print(
        f"{connection.vendor}: {Customer.objects.count():,} customers (loaded in {time.perf_counter() - start:.0f} s)"
    )

    cases = {
        "no custom filter": "",
        "text equals (common, 1/500)": "cf_wechat_group=群7",
        "text equals (rare)": "cf_wechat_group=稀有群",
        "text contains (rare)": "cf_wechat_group=稀有&cf_wechat_group_op=contains",
        "number range (common)": "cf_shoe_size_min=40&cf_shoe_size_max=42",
        "number range (none match)": "cf_shoe_size_min=99",
        "date range (common)": "cf_joined_on_min=2020-01-01&cf_joined_on_max=2020-12-31",
        "choice any-of (common)": "cf_level=gold&cf_level=silver",
        "multi-choice any-of (common)": "cf_interests=kids",
        "multi-choice any-of (rare)": "cf_interests=outdoor",
        "yes/no": "cf_newsletter=yes",
        "three filters combined": "cf_level=gold&cf_newsletter=no&cf_shoe_size_min=40",
    }
    print(f"{'filter':34} {'rows':>5} {'median ms':>10}")
    for label, query in cases.items():
        filters, errors = parse_filters("customer", QueryDict(query))
        assert not errors, errors
        timings = []
        rows_found = 0
        for _ in range(args.runs):
            begin = time.perf_counter()
            page = list_customers(user, CustomerFilters(custom=filters), "recent", None)
            timings.append((time.perf_counter() - begin) * 1000)
            rows_found = len(page.customers)
        print(f"{label:34} {rows_found:>5} {statistics.median(timings):>10.1f}")


if __name__ == "__main__":
    main()
