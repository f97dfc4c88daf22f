from __future__ import annotations

from decimal import Decimal

import pytest

from kehu.customers.models import Customer
from kehu.customers.queries import search_customers
from tests.factories import make_customer, make_order


@pytest.mark.django_db
def test_it_finds_a_customer_from_every_common_phone_form(users):
    customer = make_customer("张伟", phone="13800138000", email="Zhang.Wei@Example.com")
    for query in ["138 0013 8000", "+86-138-0013-8000", "8613800138000", "１３８００１３８０００", "13800138000"]:
        hits = search_customers(users["admin"], query)
        assert [h.customer.pk for h in hits] == [customer.pk], query
    assert [h.customer.pk for h in search_customers(users["admin"], "ZHANG.WEI@example.COM")] == [customer.pk]
    assert [h.customer.pk for h in search_customers(users["admin"], "张伟")] == [customer.pk]


@pytest.mark.django_db
def test_it_keeps_purchase_figures_in_step_with_orders(ref):
    customer = make_customer("李娜", phone="13900139000")
    make_order(customer, amount="100.00")
    make_order(customer, amount="250.50")
    customer = Customer.objects.get(pk=customer.pk)
    assert customer.order_count == 2
    assert customer.total_spent == Decimal("350.50")
