"""On SQLite the purchase figures are refreshed with one correlated subquery per customer instead
of four; SQLite keeps decimals as floating point, so the result must equal, to the bit, what the
four-subquery form (the reconciliation check's) stores, for any amounts and statuses."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kehu.commerce.actions import ingest_orders
from kehu.customers.actions import do_refresh_purchase_stats, purchase_stats_drift, purchase_stats_query
from kehu.customers.models import Customer
from tests.factories import make_customer

pytestmark = [
    pytest.mark.skipif(django_settings.IS_POSTGRES, reason="SQLite's own form of the refresh"),
    pytest.mark.django_db,
]

STATUSES = ["paid", "completed", "cancelled", "partially_refunded", "pending", "shipped"]
# Small amounts (0.01–0.99) make floating-point sums depend on the order and form of the arithmetic.
cents = st.one_of(st.integers(min_value=1, max_value=99), st.integers(min_value=1, max_value=99_999_999))


def _raw() -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, order_count, typeof(order_count), total_spent, typeof(total_spent), first_order_at, "
            "last_order_at FROM customers_customer ORDER BY id"
        )
        return cursor.fetchall()


def _scramble() -> None:
    Customer.objects.update(order_count=99, total_spent=Decimal("1.23"), first_order_at=None, last_order_at=None)


_seq = iter(range(10**9))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 3), cents, st.integers(0, 100), st.sampled_from(STATUSES)), max_size=25))
def test_one_subquery_stores_what_four_store(ref: dict[str, Any], orders: list[tuple[int, int, int, str]]) -> None:
    buyers = [make_customer(f"买家{i}", phone=f"138{next(_seq):08d}") for i in range(4)]
    batch = []
    for buyer, amount, refund_share, status in orders:
        paid = Decimal(amount) / 100
        refunded = (paid * refund_share / 100).quantize(Decimal("0.01")) if status == "partially_refunded" else 0
        number = f"F{next(_seq)}"
        batch.append({
            "source_system": "test", "source_id": number, "channel": "web", "status": status,
            "ordered_at": f"2026-0{1 + amount % 9}-1{amount % 10}T10:{amount % 60:02d}:00+08:00",
            "total_amount": str(paid), "paid_amount": str(paid), "refunded_amount": str(refunded),
            "customer": {"id": buyers[buyer].pk},
            "lines": [{"sku": "M-SHIRT-01", "quantity": 1, "unit_price": str(paid), "amount": str(paid)}],
        })  # fmt: skip
    assert not ingest_orders(batch, None).errors
    ids = [b.pk for b in buyers]
    _scramble()
    Customer.objects.filter(pk__in=ids).update(**purchase_stats_query())
    four = _raw()
    _scramble()
    assert do_refresh_purchase_stats(ids) == len(ids)
    assert _raw() == four
    _scramble()
    do_refresh_purchase_stats()  # every customer, as the reconciliation job does
    assert [row for row in _raw() if row[0] in ids] == [row for row in four if row[0] in ids]
    assert purchase_stats_drift() == 0
