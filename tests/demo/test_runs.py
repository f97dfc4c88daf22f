"""The demo generator run after run: determinism, reset, the command, and the demo staff."""

from __future__ import annotations

import datetime as dt
import hashlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kehu.accounts.models import Role, User
from kehu.commerce.models import Order, OrderLine, Return, Shipment, ShipmentEvent
from kehu.customers.models import Customer, CustomerIdentity, Household, Interaction, SearchToken
from kehu.demo.generate import DemoDataExists, delete_demo_data, ensure_demo_staff, generate
from kehu.privacy.models import Consent, ConsentEvent
from tests.factories import PASSWORD, make_customer, make_order, make_reference_data

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))

pytestmark = pytest.mark.django_db(transaction=True)


def fingerprint() -> str:
    """A hash of the demo's content by natural keys (ids move between runs)."""
    digest = hashlib.sha256()
    tables = [
        Customer.objects.filter(source_system="demo")
        .order_by("source_id")
        .values_list(
            "source_id",
            "name",
            "kind",
            "gender",
            "birthday",
            "order_count",
            "total_spent",
            "first_order_at",
            "created_at",
            "home_store__code",
            "preferred_channel__code",
            "household__name",
        ),
        CustomerIdentity.objects.order_by("kind", "value").values_list("kind", "value", "customer__source_id"),
        Order.objects.order_by("number").values_list(
            "number",
            "customer__source_id",
            "channel__code",
            "store__code",
            "status",
            "ordered_at",
            "total_amount",
            "discount_amount",
            "paid_amount",
            "refunded_amount",
        ),
        OrderLine.objects.order_by("order__number", "line_no").values_list(
            "order__number", "line_no", "sku", "quantity", "amount"
        ),
        Shipment.objects.order_by("carrier", "tracking_number").values_list(
            "carrier", "tracking_number", "order__number", "status", "shipped_at", "delivered_at"
        ),
        Return.objects.order_by("source_id").values_list(
            "source_id", "order__number", "kind", "amount", "requested_at"
        ),
        Interaction.objects.order_by("customer__source_id", "occurred_at", "kind", "title").values_list(
            "customer__source_id", "occurred_at", "kind", "title", "detail"
        ),
        Consent.objects.order_by("customer__source_id", "channel").values_list(
            "customer__source_id", "channel", "status", "updated_at"
        ),
    ]
    for rows in tables:
        for row in rows:
            digest.update(repr(row).encode())
    return digest.hexdigest()


def test_it_generates_the_same_data_for_the_same_seed() -> None:
    generate(customers=300, seed=5, now=NOW, chunk_size=120)
    first = fingerprint()
    generate(customers=300, seed=5, now=NOW, chunk_size=120, reset=True)
    assert fingerprint() == first
    generate(customers=300, seed=6, now=NOW, chunk_size=120, reset=True)
    assert fingerprint() != first


def test_it_resets_demo_data_and_keeps_everything_else() -> None:
    make_reference_data()
    own = make_customer("赵敏", phone="13800138000")
    own_order = make_order(own, amount="199.00")
    generate(customers=200, seed=3, now=NOW)
    demo_orders = Order.objects.filter(source_system="demo").count()
    assert demo_orders > 0
    with pytest.raises(DemoDataExists):
        generate(customers=200, seed=3, now=NOW)
    assert Order.objects.filter(source_system="demo").count() == demo_orders

    result = generate(customers=200, seed=4, now=NOW, reset=True)
    assert result.deleted > demo_orders
    assert Customer.objects.filter(source_system="demo").count() == 200
    assert Customer.objects.filter(pk=own.pk).exists()
    assert Order.objects.filter(pk=own_order.pk).exists()
    assert Interaction.objects.filter(customer=own).count() == 1  # registration (the order is read from its table)

    delete_demo_data()
    assert list(Customer.objects.values_list("pk", flat=True)) == [own.pk]
    assert list(Order.objects.values_list("pk", flat=True)) == [own_order.pk]
    for model in (Return, Shipment, ShipmentEvent, Household, Consent, ConsentEvent):
        assert model.objects.count() == 0, model
    assert SearchToken.objects.exclude(customer=own).count() == 0
    assert Interaction.objects.exclude(customer=own).count() == 0


