"""Reads of orders and the company's headline numbers, scoped by role."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kehu.accounts import policy
from kehu.commerce.models import PURCHASE_STATUSES, Order
from kehu.db import Read, Rows, Values

if TYPE_CHECKING:
    from kehu.accounts.models import User
    from kehu.commerce.forms import OrderFilters


def visible_orders(user: User) -> QuerySet[Order]:
    """Orders this user may see: all for most roles, their stores' orders for a store manager."""
    policy.check(user, policy.VIEW_ORDERS)
    qs = Order.objects.all()
    if policy.is_store_scoped(user):
        qs = qs.filter(store_id__in=user.stores.values("pk"))
    return qs


def filter_orders(qs: QuerySet[Order], filters: OrderFilters) -> QuerySet[Order]:
    """Apply the order list's filters; dates are local calendar days, the end day included."""
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.store:
        qs = qs.filter(store_id=filters.store)
    if filters.channel:
        qs = qs.filter(channel_id=filters.channel)
    if filters.number:
        qs = qs.filter(number__startswith=filters.number)
    tz = timezone.get_current_timezone()
    if filters.date_from:
        qs = qs.filter(ordered_at__gte=dt.datetime.combine(filters.date_from, dt.time.min, tzinfo=tz))
    if filters.date_to:
        day_after = filters.date_to + dt.timedelta(days=1)
        qs = qs.filter(ordered_at__lt=dt.datetime.combine(day_after, dt.time.min, tzinfo=tz))
    return qs


def ordered_orders(user: User, filters: OrderFilters) -> QuerySet[Order]:
    """The orders a user may see that match the filters, newest first (the list's and the
    export's order)."""
    return filter_orders(visible_orders(user), filters).order_by("-ordered_at", "-pk")


@dataclass
class OrderPage:
    orders: list[Order]
    next_cursor: str | None


def list_orders(user: User, filters: OrderFilters, cursor: str | None = None, page_size: int = 50) -> OrderPage:
    """One page of orders, keyset-paginated on (ordered_at, pk): page 10,000 costs what page 1 does."""
    from django.db.models import Q

    from kehu.customers.queries import decode_cursor, encode_cursor

    qs = ordered_orders(user, filters).select_related("customer", "channel", "store")
    after = decode_cursor(cursor) if cursor else None
    if after is not None and isinstance(after[0], dt.datetime):
        when, pk = after
        qs = qs.filter(Q(ordered_at__lt=when) | Q(ordered_at=when, pk__lt=pk))
    rows = list(qs[: page_size + 1])
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        next_cursor = encode_cursor(rows[-1].ordered_at, rows[-1].pk)
    return OrderPage(rows, next_cursor)


def access_order(user: User, order_id: int) -> Order:
    try:
        return visible_orders(user).select_related("customer", "channel", "store").get(pk=order_id)
    except Order.DoesNotExist:
        raise Http404(_("No such order.")) from None


@dataclass
class Headlines:
    customers: int
    active_customers: int
    repeat_rate: float | None
    revenue_this_month: Decimal
    orders_this_month: int
    revenue_by_month: list[tuple[str, Decimal]]
    orders_by_channel: list[tuple[str, int]]


def company_headlines(user: User) -> Headlines:
    """The home page's numbers. Cached for a few minutes per scope: they are company-wide
    aggregates over millions of rows and need not be live to the second."""
    from kehu.customers.queries import visible_customers

    scope_key = (
        "all"
        if not policy.is_store_scoped(user)
        else "stores-" + "-".join(str(pk) for pk in user.stores.order_by("pk").values_list("pk", flat=True))
    )
    key = f"kehu:headlines:{scope_key}:{timezone.localdate().isoformat()}"
    cached: Headlines | None = cache.get(key)
    if cached is not None:
        return cached
    customers = visible_customers(user)
    orders = visible_orders(user).filter(status__in=PURCHASE_STATUSES)
    now = timezone.localtime()
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    year_ago = now - dt.timedelta(days=365)
    total = customers.count()
    buyers = customers.filter(order_count__gt=0).count()
    repeaters = customers.filter(order_count__gt=1).count()
    month = orders.filter(ordered_at__gte=month_start).aggregate(revenue=Sum("paid_amount"), n=Count("pk"))
    twelve_months_ago = (month_start - dt.timedelta(days=335)).replace(day=1)
    by_month = [
        (
            timezone.localtime(row["month"]).strftime("%Y-%m")
            if isinstance(row["month"], dt.datetime)
            else str(row["month"])[:7],
            row["revenue"] or Decimal(0),
        )
        for row in orders.filter(ordered_at__gte=twelve_months_ago)
        .annotate(month=TruncMonth("ordered_at"))
        .values("month")
        .annotate(revenue=Sum("paid_amount"))
        .order_by("month")
    ]
    headlines = Headlines(
        customers=total,
        active_customers=customers.filter(last_order_at__gte=year_ago).count(),
        repeat_rate=(repeaters / buyers) if buyers else None,
        revenue_this_month=month["revenue"] or Decimal("0"),
        orders_this_month=month["n"] or 0,
        revenue_by_month=by_month,
        orders_by_channel=[
            (row["channel__name"], row["n"])
            for row in orders.filter(ordered_at__gte=month_start)
            .values("channel__name")
            .annotate(n=Count("pk"))
            .order_by("-n")
        ],
    )
    cache.set(key, headlines, 300)
    return headlines


