"""Customers migration 0007 removes the interaction rows that copied each order (the timeline now
reads the orders themselves, ADR 0006); migrating back writes them again from the orders."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from kehu.customers.models import Interaction
from tests.factories import make_customer, make_order

BEFORE = ("customers", "0006_token_spent_joined")
AFTER = ("customers", "0007_order_entries_from_orders")


def _migrate(target: tuple[str, str]) -> None:
    MigrationExecutor(connection).migrate([target])


def _order_entries() -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT customer_id, ref_id, occurred_at, channel_id, title, detail FROM customers_interaction "
            "WHERE kind = 'order' AND ref_type = 'order' ORDER BY ref_id"
        )
        return [tuple(row) for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_order_entries_are_removed_and_restored(ref: dict[str, Any]) -> None:
    customer = make_customer("王芳", phone="13800000001")
    orders = [make_order(customer, amount=amount, source_id=f"M{i}") for i, amount in enumerate(["299.00", "1999.50"])]
    Interaction.objects.create(customer=customer, kind="call", occurred_at=orders[0].ordered_at, title="call")
    kept = sorted(Interaction.objects.values_list("id", "kind"))
    _migrate(BEFORE)
    try:
        entries = _order_entries()
        assert [(c, r, ch, t, d) for c, r, _at, ch, t, d in entries] == [
            (customer.pk, o.pk, o.channel_id, f"Order {o.number}", f"¥{o.paid_amount}") for o in orders
        ]
        assert len({at for _c, _r, at, *_rest in entries}) == 2
    finally:
        _migrate(AFTER)
    assert _order_entries() == []
    assert sorted(Interaction.objects.values_list("id", "kind")) == kept
