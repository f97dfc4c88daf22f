from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from kehu.commerce.actions import ingest_orders
from kehu.commerce.models import Order, OrderLine
from kehu.customers.actions import purchase_stats_drift
from kehu.customers.models import Customer, CustomerIdentity, Interaction


def order(source_id="W1001", phone="13800138000", amount="598.00", **extra):
    return {
        "source_system": "shop",
        "source_id": source_id,
        "channel": "web",
        "ordered_at": "2026-11-11T10:00:00+08:00",
        "total_amount": amount,
        "paid_amount": amount,
        "customer": {"phone": phone, "name": "张伟"},
        "lines": [{"sku": "M-SHIRT-01", "quantity": 2, "unit_price": "299.00", "amount": amount}],
        **extra,
    }


@pytest.mark.django_db
def test_it_ingests_an_order_and_resolves_the_buyer_by_phone(ref, users):
    result = ingest_orders([order()], users["sales"])
    assert (result.created, result.updated, result.unchanged, result.errors) == (1, 0, 0, [])
    placed = Order.objects.get()
    assert placed.customer.identities.get().value == "+8613800138000"
    assert placed.lines.get().product == ref["products"]["M-SHIRT-01"]
    # The order is on the buyer's timeline, read from the order itself, with no copy in the interactions.
    assert not Interaction.objects.filter(kind="order").exists()
    # A second order from the same phone in another form goes to the same customer.
    ingest_orders([order("W1002", phone="+86 138-0013-8000", amount="299.00")], users["sales"])
    assert Customer.objects.count() == 1
    customer = Customer.objects.get()
    assert (customer.order_count, customer.total_spent) == (2, Decimal("897.00"))
    assert purchase_stats_drift() == 0


@pytest.mark.django_db
def test_it_changes_nothing_when_the_same_batch_arrives_twice(ref, users):
    batch = [order("W1"), order("W2", phone="13900139000")]
    ingest_orders(batch, users["sales"])
    before = list(Order.objects.order_by("pk").values())
    result = ingest_orders(batch, users["sales"])
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert list(Order.objects.order_by("pk").values()) == before
    assert OrderLine.objects.count() == 2


@pytest.mark.django_db
def test_it_updates_a_changed_order_and_its_figures(ref, users):
    ingest_orders([order()], users["sales"])
    result = ingest_orders([order(status="partially_refunded", refunded_amount="299.00")], users["sales"])
    assert (result.created, result.updated) == (0, 1)
    customer = Customer.objects.get()
    assert customer.total_spent == Decimal("299.00")
    assert purchase_stats_drift() == 0


@pytest.mark.django_db
def test_it_reports_bad_orders_by_position_and_field_and_keeps_the_good_ones(ref, users):
    bad_phone = order("W2", phone="12345")
    bad_money = order("W3", amount="-5")
    unknown_channel = order("W4", channel="fax")
    result = ingest_orders([order("W1"), bad_phone, bad_money, unknown_channel], users["sales"])
    assert result.created == 1
    assert [(e["index"], sorted(e["errors"])) for e in result.errors] == [
        (1, ["customer.phone"]),
        (2, ["lines.0.amount", "paid_amount", "total_amount"]),
        (3, ["channel"]),
    ]
    assert Order.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_ingests_the_same_new_order_once_under_concurrency(ref):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL; SQLite serialises writes")
    errors: list[BaseException] = []

    def send() -> None:
        try:
            ingest_orders([order("RACE-1")], None)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Order.objects.filter(source_id="RACE-1").count() == 1
    assert Customer.objects.count() == 1
    assert CustomerIdentity.objects.count() == 1
