"""Set-based SQL for the bulk paths, one function per operation, the same call on both databases.

PostgreSQL gets `COPY` (straight into the table, or into a temporary staging table followed by
one `INSERT … SELECT … ON CONFLICT … RETURNING` or `UPDATE … FROM`); SQLite gets `executemany`
and multi-row `INSERT … ON CONFLICT … RETURNING` (SQLite ≥ 3.35). Callers run these inside a
transaction and pass values already validated; nothing here loops over rows issuing statements
one by one. See ADR 0201."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection
from django.db.models import Model

from kehu import pgcopy

# SQLite ≥ 3.32 allows 32,766 bound variables per statement; stay well below.
SQLITE_MAX_VARIABLES = 30_000
IN_BATCH = 10_000
_stage_counter = itertools.count(1)
_PLAIN = frozenset({str, int, bool, float})


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def relax_commit_durability() -> None:
    """For the current transaction only, let PostgreSQL acknowledge COMMIT before its WAL
    reaches the disk (`synchronous_commit = off`). Safe for imports: a crash can lose only the
    last few committed chunks, never corrupt or half-apply one, and because every chunk carries
    its share of the job's counters and all writes are keyed on unique constraints, re-running
    the file converges. Saves one disk flush per chunk."""
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


# Pages the write-ahead log may hold before SQLite copies it into the database file, during a bulk
# write (its default is 1,000 pages, 4 MB).
BULK_WAL_CHECKPOINT_PAGES = 50_000


@contextmanager
def wal_checkpoints_deferred() -> Iterator[None]:
    """On SQLite, for this connection and the duration of the block, let the write-ahead log
    grow to `BULK_WAL_CHECKPOINT_PAGES` (200 MB) before it is copied into the database file, then
    copy it once at the end. With the default of 4 MB, an import of many chunks copies the same
    index pages into the database over and over: every chunk's commit rewrites the pages its
    random index inserts touched, and each checkpoint writes them again. A passive checkpoint
    never blocks readers or writers of other connections; whatever it cannot copy, a later
    commit's automatic checkpoint does. No-op on PostgreSQL."""
    if is_postgres():
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        before = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA wal_autocheckpoint = {int(BULK_WAL_CHECKPOINT_PAGES)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint = {before}")
            if not connection.in_atomic_block:
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")


_KEY_CHECK_PRIVILEGE: dict[tuple[str, str, str], bool] = {}


def can_check_keys_set_based() -> bool:
    """Whether this PostgreSQL role may switch off the per-row foreign-key triggers for a
    transaction (`session_replication_role`: superusers, or roles granted `SET` on it, PG ≥ 15)
    and the deployment allows it (`KEHU_IMPORT_SET_BASED_KEY_CHECKS`, on by default)."""
    if not is_postgres() or not getattr(settings, "IMPORT_SET_BASED_KEY_CHECKS", True):
        return False
    params = connection.settings_dict
    cache_key = (str(params.get("HOST")), str(params.get("NAME")), str(params.get("USER")))
    if cache_key not in _KEY_CHECK_PRIVILEGE:
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            row = cursor.fetchone()
            allowed = bool(row and row[0])
            if not allowed and connection.pg_version >= 150000:
                cursor.execute("SELECT has_parameter_privilege('session_replication_role', 'SET')")
                allowed = bool(cursor.fetchone()[0])
        _KEY_CHECK_PRIVILEGE[cache_key] = allowed
    return _KEY_CHECK_PRIVILEGE[cache_key]


@contextmanager
def foreign_keys_checked_set_based(references: Mapping[type[Model], Iterable[Any]]) -> Iterator[bool]:
    """Bulk writes inside this block have their foreign keys checked once per distinct key
    instead of once per row. PostgreSQL checks a foreign key with a row trigger that, for
    every inserted row, looks the parent up and locks it `FOR KEY SHARE` (at COMMIT for
    Django's deferred constraints); a million order lines queue millions of such events,
    about two thirds of an import's time. Here every parent the block will reference
    (`references`: model → ids, None ignored) is looked up and locked `FOR KEY SHARE` in one
    statement per model (the same lock the trigger takes, so a concurrent delete still waits
    for this transaction), a missing one raises IntegrityError before anything is written, and
    then the triggers are off for the block only (`SET LOCAL session_replication_role =
    replica`, which also skips ordinary triggers: the only ones on tables written in such a
    block are `ENABLE ALWAYS`, the name search's copy of each customer's spend, ADR 0005).

    The caller must pass every parent id its writes reference, except rows written in the
    same block or transaction by the same caller (e.g. lines of orders just copied), and must
    not change key columns of existing rows. Without the privilege (or on SQLite, which checks
    keys itself) the block is a plain block and the database's own checks run. Yields whether
    the set-based checks are in force. Call inside a transaction."""
    if not can_check_keys_set_based():
        yield False
        return
    with connection.cursor() as cursor:
        for model, ids in references.items():
            wanted = sorted({int(i) for i in ids if i is not None})
            if not wanted:
                continue
            cursor.execute(
                f"WITH locked AS (SELECT id FROM {table(model)} WHERE id = ANY(%s::bigint[]) FOR KEY SHARE) "
                "SELECT count(*) FROM locked",
                [pg_array(wanted)],
            )
            found = cursor.fetchone()[0]
            if found != len(wanted):
                raise IntegrityError(f"{len(wanted) - found} referenced {model._meta.label_lower} rows do not exist")
        cursor.execute("SET LOCAL session_replication_role = replica")
    yield True
    # Only reached without an exception: after one, the transaction (or savepoint) is rolled
    # back, which restores the setting.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = origin")


def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _sqlite_value(value: Any) -> Any:
    """SQLite stores what Django's ORM would: UTC naive datetimes, decimals as text, JSON as text."""
    if value is None or type(value) in _PLAIN:
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def _pg_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def batched(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def allocate_ids(model: type[Model], count: int) -> list[int]:
    """Reserve `count` primary keys for rows about to be inserted, so children can reference them
    without a round trip per row. PostgreSQL draws from the sequence; on SQLite the caller holds
    the write lock (the transaction began IMMEDIATE), so the next ids are ours."""
    if count <= 0:
        return []
    with connection.cursor() as cursor:
        if is_postgres():
            # The sequence is named once (a `pg_get_serial_sequence` per drawn id cost ten times
            # the drawing itself), and the ids come back as their range: ids drawn in one
            # statement form one run unless another transaction drew from the same sequence
            # at the same moment; only then are they drawn again and fetched one by one (the
            # first draw leaves a gap, as any rolled-back insert does).
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
            sequence = cursor.fetchone()[0]
            draw = "SELECT nextval(%s::regclass) AS v FROM generate_series(1, %s)"
            cursor.execute(f"SELECT min(v), max(v) FROM ({draw}) drawn", [sequence, count])
            first, last = cursor.fetchone()
            if last - first + 1 == count:
                return list(range(first, last + 1))
            cursor.execute(draw, [sequence, count])
            return sorted(row[0] for row in cursor.fetchall())
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table(model)}")
        top = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [model._meta.db_table])
        row = cursor.fetchone()
        start = max(top, row[0] if row else 0) + 1
        return list(range(start, start + count))


