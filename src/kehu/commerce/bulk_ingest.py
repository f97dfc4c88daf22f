"""Bulk order + line ingest for imports: the set-based sibling of `actions.ingest_orders`.

Orders are keyed on (source system, source id); a batch is written with one upsert that only
rewrites orders whose values changed, lines are replaced only for orders whose lines changed,
buyers are resolved in bulk (`customers.bulk_upsert`), one timeline entry is written per new order
and the buyers' purchase figures are refreshed in one UPDATE per few thousand customers.
Call inside a transaction with validated input.

`do_bulk_ingest_order_batch` is the column-at-a-time form the importer's hot path uses: buyers are
resolved from arrays (`customers.bulk_upsert.do_bulk_upsert_buyers`), new orders go from arrays
straight into `COPY` (no object per row), orders already stored are compared with what is stored
column-wise (`imports.order_compare`) and only those that differ take the per-order path above,
which keeps their previous values for revert (ADR 0201)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from kehu.commerce.models import PURCHASE_STATUSES, Channel, Order, OrderLine, Product, Store
from kehu.customers.actions import do_refresh_purchase_stats
from kehu.customers.bulk_upsert import (
    Change,
    CustomerRow,
    do_bulk_upsert_buyers,
    do_bulk_upsert_customers,
    do_index_missing_names,
    jsonable,
)
from kehu.customers.models import Customer
from kehu.imports import bulksql
from kehu.pgcopy import copy_arrow

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
        lines.sort(key=lambda line: line[0])  # as stored lines are read: by line number
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
    result.changes.append(Change("commerce.order", None, True, ids=sorted(ids[k] for k in new_keys)))

    replaced = [ids[k] for k in lines_changed if k not in new_keys]
    bulksql.delete_in(OrderLine, "order_id", replaced)
    bulksql.copy_insert(
        OrderLine,
        ["order_id", *LINE_FIELDS],
        [(ids[k], *line) for k in lines_changed for line in wanted_lines[k]],
    )
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


# --- Column batches ---------------------------------------------------------------------------

BUYER_FIELDS = ("name", "phone", "email", "member_card", "province", "city", "district", "detail")


@dataclass
class OrderBatch:
    """Validated orders of one import chunk as parallel arrays (one entry per order, lines in
    `line_*` arrays pointing at their order by position), plus each order's buyer columns.
    Money is integer cents, `ordered_at` UTC `datetime64[us]`."""

    source_system: str
    first_row: Any  # file row number of each order's first line: the order orders are resolved in
    number: Any
    channel_id: Any
    store_id: Any  # object array: int or None
    status: Any
    ordered_at: Any
    total_cents: Any
    paid_cents: Any
    buyer: dict[str, Any]  # BUYER_FIELDS → object arrays
    line_order: Any
    line_no: Any
    line_sku: Any
    line_name: Any
    line_quantity: Any
    line_unit_cents: Any
    line_amount_cents: Any

    def __len__(self) -> int:
        return len(self.number)

    @classmethod
    def from_rows(cls, source_system: str, orders: Sequence[OrderRow], first_rows: Sequence[int]) -> OrderBatch:
        """The same orders built by the per-row validator (the rare rows the fast path declined)."""
        import numpy as np

        def cents(value: Decimal) -> int:
            return int(value.scaleb(2))

        lines = [(i, ln) for i, o in enumerate(orders) for ln in o.lines]
        return cls(
            source_system=source_system,
            first_row=np.array(first_rows, dtype=np.int64),
            number=np.array([o.number for o in orders], dtype=object),
            channel_id=np.array([o.channel_id for o in orders], dtype=np.int64),
            store_id=np.array([o.store_id for o in orders], dtype=object),
            status=np.array([o.status for o in orders], dtype=object),
            ordered_at=np.array(
                [o.ordered_at.astimezone(dt.UTC).replace(tzinfo=None) for o in orders], dtype="datetime64[us]"
            ),
            total_cents=np.array([cents(o.total_amount) for o in orders], dtype=np.int64),
            paid_cents=np.array([cents(o.paid_amount) for o in orders], dtype=np.int64),
            buyer={f: np.array([getattr(o.customer, f) for o in orders], dtype=object) for f in BUYER_FIELDS},
            line_order=np.array([i for i, _ln in lines], dtype=np.int64),
            line_no=np.array([ln.line_no for _i, ln in lines], dtype=np.int64),
            line_sku=np.array([ln.sku for _i, ln in lines], dtype=object),
            line_name=np.array([ln.name for _i, ln in lines], dtype=object),
            line_quantity=np.array([ln.quantity for _i, ln in lines], dtype=np.int64),
            line_unit_cents=np.array([cents(ln.unit_price) for _i, ln in lines], dtype=np.int64),
            line_amount_cents=np.array([cents(ln.amount) for _i, ln in lines], dtype=np.int64),
        )

    def take(self, orders: Any) -> OrderBatch:
        """The batch restricted to these order positions (in this order), lines following."""
        import numpy as np

        orders = np.asarray(orders, dtype=np.int64)
        position = np.full(len(self), -1, dtype=np.int64)
        position[orders] = np.arange(len(orders))
        keep = np.flatnonzero(position[self.line_order] >= 0)
        keep = keep[np.argsort(position[self.line_order[keep]], kind="stable")]
        return OrderBatch(
            self.source_system, self.first_row[orders], self.number[orders], self.channel_id[orders],
            self.store_id[orders], self.status[orders], self.ordered_at[orders], self.total_cents[orders],
            self.paid_cents[orders], {f: v[orders] for f, v in self.buyer.items()},
            position[self.line_order[keep]], self.line_no[keep], self.line_sku[keep], self.line_name[keep],
            self.line_quantity[keep], self.line_unit_cents[keep], self.line_amount_cents[keep],
        )  # fmt: skip

    @classmethod
    def concat(cls, batches: Sequence[OrderBatch]) -> OrderBatch:
        """Batches joined and put in file order (by first row), so buyers resolve as in the file."""
        import numpy as np

        if len(batches) == 1:
            joined = batches[0]
        else:
            offsets = np.cumsum([0, *[len(b) for b in batches[:-1]]])

            def cat(name: str) -> Any:
                return np.concatenate([getattr(b, name) for b in batches])

            joined = cls(
                batches[0].source_system, cat("first_row"), cat("number"), cat("channel_id"), cat("store_id"),
                cat("status"), cat("ordered_at"), cat("total_cents"), cat("paid_cents"),
                {f: np.concatenate([b.buyer[f] for b in batches]) for f in BUYER_FIELDS},
                np.concatenate([b.line_order + off for b, off in zip(batches, offsets, strict=True)]),
                cat("line_no"), cat("line_sku"), cat("line_name"), cat("line_quantity"), cat("line_unit_cents"),
                cat("line_amount_cents"),
            )  # fmt: skip
        order = np.argsort(joined.first_row, kind="stable")
        return joined if np.all(order == np.arange(len(order))) else joined.take(order)

    def to_rows(self, buyer_rows: Sequence[CustomerRow]) -> list[OrderRow]:
        """Per-order objects for the orders that take the per-order path (already stored ones)."""
        lines: list[list[LineRow]] = [[] for _ in range(len(self))]
        for i, line_no, sku, name, quantity, unit, amount in zip(
            self.line_order.tolist(), self.line_no.tolist(), self.line_sku, self.line_name,
            self.line_quantity.tolist(), self.line_unit_cents.tolist(), self.line_amount_cents.tolist(), strict=True,
        ):  # fmt: skip
            lines[i].append(LineRow(line_no, sku, quantity, Decimal(unit).scaleb(-2), Decimal(amount).scaleb(-2), name))
        zone = dt.UTC
        return [
            OrderRow(
                source_system=self.source_system,
                source_id=number,
                number=number,
                channel_id=int(channel_id),
                store_id=store_id,
                status=status,
                ordered_at=ordered_at.astype(dt.datetime).replace(tzinfo=zone),
                total_amount=Decimal(int(total)).scaleb(-2),
                paid_amount=Decimal(int(paid)).scaleb(-2),
                customer=buyer_rows[i],
                lines=lines[i],
            )
            for i, (number, channel_id, store_id, status, ordered_at, total, paid) in enumerate(
                zip(
                    self.number,
                    self.channel_id,
                    self.store_id,
                    self.status,
                    self.ordered_at,
                    self.total_cents,
                    self.paid_cents,
                    strict=True,
                )
            )
        ]


def _buyer_firsts(batch: OrderBatch) -> tuple[Any, Any]:
    """The first order of each distinct buyer (identities and address) in file order, and each
    order's buyer position. Identical rows resolve identically, so resolving the distinct ones
    in first-appearance order gives the same customers as resolving every row."""
    import pandas as pd

    frame = pd.DataFrame(batch.buyer)
    key = list(BUYER_FIELDS[1:])
    codes = frame.groupby(key, sort=False, dropna=False).ngroup().to_numpy()
    firsts = pd.Series(range(len(codes))).groupby(codes, sort=True).first().to_numpy()
    return firsts, codes


def _buyer_rows(batch: OrderBatch, firsts: Any) -> list[CustomerRow]:
    """The distinct buyers as CustomerRows, for orders that take the per-order path."""
    rows: list[CustomerRow] = []
    for index in firsts.tolist():
        values = {f: batch.buyer[f][index] for f in BUYER_FIELDS}
        store = batch.store_id[index]
        rows.append(
            CustomerRow(
                row=int(batch.first_row[index]), source_system=batch.source_system, **values,
                preferred_channel_id=int(batch.channel_id[index]), home_store_id=store,
            )
        )  # fmt: skip
    return rows


def do_bulk_ingest_order_batch(
    batch: OrderBatch,
    *,
    settled: set[int] | None = None,
    ref_id: int | None = None,
    pending: PendingPurchaseStats | None = None,
) -> BulkIngestResult:
    """`do_bulk_ingest_orders` for a column batch: buyers resolved once per distinct buyer,
    new orders, their lines and timeline entries written by COPY from arrays, the buyers'
    purchase figures brought up to date set-based. With `pending`, the figures of the buyers of
    new orders and of orders already stored, and the name tokens of new buyers, are left to
    `pending.refresh()` at the end of the import (one recompute per customer instead of one
    update per customer and chunk, and tokens written once, with the final spend). Call inside
    a transaction."""
    import numpy as np

    result = BulkIngestResult(order_ids=[])
    if not len(batch):
        return result
    firsts, buyer_of = _buyer_firsts(batch)
    buyers = do_bulk_upsert_buyers(
        {f: batch.buyer[f][firsts] for f in BUYER_FIELDS}, source_system=batch.source_system,
        preferred_channel_id=batch.channel_id[firsts], home_store_id=batch.store_id[firsts], settled=settled,
        ref_id=ref_id, index_names=pending is None,
    )  # fmt: skip
    if pending is not None and buyers.created:
        pending.add(np.fromiter(buyers.created, dtype=np.int64, count=len(buyers.created)))
    result.customers_created = len(buyers.created)
    result.changes.extend(buyers.changes)
    customer_of = np.asarray(buyers.customer_ids, dtype=np.int64)[buyer_of]

    found = bulksql.fetch_any(
        f"SELECT source_id, id, customer_id FROM {bulksql.table(Order)} "
        "WHERE source_system = %s AND source_id IN ({in})",
        batch.number.tolist(),
        [batch.source_system],
    )
    stored = {source_id: order_id for source_id, order_id, _customer in found}
    if pending is not None and found:
        # Their figures may lack these orders if an earlier run was killed between a chunk's
        # commit and its refresh: recomputing them at the end makes a re-run repair that.
        pending.add(np.array([customer for _s, _o, customer in found], dtype=np.int64))
    is_new = (
        np.array([n not in stored for n in batch.number.tolist()], dtype=bool)
        if stored
        else np.ones(len(batch), dtype=bool)
    )
    if not is_new.all():
        # Stored orders: those equal to the file are found column-wise; the others are compared
        # per order and rewritten with their previous values recorded.
        from kehu.imports.order_compare import unchanged_stored_orders

        old = np.flatnonzero(~is_new)
        stored_batch = batch.take(old)
        same = unchanged_stored_orders(
            stored_batch,
            [stored[n] for n in stored_batch.number.tolist()],
            _products(set(stored_batch.line_sku.tolist())),
        )
        result.unchanged = int(same.sum())
        old = old[~same]
        if len(old):
            buyer_rows = _buyer_rows(batch, firsts)
            again = do_bulk_ingest_orders(
                batch.take(old).to_rows([buyer_rows[i] for i in buyer_of[old].tolist()]), settled=settled, ref_id=ref_id
            )
            result.updated, result.unchanged = again.updated, result.unchanged + again.unchanged
            result.created += again.created
            result.changes.extend(again.changes)
    fresh = np.flatnonzero(is_new)
    if len(fresh):
        result.created += _insert_new_orders(
            batch.take(fresh), customer_of[fresh], ref_id, result, pending, new_customers=buyers.created
        )
    return result


class PendingPurchaseStats:
    """Customers whose cached purchase figures an import recomputes once, when it ends, instead
    of after every chunk (a buyer with orders in twenty chunks is then written once, not twenty
    times); those among them without name tokens (the import's new buyers) are indexed right
    after, so each token is inserted once with the final spend instead of inserted with none
    and rewritten by the spend trigger (ADR 0201, revision 3). Ids are kept as compacted NumPy
    arrays, so memory grows with the number of distinct buyers (8 bytes each), not with the
    file. Until `refresh` runs the figures of these buyers lag behind their committed orders,
    and the new buyers are found by phone, email or card but not yet by name; a killed import
    is repaired by its re-run (which adds the buyers of the orders already stored) or by the
    nightly reconciliation."""

    COMPACT_AT = 2_000_000

    def __init__(self) -> None:
        self._parts: list[Any] = []
        self._size = 0

    def add(self, customer_ids: Any) -> None:
        import numpy as np

        self._parts.append(np.asarray(customer_ids, dtype=np.int64))
        self._size += len(self._parts[-1])
        if self._size > self.COMPACT_AT:
            self._parts = [self.ids()]
            self._size = len(self._parts[0])

    def ids(self) -> Any:
        import numpy as np

        return np.unique(np.concatenate(self._parts)) if self._parts else np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.ids())

    def refresh(self) -> int:
        """Recompute the figures of every pending customer from their orders; returns how many
        customers were pending. Call inside a transaction."""
        ids = self.ids()
        self._parts, self._size = [], 0
        for part in bulksql.batched(ids.tolist(), REFRESH_BATCH):
            if bulksql.is_postgres():
                _recompute_purchases_postgres(part)
            else:
                refresh_purchase_stats(set(part))
            do_index_missing_names(part)
        return len(ids)


REFRESH_BATCH = 50_000


def _recompute_purchases_postgres(customer_ids: Sequence[int]) -> None:
    """`customers.actions.do_refresh_purchase_stats` as one join and aggregate instead of four
    correlated subqueries per customer; rows whose figures are already right are not rewritten."""
    from django.db import connection

    from kehu.customers.models import Customer

    customer, order = bulksql.table(Customer), bulksql.table(Order)
    statuses = [s.value for s in PURCHASE_STATUSES]
    with connection.cursor() as cursor, bulksql.foreign_keys_checked_set_based({}):
        # No key column changes (see `_add_purchases`).
        cursor.execute(
            f"UPDATE {customer} c SET order_count = s.n, total_spent = s.spent, first_order_at = s.first_at, "
            "last_order_at = s.last_at FROM ("
            "  SELECT u.id, count(o.id) AS n, COALESCE(sum(o.paid_amount) - sum(o.refunded_amount), 0) AS spent,"
            "         min(o.ordered_at) AS first_at, max(o.ordered_at) AS last_at"
            f"  FROM unnest(%s::bigint[]) AS u(id) LEFT JOIN {order} o"
            "    ON o.customer_id = u.id AND o.status = ANY(%s) GROUP BY u.id"
            ") s WHERE c.id = s.id AND (c.order_count, c.total_spent, c.first_order_at, c.last_order_at) "
            "IS DISTINCT FROM (s.n, s.spent, s.first_at, s.last_at)",
            [bulksql.pg_array(customer_ids), statuses],
        )


def _insert_new_orders(
    batch: OrderBatch,
    customer_ids: Any,
    ref_id: int | None,
    result: BulkIngestResult,
    pending: PendingPurchaseStats | None = None,
    new_customers: set[int] | frozenset[int] = frozenset(),
) -> int:
    """Write orders known to be new. `new_customers`: buyers created earlier in this
    transaction, whose rows need no key check or lock (nothing else can see them yet)."""
    import numpy as np
    import pyarrow as pa

    count = len(batch)
    order_ids = np.asarray(bulksql.allocate_ids(Order, count), dtype=np.int64)
    now = timezone.now()
    products = _products(set(batch.line_sku.tolist()))
    product_ids = [products.get(sku, (None, ""))[0] for sku in batch.line_sku.tolist()]
    names = [
        name or products.get(sku, (None, ""))[1] for name, sku in zip(batch.line_name, batch.line_sku, strict=True)
    ]
    stamp = pa.array(np.full(count, np.datetime64(now.astimezone(dt.UTC).replace(tzinfo=None), "us")),
                     pa.timestamp("us", tz="UTC"))  # fmt: skip
    ordered_at = pa.array(batch.ordered_at, pa.timestamp("us", tz="UTC"))
    zero = bulksql.cents_to_decimal(np.zeros(count, dtype=np.int64))
    paid = bulksql.cents_to_decimal(batch.paid_cents)
    channel = pa.array(batch.channel_id, pa.int64())
    buyers = np.unique(customer_ids)
    if new_customers:
        buyers = buyers[~np.isin(buyers, np.fromiter(new_customers, dtype=np.int64, count=len(new_customers)))]
    references = {Customer: buyers.tolist(), Channel: np.unique(batch.channel_id).tolist(),
                  Store: set(batch.store_id.tolist()), Product: set(product_ids)}  # fmt: skip
    # Order lines reference the orders copied in the same block, and new buyers were written in
    # this transaction; nothing else is left unchecked.
    with bulksql.foreign_keys_checked_set_based(references):
        bulksql.copy_arrow(
            Order,
            pa.table({
                "id": pa.array(order_ids), "source_system": pa.array([batch.source_system] * count, pa.string()),
                "source_id": pa.array(batch.number, pa.string()), "number": pa.array(batch.number, pa.string()),
                "customer_id": pa.array(customer_ids, pa.int64()), "channel_id": channel,
                "store_id": pa.array(batch.store_id.tolist(), pa.int64()),
                "status": pa.array(batch.status, pa.string()),
                "ordered_at": ordered_at, "currency": pa.array(["CNY"] * count, pa.string()),
                "total_amount": bulksql.cents_to_decimal(batch.total_cents), "discount_amount": zero,
                "paid_amount": paid, "refunded_amount": zero, "created_at": stamp, "updated_at": stamp,
            }),
        )  # fmt: skip
        bulksql.copy_arrow(
            OrderLine,
            pa.table({
                "order_id": pa.array(order_ids[batch.line_order]), "line_no": pa.array(batch.line_no, pa.int64()),
                "product_id": pa.array(product_ids, pa.int64()), "sku": pa.array(batch.line_sku, pa.string()),
                "name": pa.array(names, pa.string()), "quantity": pa.array(batch.line_quantity, pa.int64()),
                "unit_price": bulksql.cents_to_decimal(batch.line_unit_cents),
                "amount": bulksql.cents_to_decimal(batch.line_amount_cents),
            }),
        )  # fmt: skip
    result.changes.append(Change("commerce.order", None, True, ids=order_ids.tolist()))
    if pending is not None:
        pending.add(customer_ids)
    else:
        _add_purchases(batch, customer_ids)
    return count


def _add_purchases(batch: OrderBatch, customer_ids: Any) -> None:
    """Bring the buyers' purchase figures up to date for these new orders. PostgreSQL adds the
    chunk's totals to the stored ones in one UPDATE (exact numeric arithmetic); SQLite, whose
    decimal columns are floating point, recomputes the touched customers from their orders so
    the figures equal what the reconciliation job computes, bit for bit."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    purchase = np.isin(batch.status, [s.value for s in PURCHASE_STATUSES])
    if not purchase.any():
        return
    if not bulksql.is_postgres():
        refresh_purchase_stats(set(np.unique(customer_ids[purchase]).tolist()))
        return
    frame = pd.DataFrame({"customer": customer_ids[purchase], "paid": batch.paid_cents[purchase],
                          "at": batch.ordered_at[purchase]})  # fmt: skip
    totals = frame.groupby("customer").agg(n=("paid", "size"), spent=("paid", "sum"), first=("at", "min"),
                                           last=("at", "max"))  # fmt: skip
    from django.db import connection

    from kehu.customers.models import Customer

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE kehu_purchases (id bigint, n integer, spent numeric(14, 2), "
            "first_at timestamptz, last_at timestamptz) ON COMMIT DROP"
        )
    stage = pa.table({
        "id": pa.array(totals.index.to_numpy(), pa.int64()), "n": pa.array(totals["n"].to_numpy(), pa.int64()),
        "spent": bulksql.cents_to_decimal(totals["spent"].to_numpy()),
        "first_at": pa.array(totals["first"].to_numpy().astype("datetime64[us]"), pa.timestamp("us", tz="UTC")),
        "last_at": pa.array(totals["last"].to_numpy().astype("datetime64[us]"), pa.timestamp("us", tz="UTC")),
    })  # fmt: skip
    copy_arrow("kehu_purchases", stage)
    with connection.cursor() as cursor:
        customer = bulksql.table(Customer)
        # No key column changes, so no foreign key needs checking; PostgreSQL would still run
        # the checks again for customers inserted earlier in this transaction.
        with bulksql.foreign_keys_checked_set_based({}):
            cursor.execute(
                f"UPDATE {customer} c SET order_count = c.order_count + p.n, total_spent = c.total_spent + p.spent, "
                "first_order_at = LEAST(c.first_order_at, p.first_at), "
                "last_order_at = GREATEST(c.last_order_at, p.last_at) "
                "FROM kehu_purchases p WHERE c.id = p.id"
            )
        cursor.execute("DROP TABLE kehu_purchases")


__all__ = [
    "LineRow",
    "OrderBatch",
    "OrderRow",
    "PendingPurchaseStats",
    "do_bulk_ingest_order_batch",
    "do_bulk_ingest_orders",
]
