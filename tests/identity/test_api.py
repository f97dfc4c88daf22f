"""The identity API: suggestions, merge, unmerge; roles, token scopes, bad input (4xx, never 500)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kehu.accounts.tokens import CUSTOMERS_READ, CUSTOMERS_WRITE, issue_token
from kehu.customers.models import Customer
from kehu.identity.models import DuplicateSuggestion, MergeRecord
from tests.api.conftest import ApiClient
from tests.identity.helpers import at, diff, dump_all, rich_customer

pytestmark = pytest.mark.django_db

ALLOWED = ["admin", "sales", "service"]
REFUSED = ["marketing", "store_manager", "analyst"]


@pytest.fixture(autouse=True)
def _api_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.api.urls"


def api(users: dict[str, Any], role: str, scopes: tuple[str, ...] = (CUSTOMERS_READ, CUSTOMERS_WRITE)) -> ApiClient:
    _token, raw = issue_token(users[role], f"test {role}", scopes)
    return ApiClient(raw)


@pytest.fixture
def pair(ref: dict[str, Any]) -> tuple[Customer, Customer, DuplicateSuggestion]:
    a = rich_customer("张伟", birthday=dt.date(1990, 5, 1))
    b = rich_customer("张伟", birthday=dt.date(1990, 5, 1), orders=2)
    s = DuplicateSuggestion.objects.create(
        customer_a_id=a.pk,
        customer_b_id=b.pk,
        score=85,
        method="probabilistic",
        reasons=[{"code": "name_same"}, {"code": "birthday_same"}],
        refreshed_at=at(0),
    )
    return a, b, s


@pytest.mark.parametrize("role", ALLOWED + REFUSED)
def test_merge_and_unmerge_by_role(users: dict[str, Any], pair: Any, role: str) -> None:
    a, b, s = pair
    client = api(users, role)
    before = dump_all()
    listed = client.get("/api/identity/suggestions")
    merged = client.post("/api/identity/merges", {"survivor_id": a.pk, "absorbed_id": b.pk, "suggestion_id": s.pk})
    if role in REFUSED:
        assert listed.status_code == 403 and merged.status_code == 403
        assert diff(before, dump_all()) == []
        return
    assert listed.status_code == 200
    item = listed.json()["items"][0]
    assert item["id"] == s.pk and item["score"] == 85
    assert [r["text"] for r in item["reasons"]] == ["Same name", "Same birthday"]
    assert merged.status_code == 201, merged.content
    body = merged.json()
    assert body["survivor_id"] == a.pk and body["absorbed_id"] == b.pk
    assert body["moved"]["commerce.order"] == 2
    assert client.get(f"/api/customers/{b.pk}").status_code == 404
    undone = client.post(f"/api/identity/merges/{body['id']}/unmerge")
    assert undone.status_code == 200 and undone.json()["undone_at"]
    assert diff(before, dump_all()) == []


def test_tokens_need_the_right_scope(users: dict[str, Any], pair: Any) -> None:
    a, b, _s = pair
    read_only = api(users, "admin", (CUSTOMERS_READ,))
    assert read_only.get("/api/identity/suggestions").status_code == 200
    assert read_only.post("/api/identity/merges", {"survivor_id": a.pk, "absorbed_id": b.pk}).status_code == 403
    write_only = api(users, "admin", (CUSTOMERS_WRITE,))
    assert write_only.get("/api/identity/suggestions").status_code == 403
    assert ApiClient().get("/api/identity/suggestions").status_code == 401
    assert Customer.objects.filter(pk=b.pk).exists()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"survivor_id": "SELF", "absorbed_id": "SELF"}, 422),
        ({"survivor_id": "A", "absorbed_id": 999_999}, 404),
        ({"survivor_id": "A", "absorbed_id": "B", "fields": {"order_count": "absorbed"}}, 422),
        ({"survivor_id": "A", "absorbed_id": "B", "fields": {"name": "both"}}, 422),
        ({"survivor_id": "A", "absorbed_id": "B", "is_staff": True}, 422),
        ({"survivor_id": "A"}, 422),
        ("not json", 400),
    ],
)
def test_bad_merge_input_is_a_clear_4xx(users: dict[str, Any], pair: Any, body: Any, status: int) -> None:
    a, b, _s = pair
    ids = {"A": a.pk, "B": b.pk, "SELF": a.pk}
    if isinstance(body, dict):
        body = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    before = dump_all()
    response = api(users, "sales").post("/api/identity/merges", body)
    assert response.status_code == status, response.content
    assert response.json()["detail"]
    assert diff(before, dump_all()) == []


def test_merging_an_already_merged_customer_is_a_conflict(users: dict[str, Any], pair: Any) -> None:
    a, b, _s = pair
    c = rich_customer("王芳", orders=0)
    client = api(users, "sales")
    assert client.post("/api/identity/merges", {"survivor_id": a.pk, "absorbed_id": b.pk}).status_code == 201
    response = client.post("/api/identity/merges", {"survivor_id": c.pk, "absorbed_id": b.pk})
    assert response.status_code == 409
    assert "already merged" in response.json()["detail"]


def test_unmerge_errors(users: dict[str, Any], pair: Any) -> None:
    a, b, _s = pair
    client = api(users, "sales")
    assert client.post("/api/identity/merges/424242/unmerge").status_code == 404
    merge_id = client.post("/api/identity/merges", {"survivor_id": a.pk, "absorbed_id": b.pk}).json()["id"]
    assert client.post(f"/api/identity/merges/{merge_id}/unmerge").status_code == 200
    again = client.post(f"/api/identity/merges/{merge_id}/unmerge")
    assert again.status_code == 409 and "already been undone" in again.json()["detail"]
    assert MergeRecord.objects.count() == 1


def test_suggestions_filter_and_paginate(users: dict[str, Any], pair: Any) -> None:
    a, _b, _s = pair
    others = [rich_customer(f"客户{i}", orders=0, notes=0) for i in range(3)]
    for i, other in enumerate(others):
        DuplicateSuggestion.objects.create(
            customer_a_id=a.pk, customer_b_id=other.pk, score=70 + i, method="probabilistic", refreshed_at=at(0)
        )
    client = api(users, "service")
    first = client.get("/api/identity/suggestions", limit=2).json()
    assert [i["score"] for i in first["items"]] == [85, 72]
    second = client.get("/api/identity/suggestions", limit=2, cursor=first["next_cursor"]).json()
    assert [i["score"] for i in second["items"]] == [71, 70] and second["next_cursor"] is None
    only = client.get("/api/identity/suggestions", customer_id=others[0].pk).json()
    assert [i["customer_b_id"] for i in only["items"]] == [others[0].pk]
    assert client.get("/api/identity/suggestions", cursor="bogus").status_code == 422
    assert client.get("/api/identity/suggestions", status="nope").status_code == 422
