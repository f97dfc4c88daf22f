"""Reads of the entered figures: who may enter which rows, the grids' contents, the charts, and
`store_sales_facts` for reports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from kehu.accounts import policy
from kehu.accounts.models import Role, User
from kehu.commerce.models import Product, ProductCategory, Store
from kehu.sales.cells import show
from kehu.sales.models import SalesTarget, StoreMonthlySales

if TYPE_CHECKING:
    from collections.abc import Iterable

MAX_PRODUCTS = 20  # product models one store-sales grid shows side by side
MEASURES = ("amount", "quantity", "both")
# Roles whose members carry a monthly sales target.
SALESPERSON_ROLES = (Role.SALES, Role.STORE_MANAGER)


def parse_month(text: str | None) -> dt.date | None:
    """'2026-11' → 2026-11-01; anything else → None."""
    try:
        year, month = (int(part) for part in (text or "").split("-"))
        return dt.date(year, month, 1)
    except ValueError:
        return None


def this_month() -> dt.date:
    return timezone.localdate().replace(day=1)


def enterable_stores(user: User) -> QuerySet[Store]:
    """Stores whose sales the user may see and enter: every active store, or a store manager's own."""
    policy.check(user, policy.ENTER_SALES)
    if policy.is_store_scoped(user):
        return user.stores.all().order_by("code")
    return Store.objects.filter(is_active=True).order_by("code")


def enterable_salespersons(user: User) -> QuerySet[User]:
    """Salespersons whose targets the user may see and set: all active sales staff and store
    managers, or for a store manager those who work in one of their stores (and themselves)."""
    policy.check(user, policy.ENTER_SALES)
    qs = User.objects.filter(is_active=True, role__in=SALESPERSON_ROLES)
    if policy.is_store_scoped(user):
        qs = qs.filter(Q(stores__in=user.stores.all()) | Q(pk=user.pk)).distinct()
    return qs.order_by("username")


def categories() -> QuerySet[ProductCategory]:
    return ProductCategory.objects.filter(products__is_active=True).distinct().order_by("id")


def grid_products(category_id: int | None, product_ids: Iterable[int]) -> tuple[list[Product], bool]:
    """The product models the grid shows: the ones picked, else the category's (or all) active
    products, at most MAX_PRODUCTS. Returns them and whether more would have matched."""
    picked = [pk for pk in product_ids if pk]
    qs = Product.objects.select_related("category").order_by("sku")
    if picked:
        qs = qs.filter(pk__in=picked)
    else:
        qs = qs.filter(is_active=True)
        if category_id:
            qs = qs.filter(category_id=category_id)
    products = list(qs[: MAX_PRODUCTS + 1])
    return products[:MAX_PRODUCTS], len(products) > MAX_PRODUCTS


def store_sales_grid(user: User, month: dt.date, products: list[Product]) -> list[dict[str, Any]]:
    """One row per enterable store with the stored figures of the given products, as the grid
    shows them: {"id", "code", "name", "region", "values": {"<product>:<field>": "12.50"}}."""
    stores = list(enterable_stores(user).select_related("region"))
    rows = {
        store.pk: {"id": store.pk, "code": store.code, "name": store.name, "region": store.region.name, "values": {}}
        for store in stores
    }
    figures = StoreMonthlySales.objects.filter(
        month=month, store_id__in=list(rows), product_id__in=[p.pk for p in products]
    ).values_list("store_id", "product_id", "quantity", "amount")
    for store_id, product_id, quantity, amount in figures:
        values = rows[store_id]["values"]
        values[f"{product_id}:quantity"] = show(quantity)
        values[f"{product_id}:amount"] = show(amount)
    return list(rows.values())


def targets_grid(user: User, year: int) -> list[dict[str, Any]]:
    """One row per enterable salesperson with their targets for each month of the year:
    {"id", "code", "name", "values": {"<month 1-12>:target": "50000.00"}}."""
    people = list(enterable_salespersons(user))
    rows = {
        person.pk: {
            "id": person.pk,
            "code": person.get_username(),
            "name": person.get_full_name() or person.get_username(),
            "role": person.role_label,
            "values": {},
        }
        for person in people
    }
    targets = SalesTarget.objects.filter(
        salesperson_id__in=list(rows), month__gte=dt.date(year, 1, 1), month__lte=dt.date(year, 12, 1)
    ).values_list("salesperson_id", "month", "amount")
    for person_id, month, amount in targets:
        rows[person_id]["values"][f"{month.month}:target"] = show(amount)
    return list(rows.values())


