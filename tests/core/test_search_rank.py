"""Name search ranks namesakes by spend off the token table's copy of each customer's spend,
which database triggers keep equal to the customer's figure through every writer."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from kehu.customers.actions import (
    check_update_customer,
    do_repair_search_rank,
    purchase_stats_drift,
    search_rank_drift,
)
from kehu.customers.models import Customer, SearchToken
from kehu.customers.queries import search_customers
from kehu.identity.merging import do_merge, do_unmerge
from tests.factories import make_customer, make_order
from tests.imports.conftest import run, write_csv


def _spends() -> dict[int, set[Decimal]]:
    out: dict[int, set[Decimal]] = {}
    for customer_id, spent in SearchToken.objects.values_list("customer_id", "spent"):
        out.setdefault(customer_id, set()).add(spent)
    return out


def _assert_in_step() -> None:
    assert search_rank_drift() == 0
    totals = dict(Customer.objects.values_list("pk", "total_spent"))
    for customer_id, spends in _spends().items():
        assert spends == {totals[customer_id]}, customer_id


@pytest.mark.django_db
def test_tokens_follow_every_writer_of_the_spend(users: dict[str, Any], tmp_path: Path) -> None:
    a = make_customer("王秀英", phone="13900139101")
    b = make_customer("李秀英", phone="13900139102")
    _assert_in_step()
    assert _spends()[a.pk] == {Decimal("0.00")}
    make_order(a, amount="300.00")
    make_order(b, amount="120.50")
    _assert_in_step()
    assert _spends()[a.pk] == {Decimal("300.00")}

    # A rename writes new tokens: they start from the customer's spend, not from zero. (`a` was
    # read before its order: saving the profile must not write its stale figures back.)
    check_update_customer(users["admin"], a, {"name": "王秀英子"})
    assert Customer.objects.get(pk=a.pk).total_spent == Decimal("300.00")
    _assert_in_step()
    assert SearchToken.objects.filter(customer_id=a.pk, token="英子", spent=Decimal("300.00")).exists()

    # An order import (bulk buyers, set-based figures).
    header = ["订单号", "下单时间", "渠道", "门店", "客户姓名", "手机", "商品编码", "数量", "单价", "实付金额"]
    rows = [header, ["R1", "2025-11-11 10:00", "web", "", "王秀英", "13900139101", "M-SHIRT-01", "1", "50", ""]]
    rows += [["R2", "2025-11-11 11:00", "web", "", "张秀英", "13900139103", "M-COAT-01", "1", "1299", ""]]
    run("orders", write_csv(tmp_path / "o.csv", rows), source="shop")
    _assert_in_step()
    assert purchase_stats_drift() == 0

    # A merge moves b's orders to a; its undo puts every figure back.
    record = do_merge(users["admin"], a, b)
    _assert_in_step()
    do_unmerge(users["admin"], record)
    _assert_in_step()
    assert _spends()[b.pk] == {Decimal("120.50")}


@pytest.mark.django_db
def test_a_writer_cannot_put_another_figure_in_a_token(ref: Any) -> None:
    c = make_customer("赵丽丽", phone="13900139111")
    make_order(c, amount="88.00")
    SearchToken.objects.create(customer=c, token="zz", spent=Decimal("99999.00"))
    assert SearchToken.objects.get(customer=c, token="zz").spent == Decimal("88.00")


@pytest.mark.django_db
def test_reconcile_repairs_a_drifted_token(ref: Any) -> None:
    c = make_customer("赵丽丽", phone="13900139121")
    make_order(c, amount="88.00")
    SearchToken.objects.filter(customer=c).update(spent=Decimal("1.00"))  # as a restore from an old dump might
    assert search_rank_drift() == 2
    call_command("reconcile")
    _assert_in_step()
    SearchToken.objects.filter(customer=c).update(spent=Decimal("2.00"))
    assert do_repair_search_rank() == 2 and search_rank_drift() == 0


@pytest.mark.django_db
def test_namesakes_come_in_spend_order_within_the_scope(users: dict[str, Any], ref: Any) -> None:
    amounts = ["10.00", "500.00", "75.50", "500.00", "0", "1200.00", "33.00"]
    namesakes = []
    for i, amount in enumerate(amounts):
        c = make_customer(f"{'王李张赵刘陈杨'[i]}丽丽", phone=f"1390013920{i}")
        if amount != "0":
            make_order(c, amount=amount, channel="store", store="sh-01" if i % 2 else "bj-01")
        namesakes.append(c)
    make_customer("王丽", phone="13900139299")  # holds neither token
    expected = sorted(namesakes, key=lambda c: (Customer.objects.get(pk=c.pk).total_spent, c.pk), reverse=True)

    hits = search_customers(users["service"], "丽丽")
    assert [h.customer.pk for h in hits] == [c.pk for c in expected]
    assert [h.customer.pk for h in search_customers(users["service"], "丽丽", limit=3)] == [c.pk for c in expected[:3]]
    # The store manager of sh-01 sees those who bought there (odd positions) only, in the same order.
    scoped = [h.customer.pk for h in search_customers(users["store_manager"], "丽丽")]
    assert scoped == [c.pk for c in expected if namesakes.index(c) % 2]
    # Full-width and spaced forms fold to the same token.
    assert [h.customer.pk for h in search_customers(users["service"], " 丽丽 ")] == [c.pk for c in expected]


@pytest.mark.django_db
@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_bulk_token_write_joins_the_spend_and_leaves_the_trigger_on_for_everyone_else(ref: Any) -> None:
    from kehu.customers.bulk_upsert import do_index_missing_names

    rich = make_customer("赵子龙", phone="13900139201")
    make_order(rich, amount="880.00")
    SearchToken.objects.filter(customer=rich).delete()
    with transaction.atomic():
        assert do_index_missing_names([rich.pk]) == 1
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('kehu.token_spent_joined', true)")
            assert cursor.fetchone()[0] == "off"
        # Any other insert in the same transaction still has its spend set by the trigger.
        SearchToken.objects.create(customer=rich, token="龙龙", spent=Decimal("1.00"))
    assert set(SearchToken.objects.filter(customer=rich).values_list("token", "spent")) == {
        ("赵子", Decimal("880.00")),
        ("子龙", Decimal("880.00")),
        ("龙龙", Decimal("880.00")),
    }
    _assert_in_step()


@pytest.mark.django_db
@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_sqlite_bulk_tokens_carry_the_spend_and_are_written_once(ref: Any) -> None:
    from kehu.customers.bulk_upsert import do_index_missing_names

    rich = make_customer("赵子龙", phone="13900139201")
    make_order(rich, amount="880.50")
    SearchToken.objects.filter(customer=rich).delete()

    def changes() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT total_changes()")
            return int(cursor.fetchone()[0])

    with transaction.atomic():
        before = changes()
        assert do_index_missing_names([rich.pk]) == 1
        # Two inserts and no trigger rewrite (total_changes counts the trigger's updates too).
        assert changes() - before == 2
        # A writer that gives another figure is still corrected by the trigger.
        before = changes()
        SearchToken.objects.create(customer=rich, token="龙龙", spent=Decimal("1.00"))
        assert changes() - before == 2
    assert set(SearchToken.objects.filter(customer=rich).values_list("token", "spent")) == {
        ("赵子", Decimal("880.50")),
        ("子龙", Decimal("880.50")),
        ("龙龙", Decimal("880.50")),
    }
    _assert_in_step()
