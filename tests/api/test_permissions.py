"""Every role × every endpoint: allowed, 403, or 404 outside a store manager's stores; refusals change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from kehu.commerce.models import Order
from kehu.customers.models import Customer, CustomerIdentity, Note
from kehu.privacy.models import AuditEvent
from tests.factories import make_customer, make_order

ROLES = ["admin", "marketing", "sales", "service", "store_manager", "analyst"]


@pytest.fixture
def world(ref):
    """`home`: a customer of the store manager's Shanghai store; `other`: one of the Beijing store."""
    home = make_customer("上海客户", phone="13800138000", home_store_id=ref["stores"]["sh-01"].pk)
    other = make_customer("北京客户", phone="13900139000", home_store_id=ref["stores"]["bj-01"].pk)
    return {
        "ref": ref,
        "home": home,
        "other": other,
        "home_order": make_order(home, store="sh-01", channel="store"),
        "other_order": make_order(other, store="bj-01", channel="store"),
    }


def everything() -> dict[str, Any]:
    return {
        "customers": list(Customer.objects.order_by("pk").values()),
        "identities": list(CustomerIdentity.objects.order_by("pk").values()),
        "notes": Note.objects.count(),
        "orders": list(Order.objects.order_by("pk").values()),
        "audit": AuditEvent.objects.count(),
    }


def statuses(**by_role: int) -> dict[str, int]:
    return by_role


READ_OTHER = statuses(admin=200, marketing=200, sales=200, service=200, store_manager=404, analyst=200)
EDIT_OTHER = statuses(admin=200, marketing=403, sales=200, service=200, store_manager=404, analyst=403)
ADD_TO_OTHER = {role: 201 if code == 200 else code for role, code in EDIT_OTHER.items()}
EDIT_HOME = statuses(admin=200, marketing=403, sales=200, service=200, store_manager=200, analyst=403)
CREATE = statuses(admin=201, marketing=403, sales=201, service=201, store_manager=201, analyst=403)
INGEST = statuses(admin=200, marketing=403, sales=200, service=403, store_manager=403, analyst=403)
UNMASK = statuses(admin=200, marketing=403, sales=200, service=200, store_manager=403, analyst=403)
EVERYONE = dict.fromkeys(ROLES, 200)

ENDPOINTS: list[tuple[str, str, Any, Any, dict[str, int]]] = [
    ("list customers", "GET", lambda w: "/api/customers", None, EVERYONE),
    ("search", "GET", lambda w: "/api/customers/search?q=13900139000", None, EVERYONE),
    ("read other", "GET", lambda w: f"/api/customers/{w['other'].pk}", None, READ_OTHER),
    ("360 of other", "GET", lambda w: f"/api/customers/{w['other'].pk}/360", None, READ_OTHER),
    ("unmask home", "GET", lambda w: f"/api/customers/{w['home'].pk}?unmask=true", None, UNMASK),
    ("orders of other", "GET", lambda w: f"/api/customers/{w['other'].pk}/orders", None, READ_OTHER),
    ("read other's order", "GET", lambda w: f"/api/orders/{w['other_order'].pk}", None, READ_OTHER),
    ("read home's order", "GET", lambda w: f"/api/orders/{w['home_order'].pk}", None, EVERYONE),
    (
        "create",
        "POST",
        lambda w: "/api/customers",
        lambda w: {"name": "新客户", "home_store_id": w["ref"]["stores"]["sh-01"].pk},
        CREATE,
    ),
    ("change other", "PATCH", lambda w: f"/api/customers/{w['other'].pk}", lambda w: {"name": "改名"}, EDIT_OTHER),
    ("change home", "PATCH", lambda w: f"/api/customers/{w['home'].pk}", lambda w: {"name": "改名"}, EDIT_HOME),
    (
        "identity on other",
        "POST",
        lambda w: f"/api/customers/{w['other'].pk}/identities",
        lambda w: {"kind": "member_card", "value": "VIP-0001"},
        ADD_TO_OTHER,
    ),
    (
        "note on other",
        "POST",
        lambda w: f"/api/customers/{w['other'].pk}/notes",
        lambda w: {"body": "回访"},
        ADD_TO_OTHER,
    ),
    (
        "ingest",
        "POST",
        lambda w: "/api/orders/batch",
        lambda w: {
            "orders": [
                {
                    "source_system": "pos",
                    "source_id": "P-1",
                    "channel": "store",
                    "store": "sh-01",
                    "ordered_at": "2025-03-01T10:00:00+08:00",
                    "total_amount": "99.00",
                    "customer": {"id": w["home"].pk},
                }
            ]
        },
        INGEST,
    ),
]

CASES = [
    pytest.param(method, path, body, role, expected[role], id=f"{name}-{role}")
    for name, method, path, body, expected in ENDPOINTS
    for role in ROLES
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "body", "role", "expected"), CASES)
def test_it_enforces_each_roles_access_to_each_endpoint(api_as, world, method, path, body, role, expected):
    client = api_as(role)
    before = everything()
    url = path(world)
    response = client.get(url) if method == "GET" else client.send(method, url, body(world))
    assert response.status_code == expected, response.content
    if expected in (403, 404):
        assert everything() == before


@pytest.mark.django_db
def test_it_lists_only_a_store_managers_own_customers(api_as, world):
    body = api_as("store_manager").get("/api/customers").json()
    assert [row["id"] for row in body["items"]] == [world["home"].pk]
    found = api_as("store_manager").get("/api/customers/search", q="13900139000").json()
    assert found["items"] == []


@pytest.mark.django_db
def test_it_refuses_to_let_a_store_manager_assign_another_store(api_as, world):
    client = api_as("store_manager")
    before = everything()
    bj = world["ref"]["stores"]["bj-01"].pk
    moved = client.patch(f"/api/customers/{world['home'].pk}", {"home_store_id": bj})
    created = client.post("/api/customers", {"name": "新客户", "home_store_id": bj})
    for response in (moved, created):
        assert response.status_code == 422
        assert response.json()["errors"] == {"home_store_id": ["You can only assign customers to your own stores."]}
    assert everything() == before
