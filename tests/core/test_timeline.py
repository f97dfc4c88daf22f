"""The customer's timeline: interactions and the customer's orders merged newest first, the
orders read from the order table (ADR 0006), so an entry shows the order as it is now, in the
reader's language, and only to users who may see the order."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from kehu.commerce.actions import ingest_orders
from kehu.customers.models import Customer, Interaction
from kehu.customers.queries import TIMELINE_LENGTH, customer_360
from tests.factories import make_customer, make_order

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _note(customer: Customer, at: dt.datetime, title: str) -> Interaction:
    return Interaction.objects.create(customer=customer, kind="note", occurred_at=at, title=title)


def _timeline(user: Any, customer: Customer) -> list[tuple[str, dt.datetime, str]]:
    return [(e.kind, e.occurred_at, e.title) for e in customer_360(user, customer).timeline]


def test_orders_and_interactions_come_newest_first(users: dict[str, Any]) -> None:
    customer = make_customer("王芳", phone="13800000001")
    _note(customer, T0 + dt.timedelta(days=1), "called")
    first = make_order(customer, ordered_at=T0, source_id="A1")
    second = make_order(customer, ordered_at=T0 + dt.timedelta(days=2), source_id="A2")
    _note(customer, T0 + dt.timedelta(days=3), "visited")
    with translation.override("en"):
        entries = [(e.kind, e.title, e.ref_id) for e in customer_360(users["admin"], customer).timeline]
    # The record was created today, after these dates.
    assert entries[0][0] == "registration" and len(entries) == 5
    assert entries[1:] == [
        ("note", "visited", None),
        ("order", f"Order {second.number}", second.pk),
        ("note", "called", None),
        ("order", f"Order {first.number}", first.pk),
    ]


def test_an_order_entry_is_in_the_readers_language_and_shows_the_current_amount(users: dict[str, Any], ref) -> None:
    customer = make_customer("王芳", phone="13800000001")
    order = make_order(customer, amount="299.00", source_id="B1")
    with translation.override("zh-hans"):
        zh = next(e for e in customer_360(users["admin"], customer).timeline if e.kind == "order")
    with translation.override("en"):
        en = next(e for e in customer_360(users["admin"], customer).timeline if e.kind == "order")
    assert (zh.title, en.title) == (f"订单 {order.number}", f"Order {order.number}")
    assert (en.detail, en.channel_id, en.ref_type) == ("¥299.00", order.channel_id, "order")
    # The shop changes the order's amount: the timeline follows, as no copy of it is kept.
    ingest_orders(
        [
            {
                "source_system": "test",
                "source_id": "B1",
                "channel": "web",
                "ordered_at": order.ordered_at.isoformat(),
                "total_amount": "199.00",
                "paid_amount": "199.00",
                "customer": {"id": customer.pk},
                "lines": [{"sku": "M-SHIRT-01", "quantity": 1, "unit_price": "199.00", "amount": "199.00"}],
            }
        ],
        None,
    )
    entry = next(e for e in customer_360(users["admin"], customer).timeline if e.kind == "order")
    assert entry.detail == "¥199.00"


def test_a_store_manager_sees_only_the_orders_of_their_stores(users: dict[str, Any]) -> None:
    customer = make_customer("王芳", phone="13800000001")
    mine = make_order(customer, channel="store", store="sh-01", ordered_at=T0, source_id="C1")
    theirs = make_order(customer, channel="store", store="hz-01", ordered_at=T0, source_id="C2")
    seen = {e.ref_id for e in customer_360(users["store_manager"], customer).timeline if e.kind == "order"}
    assert seen == {mine.pk}
    everyone = {e.ref_id for e in customer_360(users["admin"], customer).timeline if e.kind == "order"}
    assert everyone == {mine.pk, theirs.pk}


def test_the_timeline_holds_the_newest_entries_of_both_streams(users: dict[str, Any]) -> None:
    customer = make_customer("王芳", phone="13800000001")
    Interaction.objects.filter(customer=customer).delete()
    for day in range(TIMELINE_LENGTH):
        make_order(customer, ordered_at=T0 + dt.timedelta(days=2 * day), source_id=f"D{day}")
        _note(customer, T0 + dt.timedelta(days=2 * day + 1), f"n{day}")
    view = customer_360(users["admin"], customer)
    times = [e.occurred_at for e in view.timeline]
    assert len(times) == TIMELINE_LENGTH
    assert times == sorted(times, reverse=True)
    # The newest 30 of 60 entries alternate note, order from the last day back.
    assert times[-1] == T0 + dt.timedelta(days=2 * TIMELINE_LENGTH - TIMELINE_LENGTH)
    assert [e.kind for e in view.timeline[:2]] == ["note", "order"]
    assert len(view.orders) == 20  # the purchase-history card keeps its 20 newest orders


def test_the_360_page_shows_order_entries_in_the_pages_language(users: dict[str, Any]) -> None:
    customer = make_customer("王芳", phone="13800000001")
    order = make_order(customer, amount="1999.50", source_id="E1")
    client = Client()
    client.force_login(users["admin"])
    en = client.get(f"/customers/{customer.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    zh = client.get(f"/customers/{customer.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f"Order {order.number}" in en and f"订单 {order.number}" in zh
    # "Order" as a kind of entry and as the purchase history's column is 订单, not 顺序 (a position,
    # which the custom-field list's column means and translates with its own context).
    assert "顺序" not in zh
    fields = client.get(reverse("customfield-list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "顺序" in fields
