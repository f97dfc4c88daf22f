"""Custom values on customers and orders: the list's filters and columns, the edit form and the
360 page, the API's reads and writes (bad input → 422, never 500, nothing changed), and masking
of fields marked personal."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from kehu.accounts.tokens import SCOPES, issue_token
from kehu.commerce.actions import ingest_orders
from kehu.customers.models import Customer
from kehu.privacy.models import AuditEvent
from tests.customfields.conftest import define
from tests.factories import make_customer, make_order

ROLES = ["admin", "marketing", "sales", "service", "store_manager", "analyst"]


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def bearer(user) -> dict[str, str]:
    _token, raw = issue_token(user, "test", SCOPES)
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def people(fields, ref):
    return {
        "a": make_customer("甲", phone="13800138000", custom={"wechat_group": "上海一群", "shoe_size": 42,
                           "joined_on": "2023-01-10", "level": "gold", "interests": ["shoes", "kids"],
                           "newsletter": True}),
        "b": make_customer("乙", phone="13900139000", custom={"wechat_group": "北京群", "shoe_size": 38.5,
                           "joined_on": "2024-06-01", "level": "silver", "interests": ["home"], "newsletter": False}),
        "c": make_customer("丙", phone="13700137000"),
    }  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"cf_wechat_group": "上海一群"}, {"甲"}),
        ({"cf_wechat_group": "上海"}, set()),
        ({"cf_wechat_group": "群", "cf_wechat_group_op": "contains"}, {"甲", "乙"}),
        ({"cf_shoe_size_min": "40"}, {"甲"}),
        ({"cf_shoe_size_max": "40"}, {"乙"}),
        ({"cf_shoe_size_min": "38.5", "cf_shoe_size_max": "42"}, {"甲", "乙"}),
        ({"cf_joined_on_min": "2024-01-01"}, {"乙"}),
        ({"cf_joined_on_max": "2023-12-31"}, {"甲"}),
        ({"cf_level": ["gold", "silver"]}, {"甲", "乙"}),
        ({"cf_level": "silver"}, {"乙"}),
        ({"cf_interests": "kids"}, {"甲"}),
        ({"cf_interests": ["home", "kids"]}, {"甲", "乙"}),
        ({"cf_newsletter": "yes"}, {"甲"}),
        ({"cf_newsletter": "no"}, {"乙"}),
        ({"cf_level": "platinum"}, {"甲", "乙", "丙"}),  # unknown choice: ignored, not a 500
        ({"cf_shoe_size_min": "big"}, {"甲", "乙", "丙"}),  # unreadable bound: ignored and shown
    ],
)
def test_the_list_filters_on_each_type(users, people, params, expected):
    response = logged_in(users["analyst"]).get("/customers/", params)
    assert response.status_code == 200
    assert {row["name"] for row in response.context["rows"]} == expected


@pytest.mark.django_db
def test_an_unreadable_filter_bound_says_why(users, people):
    response = logged_in(users["admin"]).get("/customers/", {"cf_shoe_size_min": "big"})
    assert "Enter a number, e.g. 12 or 3.5." in response.content.decode()


@pytest.mark.django_db
def test_list_columns_default_to_show_in_list_and_follow_the_users_pick(users, people):
    define(key="vip_note", type="text", show_in_list=True, label_zh="备注", label_en="VIP note")
    client = logged_in(users["analyst"])
    page = client.get("/customers/")
    assert [d.key for d in page.context["custom_columns"]] == ["vip_note"]
    page = client.get("/customers/", {"cols_set": "1", "cols": ["level", "newsletter"]})
    rows = {r["name"]: r["custom_cells"] for r in page.context["rows"]}
    assert rows["甲"] == ["Gold", "Yes"] and rows["丙"] == ["", ""]
    assert "<th>Level</th>" in page.content.decode()
    # Remembered for this user's session.
    assert [d.key for d in client.get("/customers/").context["custom_columns"]] == ["level", "newsletter"]


@pytest.mark.django_db
def test_the_list_query_count_does_not_grow_with_custom_columns(users, people, django_assert_max_num_queries):
    client = logged_in(users["analyst"])
    client.get("/customers/")
    with django_assert_max_num_queries(14):
        client.get("/customers/", {"cols_set": "1", "cols": ["level", "interests", "shoe_size"], "cf_level": "gold"})


@pytest.mark.django_db
def test_the_edit_form_shows_and_saves_custom_fields_audited(users, people):
    customer = people["a"]
    client = logged_in(users["sales"])
    page = client.get(f"/customers/{customer.pk}/edit/")
    assert 'name="custom.level"' in page.content.decode()
    data = {"name": "甲", "kind": "consumer", "party_type": "person", "gender": "", "birthday": "",
            "home_store_id": "", "preferred_channel_id": "", "custom.wechat_group": "上海二群",
            "custom.shoe_size": "43", "custom.joined_on": "2023-01-10", "custom.level": "silver",
            "custom.interests": ["home"], "custom.newsletter": ""}  # fmt: skip
    response = client.post(f"/customers/{customer.pk}/edit/", data)
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.custom == {"wechat_group": "上海二群", "shoe_size": 43, "joined_on": "2023-01-10",
                               "level": "silver", "interests": ["home"]}  # fmt: skip
    event = AuditEvent.objects.filter(object_type="customer", action="update").latest("pk")
    assert event.before["custom"]["level"] == "gold" and event.after["custom"]["level"] == "silver"


@pytest.mark.django_db
def test_a_bad_value_in_the_edit_form_is_shown_on_its_field_and_nothing_changes(users, people):
    customer = people["a"]
    before = dict(customer.custom)
    data = {"name": "新名字", "kind": "consumer", "party_type": "person", "custom.shoe_size": "forty"}
    response = logged_in(users["sales"]).post(f"/customers/{customer.pk}/edit/", data)
    assert response.status_code == 200
    assert response.context["form"].errors["custom.shoe_size"] == ["Enter a number, e.g. 12 or 3.5."]
    customer.refresh_from_db()
    assert (customer.name, customer.custom) == ("甲", before)


@pytest.mark.django_db
def test_the_360_page_shows_custom_values(users, people):
    page = logged_in(users["analyst"]).get(f"/customers/{people['a'].pk}/").content.decode()
    assert 'data-custom-field="level">Gold<' in page
    assert 'data-custom-field="interests">Shoes、Kids<' in page


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_personal_fields_are_masked_unless_revealed_and_others_are_not(users, ref, role):
    define(key="id_number", type="text", is_personal=True, label_zh="身份证号", label_en="ID number")
    define(key="size", type="text", label_zh="尺码", label_en="Size")
    customer = make_customer("甲", phone="13800138000", custom={"id_number": "310101199001011234", "size": "L"})
    user = users[role]
    if role == "store_manager":
        customer.home_store = ref["stores"]["sh-01"]
        customer.save()
    client = logged_in(user)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "310101199001011234" not in page
    assert 'data-custom-field="size">L<' in page  # analysts see non-personal values
    api = Client()
    data = api.get(f"/api/customers/{customer.pk}", headers=bearer(user)).json()
    assert data["custom"] == {"id_number": "****", "size": "L"}
    unmasked = api.get(f"/api/customers/{customer.pk}", {"unmask": "true"}, headers=bearer(user))
    can_unmask = role in {"admin", "sales", "service"}
    assert unmasked.status_code == (200 if can_unmask else 403)
    if can_unmask:
        assert unmasked.json()["custom"]["id_number"] == "310101199001011234"
        revealed = client.post(f"/customers/{customer.pk}/reveal/", headers={"HX-Request": "true"}).content.decode()
        assert "310101199001011234" in revealed
    # The edit form leaves personal fields out for roles that may not see them.
    if role in {"store_manager"}:
        form = client.get(f"/customers/{customer.pk}/edit/").content.decode()
        assert 'name="custom.id_number"' not in form and 'name="custom.size"' in form


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"custom": {"shoe_size": "big"}}, {"custom.shoe_size": ["Enter a number, e.g. 12 or 3.5."]}),
        (
            {"custom": {"level": "platinum"}},
            {"custom.level": ["Unknown choice “platinum” (allowed: gold, silver, bronze)."]},
        ),
        ({"custom": {"nope": 1}}, {"custom.nope": ["Unknown custom field “nope”."]}),
        ({"custom": {"interests": "shoes", "newsletter": "maybe"}}, {"custom.newsletter": ["Enter yes or no."]}),
    ],
)
def test_api_writes_with_bad_custom_values_are_422_and_change_nothing(users, people, body, errors):
    customer = people["a"]
    before = dict(customer.custom)
    response = Client().patch(f"/api/customers/{customer.pk}", json.dumps(body), content_type="application/json",
                              headers=bearer(users["sales"]))  # fmt: skip
    assert response.status_code == 422
    assert response.json()["errors"] == errors
    customer.refresh_from_db()
    assert customer.custom == before


@pytest.mark.django_db
def test_api_create_validates_custom_and_required_fields(users, fields):
    define(key="tax_id", type="text", required=True, label_zh="税号", label_en="Tax id")
    client, headers = Client(), bearer(users["sales"])
    missing = client.post("/api/customers", json.dumps({"name": "甲", "phone": "13800138000"}),
                          content_type="application/json", headers=headers)  # fmt: skip
    assert missing.status_code == 422 and missing.json()["errors"] == {"custom.tax_id": ["Tax id is required."]}
    assert not Customer.objects.exists()
    body = {"name": "甲", "phone": "13800138000", "custom": {"tax_id": "91310000", "shoe_size": 39, "level": "铜卡"}}
    created = client.post("/api/customers", json.dumps(body), content_type="application/json", headers=headers)
    assert created.status_code == 201, created.json()
    assert created.json()["custom"] == {"tax_id": "91310000", "shoe_size": 39, "level": "bronze"}
    # A PATCH without `custom` leaves the values alone; a null clears one.
    pk = created.json()["id"]
    client.patch(f"/api/customers/{pk}", json.dumps({"name": "甲甲"}), content_type="application/json", headers=headers)
    cleared = client.patch(f"/api/customers/{pk}", json.dumps({"custom": {"shoe_size": None}}),
                           content_type="application/json", headers=headers)  # fmt: skip
    assert cleared.json()["custom"] == {"tax_id": "91310000", "level": "bronze"}


@pytest.mark.django_db
def test_order_ingest_validates_merges_and_is_idempotent(users, ref):
    define(entity="order", key="invoice", type="choice", choices=[{"value": "paper", "zh": "纸质"}])
    define(entity="order", key="note", type="text")
    customer = make_customer("甲", phone="13800138000")
    base = {"source_system": "shop", "source_id": "S1", "channel": "web", "ordered_at": "2024-05-01T10:00:00+08:00",
            "total_amount": "100.00", "customer": {"id": customer.pk},
            "lines": [{"sku": "M-SHIRT-01", "unit_price": "100.00"}]}  # fmt: skip
    bad = ingest_orders([{**base, "custom": {"invoice": "email"}}], None)
    assert bad.errors[0]["errors"] == {"custom.invoice": ["Unknown choice “email” (allowed: paper)."]}
    first = ingest_orders([{**base, "custom": {"invoice": "纸质", "note": "急"}}], None)
    assert first.created == 1
    again = ingest_orders([{**base, "custom": {"invoice": "paper"}}], None)
    assert again.unchanged == 1
    change = ingest_orders([{**base, "custom": {"note": ""}}], None)
    assert change.updated == 1
    order = make_order(customer)
    assert order.custom == {}
    from kehu.commerce.models import Order

    assert Order.objects.get(source_id="S1").custom == {"invoice": "paper"}


@pytest.mark.django_db
def test_the_order_page_shows_order_fields(users, ref):
    define(entity="order", key="invoice", type="choice", choices=[{"value": "paper", "zh": "纸质", "en": "Paper"}])
    define(entity="order", key="tax_no", type="text", is_personal=True)
    customer = make_customer("甲", phone="13800138000")
    order = make_order(customer)
    order.custom = {"invoice": "paper", "tax_no": "91310000"}
    order.save()
    page = logged_in(users["admin"]).get(f"/orders/{order.pk}/").content.decode()
    assert 'data-custom-field="invoice">Paper<' in page
    assert "91310000" not in page and 'data-custom-field="tax_no">****<' in page
