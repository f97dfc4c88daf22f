from __future__ import annotations

from decimal import Decimal

import pytest

from kehu.commerce.models import Order, OrderLine
from kehu.customers.actions import purchase_stats_drift
from kehu.customers.models import Customer, CustomerIdentity, Interaction
from kehu.imports.actions import revert_import
from kehu.imports.models import JobStatus
from tests.factories import make_customer
from tests.imports.conftest import run, write_csv

HEADER = ["订单号", "下单时间", "渠道", "门店", "客户姓名", "手机", "商品编码", "数量", "单价", "实付金额"]


def order_rows(n_orders: int) -> list[list[str]]:
    rows = [HEADER]
    for i in range(1, n_orders + 1):
        phone = f"139{i % 7:08d}"
        rows.append([f"O{i}", "2025-11-11 10:00", "web", "", f"买家{i % 7}", phone, "M-SHIRT-01", "2", "299.00", ""])
        if i % 2:
            rows.append([f"O{i}", "2025-11-11 10:00", "web", "", "", phone, "S-SNEAK-01", "1", "499", ""])
    return rows


@pytest.mark.django_db
def test_it_imports_orders_with_lines_and_resolves_buyers(ref, files):
    existing = make_customer("老客户", phone="13900000001")
    job = run("orders", write_csv(files / "o.csv", order_rows(20)), source="shop", chunk_rows=7)
    assert job.summary() == {"created": 20, "updated": 0, "unchanged": 0, "errors": 0}
    assert Order.objects.count() == 20
    assert OrderLine.objects.count() == 30
    assert Customer.objects.count() == 7  # six new buyers plus the existing one
    first = Order.objects.get(source_id="O1")
    assert first.customer == existing
    assert list(first.lines.values_list("line_no", "sku", "quantity", "amount", "product__name")) == [
        (1, "M-SHIRT-01", 2, Decimal("598.00"), "牛津纺衬衫"),
        (2, "S-SNEAK-01", 1, Decimal("499.00"), "休闲运动鞋"),
    ]
    assert first.paid_amount == Decimal("1097.00")
    # Orders reach the timeline from the order table (ADR 0006): no copy per order.
    assert not Interaction.objects.filter(kind="order").exists()
    assert purchase_stats_drift() == 0
    existing.refresh_from_db()
    assert existing.order_count == 3


@pytest.mark.django_db
def test_it_changes_nothing_on_a_second_run_and_updates_a_changed_order(ref, files):
    rows = order_rows(10)
    run("orders", write_csv(files / "a.csv", rows), source="shop", chunk_rows=4)
    again = run("orders", write_csv(files / "a.csv", rows), source="shop", chunk_rows=4)
    assert again.summary() == {"created": 0, "updated": 0, "unchanged": 10, "errors": 0}
    rows[1][7] = "3"  # O1 line 1: quantity 2 → 3
    changed = run("orders", write_csv(files / "b.csv", rows), source="shop")
    assert changed.summary() == {"created": 0, "updated": 1, "unchanged": 9, "errors": 0}
    assert Order.objects.get(source_id="O1").lines.get(line_no=1).amount == Decimal("897.00")
    assert OrderLine.objects.count() == 15
    assert purchase_stats_drift() == 0


@pytest.mark.django_db
def test_it_rejects_an_order_whose_line_is_bad_and_names_every_row(ref, files):
    rows = order_rows(3)
    rows[2][7] = "-1"  # O1's second line
    rows[4][5] = "123"  # O3's phone
    job = run("orders", write_csv(files / "o.csv", rows), source="shop")
    assert job.summary() == {"created": 1, "updated": 0, "unchanged": 0, "errors": 4}
    assert [line.split(",")[:3] for line in job.error_report.splitlines()[1:]] == [
        ["2", "订单号", "order_has_errors"],
        ["3", "数量", "quantity_invalid"],
        ["5", "手机", "phone_invalid"],
        ["6", "订单号", "order_has_errors"],
    ]
    assert list(Order.objects.values_list("source_id", flat=True)) == ["O2"]


@pytest.mark.django_db
def test_it_reruns_a_killed_order_import_without_duplicates(ref, files):
    rows = order_rows(40)
    run("orders", write_csv(files / "half.csv", rows[:31]), source="shop")
    job = run("orders", write_csv(files / "all.csv", rows), source="shop", chunk_rows=9)
    assert Order.objects.count() == 40
    assert OrderLine.objects.count() == 60
    assert job.summary()["errors"] == 0
    assert job.created + job.updated + job.unchanged == 40
    assert CustomerIdentity.objects.count() == 7
    assert purchase_stats_drift() == 0


@pytest.mark.django_db
def test_it_reports_unknown_channels_and_split_orders(ref, files):
    rows = [HEADER, ["X1", "2025-01-01", "tmall", "", "甲", "13800138000", "M-SHIRT-01", "1", "1", ""],
            ["X2", "2025-01-01", "web", "", "甲", "13800138000", "M-SHIRT-01", "1", "1", ""],
            ["X3", "45658.5", "官网商城", "bj-01", "乙", "13800138001", "M-SHIRT-01", "1", "1", ""],
            ["X2", "2025-01-01", "web", "", "甲", "13800138000", "M-SHIRT-01", "1", "1", ""]]  # fmt: skip
    job = run("orders", write_csv(files / "o.csv", rows), source="shop")
    assert [line.split(",")[:3] for line in job.error_report.splitlines()[1:]] == [
        ["2", "渠道", "unknown_channel"],
        ["5", "订单号", "order_not_contiguous"],
    ]
    x3 = Order.objects.get(source_id="X3")
    assert (x3.channel.code, x3.store.code, x3.ordered_at.isoformat()) == ("web", "bj-01", "2025-01-01T04:00:00+00:00")


@pytest.mark.django_db
def test_it_reverts_an_order_import_exactly(ref, files):
    rows = order_rows(6)
    run("orders", write_csv(files / "a.csv", rows), source="shop")

    def state():
        return (
            sorted(Order.objects.values_list("id", "customer_id", "paid_amount", "updated_at")),
            sorted(OrderLine.objects.values_list("order_id", "line_no", "sku", "quantity", "amount")),
            sorted(Customer.objects.values_list("id", "order_count", "total_spent", "last_order_at")),
            Interaction.objects.count(),
            CustomerIdentity.objects.count(),
        )

    before = state()
    rows[1][7] = "5"
    rows.append(["O99", "2025-12-12 12:00", "app", "sh-01", "新客", "13500135000", "M-COAT-01", "1", "1299", ""])
    job = run("orders", write_csv(files / "b.csv", rows), source="shop")
    assert job.summary() == {"created": 1, "updated": 1, "unchanged": 5, "errors": 0}
    revert_import(job)
    assert state() == before
    assert job.status == JobStatus.REVERTED
    assert purchase_stats_drift() == 0
