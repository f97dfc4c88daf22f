"""The migration that partitions the grade snapshots by run (PostgreSQL) keeps every row, each in
its run's partition, and the ids go on from where they were; migrating back restores the plain table."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.skipif(not settings.IS_POSTGRES, reason="the snapshots are partitioned on PostgreSQL only")

BEFORE = ("scoring", "0004_snapshot_keys_checked_by_the_writeback")
AFTER = ("scoring", "0005_snapshots_partitioned_by_run")
COLUMNS = "id, run_id, customer_id, cutoff, r_grade, f_grade, m_grade, tier, lifecycle_stage, churn_probability"


def _migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([target])


def _rows() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {COLUMNS} FROM scoring_gradesnapshot ORDER BY id")
        return cursor.fetchall()


def _where() -> dict[int, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, tableoid::regclass::text FROM scoring_gradesnapshot")
        return dict(cursor.fetchall())


def _insert_one(customer: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO scoring_gradesnapshot (run_id, customer_id, cutoff, r_grade, f_grade, m_grade, tier,"
            " lifecycle_stage) VALUES (7, %s, '2025-01-01', 'A', 'A', 'A', 'gold', 'stability') RETURNING id",
            [customer],
        )
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_every_snapshot_into_its_runs_partition_and_back():
    _migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO scoring_gradesnapshot ({COLUMNS}) OVERRIDING SYSTEM VALUE"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        i,
                        run,
                        customer,
                        dt.date(2025, run, 1),
                        "A",
                        "B",
                        "C",
                        "silver",
                        "development",
                        None if i % 3 else 0.25,
                    )
                    for i, (run, customer) in enumerate(((1, 10), (1, 11), (2, 10), (2, 12), (5, 11)), start=40)
                ],
            )
            # The identity's next value, as the plain table had it.
            cursor.execute("SELECT setval(pg_get_serial_sequence('scoring_gradesnapshot', 'id'), 44)")
        before = _rows()

        _migrate(AFTER)
        assert _rows() == before
        assert _where() == {
            40: "scoring_gradesnapshot_run_1",
            41: "scoring_gradesnapshot_run_1",
            42: "scoring_gradesnapshot_run_2",
            43: "scoring_gradesnapshot_run_2",
            44: "scoring_gradesnapshot_run_5",
        }
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence('scoring_gradesnapshot', 'id')")
            assert cursor.fetchone()[0] == "public.scoring_gradesnapshot_id_seq"
        new_id = _insert_one(99)
        assert new_id == 45
        assert _where()[new_id] == "scoring_gradesnapshot_default"
        partitioned = _rows()

        _migrate(BEFORE)
        assert _rows() == partitioned
        assert _insert_one(98) == 46
        with connection.cursor() as cursor:
            cursor.execute("SELECT relkind FROM pg_class WHERE oid = 'scoring_gradesnapshot'::regclass")
            assert cursor.fetchone()[0] == "r"
    finally:
        _migrate(AFTER)
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = 'scoring_gradesnapshot'::regclass")
        assert cursor.fetchone()[0] == "p"
