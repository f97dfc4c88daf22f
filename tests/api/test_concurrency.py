"""Concurrent requests on PostgreSQL: the same new orders sent twice at once are ingested once."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connection

from kehu.commerce.models import Order
from kehu.customers.models import Customer

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not settings.IS_POSTGRES, reason="needs PostgreSQL (SQLite serialises writers)"),
]


@pytest.mark.django_db(transaction=True)
def test_it_ingests_the_same_new_batch_sent_twice_at_once_exactly_once(api_as):
    clients = [api_as("sales"), api_as("admin")]
    body = {
        "orders": [
            {
                "source_system": "tmall",
                "source_id": f"RACE-{i}",
                "channel": "web",
                "ordered_at": "2025-03-01T10:00:00+08:00",
                "total_amount": "10.00",
                "customer": {"phone": f"1380013{i:04d}", "name": "并发"},
            }
            for i in range(20)
        ]
    }
    barrier = threading.Barrier(len(clients))
    results: list[tuple[int, dict]] = []

    def send(client) -> None:
        try:
            barrier.wait()
            response = client.post("/api/orders/batch", body)
            results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(status for status, _ in results) == [200, 200]
    assert sum(r["created"] for _, r in results) == 20
    assert sum(r["unchanged"] for _, r in results) == 20
    assert Order.objects.count() == 20
    assert Customer.objects.count() == 20
