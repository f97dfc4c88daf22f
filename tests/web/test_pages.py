"""Web pages: home numbers and charts, search, the customer list (filters, keyset pages, no N+1),
the 360 page, forms with field errors, escaping and Unicode names, login, logout and language."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kehu.customers.actions import do_add_note
from kehu.customers.models import Customer
from kehu.privacy.models import AuditAction, AuditEvent
from kehu.web.templatetags.kehu_ui import money
from tests.factories import PASSWORD, make_customer, make_order


def json_block(body: str, element_id: str) -> Any:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', body, re.S)
    assert match, element_id
    return json.loads(match.group(1))


def test_it_formats_money_as_yuan() -> None:
    assert money(Decimal("1234")) == "¥1,234.00"
    assert money(Decimal("-5.5")) == "-¥5.50"
    assert money(None) == "—"


@pytest.mark.django_db
def test_it_shows_the_headline_numbers_and_chart_data_on_the_home_page(
    client_for: Any, shanghai_customer: Customer
) -> None:
    body = client_for("admin").get("/").content.decode()
    assert 'data-stat="customers">1<' in body
    assert 'data-stat="revenue">¥1,234.00<' in body
    assert [row[1] for row in json_block(body, "revenue-by-month")] == ["1234.00"]
    assert json_block(body, "orders-by-channel") == [["门店", 1]]
    assert "<script>" not in body.replace('<script src="', "")  # no inline scripts (CSP)


@pytest.mark.django_db
def test_it_answers_a_single_exact_search_hit_with_the_360_page(client_for: Any, shanghai_customer: Customer) -> None:
    client = client_for("service")
    with CaptureQueriesContext(connection) as page_queries:
        direct = client.get(f"/customers/{shanghai_customer.pk}/")
    reads = AuditEvent.objects.filter(action=AuditAction.VIEW, object_id=str(shanghai_customer.pk)).count()
    with CaptureQueriesContext(connection) as search_queries:
        response = client.get("/search/", {"q": "+86 138-0013-8000"})
    # The identity look-up takes the place of the page's own read of the customer: one query more.
    assert len(search_queries) <= len(page_queries) + 1
    assert response.status_code == 200
    assert next(t.name for t in response.templates) == "customers/detail.html"
    body = response.content.decode()
    # The same page as the customer's own address, which it names for app.js to show.
    assert f'<link rel="canonical" href="/customers/{shanghai_customer.pk}/" data-replace-url>' in body
    assert f'name="next" value="/customers/{shanghai_customer.pk}/"' in body  # the language switch returns there
    assert [o.pk for o in response.context["view"].orders] == [o.pk for o in direct.context["view"].orders]
    assert "138****8000" in body and "13800138000" not in body
    # A full-record read like any other: audited once more.
    assert AuditEvent.objects.filter(action=AuditAction.VIEW, object_id=str(shanghai_customer.pk)).count() == reads + 1


@pytest.mark.django_db
def test_a_store_manager_cannot_open_another_stores_customer_by_searching(
    client_for: Any, shanghai_customer: Customer
) -> None:
    outsider = make_customer("赵敏", phone="13900139000")
    response = client_for("store_manager").get("/search/", {"q": "13900139000"})
    assert response.status_code == 200
    assert next(t.name for t in response.templates) == "web/search.html"
    assert "赵敏" not in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW, object_id=str(outsider.pk)).exists()


@pytest.mark.django_db
def test_it_lists_name_matches_with_what_matched(client_for: Any, shanghai_customer: Customer) -> None:
    make_customer("王芳芳", phone="13600136000")
    make_customer("李明", phone="13600136001")
    body = client_for("service").get("/search/", {"q": "王芳"}).content.decode()
    assert "王芳芳" in body
    assert "李明" not in body
    assert "¥1,234.00" in body
    assert "上海南京路店" in body


@pytest.mark.django_db
def test_it_explains_that_names_need_two_characters(client_for: Any, shanghai_customer: Customer) -> None:
    body = client_for("service").get("/search/", {"q": "王"}).content.decode()
    assert 'data-testid="too-short"' in body


@pytest.mark.django_db
def test_it_says_when_nothing_matches(client_for: Any, ref: dict[str, Any]) -> None:
    response = client_for("service").get("/search/", {"q": "不存在的人"})
    assert response.status_code == 200
    assert 'class="empty-title"' in response.content.decode()


@pytest.mark.django_db
def test_it_filters_and_pages_the_customer_list(client_for: Any, ref: dict[str, Any], settings: Any) -> None:
    for i in range(3):
        make_customer(f"客户{i}", kind="b2b")
    make_customer("普通客户")
    client = client_for("admin")
    body = client.get("/customers/", {"kind": "b2b"}).content.decode()
    assert "客户0" in body
    assert "普通客户" not in body


@pytest.mark.django_db
def test_it_follows_the_next_page_cursor(client_for: Any, ref: dict[str, Any]) -> None:
    for i in range(55):
        make_customer(f"第{i:02d}号")
    client = client_for("admin")
    first = client.get("/customers/", {"sort": "recent"})
    assert first.context["next_cursor"]
    assert len(first.context["rows"]) == 50
    second = client.get("/customers/", {"sort": "recent", "cursor": first.context["next_cursor"]})
    assert len(second.context["rows"]) == 5
    assert second.context["next_cursor"] is None
    seen = {r["id"] for r in first.context["rows"]} | {r["id"] for r in second.context["rows"]}
    assert len(seen) == 55


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {"min_spent": "abc"},
        {"store": "x"},
        {"cursor": "!!!"},
        {"sort": "evil"},
        {"has_ordered": "maybe"},
        {"tag": "99999999999999999999999"},
    ],
)
def test_it_survives_bad_list_parameters(client_for: Any, ref: dict[str, Any], params: dict[str, str]) -> None:
    make_customer("张三")
    assert client_for("admin").get("/customers/", params).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("count", [5, 50])
def test_it_lists_customers_in_constant_queries(
    client_for: Any, ref: dict[str, Any], count: int, django_assert_max_num_queries: Any
) -> None:
    for i in range(count):
        make_customer(f"客户{i}", phone=f"1380000{i:04d}", email=f"c{i}@example.com")
    client = client_for("admin")
    # 13: one of them reads the custom-field definitions (kehu.customfields), shared by the filters and forms.
    with django_assert_max_num_queries(13):
        response = client.get("/customers/")
    assert len(response.context["rows"]) == count


@pytest.mark.django_db
@pytest.mark.parametrize("orders", [1, 12])
def test_it_renders_the_360_page_in_constant_queries(
    client_for: Any, users: dict[str, Any], ref: dict[str, Any], orders: int, django_assert_max_num_queries: Any
) -> None:
    customer = make_customer("李娜", phone="13900139001", email="li.na@example.com")
    for i in range(orders):
        make_order(customer, amount=f"{100 + i}.00", sku="M-SHIRT-01" if i % 2 else "S-SNEAK-01")
        do_add_note(users["admin"], customer, f"备注 {i}")
    client = client_for("admin")
    with django_assert_max_num_queries(25):
        response = client.get(f"/customers/{customer.pk}/")
    assert response.status_code == 200
    assert len(response.context["view"].orders) == orders


@pytest.mark.django_db
def test_it_shows_the_whole_customer_on_the_360_page(client_for: Any, shanghai_customer: Customer) -> None:
    body = client_for("sales").get(f"/customers/{shanghai_customer.pk}/").content.decode()
    order = shanghai_customer.orders.get()
    assert f'href="/orders/{order.pk}/"' in body
    assert 'data-stat="total-spent">¥1,234.00<' in body
    assert "w***@example.com" in body
    assert "Shoes" not in body and "Menswear" in body  # favourite category of the shirt bought, in English


@pytest.mark.django_db
def test_it_creates_a_customer_and_shows_field_errors(client_for: Any, ref: dict[str, Any]) -> None:
    client = client_for("service")
    response = client.post(
        "/customers/new/",
        {"name": "", "phone": "12345", "email": "not-an-email", "kind": "consumer", "party_type": "person"},
    )
    assert response.status_code == 200
    errors = response.context["new_form"].errors
    assert set(errors) >= {"name"}
    assert Customer.objects.count() == 0
    response = client.post(
        "/customers/new/",
        {"name": "刘洋", "phone": "12345", "email": "not-an-email", "kind": "consumer", "party_type": "person"},
    )
    errors = response.context["new_form"].errors
    assert set(errors) == {"phone", "email"}
    body = response.content.decode()
    assert "is-invalid" in body
    assert Customer.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field, value",
    [
        ("birthday", "2999-01-01"),
        ("birthday", "31/02/2020"),
        ("kind", "alien"),
        ("home_store_id", "abc"),
        ("home_store_id", "999999"),
        ("name", "x" * 201),
    ],
)
def test_it_turns_bad_profile_input_into_a_field_error(
    client_for: Any, shanghai_customer: Customer, field: str, value: str
) -> None:
    data = {"name": "王芳", "kind": "consumer", "party_type": "person", field: value}
    response = client_for("admin").post(f"/customers/{shanghai_customer.pk}/edit/", data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    shanghai_customer.refresh_from_db()
    assert (shanghai_customer.name, shanghai_customer.kind, shanghai_customer.birthday) == ("王芳", "consumer", None)


@pytest.mark.django_db
def test_it_adds_a_note_with_htmx_and_shows_an_empty_note_error(client_for: Any, shanghai_customer: Customer) -> None:
    client = client_for("service")
    url = f"/customers/{shanghai_customer.pk}/notes/"
    response = client.post(url, {"body": "  "}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "invalid-feedback" in response.content.decode()
    response = client.post(url, {"body": "来电询问退货"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "来电询问退货" in response.content.decode()
    assert list(shanghai_customer.notes.values_list("body", flat=True)) == ["来电询问退货"]


@pytest.mark.django_db
def test_it_escapes_markup_in_names_everywhere(client_for: Any, ref: dict[str, Any]) -> None:
    evil = make_customer("<script>alert(1)</script>", phone="13500135000")
    client = client_for("admin")
    for url in ["/customers/", f"/customers/{evil.pk}/", "/search/?q=alert", "/search/live/?q=alert"]:
        body = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in body, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body, url


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["𠀀𪚥", "阿依古丽·买买提", "小美🌸", "O'Brien & Söhne"])
def test_it_keeps_unicode_names_unchanged_from_form_to_360_page(
    client_for: Any, ref: dict[str, Any], name: str
) -> None:
    client = client_for("service")
    response = client.post("/customers/new/", {"name": name, "kind": "consumer", "party_type": "person"})
    assert response.status_code == 302
    customer = Customer.objects.get()
    assert customer.name == name
    body = client.get(response["Location"]).content.decode()
    from django.utils.html import escape

    assert f'data-testid="customer-name">{escape(name)}</h2>' in body


@pytest.mark.django_db
def test_it_shows_an_order_with_lines(client_for: Any, shanghai_customer: Customer) -> None:
    order = shanghai_customer.orders.get()
    body = client_for("store_manager").get(f"/orders/{order.pk}/").content.decode()
    assert order.number in body
    assert "牛津纺衬衫" in body or "M-SHIRT-01" in body
    assert "¥1,234.00" in body


@pytest.mark.django_db
def test_it_records_the_bulk_tagging_in_the_audit_log(client_for: Any, shanghai_customer: Customer) -> None:
    client = client_for("admin")
    client.post("/customers/bulk-tag/", {"customer": [shanghai_customer.pk], "tag": "高价值"})
    client.post("/customers/bulk-tag/", {"customer": [shanghai_customer.pk], "tag": "高价值"})
    assert list(shanghai_customer.tags.values_list("name", flat=True)) == ["高价值"]
    events = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_id=str(shanghai_customer.pk))
    assert [e.after for e in events] == [{"tags_added": ["高价值"]}]


@pytest.mark.django_db
def test_it_refuses_an_empty_bulk_tag(client_for: Any, shanghai_customer: Customer) -> None:
    response = client_for("admin").post("/customers/bulk-tag/", {"customer": [shanghai_customer.pk], "tag": ""})
    assert response.status_code == 302
    assert shanghai_customer.tags.count() == 0


# --- login, logout, language -----------------------------------------------------------------


@pytest.mark.django_db
def test_it_logs_in_rotates_the_session_and_audits(users: dict[str, Any]) -> None:
    client = Client()
    client.get("/accounts/login/")
    before = client.session.session_key
    response = client.post("/accounts/login/", {"username": "service", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session.session_key != before
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN, actor_label="service").count() == 1


@pytest.mark.django_db
def test_it_rejects_a_wrong_password_with_a_message(users: dict[str, Any]) -> None:
    response = Client().post("/accounts/login/", {"username": "service", "password": "wrong"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()


@pytest.mark.django_db
def test_it_locks_an_account_after_repeated_failures(users: dict[str, Any], settings: Any) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "service", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "service", "password": PASSWORD})
    assert response.status_code == 429
    assert "accounts/locked_out.html" in [t.name for t in response.templates]
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_it_logs_out_only_by_post(client_for: Any) -> None:
    client = client_for("service")
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_it_switches_the_language_and_remembers_it(client_for: Any) -> None:
    client = client_for("service")
    assert '<span class="nav-link-title">Customers</span>' in client.get("/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "zh-hans"
    body = client.get("/").content.decode()
    assert '<html lang="zh-CN">' in body
    assert '<span class="nav-link-title">客户</span>' in body
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert '<span class="nav-link-title">Customers</span>' in client.get("/").content.decode()


@pytest.mark.django_db
def test_it_shows_chinese_to_a_browser_that_asks_for_it(client_for: Any) -> None:
    body = client_for("service").get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert '<span class="nav-link-title">客户</span>' in body
    assert "本月销售额" in body
