"""Helpers for grid-entry tests: many stores and product models, and posting a grid save."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from kehu.commerce.models import Product, ProductCategory, Region, Store

MONTH = dt.date(2026, 11, 1)


def make_stores_and_products(n_stores: int, n_products: int) -> tuple[list[Store], list[Product]]:
    """Stores G001… and product models GRID-01… in bulk (the grid's size, not its subject)."""
    region = Region.objects.get_or_create(code="grid", defaults={"name": "华南", "name_en": "South"})[0]
    category = ProductCategory.objects.get_or_create(code="grid", defaults={"name": "女装", "name_en": "Womenswear"})[0]
    Store.objects.bulk_create(
        Store(code=f"g{i:03d}", name=f"门店{i:03d}", region=region, city="广州") for i in range(1, n_stores + 1)
    )
    Product.objects.bulk_create(
        Product(sku=f"GRID-{i:02d}", name=f"连衣裙{i:02d}", category=category, price=Decimal("399.00"))
        for i in range(1, n_products + 1)
    )
    return (
        list(Store.objects.filter(code__startswith="g").order_by("code")),
        list(Product.objects.filter(sku__startswith="GRID-").order_by("sku")),
    )


def post_json(client: Any, url: str, body: object) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")
