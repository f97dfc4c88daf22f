"""Filters on custom fields use the expression indexes created when a field is defined."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import QueryDict

from kehu.customers.models import Customer
from kehu.customfields.indexes import index_name
from kehu.customfields.queries import apply_filters, parse_filters
from tests.customfields.conftest import LEVELS, define


def plan(qs) -> str:
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row) for row in cursor.fetchall())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "type", "query"),
    [
        ("level", "choice", "cf_level=gold"),
        ("shoe_size", "number", "cf_shoe_size_min=40"),
        ("joined_on", "date", "cf_joined_on_max=2020-01-01"),
        ("group_name", "text", "cf_group_name=上海"),
    ],
)
def test_defining_a_field_creates_an_index_its_filter_uses(django_capture_on_commit_callbacks, key, type, query):
    with django_capture_on_commit_callbacks(execute=True):
        definition = define(key=key, type=type, choices=LEVELS if type == "choice" else [])
    filters, errors = parse_filters("customer", QueryDict(query))
    assert not errors
    assert index_name(definition) in plan(apply_filters(Customer.objects.all(), filters))


@pytest.mark.django_db
def test_postgres_uses_the_gin_index_for_multi_choice_and_yes_no(django_capture_on_commit_callbacks):
    if connection.vendor != "postgresql":
        pytest.skip("GIN containment is PostgreSQL only")
    with django_capture_on_commit_callbacks(execute=True):
        define(key="interests", type="multi_choice", choices=[{"value": "kids", "zh": "童装"}])
        define(key="newsletter", type="boolean")
    for query in ("cf_interests=kids", "cf_newsletter=yes"):
        filters, _errors = parse_filters("customer", QueryDict(query))
        assert "cf_customer_custom_gin" in plan(apply_filters(Customer.objects.all(), filters))
