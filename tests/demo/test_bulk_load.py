"""The big-load path on PostgreSQL: indexes and constraints dropped for the load come back exactly."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import IntegrityError, connection

from kehu.commerce.models import Order
from kehu.customers.actions import purchase_stats_drift, search_rank_drift
from kehu.customers.models import Customer
from kehu.demo.bulk import BulkWriter
from kehu.demo.generate import generate

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the rebuild path is PostgreSQL's"),
]


def schema() -> dict[str, list[tuple[Any, ...]]]:
    """Every constraint, index and constraint trigger of the schema, as PostgreSQL prints them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conrelid::regclass::text, c.conname, c.contype, c.condeferrable, c.condeferred, "
            "c.convalidated, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = current_schema() ORDER BY 1, 2"
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1, 2"
        )
        indexes = cursor.fetchall()
        # The foreign keys' triggers on both tables (their names carry oids, so by constraint).
        cursor.execute(
            "SELECT t.tgrelid::regclass::text, c.conname, t.tgfoid::regproc::text, t.tgtype, t.tgenabled, "
            "t.tgdeferrable, t.tginitdeferred FROM pg_trigger t JOIN pg_constraint c ON c.oid = t.tgconstraint "
            "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = current_schema() ORDER BY 1, 2, 3, 4"
        )
        triggers = cursor.fetchall()
    return {"constraints": constraints, "indexes": indexes, "triggers": triggers}


def foreign_keys_of(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'", [table])
        return int(cursor.fetchone()[0])


@pytest.fixture
def not_superuser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Load the way a database owner without superuser rights does (the tests run as a superuser)."""
    monkeypatch.setattr(BulkWriter, "skip_foreign_key_checks", lambda self, models: False)


@pytest.fixture
def watched_writes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of foreign keys `commerce_order` has while each chunk of orders is written."""
    seen: list[int] = []
    write = BulkWriter.write

    def watching(self: BulkWriter, model: Any, columns: Any) -> int:
        if model is Order:
            seen.append(foreign_keys_of(Order._meta.db_table))
        return write(self, model, columns)

    monkeypatch.setattr(BulkWriter, "write", watching)
    return seen


def test_a_non_superuser_load_drops_the_foreign_keys_and_restores_the_schema_exactly(
    not_superuser: None, watched_writes: list[int]
) -> None:
    before = schema()
    assert foreign_keys_of(Order._meta.db_table) == 4
    result = generate(customers=300, seed=2, now=NOW, chunk_size=120, rebuild_indexes=True)
    # No per-row checks queue up: the orders were copied with no foreign key in place…
    assert watched_writes == [0, 0, 0]
    # …and every key came back, validated, under its own name and definition.
    assert schema() == before
    assert result.seconds["(foreign keys)"] > 0
    assert Customer.objects.filter(source_system="demo").count() == 300
    assert Order.objects.filter(customer__source_system="demo").count() == result.rows[Order._meta.db_table]
    assert search_rank_drift() == 0 and purchase_stats_drift() == 0


def test_a_superuser_load_keeps_the_foreign_keys_and_restores_the_schema_exactly(watched_writes: list[int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            pytest.skip("needs a superuser")
    before = schema()
    result = generate(customers=300, seed=2, now=NOW, chunk_size=120, rebuild_indexes=True)
    assert watched_writes == [4, 4, 4]  # the triggers are off instead
    assert "(foreign keys)" not in result.seconds
    assert schema() == before
    # …but not the name search's spend copy, which fires always.
    assert search_rank_drift() == 0 and purchase_stats_drift() == 0


def test_a_reference_that_does_not_exist_fails_the_load_and_rolls_it_back(
    not_superuser: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = schema()
    write = BulkWriter.write

    def corrupting(self: BulkWriter, model: Any, columns: Any) -> int:
        if model is Order:
            import pyarrow as pa

            ids = columns["customer"].to_numpy(zero_copy_only=False).copy()
            ids[0] = 10**9
            columns = {**columns, "customer": pa.array(ids)}
        return write(self, model, columns)

    monkeypatch.setattr(BulkWriter, "write", corrupting)
    with pytest.raises(IntegrityError, match="commerce_order_customer_id"):
        generate(customers=100, seed=2, now=NOW, rebuild_indexes=True)
    assert schema() == before
    assert not Customer.objects.filter(source_system="demo").exists()
    assert not Order.objects.exists()
