"""Test data built through the real actions, so tests exercise what users do."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from django.utils import timezone

from kehu.accounts.models import Role, User
from kehu.commerce.actions import ingest_orders
from kehu.commerce.models import Channel, ChannelKind, Order, Product, ProductCategory, Region, Store
from kehu.customers.actions import check_create_customer
from kehu.customers.models import Customer

PASSWORD = "correct-horse-battery-staple"
_seq = itertools.count(1)


def make_reference_data() -> dict[str, Any]:
    """Two regions, three stores, the channels, two categories and three products."""
    channels = {
        code: Channel.objects.get_or_create(code=code, defaults={"name": name, "name_en": name, "kind": kind})[0]
        for code, name, kind in [
            ("web", "官网商城", ChannelKind.WEB),
            ("app", "App", ChannelKind.APP),
            ("store", "门店", ChannelKind.STORE),
        ]
    }
    east = Region.objects.get_or_create(code="east", defaults={"name": "华东", "name_en": "East"})[0]
    north = Region.objects.get_or_create(code="north", defaults={"name": "华北", "name_en": "North"})[0]
    stores = {
        code: Store.objects.get_or_create(code=code, defaults={"name": name, "region": region, "city": city})[0]
        for code, name, region, city in [
            ("sh-01", "上海南京路店", east, "上海"),
            ("hz-01", "杭州湖滨店", east, "杭州"),
            ("bj-01", "北京王府井店", north, "北京"),
        ]
    }
    menswear = ProductCategory.objects.get_or_create(code="menswear", defaults={"name": "男装", "name_en": "Menswear"})[
        0
    ]
    shoes = ProductCategory.objects.get_or_create(code="shoes", defaults={"name": "鞋履", "name_en": "Shoes"})[0]
    products = {
        sku: Product.objects.get_or_create(
            sku=sku, defaults={"name": name, "category": cat, "price": Decimal(price), "cost": Decimal(price) / 2}
        )[0]
        for sku, name, cat, price in [
            ("M-SHIRT-01", "牛津纺衬衫", menswear, "299.00"),
            ("M-COAT-01", "羊毛大衣", menswear, "1299.00"),
            ("S-SNEAK-01", "休闲运动鞋", shoes, "499.00"),
        ]
    }
    return {"channels": channels, "stores": stores, "products": products}


def make_user(role: str = Role.ADMIN, *, username: str | None = None, stores: list[Store] | None = None) -> User:
    user = User.objects.create_user(
        username=username or f"{role}-{next(_seq)}", password=PASSWORD, role=role, email=f"{role}@example.com"
    )
    if stores:
        user.stores.set(stores)
    return user


def make_customer(name: str = "张伟", *, phone: str | None = None, email: str | None = None, **extra: Any) -> Customer:
    data: dict[str, Any] = {"name": name, **extra}
    if phone:
        data["phone"] = phone
    if email:
        data["email"] = email
    return check_create_customer(None, data)


def make_order(
    customer: Customer,
    *,
    amount: str = "299.00",
    channel: str = "web",
    store: str | None = None,
    sku: str = "M-SHIRT-01",
    ordered_at: dt.datetime | None = None,
    source_id: str | None = None,
) -> Order:
    result = ingest_orders(
        [
            {
                "source_system": "test",
                "source_id": source_id or f"T{next(_seq):06d}",
                "channel": channel,
                "store": store,
                "ordered_at": (ordered_at or timezone.now()).isoformat(),
                "total_amount": amount,
                "paid_amount": amount,
                "customer": {"id": customer.pk},
                "lines": [{"sku": sku, "quantity": 1, "unit_price": amount, "amount": amount}],
            }
        ],
        None,
    )
    assert not result.errors, result.errors
    return Order.objects.get(pk=result.order_ids[0])