# --- the 360 page's order reads, for one batch (kehu.db.read_many) -------------------------------


def order_scope_sql(user: User, alias: str) -> tuple[str, list[Any]]:
    """`visible_orders`' rule as SQL on the order table aliased `alias`: an `AND …` clause and its
    parameters (none for a user who sees every order)."""
    from kehu.accounts.models import User as UserModel

    policy.check(user, policy.VIEW_ORDERS)
    if not policy.is_store_scoped(user):
        return "", []
    through = UserModel._meta.get_field("stores").remote_field.through._meta  # type: ignore[attr-defined]
    store, owner = through.get_field("store").column, through.get_field("user").column
    return f" AND {alias}.store_id IN (SELECT s.{store} FROM {through.db_table} s WHERE s.{owner} = %s)", [user.pk]


def customer_order_reads(user: User, customer_id: int, recent: int = 20) -> list[Read]:
    """The customer's most recent orders (with channel and store), purchases per channel, and the
    five categories they spent most on, within the user's store scope: as reads for one batch.
    Their results are what `visible_orders` gives (a test compares them)."""
    from kehu.commerce.models import Channel, OrderLine, Product, ProductCategory

    scope_t, scope_params = order_scope_sql(user, "t")
    scope_o, _same = order_scope_sql(user, "o")
    statuses = list(PURCHASE_STATUSES)
    marks = ", ".join(["%s"] * len(statuses))
    purchases = [customer_id, *statuses, *scope_params]
    order, line = Order._meta, OrderLine._meta
    return [
        Rows(
            Order,
            "t.customer_id = %s" + scope_t,
            [customer_id, *scope_params],
            order_by="t.ordered_at DESC, t.id DESC",
            limit=recent,
            join=("channel", "store"),
        ),
        Values(
            f"SELECT ch.name, ch.name_en, ch.kind, COUNT(*), SUM(o.paid_amount) FROM {order.db_table} o "
            f"JOIN {Channel._meta.db_table} ch ON ch.id = o.channel_id "
            f"WHERE o.customer_id = %s AND o.status IN ({marks}){scope_o} "
            "GROUP BY ch.name, ch.name_en, ch.kind ORDER BY 4 DESC, ch.name",
            purchases,
            (
                ("channel__name", None),
                ("channel__name_en", None),
                ("channel__kind", None),
                ("orders", None),
                ("spent", order.get_field("paid_amount")),
            ),
        ),
        Values(
            f"SELECT c.name, c.name_en, SUM(l.quantity), SUM(l.amount) FROM {line.db_table} l "
            f"JOIN {order.db_table} o ON o.id = l.order_id "
            f"LEFT JOIN {Product._meta.db_table} p ON p.id = l.product_id "
            f"LEFT JOIN {ProductCategory._meta.db_table} c ON c.id = p.category_id "
            f"WHERE o.customer_id = %s AND o.status IN ({marks}){scope_o} "
            "GROUP BY c.name, c.name_en ORDER BY 4 DESC, c.name LIMIT 5",
            purchases,
            (
                ("product__category__name", None),
                ("product__category__name_en", None),
                ("quantity", None),
                ("spent", line.get_field("amount")),
            ),
        ),
    ]
