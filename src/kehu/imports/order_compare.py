"""Which incoming orders equal what is already stored, compared a column at a time.

Re-running an import sends every order through the per-order path of
`commerce.bulk_ingest.do_bulk_ingest_orders`, which reads each stored order and its lines as
Python objects and compares them field by field. When a file is imported again nearly all of
them are unchanged, so they are recognised here first, in bulk: the stored headers and lines
come back as columns (PostgreSQL `COPY … TO STDOUT` read by Arrow's CSV reader, SQLite one
query each) and are compared with the batch's arrays. Only the orders found different go on to
the per-order path, which records their previous values for revert (ADR 0201).

"Unchanged" means exactly what the per-order path means by it: the same header fields (the
stored buyer is kept, so the buyer never differs; discount and refund are what an import
writes, zero) and the same lines by line number, with product and name resolved as the importer
resolves them."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kehu.imports import bulksql

if TYPE_CHECKING:
    from kehu.commerce.bulk_ingest import OrderBatch

_HEADER = (
    ("id", pa.int64()),
    ("number", pa.string()),
    ("channel_id", pa.int64()),
    ("store_id", pa.int64()),
    ("status", pa.string()),
    ("ordered_at_us", pa.int64()),
    ("total_amount", pa.float64()),
    ("discount_amount", pa.float64()),
    ("paid_amount", pa.float64()),
    ("refunded_amount", pa.float64()),
)
_LINES = (
    ("order_id", pa.int64()),
    ("line_no", pa.int64()),
    ("product_id", pa.int64()),
    ("sku", pa.string()),
    ("name", pa.string()),
    ("quantity", pa.int64()),
    ("unit_price", pa.float64()),
    ("amount", pa.float64()),
)


def _cents(values: Any) -> np.ndarray:
    """Money read back as floating point (numeric(14, 2) has at most 14 digits, exact in a
    double after rounding) → integer cents."""
    return np.rint(np.asarray(values, dtype=np.float64) * 100).astype(np.int64)


def _ids(values: Any) -> np.ndarray:
    """A nullable integer column → int64, -1 for null."""
    array = pa.array(values, pa.int64()) if not isinstance(values, pa.Array | pa.ChunkedArray) else values
    return np.asarray(pc.fill_null(array, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _fetch(sql_postgres: str, sql_sqlite: str, ids: Sequence[int], shape: Sequence[tuple[str, Any]]) -> pa.Table:
    """Rows of a query over `ids` as an Arrow table of `shape`."""
    from django.db import connection

    names = [name for name, _kind in shape]
    with connection.cursor() as cursor:
        if bulksql.is_postgres():
            import pyarrow.csv as pa_csv

            buffer = io.BytesIO()
            # Integers only, so the array is written into the statement (COPY takes no parameters).
            array = "'{" + ",".join(str(int(i)) for i in ids) + "}'::bigint[]"
            query = sql_postgres.replace("%s", array)
            with cursor.cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)") as copy:
                for block in copy:
                    buffer.write(block)
            if not buffer.tell():
                return pa.table({name: pa.array([], kind) for name, kind in shape})
            buffer.seek(0)
            return pa_csv.read_csv(
                buffer,
                read_options=pa_csv.ReadOptions(column_names=names),
                parse_options=pa_csv.ParseOptions(newlines_in_values=True),
                convert_options=pa_csv.ConvertOptions(
                    column_types=dict(shape), strings_can_be_null=False, quoted_strings_can_be_null=False
                ),
            )
        rows: list[tuple[Any, ...]] = []
        for part in bulksql.batched(list(ids), bulksql.IN_BATCH):
            cursor.execute(sql_sqlite.format(**{"in": ", ".join(["%s"] * len(part))}), list(part))
            rows.extend(cursor.fetchall())
    # SQLite's adapters give datetimes (naive UTC) and decimals.
    values = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    out = {}
    for (name, kind), column in zip(shape, values, strict=True):
        if pa.types.is_floating(kind):
            column = [None if v is None else float(v) for v in column]
        out[name] = pa.array(column, pa.timestamp("us") if name == "ordered_at_us" else kind)
    return pa.table(out)


def _stored_headers(order_ids: Sequence[int]) -> pa.Table:
    from kehu.commerce.models import Order

    columns = (
        "id, number, channel_id, store_id, status, {at}, total_amount, discount_amount, paid_amount, refunded_amount"
    )
    table = bulksql.table(Order)
    return _fetch(
        f"SELECT {columns.format(at='(extract(epoch FROM ordered_at) * 1000000)::bigint')} FROM {table} "
        "WHERE id = ANY(%s)",
        f"SELECT {columns.format(at='ordered_at')} FROM {table} WHERE id IN ({{in}})",
        order_ids,
        _HEADER,
    )


def _stored_lines(order_ids: Sequence[int]) -> pa.Table:
    from kehu.commerce.models import OrderLine

    columns = ", ".join(name for name, _kind in _LINES)
    table = bulksql.table(OrderLine)
    return _fetch(
        f"SELECT {columns} FROM {table} WHERE order_id = ANY(%s) ORDER BY order_id, line_no",
        f"SELECT {columns} FROM {table} WHERE order_id IN ({{in}}) ORDER BY order_id, line_no",
        order_ids,
        _LINES,
    )


def _microseconds(column: Any) -> np.ndarray:
    if pa.types.is_timestamp(column.type):  # SQLite: naive UTC
        column = pc.cast(column, pa.int64())
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.int64)


def unchanged_stored_orders(
    batch: OrderBatch, order_ids: Sequence[int], products: Mapping[str, tuple[int, str]]
) -> np.ndarray:
    """For orders already stored (`order_ids[i]` is the stored id of `batch`'s order i), whether
    each equals its stored version, header and lines; `products` maps sku → (id, name)."""
    count = len(batch)
    same = np.ones(count, dtype=bool)
    if not count:
        return same
    ids = np.asarray(order_ids, dtype=np.int64)
    position_of = pd.Index(ids)

    header = _stored_headers(ids.tolist())
    where = position_of.get_indexer(np.asarray(header.column("id").to_numpy(), dtype=np.int64))
    found = np.zeros(count, dtype=bool)
    found[where] = True
    same &= found  # a stored order gone in between is not "unchanged"

    def at(values: Any) -> np.ndarray:
        """A stored column put in batch order (entries of missing orders are never read)."""
        values = np.asarray(values)
        out = np.empty(count, dtype=values.dtype)
        out[where] = values
        return out

    def strings(name: str) -> np.ndarray:
        return at(np.asarray(header.column(name).to_numpy(zero_copy_only=False), dtype=object))

    batch_store = np.array([-1 if s is None else int(s) for s in batch.store_id.tolist()], dtype=np.int64)
    same &= strings("number") == batch.number
    same &= at(_ids(header.column("channel_id"))) == np.asarray(batch.channel_id, dtype=np.int64)
    same &= at(_ids(header.column("store_id"))) == batch_store
    same &= strings("status") == batch.status
    same &= at(_microseconds(header.column("ordered_at_us"))) == batch.ordered_at.astype("datetime64[us]").view(
        np.int64
    )
    same &= at(_cents(header.column("total_amount"))) == batch.total_cents
    same &= at(_cents(header.column("paid_amount"))) == batch.paid_cents
    same &= at(_cents(header.column("discount_amount"))) == 0
    same &= at(_cents(header.column("refunded_amount"))) == 0

    # Lines: both sides by line number, compared rank by rank.
    line_order = np.asarray(batch.line_order, dtype=np.int64)
    wanted_count = np.bincount(line_order, minlength=count)
    stored = _stored_lines(ids[same].tolist())
    stored_order = position_of.get_indexer(np.asarray(stored.column("order_id").to_numpy(), dtype=np.int64))
    stored_count = np.bincount(stored_order, minlength=count)
    same &= wanted_count == stored_count
    if not same.any() or not len(line_order):
        return same
    # Slot of each line: its order's offset plus its rank within the order.
    offset = np.concatenate([[0], np.cumsum(wanted_count)[:-1]])
    # The batch's lines in slot order: by order, then line number (stored lines come back in
    # line-number order, whatever order the file listed them in).
    by_order = np.lexsort((np.asarray(batch.line_no, dtype=np.int64), line_order))
    # The stored lines come sorted by order id and line number; put them in batch order (each
    # order's lines stay together, by line number) and rank them within their order.
    keep_index = np.flatnonzero(same[stored_order])
    keep_index = keep_index[np.argsort(stored_order[keep_index], kind="stable")]
    stored_order = stored_order[keep_index]
    stored_rank = np.arange(len(stored_order)) - np.searchsorted(stored_order, stored_order, side="left")
    stored_slot = offset[stored_order] + stored_rank

    def placed(column: np.ndarray, fill: Any) -> np.ndarray:
        out = np.full(len(line_order), fill, dtype=column.dtype)
        out[stored_slot] = column[keep_index]
        return out

    def stored_column(name: str) -> np.ndarray:
        return np.asarray(stored.column(name).to_numpy(zero_copy_only=False))

    sku = np.asarray(batch.line_sku, dtype=object)
    product = np.array([products.get(s, (None, ""))[0] or -1 for s in sku.tolist()], dtype=np.int64)
    name = np.array(
        [n or products.get(s, (None, ""))[1] for n, s in zip(batch.line_name.tolist(), sku.tolist(), strict=True)],
        dtype=object,
    )
    differs = placed(stored_column("line_no").astype(np.int64), -1) != np.asarray(batch.line_no)[by_order]
    differs |= placed(_ids(stored.column("product_id")), -2) != product[by_order]
    differs |= placed(stored_column("sku").astype(object), None) != sku[by_order]
    differs |= placed(stored_column("name").astype(object), None) != name[by_order]
    differs |= placed(stored_column("quantity").astype(np.int64), -1) != np.asarray(batch.line_quantity)[by_order]
    differs |= placed(_cents(stored_column("unit_price")), -1) != np.asarray(batch.line_unit_cents)[by_order]
    differs |= placed(_cents(stored_column("amount")), -1) != np.asarray(batch.line_amount_cents)[by_order]
    # Lines of orders already found different were not placed: their slots hold the fills.
    changed_lines = np.bincount(line_order[by_order][differs], minlength=count) > 0
    return same & ~changed_lines


__all__ = ["unchanged_stored_orders"]
