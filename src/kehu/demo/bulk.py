"""Bulk loading of column arrays: `COPY … FROM STDIN` on PostgreSQL, prepared `executemany` on SQLite.

Columns arrive as pyarrow arrays (nulls included); money is decimal128(14, 2), times are
timestamp[s] holding UTC, dates date32. The writer adapts them to what each backend's Django layer would
have stored, so ORM reads of the rows are indistinguishable from rows the ORM wrote."""

from __future__ import annotations

import io
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from django.db import connection, transaction
from django.db.models import Model

MONEY = pa.decimal128(14, 2)
# UTC wall-clock time without a zone: a zone-aware column formats twenty times slower in CSV, and
# the loader pins the session to UTC (Django does too), so PostgreSQL reads these as UTC.
TIMESTAMP = pa.timestamp("s")


def money(cents: np.ndarray) -> pa.Array:
    """decimal128(14, 2) from integer cents without any per-value work: the unscaled value of a
    decimal with scale 2 is the number of cents, stored as a little-endian 128-bit integer."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63  # sign extension of the high word
    return pa.Array.from_buffers(MONEY, len(cents), [None, pa.py_buffer(words)])


def timestamps(seconds: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """timestamp[s] in UTC from seconds since the epoch."""
    return pa.array(np.asarray(seconds, dtype=np.int64), type=pa.int64(), mask=null).cast(TIMESTAMP)


def ints(values: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64), type=pa.int64(), mask=null)


def dates(days: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """date32 from days since the epoch."""
    return pa.array(np.asarray(days, dtype=np.int32), type=pa.int32(), mask=null).cast(pa.date32())


class BulkWriter:
    """Writes tables of columns into the default database and keeps rows and seconds per table."""

    def __init__(self) -> None:
        self.vendor = connection.vendor
        if self.vendor not in {"postgresql", "sqlite"}:
            raise ValueError(f"The demo loader supports PostgreSQL and SQLite, not {self.vendor}.")
        self.rows: dict[str, int] = defaultdict(int)
        self.seconds: dict[str, float] = defaultdict(float)
        self.replica = False

    def skip_foreign_key_checks(self, models: list[type[Model]]) -> bool:
        """Decide whether chunks may load with PostgreSQL's foreign-key triggers off (as
        `pg_restore --disable-triggers` does): the rows reference each other correctly by
        construction, and checking them one by one at COMMIT costs more than the COPY. Only for a
        superuser, and only when the tables have no triggers but foreign-key ones and those set to
        fire always (`ENABLE ALWAYS`, such as the name search's spend copy, ADR 0005), so no other
        app's trigger is ever skipped."""
        if self.vendor != "postgresql":
            return False
        tables = [m._meta.db_table for m in models]
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            row = cursor.fetchone()
            if not row or not row[0]:
                return False
            cursor.execute(
                "SELECT COUNT(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE c.relname = ANY(%s) AND NOT t.tgisinternal AND t.tgenabled <> 'A'",
                [tables],
            )
            row = cursor.fetchone()
        self.replica = bool(row) and row[0] == 0
        return self.replica

    @contextmanager
    def chunk(self) -> Iterator[None]:
        """One transaction per chunk of customers: a failure loses at most one chunk, never half."""
        with transaction.atomic():
            with connection.cursor() as cursor:
                if self.vendor == "postgresql":
                    # Losing the last commits on a crash is fine for generated data; the load is
                    # then bound by COPY, not by WAL flushes.
                    cursor.execute("SET LOCAL synchronous_commit = off")
                    cursor.execute("SET LOCAL TIME ZONE 'UTC'")
                    if self.replica:
                        cursor.execute("SET LOCAL session_replication_role = replica")
            yield
            started = time.perf_counter()
        # Deferred constraint checks run at COMMIT; count them as a table of their own.
        self.seconds["(commit)"] += time.perf_counter() - started

    def write(self, model: type[Model], columns: dict[str, pa.Array]) -> int:
        """Insert the rows given as {field name: column}; returns the number of rows."""
        if not columns:
            return 0
        table = model._meta.db_table
        names = [model._meta.get_field(name).column for name in columns]  # type: ignore[union-attr]
        n = len(next(iter(columns.values())))
        if n == 0:
            return 0
        started = time.perf_counter()
        if self.vendor == "postgresql":
            self._copy(table, names, list(columns.values()))
        else:
            self._executemany(table, names, list(columns.values()))
        self.seconds[table] += time.perf_counter() - started
        self.rows[table] += n
        return n

    def _copy(self, table: str, names: list[str], arrays: list[pa.Array]) -> None:
        buffer = io.BytesIO()
        # Strings are always quoted and NULLs are bare empty fields, which is exactly how
        # PostgreSQL's CSV format tells an empty string from NULL.
        pacsv.write_csv(
            pa.Table.from_arrays(arrays, names=names),
            buffer,
            pacsv.WriteOptions(include_header=False, quoting_style="needed"),
        )
        column_list = ", ".join(connection.ops.quote_name(n) for n in names)
        with connection.cursor() as cursor:
            raw: Any = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
            with raw.copy(f"COPY {connection.ops.quote_name(table)} ({column_list}) FROM STDIN (FORMAT csv)") as copy:
                view = buffer.getbuffer()
                step = 8 * 1024 * 1024
                for start in range(0, len(view), step):
                    copy.write(view[start : start + step])

    def _executemany(self, table: str, names: list[str], arrays: list[pa.Array]) -> None:
        columns = [_sqlite_values(a) for a in arrays]
        column_list = ", ".join(connection.ops.quote_name(n) for n in names)
        placeholders = ", ".join("?" for _ in names)
        sql = f"INSERT INTO {connection.ops.quote_name(table)} ({column_list}) VALUES ({placeholders})"
        with connection.cursor() as cursor:
            # Straight to sqlite3: Django's wrapper would rewrite every row's %s placeholders.
            cursor.cursor.executemany(sql, zip(*columns, strict=True))  # type: ignore[union-attr]

    @contextmanager
    def indexes_rebuilt(self, models: list[type[Model]], enabled: bool = True) -> Iterator[None]:
        """Drop the secondary indexes and unique constraints of these tables, load, and build them
        again in one sort each, which beats maintaining them row by row for big loads. Runs as one
        transaction on PostgreSQL, so a failure or crash restores the schema with the data.

        Unless `skip_foreign_key_checks` switched the triggers off, the tables' foreign keys are
        dropped too and added again afterwards, with the same names and definitions: PostgreSQL
        then checks each one with a single join over the table instead of queueing a deferred
        check per inserted row (tens of millions for a big load, each run one by one). The table
        owner may do this; it takes an exclusive lock on the referenced tables as well until the
        load commits, so this is for initial loads, not next to live traffic."""
        if not enabled or self.vendor != "postgresql":
            yield
            return
        tables = [m._meta.db_table for m in models]
        with transaction.atomic():
            with connection.cursor() as cursor:
                schema = _Schema.read(cursor, tables, foreign_keys=not self.replica)
                schema.drop(cursor)
            yield
            started = time.perf_counter()
            with connection.cursor() as cursor:
                # Nothing should be queued (the foreign keys are gone, or their triggers were
                # off), but PostgreSQL refuses ALTER TABLE while deferred checks are pending.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
                schema.restore_indexes(cursor)
                self.seconds["(index rebuild)"] += time.perf_counter() - started
                if schema.foreign_keys:
                    started = time.perf_counter()
                    schema.restore_foreign_keys(cursor)
                    self.seconds["(foreign keys)"] += time.perf_counter() - started

    def reset_sequences(self, models: list[type[Model]]) -> None:
        """After inserting explicit ids, move PostgreSQL's identity sequences past them."""
        if self.vendor != "postgresql":
            return  # SQLite's rowid allocation follows MAX(rowid) by itself
        with connection.cursor() as cursor:
            for model in models:
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE((SELECT MAX(id) FROM "
                    f"{connection.ops.quote_name(table)}), 1), (SELECT COUNT(*) > 0 FROM "
                    f"{connection.ops.quote_name(table)}))",
                    [table],
                )

    def analyze(self, models: list[type[Model]]) -> None:
        """Fresh planner statistics, so the first queries on millions of new rows use the indexes."""
        with connection.cursor() as cursor:
            for model in models:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


# For the index sorts and the foreign-key checks (PostgreSQL runs the check's join with this much
# memory too); the rebuild is the only thing the loading backend does at that point.
MAINTENANCE_WORK_MEM = "512MB"


class _Schema:
    """The secondary indexes, unique constraints and foreign keys of a set of tables, as
    PostgreSQL prints them back, so they can be dropped and re-created exactly."""

    def __init__(
        self,
        indexes: list[tuple[str, str, str]],
        uniques: list[tuple[str, str, str]],
        foreign_keys: list[tuple[str, str, str]],
    ) -> None:
        self.indexes = indexes  # (schema, index, CREATE INDEX …)
        self.uniques = uniques  # (table, constraint, UNIQUE (…))
        self.foreign_keys = foreign_keys  # (table, constraint, FOREIGN KEY (…) REFERENCES …)

    @classmethod
    def read(cls, cursor: Any, tables: list[str], foreign_keys: bool) -> _Schema:
        in_tables = "t.relname = ANY(%s) AND t.relnamespace = ANY(current_schemas(false)::regnamespace[])"
        cursor.execute(
            "SELECT n.nspname, i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_namespace n ON n.oid = i.relnamespace "
            f"WHERE {in_tables} AND NOT x.indisunique AND NOT x.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid) ORDER BY i.oid",
            [tables],
        )
        indexes = cursor.fetchall()
        # Unique constraints too (their index is as costly); primary keys stay.
        cursor.execute(
            "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            f"JOIN pg_class t ON t.oid = c.conrelid WHERE {in_tables} AND c.contype = 'u' ORDER BY c.oid",
            [tables],
        )
        uniques = cursor.fetchall()
        # The tables' own foreign keys unless told otherwise (their insert triggers are the
        # per-row checks), and always any foreign key that relies on a unique constraint dropped
        # here (PostgreSQL would refuse to drop the constraint under it).
        cursor.execute(
            "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "JOIN pg_class t ON t.oid = c.conrelid WHERE c.contype = 'f' AND t.relnamespace = "
            "ANY(current_schemas(false)::regnamespace[]) AND ((%s AND t.relname = ANY(%s)) OR c.conindid IN "
            "(SELECT u.conindid FROM pg_constraint u JOIN pg_class t ON t.oid = u.conrelid "
            f"WHERE {in_tables} AND u.contype = 'u')) ORDER BY c.oid",
            [foreign_keys, tables, tables],
        )
        return cls(indexes, uniques, cursor.fetchall())

    def drop(self, cursor: Any) -> None:
        for table, name, _definition in self.foreign_keys:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        for table, name, _definition in self.uniques:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        for schema, name, _definition in self.indexes:
            cursor.execute(f"DROP INDEX {quote(schema)}.{quote(name)}")

    def restore_indexes(self, cursor: Any) -> None:
        for table, name, definition in self.uniques:
            cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
        for _schema, _name, definition in self.indexes:
            cursor.execute(definition)

    def restore_foreign_keys(self, cursor: Any) -> None:
        """After the indexes: each check is one anti-join of the table against the referenced one
        (a single query, as the owner may read both); a violation fails the load and rolls it all
        back."""
        for table, name, definition in self.foreign_keys:
            cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")


def quote(name: str) -> str:
    return connection.ops.quote_name(name)  # type: ignore[no-any-return]


def _sqlite_values(array: pa.Array) -> list[Any]:
    """Python values in the form Django's SQLite backend stores: text datetimes in UTC without a
    zone, dates as ISO text, decimals as REAL, booleans as integers."""
    kind = array.type
    if pa.types.is_timestamp(kind):
        return array.cast(pa.string()).to_pylist()  # type: ignore[no-any-return]
    if pa.types.is_date(kind):
        return array.cast(pa.string()).to_pylist()  # type: ignore[no-any-return]
    if pa.types.is_decimal(kind):
        # Unscaled integer ÷ 10^scale is correctly rounded, like float("123.45") (pyarrow's cast
        # to float64 is not, and SQLite would then disagree with its own SUM of the same values).
        words = np.frombuffer(array.buffers()[1], dtype=np.int64)[2 * array.offset : 2 * (array.offset + len(array))]
        values = (words[0::2] / 10**kind.scale).astype(object)
        if array.null_count:
            values[array.is_null().to_numpy(zero_copy_only=False)] = None
        return values.tolist()  # type: ignore[no-any-return]
    if pa.types.is_boolean(kind):
        return array.cast(pa.int8()).to_pylist()  # type: ignore[no-any-return]
    return array.to_pylist()  # type: ignore[no-any-return]