def copy_insert(model: type[Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    """Insert rows that are known to be new (no conflict handling): `COPY` on PostgreSQL,
    `executemany` on SQLite."""
    if not rows:
        return 0
    cols = ", ".join(_q(c) for c in columns)
    with connection.cursor() as cursor:
        if is_postgres():
            with cursor.cursor.copy(f"COPY {table(model)} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([_pg_value(v) for v in row])
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {table(model)} ({cols}) VALUES ({marks})",
                [[_sqlite_value(v) for v in row] for row in rows],
            )
    return len(rows)


def _stage(cursor: Any, model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """COPY rows into a temporary table shaped like the target's columns; returns its name."""
    name = f"kehu_stage_{next(_stage_counter)}"
    cols = ", ".join(_q(c) for c in columns)
    cursor.execute(f"CREATE TEMP TABLE {name} ON COMMIT DROP AS SELECT {cols} FROM {table(model)} WITH NO DATA")
    with cursor.cursor.copy(f"COPY {name} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_pg_value(v) for v in row])
    return name


def upsert_returning(
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    conflict: Sequence[str],
    update: Sequence[str],
    returning: Sequence[str],
    touch: Sequence[str] = (),
    conflict_where: str = "",
) -> list[tuple[Any, ...]]:
    """Insert rows, or update the existing row with the same `conflict` key when any of the
    `update` columns differs (`IS DISTINCT FROM`, so unchanged rows are not rewritten; `touch`
    columns such as `updated_at` are set only then). Returns the `returning` columns of rows
    inserted or changed; unchanged rows return nothing."""
    if not rows:
        return []
    target = f"({', '.join(_q(c) for c in conflict)})" + (f" WHERE {conflict_where}" if conflict_where else "")
    tbl = table(model)
    sets = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in [*update, *touch])
    changed = " OR ".join(f"{tbl}.{_q(c)} IS DISTINCT FROM excluded.{_q(c)}" for c in update)
    if not is_postgres():
        # SQLite spells IS DISTINCT FROM as IS NOT.
        changed = changed.replace("IS DISTINCT FROM", "IS NOT")
    cols = ", ".join(_q(c) for c in columns)
    ret = ", ".join(_q(c) for c in returning)
    out: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        if is_postgres():
            stage = _stage(cursor, model, columns, rows)
            cursor.execute(
                f"INSERT INTO {tbl} ({cols}) SELECT {cols} FROM {stage} "
                f"ON CONFLICT {target} DO UPDATE SET {sets} WHERE {changed} RETURNING {ret}"
            )
            out = [tuple(r) for r in cursor.fetchall()]
            cursor.execute(f"DROP TABLE {stage}")
            return out
        per_statement = max(1, SQLITE_MAX_VARIABLES // len(columns))
        row_marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for part in batched(rows, per_statement):
            # "SELECT … WHERE true" resolves SQLite's parsing ambiguity between VALUES and ON CONFLICT.
            values = ", ".join([row_marks] * len(part))
            cursor.execute(
                f"INSERT INTO {tbl} ({cols}) SELECT * FROM (VALUES {values}) WHERE true "
                f"ON CONFLICT {target} DO UPDATE SET {sets} WHERE {changed} RETURNING {ret}",
                [_sqlite_value(v) for row in part for v in row],
            )
            out.extend(tuple(r) for r in cursor.fetchall())
    return out


def insert_ignore_conflicts(
    model: type[Model], columns: Sequence[str], rows: Sequence[Sequence[Any]], *, conflict: Sequence[str]
) -> None:
    """Insert rows, silently keeping the existing row where the `conflict` key already exists."""
    if not rows:
        return
    cols = ", ".join(_q(c) for c in columns)
    target = ", ".join(_q(c) for c in conflict)
    with connection.cursor() as cursor:
        if is_postgres():
            stage = _stage(cursor, model, columns, rows)
            cursor.execute(
                f"INSERT INTO {table(model)} ({cols}) SELECT {cols} FROM {stage} ON CONFLICT ({target}) DO NOTHING"
            )
            cursor.execute(f"DROP TABLE {stage}")
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {table(model)} ({cols}) VALUES ({marks}) ON CONFLICT ({target}) DO NOTHING",
                [[_sqlite_value(v) for v in row] for row in rows],
            )


def update_by_id(model: type[Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    """Set `columns` on the rows whose id is the first value of each row."""
    if not rows:
        return 0
    tbl = table(model)
    with connection.cursor() as cursor:
        if is_postgres():
            stage = _stage(cursor, model, ["id", *columns], rows)
            sets = ", ".join(f"{_q(c)} = s.{_q(c)}" for c in columns)
            cursor.execute(f"UPDATE {tbl} SET {sets} FROM {stage} s WHERE {tbl}.id = s.id")
            cursor.execute(f"DROP TABLE {stage}")
        else:
            sets = ", ".join(f"{_q(c)} = %s" for c in columns)
            cursor.executemany(
                f"UPDATE {tbl} SET {sets} WHERE id = %s",
                [[_sqlite_value(v) for v in row[1:]] + [row[0]] for row in rows],
            )
    return len(rows)


def fetch_in(sql: str, values: Sequence[Any], params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run `sql` (containing one `{in}` placeholder for an IN list, placed after `params`) over
    `values` in batches; returns all rows."""
    out: list[tuple[Any, ...]] = []
    if not values:
        return out
    with connection.cursor() as cursor:
        for part in batched(list(values), IN_BATCH):
            cursor.execute(sql.format(**{"in": ", ".join(["%s"] * len(part))}), [*params, *part])
            out.extend(tuple(r) for r in cursor.fetchall())
    return out


def delete_in(model: type[Model], column: str, values: Sequence[Any], extra_where: str = "") -> None:
    if not values:
        return
    with connection.cursor() as cursor:
        for part in batched(list(values), IN_BATCH):
            marks = ", ".join(["%s"] * len(part))
            cursor.execute(
                f"DELETE FROM {table(model)} WHERE {_q(column)} IN ({marks}) {extra_where}",
                list(part),
            )


# --- Column (Arrow) writers for the hot paths --------------------------------------------------


def cents_to_decimal(cents: Any) -> Any:
    """Money held as integer cents → an Arrow decimal(14, 2) array, without a Decimal per value."""
    import numpy as np
    import pyarrow as pa

    cents = np.asarray(cents, dtype=np.int64)
    raw = np.empty((len(cents), 2), dtype=np.int64)
    raw[:, 0] = cents
    raw[:, 1] = np.where(cents < 0, -1, 0)  # two's complement high word of the 128-bit value
    return pa.Array.from_buffers(pa.decimal128(14, 2), len(cents), [None, pa.py_buffer(raw.tobytes())])


def _sqlite_column(column: Any) -> list[Any]:
    """An Arrow column as the Python values Django's SQLite backend stores."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_timestamp(kind):
        # Naive UTC text, microseconds only when present, exactly as Django writes datetimes.
        return pc.replace_substring_regex(pgcopy.utc_wall_text(column), r"\.000000$", "").to_pylist()
    if pa.types.is_decimal(kind) or pa.types.is_date(kind):
        return pc.cast(column, pa.string()).to_pylist()
    return column.to_pylist()


def copy_arrow(model: type[Model], data: Any) -> int:
    """Insert the rows of an Arrow table (columns named after the model's columns) that are
    known to be new: PostgreSQL `COPY … (FORMAT csv)` of a buffer Arrow's C++ CSV writer built
    (nulls unquoted, strings quoted, so "" stays an empty string), SQLite `executemany`."""
    if data.num_rows == 0:
        return 0
    if is_postgres():
        pgcopy.copy_arrow(table(model), data)
        return data.num_rows
    cols = ", ".join(_q(c) for c in data.column_names)
    marks = ", ".join(["%s"] * data.num_columns)
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table(model)} ({cols}) VALUES ({marks})", _sqlite_rows(data))
    return data.num_rows


def sqlite_columns(data: Any, names: Sequence[str]) -> list[list[Any]]:
    """Columns of an Arrow table as the Python values SQLite's `executemany` takes."""
    return [_sqlite_column(data.column(name).combine_chunks()) for name in names]


def _sqlite_rows(data: Any) -> list[tuple[Any, ...]]:
    """The rows of an Arrow table as the tuples SQLite's `executemany` takes."""
    values = [_sqlite_column(c.combine_chunks() if hasattr(c, "combine_chunks") else c) for c in data.columns]
    return list(zip(*values, strict=True))


def stage_arrow(model: type[Model], data: Any) -> str:
    """PostgreSQL: the rows of an Arrow table (columns named after the model's columns) copied
    into a new temporary table with those columns' types, dropped at commit; returns its name."""
    name = f"kehu_stage_{next(_stage_counter)}"
    cols = ", ".join(_q(c) for c in data.column_names)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE {name} ON COMMIT DROP AS SELECT {cols} FROM {table(model)} WITH NO DATA")
    pgcopy.copy_arrow(name, data)
    return name


def insert_arrow_ignore_conflicts(model: type[Model], data: Any, *, conflict: Sequence[str]) -> None:
    """`insert_ignore_conflicts` for the rows of an Arrow table (columns named after the model's
    columns): PostgreSQL stages them with `COPY … (FORMAT csv)` from Arrow's CSV writer, SQLite
    runs `executemany`."""
    if data.num_rows == 0:
        return
    cols = ", ".join(_q(c) for c in data.column_names)
    target = ", ".join(_q(c) for c in conflict)
    with connection.cursor() as cursor:
        if is_postgres():
            name = stage_arrow(model, data)
            cursor.execute(
                f"INSERT INTO {table(model)} ({cols}) SELECT {cols} FROM {name} ON CONFLICT ({target}) DO NOTHING"
            )
            cursor.execute(f"DROP TABLE {name}")
        else:
            marks = ", ".join(["%s"] * data.num_columns)
            cursor.executemany(
                f"INSERT INTO {table(model)} ({cols}) VALUES ({marks}) ON CONFLICT ({target}) DO NOTHING",
                _sqlite_rows(data),
            )


def fetch_any(sql: str, values: Sequence[Any], params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """`fetch_in` in one statement on PostgreSQL (`= ANY(%s)` with an array parameter); the
    SQL holds `{in}` where the IN list or array goes."""
    if not values:
        return []
    if not is_postgres():
        return fetch_in(sql, values, params)
    with connection.cursor() as cursor:
        # The literal's type is left to PostgreSQL: an array of the compared column's type.
        cursor.execute(sql.replace("IN ({in})", "= ANY(%s)"), [*params, pg_array(values)])
        return [tuple(r) for r in cursor.fetchall()]


def pg_array(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal of strings or of ints (None is NULL). The driver adapts a list
    parameter element by element in Python (≈ 5 µs each, 3.5 s of a 1M-line import's lookups);
    joining a literal is ≈ 20x faster. Strings are always quoted, with backslashes and double
    quotes escaped, so no value can change the literal's structure; anything that is neither a
    string nor an integer raises TypeError."""
    items = list(values)
    if all(type(v) is str for v in items):
        joined = '","'.join(items)
        if "\\" not in joined and joined.count('"') == 2 * (len(items) - 1):  # nothing to escape
            return '{"' + joined + '"}'
    elif not any(v is None or isinstance(v, str) for v in items):
        return "{" + ",".join(map(str, map(operator.index, items))) + "}"  # TypeError unless ints
    return "{" + ",".join(_pg_array_element(v) for v in items) + "}"


def _pg_array_element(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(operator.index(value))  # ints, NumPy ints; TypeError for the rest
