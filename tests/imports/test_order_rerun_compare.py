"""Re-running an order import: orders equal to the file are recognised column-wise
(`imports.order_compare`), every difference, in the file or in the stored order, still makes
the order "updated" and rewrites it as the per-order path does."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from kehu.commerce.models import Order, OrderLine
from kehu.customers.actions import purchase_stats_drift
from kehu.imports import order_compare
from kehu.imports.actions import revert_import
from tests.imports.conftest import run, write_csv
from tests.imports.test_order_import import order_rows


def _set(row: int, column: int, value: str) -> Callable[[list[list[str]]], None]:
    def edit(rows: list[list[str]]) -> None:
        rows[row][column] = value

    return edit


def _drop(row: int) -> Callable[[list[list[str]]], None]:
    return lambda rows: rows.pop(row)


def _swap_lines(rows: list[list[str]]) -> None:
    rows[1], rows[2] = rows[2], rows[1]  # O1's two lines: line numbers follow the file order


FILE_EDITS = {
    "quantity": _set(1, 7, "3"),
    "unit price": _set(1, 8, "299.50"),
    "paid amount": _set(1, 9, "1000"),
    "ordered at": _set(1, 1, "2025-11-11 10:01"),
    "channel": _set(1, 2, "app"),
    "store": _set(1, 3, "sh-01"),
    "sku": _set(2, 6, "M-COAT-01"),
    "line removed": _drop(2),
    "lines swapped": _swap_lines,
    "line added": lambda rows: rows.insert(3, [*rows[2][:6], "M-COAT-01", "1", "1299", ""]),
}


def _db_edit(kind: str) -> None:
    order = Order.objects.get(source_id="O1")
    line = order.lines.get(line_no=1)
    if kind == "status":
        Order.objects.filter(pk=order.pk).update(status="cancelled")
    elif kind == "refunded":
        Order.objects.filter(pk=order.pk).update(refunded_amount=Decimal("10.00"))
    elif kind == "discount":
        Order.objects.filter(pk=order.pk).update(discount_amount=Decimal("0.01"))
    elif kind == "total":
        Order.objects.filter(pk=order.pk).update(total_amount=Decimal("1097.01"))
    elif kind == "number":
        Order.objects.filter(pk=order.pk).update(number="O1-renamed")
    elif kind == "line name":
        OrderLine.objects.filter(pk=line.pk).update(name="改过的名字")
    elif kind == "line product":
        OrderLine.objects.filter(pk=line.pk).update(product=None)
    elif kind == "line amount":
        OrderLine.objects.filter(pk=line.pk).update(amount=Decimal("598.01"))
    elif kind == "line deleted":
        OrderLine.objects.filter(pk=line.pk).delete()
    elif kind == "line added":
        OrderLine.objects.create(order=order, line_no=9, sku="X", name="x", quantity=1, unit_price=1, amount=1)
    else:
        raise AssertionError(kind)


def _snapshot() -> list[tuple[Any, ...]]:
    return sorted(
        (o.source_id, o.number, o.channel_id, o.store_id, o.status, o.ordered_at, o.total_amount, o.paid_amount,
         o.discount_amount, o.refunded_amount,
         tuple(o.lines.order_by("line_no").values_list("line_no", "product_id", "sku", "name", "quantity",
                                                       "unit_price", "amount")))
        for o in Order.objects.all()
    )  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("edit", FILE_EDITS.values(), ids=FILE_EDITS.keys())
def test_a_changed_line_in_the_file_updates_that_order_only(ref, files, edit):
    rows = order_rows(10)
    run("orders", write_csv(files / "a.csv", rows), source="shop", chunk_rows=4)
    edit(rows)
    changed = run("orders", write_csv(files / "b.csv", rows), source="shop", chunk_rows=4)
    assert changed.summary() == {"created": 0, "updated": 1, "unchanged": 9, "errors": 0}
    again = run("orders", write_csv(files / "c.csv", rows), source="shop", chunk_rows=4)
    assert again.summary() == {"created": 0, "updated": 0, "unchanged": 10, "errors": 0}
    assert purchase_stats_drift() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kind",
    ["status", "refunded", "discount", "total", "number", "line name", "line product", "line amount", "line deleted",
     "line added"],
)  # fmt: skip
def test_a_stored_order_changed_since_is_rewritten_from_the_file(ref, files, kind):
    rows = order_rows(6)
    path = write_csv(files / "a.csv", rows)
    run("orders", path, source="shop", chunk_rows=4)
    imported = _snapshot()
    _db_edit(kind)
    assert _snapshot() != imported
    again = run("orders", path, source="shop", chunk_rows=4)
    assert again.summary() == {"created": 0, "updated": 1, "unchanged": 5, "errors": 0}
    assert _snapshot() == imported
    # The update is revertible to the edited state, as the per-order path records it.
    revert_import(again)
    assert _snapshot() != imported


@pytest.mark.django_db
def test_the_column_wise_compare_agrees_with_the_per_order_path(ref, files, monkeypatch):
    rows = order_rows(12)
    run("orders", write_csv(files / "a.csv", rows), source="shop", chunk_rows=5)
    for edit in (_set(1, 7, "3"), _set(3, 2, "app"), _drop(5)):  # O1, O2, O3
        edit(rows)
    path = write_csv(files / "b.csv", rows)
    seen: list[int] = []
    real = order_compare.unchanged_stored_orders

    def counting(*args: Any) -> Any:
        same = real(*args)
        seen.append(int(same.sum()))
        return same

    monkeypatch.setattr(order_compare, "unchanged_stored_orders", counting)
    fast = run("orders", path, source="shop", dry_run=True, chunk_rows=5)
    assert sum(seen) == 9  # twelve stored orders, three changed
    # Without the column-wise compare every stored order takes the per-order path.
    monkeypatch.setattr(order_compare, "unchanged_stored_orders", lambda batch, *_a: real(batch, *_a) & False)
    slow = run("orders", path, source="shop", dry_run=True, chunk_rows=5)
    assert fast.summary() == slow.summary() == {"created": 0, "updated": 3, "unchanged": 9, "errors": 0}


@pytest.mark.django_db
def test_names_with_quotes_commas_and_line_breaks_read_back_unchanged(ref, files):
    rows = [["订单号", "下单时间", "渠道", "客户姓名", "手机", "商品编码", "商品名称", "数量", "单价", "状态", "行号"]]
    rows += [
        ["Q1", "2025-11-11 10:00", "web", '王"五"', "13900000011", "M-SHIRT-01", '衬衫, "特价"\n第二行', "1", "1",
         "已发货", "1"],
        ["Q1", "2025-11-11 10:00", "web", "", "13900000011", "S-SNEAK-01", "", "1", "2", "", "2"],
        ["Q2", "2025-11-12 10:00:30.5", "app", "赵六", "13900000012", "M-COAT-01", "  ", "2", "0.5", "待付款", ""],
    ]  # fmt: skip
    path = write_csv(files / "a.csv", rows)
    run("orders", path, source="shop")
    again = run("orders", path, source="shop")
    assert again.summary() == {"created": 0, "updated": 0, "unchanged": 2, "errors": 0}


@pytest.mark.django_db
@pytest.mark.parametrize("columnar", [True, False])
def test_lines_listed_out_of_line_number_order_change_nothing_on_a_rerun(ref, files, monkeypatch, columnar):
    if not columnar:
        real = order_compare.unchanged_stored_orders
        monkeypatch.setattr(order_compare, "unchanged_stored_orders", lambda batch, *a: real(batch, *a) & False)
    rows = [["订单号", "下单时间", "渠道", "客户姓名", "手机", "商品编码", "数量", "单价", "行号"]]
    rows += [
        ["R1", "2025-11-11 10:00", "web", "钱七", "13900000021", "M-SHIRT-01", "1", "1", "2"],
        ["R1", "2025-11-11 10:00", "web", "", "13900000021", "S-SNEAK-01", "1", "2", "1"],
    ]
    path = write_csv(files / "a.csv", rows)
    run("orders", path, source="shop")
    assert list(OrderLine.objects.order_by("line_no").values_list("line_no", "sku")) == [
        (1, "S-SNEAK-01"),
        (2, "M-SHIRT-01"),
    ]
    again = run("orders", path, source="shop")
    assert again.summary() == {"created": 0, "updated": 0, "unchanged": 1, "errors": 0}
