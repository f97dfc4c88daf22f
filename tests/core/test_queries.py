from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone

from kehu.customers.queries import CustomerFilters, access_customer, list_customers, search_customers
from tests.factories import make_customer, make_order

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("sort", ["recent", "spent", "last_order", "orders"])
def test_it_pages_through_every_customer_exactly_once(ref, users, sort):
    customers = [make_customer(f"顾客{i}") for i in range(13)]
    base = timezone.now() - dt.timedelta(days=30)
    for i, c in enumerate(customers[:8]):
        make_order(c, amount=f"{100 + (i % 3) * 50}.00", ordered_at=base + dt.timedelta(days=i % 4))
    seen: list[int] = []
    cursor = None
    while True:
        page = list_customers(users["admin"], CustomerFilters(), sort=sort, cursor=cursor, page_size=4)
        seen += [c.pk for c in page.customers]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(c.pk for c in customers)
    assert len(seen) == len(set(seen))


def test_it_ignores_a_tampered_cursor(ref, users):
    make_customer("甲")
    page = list_customers(users["admin"], CustomerFilters(), cursor="not-a-cursor!!")
    assert len(page.customers) == 1


def test_it_scopes_a_store_manager_to_their_stores(ref, users):
    own = make_customer("本店顾客", home_store_id=ref["stores"]["sh-01"].pk)
    bought_here = make_customer("到店购买")
    make_order(bought_here, channel="store", store="sh-01")
    other = make_customer("外店顾客", home_store_id=ref["stores"]["bj-01"].pk, phone="13700137000")
    manager = users["store_manager"]
    page = list_customers(manager, CustomerFilters())
    assert {c.pk for c in page.customers} == {own.pk, bought_here.pk}
    with pytest.raises(Http404):
        access_customer(manager, other.pk)
    assert search_customers(manager, "13700137000") == []
    assert access_customer(users["analyst"], other.pk) == other


def test_it_finds_partial_chinese_names_but_not_scattered_characters(ref, users):
    target = make_customer("欧阳娜娜")
    make_customer("欧娜阳")
    assert [h.customer.pk for h in search_customers(users["admin"], "阳娜娜")] == [target.pk]
    assert {h.customer.pk for h in search_customers(users["admin"], "欧阳")} == {target.pk}
    # One character is too little to search names by (it would match every 欧).
    assert search_customers(users["admin"], "欧") == []


def test_it_finds_codes_in_any_width_and_names_without_looking_up_codes(ref, users):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kehu.customers.actions import do_add_identity

    carded = make_customer("王小明")
    do_add_identity(None, carded, "member_card", "vip00123")
    buyer = make_customer("李四")
    order = make_order(buyer)
    admin = users["admin"]
    assert [(h.customer.pk, h.matched_on) for h in search_customers(admin, "vip00123")] == [(carded.pk, "member_card")]
    assert [h.customer.pk for h in search_customers(admin, "ＶＩＰ００１２３")] == [carded.pk]  # full width
    assert [(h.customer.pk, h.matched_on) for h in search_customers(admin, order.number)] == [(buyer.pk, "order")]
    # A query with Chinese characters is a name: no identity-code or order-number lookups.
    with CaptureQueriesContext(connection) as names:
        assert [h.customer.pk for h in search_customers(admin, "小明")] == [carded.pk]
    assert not any("customeridentity" in q["sql"] or "commerce_order" in q["sql"] for q in names.captured_queries)
