"""Order endpoints: reads scoped by store, and idempotent batch ingest."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from kehu.api.models import IdempotencyKey
from kehu.commerce.models import Order
from kehu.customers.models import Customer, CustomerIdentity
from kehu.privacy.models import AuditEvent
from tests.factories import make_customer, make_order


def order(source_id: str = "TM-1001", **overrides):
    data = {
        "source_system": "tmall",
        "source_id": source_id,
        "number": f"NO-{source_id}",
        "channel": "web",
        "status": "paid",
        "ordered_at": "2025-03-01T10:30:00+08:00",
        "total_amount": "598.00",
        "paid_amount": "598.00",
        "customer": {"phone": "13800138000", "name": "张伟"},
        "lines": [{"sku": "M-SHIRT-01", "quantity": 2, "unit_price": "299.00", "amount": "598.00"}],
    }
    data.update(overrides)
    return data


def batch(*orders):
    return {"orders": list(orders) or [order()]}


# --- ingest -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_ingests_a_batch_of_orders(api_as):
    response = api_as("sales").post(
        "/api/orders/batch", batch(order("A1"), order("A2", customer={"email": "li@example.com", "name": "李娜"}))
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"], body["errors"]) == (2, 0, 0, [])
    first = Order.objects.get(pk=body["order_ids"][0])
    assert (first.source_id, first.number, first.paid_amount) == ("A1", "NO-A1", Decimal("598.00"))
    assert first.ordered_at == dt.datetime(2025, 3, 1, 2, 30, tzinfo=dt.UTC)
    assert list(first.lines.values_list("sku", "quantity", "amount")) == [("M-SHIRT-01", 2, Decimal("598.00"))]
    assert sorted(CustomerIdentity.objects.values_list("kind", "value")) == [
        ("email", "li@example.com"),
        ("phone", "+8613800138000"),
    ]


@pytest.mark.django_db
def test_it_changes_nothing_when_the_same_batch_is_sent_again(api_as):
    client = api_as("sales")
    body = batch(order("A1"), order("A2"))
    assert client.post("/api/orders/batch", body).json()["created"] == 2
    orders_before = list(Order.objects.values())
    audit_before = AuditEvent.objects.count()
    again = client.post("/api/orders/batch", body, headers={"Idempotency-Key": "another-key"})
    assert again.status_code == 200
    assert (again.json()["created"], again.json()["updated"], again.json()["unchanged"]) == (0, 0, 2)
    assert list(Order.objects.values()) == orders_before
    assert AuditEvent.objects.count() == audit_before
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_it_replays_the_stored_answer_for_a_repeated_idempotency_key(api_as):
    client = api_as("sales")
    headers = {"Idempotency-Key": "batch-2025-03-01"}
    first = client.post("/api/orders/batch", batch(), headers=headers)
    audit_before = AuditEvent.objects.count()
    again = client.post("/api/orders/batch", batch(), headers=headers)
    assert again.status_code == first.status_code == 200
    assert again.json() == first.json()
    assert again.json()["created"] == 1
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert AuditEvent.objects.count() == audit_before
    assert IdempotencyKey.objects.get().response_status == 200


@pytest.mark.django_db
def test_it_refuses_an_idempotency_key_reused_with_a_different_body(api_as):
    client = api_as("sales")
    headers = {"Idempotency-Key": "k-1"}
    assert client.post("/api/orders/batch", batch(), headers=headers).status_code == 200
    before = list(Order.objects.values())
    changed = batch(order(paid_amount="1.00", total_amount="1.00"))
    response = client.post("/api/orders/batch", changed, headers=headers)
    assert response.status_code == 409
    assert response.json()["detail"] == "This Idempotency-Key was already used for a different request."
    assert list(Order.objects.values()) == before


@pytest.mark.django_db
def test_it_keeps_idempotency_keys_apart_per_user(api_as):
    headers = {"Idempotency-Key": "shared"}
    assert api_as("sales").post("/api/orders/batch", batch(order("A1")), headers=headers).status_code == 200
    other = api_as("admin").post("/api/orders/batch", batch(order("A2")), headers=headers)
    assert other.status_code == 200
    assert other.json()["created"] == 1


@pytest.mark.django_db
def test_it_forgets_idempotency_keys_after_a_day(api_as):
    client = api_as("sales")
    headers = {"Idempotency-Key": "k-1"}
    assert client.post("/api/orders/batch", batch(order("A1")), headers=headers).status_code == 200
    IdempotencyKey.objects.update(created_at=timezone.now() - dt.timedelta(hours=25))
    response = client.post("/api/orders/batch", batch(order("A2")), headers=headers)
    assert response.status_code == 200
    assert response.json()["created"] == 1
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db
def test_it_refuses_a_key_whose_first_request_is_still_running(api_as, users):
    IdempotencyKey.objects.create(user=users["sales"], key="busy", request_hash="x" * 64)
    response = api_as("sales").post("/api/orders/batch", batch(), headers={"Idempotency-Key": "busy"})
    assert response.status_code == 409
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_it_updates_an_order_that_changed(api_as):
    client = api_as("sales")
    client.post("/api/orders/batch", batch(order("A1"), order("A2")))
    refunded = order("A2", status="partially_refunded", refunded_amount="100.00")
    response = client.post("/api/orders/batch", batch(order("A1"), refunded))
    assert (response.json()["created"], response.json()["updated"], response.json()["unchanged"]) == (0, 1, 1)
    changed = Order.objects.get(source_id="A2")
    assert (changed.status, changed.refunded_amount) == ("partially_refunded", Decimal("100.00"))
    assert Customer.objects.get().total_spent == Decimal("1096.00")


@pytest.mark.django_db
def test_it_rejects_a_bad_order_by_index_and_field_and_ingests_the_rest(api_as):
    bad = order("B1", customer={"phone": "12345", "name": "坏号码"})
    response = api_as("sales").post("/api/orders/batch", batch(order("A1"), bad))
    assert response.status_code == 422
    body = response.json()
    assert (body["created"], body["order_ids"][1]) == (1, None)
    [error] = body["errors"]
    assert (error["index"], error["source_id"], list(error["errors"])) == (1, "B1", ["customer.phone"])
    assert list(Order.objects.values_list("source_id", flat=True)) == ["A1"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"store": "nowhere"}, "store"),
        ({"status": "lost"}, "status"),
        ({"refunded_amount": "999.00"}, "refunded_amount"),
        ({"total_amount": "-1.00"}, "total_amount"),
        ({"customer": {"name": "无名"}}, "customer"),
        ({"lines": [{"sku": "M-SHIRT-01", "quantity": 0, "unit_price": "1.00"}]}, "lines.0.quantity"),
    ],
)
def test_it_reports_domain_errors_per_order(api_as, overrides, field):
    response = api_as("sales").post("/api/orders/batch", batch(order(**overrides)))
    assert response.status_code == 422
    assert field in response.json()["errors"][0]["errors"]
    assert Order.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda o: o.update(total_amount="abc"), "orders.1.total_amount"),
        (lambda o: o.update(total_amount="1.005"), "orders.1.total_amount"),
        (lambda o: o.update(total_amount="1e20"), "orders.1.total_amount"),
        (lambda o: o.update(ordered_at="yesterday"), "orders.1.ordered_at"),
        (lambda o: o.update(source_id="x" * 101), "orders.1.source_id"),
        (lambda o: o.update(order_count=3), "orders.1.order_count"),
        (lambda o: o["customer"].update(is_staff=True), "orders.1.customer.is_staff"),
        (lambda o: o["lines"][0].update(quantity="two"), "orders.1.lines.0.quantity"),
        (lambda o: o.pop("customer"), "orders.1.customer"),
    ],
)
def test_it_rejects_a_batch_that_does_not_match_the_schema_as_a_whole(api_as, mutate, field):
    bad = order("B1")
    mutate(bad)
    response = api_as("sales").post("/api/orders/batch", batch(order("A1"), bad))
    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_it_reads_json_numbers_as_exact_decimals(api_as):
    raw = (
        '{"orders": [{"source_system": "pos", "source_id": "P1", "channel": "web", '
        '"ordered_at": "2025-03-01T10:30:00+08:00", "total_amount": 0.30, "paid_amount": 0.3, '
        '"customer": {"phone": "13800138000"}, "lines": [{"sku": "X", "quantity": 3, "unit_price": 0.1}]}]}'
    )
    response = api_as("sales").post("/api/orders/batch", raw)
    assert response.status_code == 200
    stored = Order.objects.get()
    assert (stored.total_amount, stored.paid_amount) == (Decimal("0.30"), Decimal("0.30"))
    assert stored.lines.get().amount == Decimal("0.30")


@pytest.mark.django_db
def test_it_refuses_a_batch_over_the_size_limit(api_as):
    template = order()
    orders = []
    for i in range(1001):
        item = copy.deepcopy(template)
        item["source_id"] = f"S{i}"
        orders.append(item)
    response = api_as("sales").post("/api/orders/batch", {"orders": orders})
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["orders"]
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_it_refuses_an_empty_batch_and_malformed_json(api_as):
    client = api_as("sales")
    assert client.post("/api/orders/batch", {"orders": []}).status_code == 422
    assert client.post("/api/orders/batch", '{"orders": [').status_code == 400
    assert client.post("/api/orders/batch", "").status_code == 422
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_it_refuses_an_overlong_idempotency_key(api_as):
    response = api_as("sales").post("/api/orders/batch", batch(), headers={"Idempotency-Key": "k" * 256})
    assert response.status_code == 422
    assert Order.objects.count() == 0


# --- reads --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_reads_an_order_with_its_lines(api_as, ref):
    customer = make_customer("张伟")
    placed = make_order(customer, amount="1299.00", sku="M-COAT-01", store="sh-01", channel="store")
    response = api_as("store_manager").get(f"/api/orders/{placed.pk}")
    assert response.status_code == 200
    body = response.json()
    assert (body["number"], body["store"], body["channel"], body["paid_amount"]) == (
        placed.number,
        "sh-01",
        "store",
        "1299.00",
    )
    assert body["lines"] == [
        {
            "line_no": 1,
            "sku": "M-COAT-01",
            "name": "羊毛大衣",
            "quantity": 1,
            "unit_price": "1299.00",
            "amount": "1299.00",
        }
    ]
    assert body["ordered_at"].endswith("+08:00")


@pytest.mark.django_db
def test_it_pages_through_a_customers_orders_newest_first(api_as, ref):
    customer = make_customer("张伟")
    start = timezone.now() - dt.timedelta(days=10)
    placed = [make_order(customer, ordered_at=start + dt.timedelta(days=i)) for i in range(5)]
    make_order(make_customer("别人"))
    client = api_as("analyst")
    seen, cursor = [], None
    for _ in range(5):
        body = client.get(
            f"/api/customers/{customer.pk}/orders", limit=2, **({"cursor": cursor} if cursor else {})
        ).json()
        seen += [o["id"] for o in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [o.pk for o in reversed(placed)]
    assert client.get(f"/api/customers/{customer.pk}/orders", cursor="junk").status_code == 422


@pytest.mark.django_db
def test_it_answers_413_to_a_body_over_the_upload_limit(api_as, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    orders = [order(f"S{i}") for i in range(10)]
    response = api_as("sales").post("/api/orders/batch", {"orders": orders})
    assert response.status_code == 413
    assert response.json()["detail"] == "The request body is too large."
    assert Order.objects.count() == 0
