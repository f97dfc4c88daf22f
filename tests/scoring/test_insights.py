"""Company insights kept on a scoring run: the category baskets behind the affinity rules are the
recent purchases' (order, customer, category), and the rules come out of them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from django.utils import timezone

from kehu.commerce.actions import ingest_orders
from kehu.scoring import insights
from tests.factories import make_customer


def order(customer_id: int, skus: list[str], when: dt.datetime, status: str = "paid") -> None:
    lines = [{"sku": sku, "quantity": 1, "unit_price": "100.00", "amount": "100.00"} for sku in skus]
    amount = f"{100 * len(skus)}.00"
    result = ingest_orders(
        [
            {
                "source_system": "test",
                "source_id": f"{customer_id}-{when.isoformat()}-{'-'.join(skus)}",
                "channel": "web",
                "ordered_at": when.isoformat(),
                "total_amount": amount,
                "paid_amount": amount,
                "status": status,
                "customer": {"id": customer_id},
                "lines": lines,
            }
        ],
        None,
    )
    assert not result.errors, result.errors


@pytest.mark.django_db
def test_baskets_and_rules_come_from_recent_purchases(ref: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    now = timezone.now().replace(microsecond=0)
    a = make_customer("甲", phone="13800000001").pk
    b = make_customer("乙", phone="13800000002").pk
    c = make_customer("丙", phone="13800000003").pk
    order(a, ["M-SHIRT-01", "S-SNEAK-01"], now - dt.timedelta(days=1))  # menswear + shoes
    order(b, ["M-COAT-01", "M-SHIRT-01", "S-SNEAK-01"], now - dt.timedelta(days=2))  # two menswear lines
    order(c, ["M-SHIRT-01"], now - dt.timedelta(days=3))
    order(c, ["S-SNEAK-01"], now - dt.timedelta(days=40), status="cancelled")  # not a purchase
    order(a, ["S-SNEAK-01"], now + dt.timedelta(days=5))  # after the cutoff

    baskets = insights._category_baskets(timezone.localdate())
    got = sorted(map(tuple, baskets[["customer_id", "product"]].to_numpy().tolist()))
    assert got == sorted([(a, "menswear"), (a, "shoes"), (b, "menswear"), (b, "shoes"), (c, "menswear")])
    assert baskets.groupby("order_id").size().sort_values().tolist() == [1, 2, 2]

    scores = pd.DataFrame({"customer_id": [a, b, c], "tier": ["gold", "silver", "bronze"]})
    result = insights.affinity(timezone.localdate(), scores)
    assert result["mixed_baskets"] == 2
    rule = next(r for r in result["rules"] if (r["antecedent"], r["consequent"]) == ("shoes", "menswear"))
    assert rule["confidence"] == pytest.approx(1.0)
    assert rule["support"] == pytest.approx(2 / 3)

    # Only the most recent orders count.
    monkeypatch.setattr(insights, "AFFINITY_ORDERS", 1)
    assert sorted(insights._category_baskets(timezone.localdate())["customer_id"].unique().tolist()) == [a]
