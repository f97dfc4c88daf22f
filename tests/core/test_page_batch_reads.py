"""The 360 page's order reads and identity card, batched through `kehu.db.read_many`, give the rows
the role-scoped ORM querysets give: for a user who sees every order and for a store manager."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Count, Sum

from kehu.commerce.models import PURCHASE_STATUSES, Order, OrderLine, OrderStatus
from kehu.commerce.queries import customer_order_reads, visible_orders
from kehu.customers.models import Customer
from kehu.db import Values, read_many
from kehu.identity import queries as identity
from kehu.identity.actions import do_store_suggestions
from kehu.identity.matching import Candidate
from kehu.identity.merging import do_merge, do_unmerge
from kehu.identity.models import MergeRecord
from tests.factories import make_customer, make_order


def _orm_reads(user: Any, customer: Customer) -> list[Any]:
    """What the 360 page read through the ORM before it batched these reads."""
    orders = list(
        visible_orders(user)
        .filter(customer=customer)
        .select_related("channel", "store")
        .order_by("-ordered_at", "-pk")[:20]
    )
    purchases = visible_orders(user).filter(customer=customer, status__in=PURCHASE_STATUSES)
    channels = list(
        purchases.values("channel__name", "channel__name_en", "channel__kind")
        .annotate(orders=Count("pk"), spent=Sum("paid_amount"))
        .order_by("-orders", "channel__name")
    )
    categories = list(
        OrderLine.objects.filter(order__in=purchases)
        .values("product__category__name", "product__category__name_en")
        .annotate(quantity=Sum("quantity"), spent=Sum("amount"))
        .order_by("-spent", "product__category__name")[:5]
    )
    return [orders, channels, categories]


@pytest.fixture
def buyer(ref: dict[str, Any]) -> Customer:
    c = make_customer("欧阳·娜娜", phone="13900139011")
    make_order(c, amount="100.50", channel="web")
    make_order(c, amount="1299.00", channel="store", store="sh-01", sku="M-COAT-01")
    make_order(c, amount="499.00", channel="store", store="sh-01", sku="S-SNEAK-01")
    make_order(c, amount="88.80", channel="store", store="bj-01", sku="S-SNEAK-01")
    cancelled = make_order(c, amount="999.00", channel="app")
    Order.objects.filter(pk=cancelled.pk).update(status=OrderStatus.CANCELLED)
    return c


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "service", "analyst", "store_manager"])
def test_the_batched_order_reads_are_the_scoped_orm_reads(users: dict[str, Any], buyer: Customer, role: str) -> None:
    user = users[role]
    orders, channels, categories = read_many(customer_order_reads(user, buyer.pk))
    orm_orders, orm_channels, orm_categories = _orm_reads(user, buyer)
    assert [o.pk for o in orders] == [o.pk for o in orm_orders]
    assert [(o.channel.name, o.store and o.store.name, o.paid_amount) for o in orders] == [
        (o.channel.name, o.store and o.store.name, o.paid_amount) for o in orm_orders
    ]
    assert channels == orm_channels
    assert categories == orm_categories
    # Money stays Decimal (SQLite's SUM gives floats without the converters).
    assert all(type(row["spent"]) is Decimal for row in channels + categories)
    if role == "store_manager":  # sh-01 only: the web, app and Beijing orders are not theirs
        assert {o.store.code for o in orders} == {"sh-01"}
        assert sum(row["orders"] for row in channels) == 2
    else:
        assert len(orders) == 5 and sum(row["orders"] for row in channels) == 4


@pytest.mark.django_db
def test_values_keeps_the_orm_types_and_binds_parameters(buyer: Customer) -> None:
    (rows,) = read_many(
        [
            Values(
                "SELECT o.status, SUM(o.paid_amount) FROM commerce_order o WHERE o.customer_id = %s AND o.status <> %s "
                "GROUP BY o.status",
                [buyer.pk, "x'; DROP TABLE commerce_order; --"],
                (("status", None), ("paid", Order._meta.get_field("paid_amount"))),
            )
        ]
    )
    assert {r["status"]: r["paid"] for r in rows} == {
        OrderStatus.PAID: Decimal("1987.30"),
        OrderStatus.CANCELLED: Decimal("999.00"),
    }
    assert Order.objects.count() == 5


@pytest.mark.django_db
def test_the_batched_identity_card_is_what_the_orm_reads(users: dict[str, Any]) -> None:
    survivor = make_customer("李娜", phone="13900139021")
    twins = [make_customer("李娜", phone=f"139001390{30 + i}") for i in range(7)]
    gone = make_customer("李娜", phone="13900139099")
    do_store_suggestions(
        [Candidate(survivor.pk, t.pk, 60 + i, "probabilistic", []) for i, t in enumerate([*twins, gone])]
    )
    Customer.objects.filter(pk=gone.pk).delete()  # a suggestion may outlive one of its records
    for twin in twins[:2]:
        do_merge(users["admin"], survivor, twin)
    undone = MergeRecord.objects.filter(survivor_id=survivor.pk).order_by("-pk").first()  # the later one
    assert undone is not None
    do_unmerge(users["admin"], undone)

    for role in ["admin", "service"]:
        user = users[role]
        reads = identity.identity_card_reads(user, survivor)
        batched = identity.identity_card(user, survivor, read_many(reads))
        orm = identity.identity_card(user, survivor)
        assert [d["suggestion"].pk for d in batched.duplicates] == [d["suggestion"].pk for d in orm.duplicates]
        assert [d["other"].pk for d in batched.duplicates] == [d["other"].pk for d in orm.duplicates]
        assert len(batched.duplicates) == identity.CARD_SUGGESTIONS
        assert gone.pk not in {d["other"].pk for d in batched.duplicates}
        assert [m.pk for m in batched.merges] == [m.pk for m in orm.merges] and len(batched.merges) == 2
        assert [(m.merged_by.get_username(), m.undone_by and m.undone_by.get_username()) for m in batched.merges] == [
            (m.merged_by.get_username(), m.undone_by and m.undone_by.get_username()) for m in orm.merges
        ]
    for role in ["analyst", "store_manager", "marketing"]:  # may not merge: no card, nothing read
        assert identity.identity_card_reads(users[role], survivor) == []
        card = identity.identity_card(users[role], survivor)
        assert card.duplicates == [] and card.merges == [] and not card.can_merge