def test_it_never_hands_out_an_identity_that_belongs_to_someone_else() -> None:
    generate(customers=20, seed=3, now=NOW)
    phone_owner, phone = CustomerIdentity.objects.filter(kind="phone").values_list("customer__source_id", "value")[0]
    card_owner, card = (
        CustomerIdentity.objects.filter(kind="member_card")
        .exclude(customer__source_id=phone_owner)
        .values_list("customer__source_id", "value")[0]
    )
    delete_demo_data()
    own = make_customer("赵敏", phone=phone, member_card=card)
    generate(customers=20, seed=3, now=NOW)
    assert list(CustomerIdentity.objects.filter(value__in=[phone, card]).values_list("customer_id", flat=True)) == [
        own.pk,
        own.pk,
    ]
    assert CustomerIdentity.objects.filter(customer__source_id=phone_owner, kind="phone").count() == 0
    assert CustomerIdentity.objects.filter(customer__source_id=card_owner, kind="member_card").count() == 0


def test_it_continues_ids_after_existing_rows() -> None:
    make_reference_data()
    own = make_customer("赵敏")
    generate(customers=50, seed=1, now=NOW)
    assert Customer.objects.filter(source_system="demo").order_by("id").first().pk == own.pk + 1  # type: ignore[union-attr]
    # New rows after the load get fresh ids (the database's sequences moved past the demo's).
    later = make_customer("钱多多")
    assert later.pk == own.pk + 51


def test_the_command_generates_prints_a_summary_and_refuses_to_run_twice() -> None:
    out = StringIO()
    call_command("demo_data", customers=40, seed=2, now="2026-03-01T12:00:00+08:00", no_progress=True, stdout=out)
    assert Customer.objects.filter(source_system="demo").count() == 40
    assert "customers_customer" in out.getvalue()
    assert "Generated" in out.getvalue()
    with pytest.raises(CommandError, match="already contains demo data"):
        call_command("demo_data", customers=40, now="2026-03-01T12:00:00+08:00", no_progress=True, stdout=StringIO())
    assert Customer.objects.filter(source_system="demo").count() == 40
    with pytest.raises(CommandError, match="--now"):
        call_command("demo_data", customers=40, now="yesterday", reset=True, no_progress=True, stdout=StringIO())
    with pytest.raises(CommandError, match="--customers"):
        call_command("demo_data", customers=-1, reset=True, no_progress=True, stdout=StringIO())
    assert Customer.objects.filter(source_system="demo").count() == 40


def test_it_creates_demo_staff_once() -> None:
    staff = ensure_demo_staff(PASSWORD)
    assert [(u.username, u.role) for u in staff] == [
        ("admin", Role.ADMIN),
        ("marketing", Role.MARKETING),
        ("sales", Role.SALES),
        ("service", Role.SERVICE),
        ("store_manager", Role.STORE_MANAGER),
        ("analyst", Role.ANALYST),
    ]
    admin = User.objects.get(username="admin")
    assert admin.check_password(PASSWORD)
    assert admin.password.startswith("argon2")
    assert admin.is_superuser
    manager = User.objects.get(username="store_manager")
    assert sorted(manager.stores.values_list("code", flat=True)) == ["hz-001", "sh-001", "sh-002"]

    again = ensure_demo_staff("another-password-entirely")
    assert [u.pk for u in again] == [u.pk for u in staff]
    assert User.objects.get(username="admin").check_password(PASSWORD)
    assert User.objects.count() == 6


def test_store_managers_and_sales_appear_as_salespeople_when_they_exist() -> None:
    ensure_demo_staff(PASSWORD)
    generate(customers=400, seed=8, now=NOW)
    manager = User.objects.get(username="store_manager")
    managed = set(manager.stores.values_list("pk", flat=True))
    by_manager = Order.objects.filter(salesperson=manager)
    assert by_manager.count() > 0
    assert set(by_manager.values_list("store_id", flat=True)) <= managed
    sales = Order.objects.filter(salesperson__username="sales")
    assert sales.count() > 0
    assert sales.exclude(customer__kind__in=["b2b", "distributor"]).count() == 0