def store_sales_facts(user: User, first_month: dt.date, last_month: dt.date) -> QuerySet[StoreMonthlySales]:
    """The entered figures between two months (inclusive) the user may see, one row per month ×
    store × product with region and category, for reports and pivots."""
    store_ids = enterable_stores(user).values("pk")
    return (
        StoreMonthlySales.objects.filter(month__gte=first_month, month__lte=last_month, store_id__in=store_ids)
        .select_related("store__region", "product__category")
        .order_by("month", "store__code", "product__sku")
    )


@dataclass
class MonthSummary:
    month: dt.date
    amount: Decimal
    quantity: int
    target: Decimal
    by_store: list[tuple[str, Decimal, Decimal]]  # (store, sales, target) for the top stores
    by_category: list[tuple[str, Decimal]]

    @property
    def achieved(self) -> float | None:
        return float(self.amount / self.target) if self.target else None


def store_targets(month: dt.date, store_ids: Iterable[int]) -> dict[int, Decimal]:
    """The month's targets per store: each salesperson's target shared equally among the stores
    they work in (a salesperson in no store counts towards no store)."""
    wanted = set(store_ids)
    targets = dict(SalesTarget.objects.filter(month=month).values_list("salesperson_id", "amount"))
    stores_of: dict[int, list[int]] = {}
    for person_id, store_id in User.stores.through.objects.filter(user_id__in=list(targets)).values_list(
        "user_id", "store_id"
    ):
        stores_of.setdefault(person_id, []).append(store_id)
    shares: dict[int, Decimal] = {}
    for person_id, stores in stores_of.items():
        share = targets[person_id] / len(stores)
        for store_id in stores:
            if store_id in wanted:
                shares[store_id] = shares.get(store_id, Decimal(0)) + share
    return {store_id: amount.quantize(Decimal("0.01")) for store_id, amount in shares.items()}


def month_summary(user: User, month: dt.date, top_stores: int = 15) -> MonthSummary:
    """The month's entered sales, by store (with each store's share of the targets) and by
    category, against the targets of the salespersons the user may see."""
    stores = dict(enterable_stores(user).values_list("pk", "name"))
    figures = StoreMonthlySales.objects.filter(month=month, store_id__in=list(stores))
    totals = figures.aggregate(amount=Sum("amount"), quantity=Sum("quantity"))
    sales = {
        row["store_id"]: row["total"] or Decimal(0)
        for row in figures.values("store_id").annotate(total=Sum("amount")).order_by()
    }
    targets = store_targets(month, stores)
    ranked = sorted(
        set(sales) | set(targets),
        key=lambda pk: (-sales.get(pk, Decimal(0)), -targets.get(pk, Decimal(0)), stores[pk]),
    )
    by_store = [(stores[pk], sales.get(pk, Decimal(0)), targets.get(pk, Decimal(0))) for pk in ranked[:top_stores]]
    by_category = [
        (row["product__category__name"], row["total"])
        for row in figures.values("product__category__name").annotate(total=Sum("amount")).order_by("-total")
        if row["total"] is not None
    ]
    target = SalesTarget.objects.filter(
        month=month, salesperson_id__in=enterable_salespersons(user).values("pk")
    ).aggregate(total=Sum("amount"))["total"]
    return MonthSummary(
        month=month,
        amount=totals["amount"] or Decimal(0),
        quantity=totals["quantity"] or 0,
        target=target or Decimal(0),
        by_store=by_store,
        by_category=by_category,
    )


def year_vs_targets(user: User, year: int) -> list[tuple[str, Decimal, Decimal]]:
    """For each month of the year: (YYYY-MM, entered sales, targets) within the user's scope."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 1)
    sales = dict(
        StoreMonthlySales.objects.filter(
            month__gte=first, month__lte=last, store_id__in=enterable_stores(user).values("pk")
        )
        .values("month")
        .annotate(total=Sum("amount"))
        .values_list("month", "total")
    )
    targets = dict(
        SalesTarget.objects.filter(
            month__gte=first, month__lte=last, salesperson_id__in=enterable_salespersons(user).values("pk")
        )
        .values("month")
        .annotate(total=Sum("amount"))
        .values_list("month", "total")
    )
    return [
        (
            f"{year}-{m:02d}",
            sales.get(dt.date(year, m, 1)) or Decimal(0),
            targets.get(dt.date(year, m, 1)) or Decimal(0),
        )
        for m in range(1, 13)
    ]
