"""Customer endpoints: lists, search, masking and unmasking, 360, writes and bad input."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kehu.customers.models import Customer, CustomerIdentity, Note
from kehu.privacy.actions import do_set_consent
from kehu.privacy.models import AuditAction, AuditEvent
from tests.factories import make_customer, make_order


def audit(action: str) -> list[tuple[str, str, str]]:
    return [
        (e.actor_label, e.object_id, e.via)
        for e in AuditEvent.objects.filter(action=action, object_type="customer").order_by("id")
    ]


# --- lists, search, masking -------------------------------------------------------------------


@pytest.mark.django_db
def test_it_lists_customers_with_masked_phones(api_as):
    customer = make_customer("张伟", phone="13800138000", email="zhang.wei@example.com")
    response = api_as("marketing").get("/api/customers")
    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] is None
    assert body["sort"] == "recent"
    [row] = body["items"]
    assert row["id"] == customer.pk
    assert row["name"] == "张伟"
    assert row["phone"] == "138****8000"
    assert row["email"] == "z***@example.com"
    assert row["total_spent"] == "0.00"
    assert row["created_at"].endswith("+08:00")
    assert audit(AuditAction.UNMASK) == []


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "sales", "service"])
def test_it_unmasks_on_request_for_roles_allowed_and_audits_it(api_as, role):
    customer = make_customer("张伟", phone="13800138000")
    client = api_as(role)
    listed = client.get("/api/customers", unmask="true")
    assert listed.status_code == 200
    assert listed.json()["items"][0]["phone"] == "+8613800138000"
    one = client.get(f"/api/customers/{customer.pk}", unmask="true")
    assert one.json()["phone"] == "+8613800138000"
    assert one.json()["identities"][0]["value"] == "+8613800138000"
    assert audit(AuditAction.UNMASK) == [(role, str(customer.pk), "api"), (role, str(customer.pk), "api")]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["analyst", "marketing"])
def test_it_refuses_to_unmask_for_roles_without_the_permission(api_as, role):
    customer = make_customer("张伟", phone="13800138000", home_store_id=None)
    client = api_as(role)
    for path in ["/api/customers", f"/api/customers/{customer.pk}", f"/api/customers/{customer.pk}/360"]:
        response = client.get(path, unmask="true")
        assert response.status_code == 403, path
        assert response.json()["detail"] == "Your role may not unmask personal data."
    assert client.get("/api/customers/search", q="13800138000", unmask="true").status_code == 403
    assert AuditEvent.objects.filter(action__in=[AuditAction.UNMASK, AuditAction.VIEW]).count() == 0


@pytest.mark.django_db
def test_it_pages_through_customers_with_a_cursor(api_as):
    made = [make_customer(f"客户{i}") for i in range(5)]
    client = api_as("admin")
    seen: list[int] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/customers", **params).json()
        seen += [row["id"] for row in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [c.pk for c in reversed(made)]


@pytest.mark.django_db
def test_it_sorts_customers_by_money_spent(api_as, ref):
    small = make_customer("小额", phone="13800138001")
    big = make_customer("大额", phone="13800138002")
    nothing = make_customer("未购", phone="13800138003")
    make_order(small, amount="10.00")
    make_order(big, amount="999.99")
    body = api_as("admin").get("/api/customers", sort="spent").json()
    assert [(r["id"], r["total_spent"]) for r in body["items"]] == [
        (big.pk, "999.99"),
        (small.pk, "10.00"),
        (nothing.pk, "0.00"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "name; DROP TABLE"}, "sort"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"min_spent": "lots"}, "min_spent"),
    ],
)
def test_it_refuses_bad_list_parameters_naming_the_field(api_as, params, field):
    response = api_as("admin").get("/api/customers", **params)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]


@pytest.mark.django_db
def test_it_searches_customers_by_phone_in_any_form(api_as):
    customer = make_customer("张伟", phone="13800138000")
    make_customer("李娜", phone="13900139000")
    response = api_as("service").get("/api/customers/search", q="+86 138-0013-8000")
    assert response.status_code == 200
    assert [(r["id"], r["matched_on"], r["phone"]) for r in response.json()["items"]] == [
        (customer.pk, "phone", "138****8000")
    ]


@pytest.mark.django_db
def test_it_requires_a_search_query(api_as):
    response = api_as("service").get("/api/customers/search", q="")
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["q"]


# --- 360 ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_shows_the_360_view_and_audits_the_read(api_as, users):
    customer = make_customer("李娜", phone="13900139000")
    make_order(customer, amount="100.00", channel="web")
    make_order(customer, amount="250.50", channel="store", store="sh-01", sku="S-SNEAK-01")
    do_set_consent(customer, "sms", "marketing", "granted", source="web")
    response = api_as("service").get(f"/api/customers/{customer.pk}/360")
    assert response.status_code == 200
    body = response.json()
    assert body["customer"]["name"] == "李娜"
    assert body["customer"]["phone"] == "139****9000"
    headline = body["headline"]
    assert headline["total_spent"] == "350.50"
    assert headline["order_count"] == 2
    assert headline["average_order_value"] == "175.25"
    assert headline["returns_count"] == 0
    assert sorted((c["channel"], c["orders"], c["spent"]) for c in headline["channels_used"]) == [
        ("官网商城", 1, "100.00"),
        ("门店", 1, "250.50"),
    ]
    assert [(c["name"], c["spent"]) for c in headline["favourite_categories"]] == [
        ("鞋履", "250.50"),
        ("男装", "100.00"),
    ]
    assert [(o["paid_amount"], o["store"]) for o in body["recent_orders"]] == [("250.50", "sh-01"), ("100.00", None)]
    assert [(c["channel"], c["purpose"], c["status"]) for c in body["consents"]] == [("sms", "marketing", "granted")]
    assert sorted(e["kind"] for e in body["timeline"]) == ["order", "order", "registration"]
    order_entries = sorted((e["ref_id"], e["detail"]) for e in body["timeline"] if e["kind"] == "order")
    assert order_entries == sorted((o.pk, f"¥{o.paid_amount}") for o in customer.orders.all())
    assert body["recent_orders"][0]["ordered_at"].endswith("+08:00")
    assert audit(AuditAction.VIEW) == [("service", str(customer.pk), "api")]


@pytest.mark.django_db
def test_it_needs_both_read_scopes_for_the_360_view(api_as):
    customer = make_customer("李娜")
    response = api_as("admin", scopes=("customers:read",)).get(f"/api/customers/{customer.pk}/360")
    assert response.status_code == 403
    assert audit(AuditAction.VIEW) == []


# --- writes -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_creates_a_customer(api_as, ref):
    response = api_as("sales").post(
        "/api/customers",
        {
            "name": "  王芳 ",
            "phone": "138 0013 8000",
            "emails": ["Wang.Fang@Example.com"],
            "birthday": "1990-05-01",
            "home_store_id": ref["stores"]["hz-01"].pk,
        },
    )
    assert response.status_code == 201
    body = response.json()
    customer = Customer.objects.get()
    assert body["id"] == customer.pk
    assert body["name"] == customer.name == "王芳"
    assert body["birthday"] == "1990-05-01"
    assert body["phone"] == "138****8000"
    assert sorted(CustomerIdentity.objects.values_list("kind", "value")) == [
        ("email", "wang.fang@example.com"),
        ("phone", "+8613800138000"),
    ]
    assert AuditEvent.objects.get(action=AuditAction.CREATE, object_type="customer").via == "api"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "王芳", "phone": "12345"}, "phone"),
        ({"name": "王芳", "email": "not-an-email"}, "email"),
        ({"name": ""}, "name"),
        ({"name": "王芳", "birthday": "1990-13-45"}, "birthday"),
        ({"name": "王芳", "kind": "alien"}, "kind"),
        ({"name": "王芳", "home_store_id": 999999}, "home_store_id"),
        ({"name": "王芳", "preferred_channel_id": 999999}, "preferred_channel_id"),
        ({"name": "王芳", "order_count": 99}, "order_count"),
        ({"name": "王芳", "total_spent": "1000000.00"}, "total_spent"),
        ({"name": "王芳", "is_staff": True}, "is_staff"),
        ({"name": "王芳", "id": 1}, "id"),
        ({"name": "王芳", "member_card": "M" * 201}, "member_card"),
        ({}, "name"),
    ],
)
def test_it_refuses_bad_customer_input_naming_the_field(api_as, ref, body, field):
    response = api_as("sales").post("/api/customers", body)
    assert response.status_code == 422
    assert response.json()["detail"] == "Invalid input."
    assert field in response.json()["errors"]
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_it_refuses_a_phone_that_belongs_to_another_customer(api_as):
    make_customer("张伟", phone="13800138000")
    response = api_as("sales").post("/api/customers", {"name": "冒名", "phone": "13800138000"})
    assert response.status_code == 422
    assert response.json()["errors"] == {"phone": ["+8613800138000 already belongs to another customer."]}
    assert Customer.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("body", ['{"name": "王芳"', "not json", '{"name": NaN}', "[1, 2", "\xff\xfe"])
def test_it_answers_400_to_malformed_json(api_as, body):
    response = api_as("sales").post("/api/customers", body)
    assert response.status_code == 400
    assert response.json()["detail"] == "Cannot parse request body"
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_it_answers_422_to_a_json_body_of_the_wrong_shape(api_as):
    response = api_as("sales").post("/api/customers", [{"name": "王芳"}])
    assert response.status_code == 422
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_it_changes_only_the_fields_sent(api_as):
    customer = make_customer("张伟", phone="13800138000", gender="M")
    response = api_as("service").patch(f"/api/customers/{customer.pk}", {"name": "张伟强"})
    assert response.status_code == 200
    assert response.json()["name"] == "张伟强"
    customer.refresh_from_db()
    assert (customer.name, customer.gender) == ("张伟强", "M")
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_type="customer")
    assert (event.before, event.after, event.via) == ({"name": "张伟"}, {"name": "张伟强"}, "api")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"order_count": 99},
        {"total_spent": "1000000.00"},
        {"is_staff": True},
        {"id": 12345},
        {"name": "新名字", "custom": {"vip": True}},
        {"name": None},
        {"gender": "X"},
    ],
)
def test_it_refuses_protected_or_invalid_changes_and_changes_nothing(api_as, body):
    customer = make_customer("张伟")
    before = Customer.objects.filter(pk=customer.pk).values().get()
    response = api_as("admin").patch(f"/api/customers/{customer.pk}", body)
    assert response.status_code == 422
    assert Customer.objects.filter(pk=customer.pk).values().get() == before
    assert AuditEvent.objects.filter(action=AuditAction.UPDATE).count() == 0


@pytest.mark.django_db
def test_it_adds_an_identity(api_as):
    customer = make_customer("张伟")
    response = api_as("service").post(
        f"/api/customers/{customer.pk}/identities", {"kind": "email", "value": "ZW@Example.com"}
    )
    assert response.status_code == 201
    assert (response.json()["kind"], response.json()["value"]) == ("email", "z***@example.com")
    assert list(customer.identities.values_list("kind", "value")) == [("email", "zw@example.com")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "phone", "value": "not a phone"}, "value"),
        ({"kind": "email", "value": "@@"}, "value"),
        ({"kind": "fax", "value": "123"}, "kind"),
        ({"kind": "member_card", "value": "   "}, "value"),
        ({"kind": "phone"}, "value"),
    ],
)
def test_it_refuses_a_bad_identity_naming_the_field(api_as, body, field):
    customer = make_customer("张伟")
    response = api_as("service").post(f"/api/customers/{customer.pk}/identities", body)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]
    assert CustomerIdentity.objects.count() == 0


@pytest.mark.django_db
def test_it_adds_a_note(api_as):
    customer = make_customer("张伟")
    response = api_as("service").post(f"/api/customers/{customer.pk}/notes", {"body": "客户要求周末送货"})
    assert response.status_code == 201
    assert (response.json()["author"], response.json()["body"]) == ("service", "客户要求周末送货")
    assert list(Note.objects.values_list("body", flat=True)) == ["客户要求周末送货"]


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{"body": ""}, {"body": "   "}, {"body": "x" * 5001}, {"text": "hi"}])
def test_it_refuses_an_empty_or_oversized_note(api_as, body):
    customer = make_customer("张伟")
    response = api_as("service").post(f"/api/customers/{customer.pk}/notes", body)
    assert response.status_code == 422
    assert Note.objects.count() == 0


# --- text handling ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_returns_markup_in_a_name_verbatim_as_a_json_string(api_as):
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    client = api_as("sales")
    created = client.post("/api/customers", {"name": payload})
    assert created.status_code == 201
    response = client.get(f"/api/customers/{created.json()['id']}")
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json()["name"] == payload
    assert json.dumps(payload, ensure_ascii=False).encode() in response.content
    assert b"&lt;" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["𠀀𪚥", "阿依古丽·买买提", "王小明😀", "Zoë Ñúñez", "\u202eevil\u202c"])
def test_it_round_trips_unicode_names_unchanged(api_as, name):
    client = api_as("sales")
    created = client.post("/api/customers", {"name": name})
    assert created.status_code == 201
    assert created.json()["name"] == name
    response = client.get(f"/api/customers/{created.json()['id']}")
    assert response.json()["name"] == name
    assert name.encode() in response.content
    assert Customer.objects.get().name == name


# --- query counts -------------------------------------------------------------------------------


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "store_manager"])
def test_it_lists_customers_in_a_constant_number_of_queries(api_as, ref, role, django_assert_max_num_queries):
    client = api_as(role)

    def add(n: int) -> None:
        for _ in range(n):
            customer = make_customer(
                "张伟", phone=f"1380013{Customer.objects.count():04d}", home_store_id=ref["stores"]["sh-01"].pk
            )
            make_order(customer, store="sh-01", channel="store")

    add(2)
    few = _queries(client, "/api/customers")
    add(10)
    with django_assert_max_num_queries(few):
        response = client.get("/api/customers")
    assert len(response.json()["items"]) == 12
    assert few <= 6


@pytest.mark.django_db
def test_it_shows_the_360_view_in_a_constant_number_of_queries(api_as, ref, django_assert_max_num_queries):
    client = api_as("service")
    customer = make_customer("李娜", phone="13900139000", email="li.na@example.com")
    make_order(customer)
    few = _queries(client, f"/api/customers/{customer.pk}/360")
    for i in range(10):
        make_order(
            customer, sku=["M-SHIRT-01", "M-COAT-01", "S-SNEAK-01"][i % 3], channel=["web", "app", "store"][i % 3]
        )
        do_set_consent(customer, ["sms", "email", "wechat"][i % 3], "marketing", "granted")
    with django_assert_max_num_queries(few):
        response = client.get(f"/api/customers/{customer.pk}/360")
    assert len(response.json()["recent_orders"]) == 11
    assert few <= 20
