"""The 360 page's purchase history and timeline rows (rendered in Python for speed): escaped, linked,
dated in the shop's time zone, and in the page's language."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from kehu.customers.models import Customer, Interaction
from tests.factories import make_customer, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(ref: dict[str, Any]) -> Customer:
    customer = make_customer("李<b>四</b>", phone="13700137000")
    make_order(
        customer,
        amount="1999.50",
        channel="store",
        store="sh-01",
        ordered_at=dt.datetime(2026, 1, 1, 16, 30, tzinfo=dt.UTC),
        source_id="<script>alert(1)</script>",
    )
    Interaction.objects.create(
        customer=customer,
        kind="note",
        occurred_at=dt.datetime(2026, 2, 1, 23, 15, tzinfo=dt.UTC),
        title='<img src=x onerror="alert(2)">',
        detail="<i>detail</i> & more",
    )
    return customer


def test_rows_are_escaped_linked_and_dated_locally(client_for: Any, customer: Customer) -> None:
    html = client_for("admin").get(f"/customers/{customer.pk}/").content.decode()
    order = customer.orders.get()
    assert f'href="{reverse("order-detail", args=[order.pk])}"' in html
    assert "2026-01-02 00:30" in html  # 16:30 UTC is 00:30 the next day in Asia/Shanghai
    assert "2026-02-02 07:15" in html
    assert "¥1,999.50" in html
    assert '<img src=x onerror="alert(2)">' not in html
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html
    assert "<i>detail</i>" not in html
    assert "&lt;i&gt;detail&lt;/i&gt; &amp; more" in html
    assert "<script>alert(1)</script>" not in html


def test_rows_follow_the_page_language(client_for: Any, customer: Customer) -> None:
    client = client_for("admin")
    zh = client.get(f"/customers/{customer.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    en = client.get(f"/customers/{customer.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "门店" in zh or "线下" in zh  # the store channel's Chinese name
    assert "Store" in en


def test_empty_lists_say_so(client_for: Any, ref: dict[str, Any]) -> None:
    lonely = make_customer("王五", phone="13600136000")
    Interaction.objects.filter(customer=lonely).delete()
    html = client_for("admin").get(f"/customers/{lonely.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No orders" in html
    assert "Nothing has happened yet" in html
