"""The order list: every role that may see orders, store scope, filters, keyset pages, bad input."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone

from kehu.customers.models import Customer
from tests.factories import make_customer, make_order

ROLES = ["admin", "marketing", "sales", "service", "store_manager", "analyst"]


def numbers(body: str) -> list[str]:
    return re.findall(r'href="/orders/\d+/" class="fw-medium">([^<]+)<', body)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_role_with_orders_sees_the_list_within_its_scope(
    role: str, client_for: Any, shanghai_customer: Customer, beijing_customer: Customer
) -> None:
    response = client_for(role).get("/orders/")
    assert response.status_code == 200
    shown = numbers(response.content.decode())
    shanghai = shanghai_customer.orders.get().number
    beijing = beijing_customer.orders.get().number
    assert shanghai in shown
    assert (beijing in shown) is (role != "store_manager")


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client: Any) -> None:
    response = client.get("/orders/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_it_filters_by_store_channel_status_number_and_dates(client_for: Any, ref: dict[str, Any]) -> None:
    customer = make_customer("李雷", phone="13700137000")
    now = timezone.now()
    web = make_order(customer, channel="web", ordered_at=now - dt.timedelta(days=40), source_id="W1")
    store = make_order(customer, channel="store", store="hz-01", ordered_at=now, source_id="S1")
    client = client_for("admin")

    def shown(**params: Any) -> set[str]:
        response = client.get("/orders/", params)
        assert response.status_code == 200
        return set(numbers(response.content.decode()))

    assert shown() == {web.number, store.number}
    assert shown(store=ref["stores"]["hz-01"].pk) == {store.number}
    assert shown(channel=ref["channels"]["web"].pk) == {web.number}
    assert shown(status="paid") == {web.number, store.number}
    assert shown(status="cancelled") == set()
    assert shown(number=store.number) == {store.number}
    local_today = timezone.localdate()
    assert shown(date_from=(local_today - dt.timedelta(days=7)).isoformat()) == {store.number}
    assert shown(date_to=(local_today - dt.timedelta(days=30)).isoformat()) == {web.number}


@pytest.mark.django_db
def test_it_pages_by_keyset_without_repeating_or_skipping(
    client_for: Any, ref: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kehu.commerce import queries, views

    customer = make_customer("韩梅梅", phone="13700137001")
    when = timezone.now()
    # Pairs of orders share a timestamp, so the pk tie-breaker is exercised.
    made = [
        make_order(customer, ordered_at=when - dt.timedelta(minutes=i // 2), source_id=f"K{i}").number for i in range(7)
    ]
    monkeypatch.setattr(views, "list_orders", lambda *a, **k: queries.list_orders(*a, **{**k, "page_size": 3}))
    client = client_for("sales")
    seen: list[str] = []
    params: dict[str, str] = {}
    for _ in range(5):
        body = client.get("/orders/", params).content.decode()
        seen += numbers(body)
        match = re.search(r'rel="next" href="\?cursor=([^"]+)"', body)
        if not match:
            break
        params = {"cursor": match.group(1)}
    assert sorted(seen) == sorted(made)
    assert len(seen) == len(set(seen))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [{"store": "abc"}, {"date_from": "2026-13-45"}, {"status": "nonsense"}, {"cursor": "%%%"}, {"cursor": "x" * 5000}],
)
def test_bad_filters_give_a_page_with_field_errors_never_a_500(
    params: dict[str, str], client_for: Any, shanghai_customer: Customer
) -> None:
    response = client_for("admin").get("/orders/", params)
    assert response.status_code == 200
    assert shanghai_customer.orders.get().number in numbers(response.content.decode())


@pytest.mark.django_db
def test_the_list_needs_a_fixed_number_of_queries(
    client_for: Any, ref: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    for i in range(12):
        customer = make_customer(f"顾客{i}", phone=f"1370013{i:04d}")
        make_order(customer, channel="store", store="sh-01")
    client = client_for("admin")
    with django_assert_max_num_queries(12):
        assert client.get("/orders/").status_code == 200
