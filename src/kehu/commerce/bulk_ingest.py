"""Bulk order + line ingest for imports: the set-based sibling of `actions.ingest_orders`.

Orders are keyed on (source system, source id); a batch is written with one upsert that only
rewrites orders whose values changed, lines are replaced only for orders whose lines changed,
buyers are resolved in bulk (`customers.bulk_upsert`), one timeline entry is written per new order
and the buyers' purchase figures are refreshed in one UPDATE per few thousand customers.
Call inside a transaction with validated input."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.commerce.models import Order, OrderLine, Product
from kehu.customers.actions import do_refresh_purchase_stats
from kehu.customers.bulk_upsert import Change, CustomerRow, do_bulk_upsert_customers, jsonable
from kehu.customers.models import Interaction, InteractionKind
from kehu.imports import bulksql

HEADER_FIELDS = (
    "number", "customer_id", "channel_id", "store_id", "status", "ordered_at",
    "total_amount", "discount_amount", "paid_amount", "refunded_amount",
)  # fmt: skip
LINE_FIELDS = ("line_no", "product_id", "sku", "name", "quantity", "unit_price", "amount")
STATS_BATCH = 5000


@dataclass
class LineRow:
    line_no: int
    sku: str
    quantity: int
    unit_price: Decimal
    amount: Decimal
    name: str = ""


@dataclass
class OrderRow:
    """One incoming order with its lines and its buyer, already validated."""

    source_system: str
    source_id: str
    number: str
    channel_id: int
    store_id: int | None
    status: str
    ordered_at: dt.datetime
    total_amount: Decimal
    paid_amount: Decimal
    customer: CustomerRow
    lines: list[LineRow]
    discount_amount: Decimal = Decimal("0.00")
    refunded_amount: Decimal = Decimal("0.00")


@dataclass
class BulkIngestResult:
    order_ids: list[int]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    customers_created: int = 0
    changes: list[Change] = field(default_factory=list)


def do_bulk_ingest_orders(
    orders: Sequence[OrderRow], *, settled: set[int] | None = None, ref_id: int | None = None
) -> BulkIngestResult:
    """Create, update or leave alone each order; returns per-order ids and counts."""
    buyers = do_bulk_upsert_customers(
        [o.customer for o in orders], update_profiles=False, settled=settled, ref_id=ref_id
    )
    result = BulkIngestResult(order_ids=[], customers_created=len(buyers.created))
    result.changes.extend(buyers.changes)
    products = _products({ln.sku for o in orders for ln in o.lines})
    stored, stored_lines = _stored_orders(orders)
    now = timezone.now()

    header_rows: list[tuple[Any, ...]] = []
    wanted_lines: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    lines_changed: set[tuple[str, str]] = set()
    touched_customers: set[int] = set()
    for order, customer_id in zip(orders, buyers.customer_ids, strict=True):
        key = (order.source_system, order.source_id)
        header = {f: getattr(order, f) for f in HEADER_FIELDS if f != "customer_id"}
        header["customer_id"] = customer_id
        lines = []
        for ln in order.lines:
            product_id, product_name = products.get(ln.sku, (None, ""))
            lines.append(
                (ln.line_no, product_id, ln.sku, ln.name or product_name, ln.quantity, ln.unit_price, ln.amount)
            )
        wanted_lines[key] = lines
        before = stored.get(key)
        if before is None:
            header_rows.append(_header_row(order, header, now))
            lines_changed.add(key)
            touched_customers.add(customer_id)
            continue
        # A stored order keeps its buyer: the file's buyer columns locate a customer for new orders only.
        header["customer_id"] = before["customer_id"]
        same_header = all(header[f] == before[f] for f in HEADER_FIELDS)
        same_lines = stored_lines.get(before["id"], []) == lines
        if same_header and same_lines:
            result.unchanged += 1
            continue
        result.updated += 1
        touched_customers.add(before["customer_id"])
        previous = jsonable({f: before[f] for f in (*HEADER_FIELDS, "updated_at")})
        previous["lines"] = [list(jsonable(dict(zip(LINE_FIELDS, ln, strict=True))).values()) for ln in
                             stored_lines.get(before["id"], [])]  # fmt: skip
        result.changes.append(Change("commerce.order", before["id"], False, previous))
        if not same_header:
            header_rows.append(_header_row(order, header, now))
        if not same_lines:
            lines_changed.add(key)

    written = bulksql.upsert_returning(
        Order,
        ["source_system", "source_id", *HEADER_FIELDS, "currency", "created_at", "updated_at"],
        header_rows,
        conflict=["source_system", "source_id"],
        update=list(HEADER_FIELDS),
        touch=["updated_at"],
        returning=["id", "source_system", "source_id"],
    )
    ids = {key: values["id"] for key, values in stored.items()}
    new_keys = set()
    for order_id, system, source_id in written:
        if (system, source_id) not in ids:
            new_keys.add((system, source_id))
        ids[(system, source_id)] = order_id
    result.created = len(new_keys)
    result.changes.extend(Change("commerce.order", ids[k], True) for k in sorted(new_keys, key=lambda k: ids[k]))

    replaced = [ids[k] for k in lines_changed if k not in new_keys]
    bulksql.delete_in(OrderLine, "order_id", replaced)
    bulksql.copy_insert(
        OrderLine,
        ["order_id", *LINE_FIELDS],
        [(ids[k], *line) for k in lines_changed for line in wanted_lines[k]],
    )
    bulksql.copy_insert(
        Interaction,
        ["customer_id", "kind", "occurred_at", "channel_id", "title", "detail", "ref_type", "ref_id"],
        [
            (cid, InteractionKind.ORDER.value, o.ordered_at, o.channel_id, _("Order %(number)s") % {"number": o.number},
             f"¥{o.paid_amount}", "order", ids[(o.source_system, o.source_id)])
            for o, cid in zip(orders, buyers.customer_ids, strict=True)
            if (o.source_system, o.source_id) in new_keys
        ],
    )  # fmt: skip
    result.order_ids = [ids[(o.source_system, o.source_id)] for o in orders]
    refresh_purchase_stats(touched_customers)
    return result


def refresh_purchase_stats(customer_ids: set[int]) -> None:
    for part in bulksql.batched(sorted(customer_ids), STATS_BATCH):
        do_refresh_purchase_stats(part)


def _header_row(order: OrderRow, header: dict[str, Any], now: dt.datetime) -> tuple[Any, ...]:
    return (order.source_system, order.source_id, *(header[f] for f in HEADER_FIELDS), "CNY", now, now)


def _products(skus: set[str]) -> dict[str, tuple[int, str]]:
    rows = bulksql.fetch_in(f"SELECT sku, id, name FROM {bulksql.table(Product)} WHERE sku IN ({{in}})", sorted(skus))
    return {sku: (pid, name) for sku, pid, name in rows}


def _stored_orders(
    orders: Sequence[OrderRow],
) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[int, list[tuple[Any, ...]]]]:
    stored: dict[tuple[str, str], dict[str, Any]] = {}
    by_system: dict[str, list[str]] = {}
    for order in orders:
        by_system.setdefault(order.source_system, []).append(order.source_id)
    for system, source_ids in by_system.items():
        for part in bulksql.batched(source_ids, bulksql.IN_BATCH):
            for values in Order.objects.filter(source_system=system, source_id__in=part).values(
                "id", "source_id", "updated_at", *HEADER_FIELDS
            ):
                stored[(system, values.pop("source_id"))] = values
    lines: dict[int, list[tuple[Any, ...]]] = {}
    order_ids = sorted(v["id"] for v in stored.values())
    for part in bulksql.batched(order_ids, bulksql.IN_BATCH):
        for order_id, *line in (
            OrderLine.objects.filter(order_id__in=part)
            .order_by("order_id", "line_no")
            .values_list("order_id", *LINE_FIELDS)
        ):
            lines.setdefault(order_id, []).append(tuple(line))
    return stored, lines
