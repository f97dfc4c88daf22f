"""Fixtures for the web UI tests: logged-in clients per role and a customer in and out of scope."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from kehu.accounts.models import User
from kehu.customers.models import Customer
from tests.factories import make_customer, make_order


@pytest.fixture
def client_for(users: dict[str, User]) -> Any:
    def make(role: str) -> Client:
        client = Client()
        client.force_login(users[role])
        return client

    return make


@pytest.fixture
def shanghai_customer(ref: dict[str, Any]) -> Customer:
    """A customer of the Shanghai store (in the store manager's scope), with one order there."""
    customer = make_customer(
        "王芳", phone="13800138000", email="wang.fang@example.com", home_store_id=ref["stores"]["sh-01"].pk
    )
    make_order(customer, amount="1234.00", channel="store", store="sh-01")
    return Customer.objects.get(pk=customer.pk)


@pytest.fixture
def beijing_customer(ref: dict[str, Any]) -> Customer:
    """A customer of the Beijing store only (outside the store manager's scope)."""
    customer = make_customer("赵强", phone="13900139000", home_store_id=ref["stores"]["bj-01"].pk)
    make_order(customer, amount="88.00", channel="store", store="bj-01")
    return Customer.objects.get(pk=customer.pk)
