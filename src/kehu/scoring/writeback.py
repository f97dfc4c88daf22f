"""Set-based write-back of a scoring run. On PostgreSQL the scores are copied (`COPY … FROM
STDIN` of an Arrow-written CSV, `copy_scores`) into a new score table, which is given the old
table's indexes and constraints in bulk and renamed into its place (`swap_in`). When something
else depends on the old table, and on SQLite, they go into a temporary staging table in one bulk
load (`COPY`, or `executemany` on SQLite) and one `INSERT … SELECT … ON CONFLICT DO UPDATE` moves
them into place. One `INSERT … SELECT` writes the run's grade snapshots. Reads of earlier
snapshots use `COPY … TO`.

The values stored are exactly those the ORM would store for the same scores (same rounding of
money, same JSON text, same handling of missing values); `tests/scoring/test_writeback.py` holds
both paths to that."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
from django.db import connection

from kehu.pgcopy import copy_arrow

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

# The money columns hold 14 digits; a model estimate beyond that (a degenerate fit on little
# data) is no estimate at all, so it is stored as unknown rather than failing the whole run.
MAX_MONEY = 999_999_999_999.99

SCORE_STAGE = "kehu_score_stage"
WARNING_STAGE = "kehu_warning_stage"

# (column, PostgreSQL type, SQLite type) of the staged scores, in CustomerScore's column names.
SCORE_STAGE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("customer_id", "bigint", "INTEGER"),
    ("recency_days", "integer", "INTEGER"),
    ("frequency", "integer", "INTEGER"),
    ("monetary", "numeric(14, 2)", "TEXT"),
    ("r_grade", "text", "TEXT"),
    ("f_grade", "text", "TEXT"),
    ("m_grade", "text", "TEXT"),
    ("rfm_class", "text", "TEXT"),
    ("tier", "text", "TEXT"),
    ("segment", "text", "TEXT"),
    ("lifecycle_stage", "text", "TEXT"),
    ("p_alive", "double precision", "REAL"),
    ("expected_purchases_90d", "double precision", "REAL"),
    ("expected_purchases_365d", "double precision", "REAL"),
    ("clv_365d", "numeric(14, 2)", "TEXT"),
    ("churn_probability", "double precision", "REAL"),
    ("churn_reasons", "jsonb", "TEXT"),
)
MONEY_COLUMNS = ("monetary", "clv_365d")
TEXT_COLUMNS = ("r_grade", "f_grade", "m_grade", "rfm_class", "tier", "segment", "lifecycle_stage")
FLOAT_COLUMNS = ("p_alive", "expected_purchases_90d", "expected_purchases_365d", "churn_probability")
SNAPSHOT_COLUMNS = ("r_grade", "f_grade", "m_grade", "tier", "lifecycle_stage", "churn_probability")


def is_postgres() -> bool:
    return bool(connection.vendor == "postgresql")


def q(name: str) -> str:
    return str(connection.ops.quote_name(name))


# --- values -------------------------------------------------------------------------------------


def money_text(value: Any) -> str | None:
    """A money value as the ORM stores it: rounded to cents the way Python's `round` does (exactly,
    ties to even), or None when it is missing, infinite or too large for the column."""
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number) or abs(number) > MAX_MONEY:
        return None
    return str(Decimal(str(round(number, 2))))


def money_cents(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cents and a missing-mask for a float column, vectorised and equal to `money_text`: NumPy's
    `rint(x * 100)` is exact except within rounding error of a half cent, and those few values are
    rounded by Python's `round` instead."""
    v = np.asarray(values, dtype=float)
    missing = ~np.isfinite(v) | (np.abs(v) > MAX_MONEY)
    safe = np.where(missing, 0.0, v)
    scaled = safe * 100.0
    cents = np.rint(scaled)
    distance = np.abs(np.abs(scaled - np.trunc(scaled)) - 0.5)
    near_half = ~missing & (distance <= 1e-7 + np.abs(scaled) * 1e-14)
    for i in np.flatnonzero(near_half):
        cents[i] = round(Decimal(str(round(float(v[i]), 2))) * 100)
    return cents.astype(np.int64), missing


def reasons_list(value: Any) -> list[str]:
    """The engine's "a; b; c" reasons (or a list) as the list stored in the JSON column."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or (not isinstance(value, list) and not value):
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part.strip() for part in str(value).split(";") if part.strip()]


def _by_distinct(series: pd.Series, text: Callable[[Any], str], missing: str) -> tuple[np.ndarray, list[str]]:
    """`text` of every value as (codes, texts) with texts[codes[i]] the i-th value's text: called
    once per distinct value rather than a million times (grades, segments and reason lists take a
    handful of values). Missing values (None, NaN, NA) have the last text, `missing`."""
    import pandas as pd

    try:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    except TypeError:  # unhashable values (reasons given as lists): one call each
        values = series.tolist()
        return np.arange(len(values)), [text(v) for v in values] + [missing]
    texts = [text(v) for v in uniques.tolist()] + [missing]
    return np.where(codes < 0, len(texts) - 1, codes), texts


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _text_codes(scores: pd.DataFrame, name: str) -> tuple[np.ndarray, list[str]]:
    if name not in scores.columns:
        return np.zeros(len(scores), dtype=np.int64), [""]
    return _by_distinct(scores[name], _text, "")


def _reasons_text(value: Any) -> str:
    reasons = reasons_list(value)
    return json.dumps(reasons) if reasons else "[]"


def _reasons_codes(scores: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    return _by_distinct(scores["churn_reasons"], _reasons_text, "[]")


def _float_column(scores: pd.DataFrame, name: str) -> np.ndarray:
    return scores[name].to_numpy(dtype=float, na_value=np.nan)


# --- staging ------------------------------------------------------------------------------------


def _create_stage(cursor: Any, name: str, columns: Sequence[tuple[str, str, str]]) -> None:
    pg = is_postgres()
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cols = ", ".join(f"{q(c)} {pg_type if pg else lite_type}" for c, pg_type, lite_type in columns)
    cursor.execute(f"CREATE TEMP TABLE {name} ({cols})")


def _copy_arrow(cursor: Any, name: str, table: pa.Table) -> None:
    copy_arrow(name, table)
    cursor.execute(f"ANALYZE {name}")


def _executemany(cursor: Any, name: str, columns: Sequence[str], rows: Any) -> None:
    cols = ", ".join(q(c) for c in columns)
    marks = ", ".join("?" for _ in columns)
    # Straight to sqlite3: Django's wrapper would rewrite every row's placeholders.
    cursor.cursor.executemany(f"INSERT INTO {name} ({cols}) VALUES ({marks})", rows)


def stage_scores(cursor: Any, scores: pd.DataFrame) -> int:
    """Load the scores into the temporary table `SCORE_STAGE`; returns the number of rows."""
    _create_stage(cursor, SCORE_STAGE, SCORE_STAGE_COLUMNS)
    n = len(scores)
    if n == 0:
        return 0
    names = [c for c, _, _ in SCORE_STAGE_COLUMNS]
    if is_postgres():
        _copy_arrow(cursor, SCORE_STAGE, scores_table(scores))
        return n
    ints = _int_columns(scores)
    texts = _text_columns(scores)
    columns: dict[str, list[Any]] = {c: v.tolist() for c, v in ints.items()}
    columns["monetary"] = [money_text(v) or "0" for v in _float_column(scores, "monetary").tolist()]
    columns["clv_365d"] = [money_text(v) for v in _float_column(scores, "clv_365d").tolist()]
    columns.update({c: np.array(t, dtype=object)[codes].tolist() for c, (codes, t) in texts.items()})
    for c in FLOAT_COLUMNS:
        columns[c] = [None if math.isnan(x) else x for x in _float_column(scores, c).tolist()]
    _executemany(cursor, SCORE_STAGE, names, zip(*(columns[c] for c in names), strict=True))
    return n


def copy_scores(cursor: Any, table: str, scores: pd.DataFrame, constants: dict[str, Any]) -> int:
    """COPY the scores straight into `table` (PostgreSQL), in customer order, each row also given
    the `constants` (column → one value, as text). Returns the number of rows."""
    import pyarrow as pa

    if not len(scores):
        return 0
    data = scores_table(scores)
    ids = data.column("customer_id").to_numpy()
    if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        data = data.take(pa.array(np.argsort(ids, kind="stable")))
    for name, value in constants.items():
        data = data.append_column(name, pa.repeat(pa.scalar(str(value), type=pa.string()), len(ids)))
    _copy_arrow(cursor, q(table), data)
    return len(ids)


def _int_columns(scores: pd.DataFrame) -> dict[str, np.ndarray]:
    return {c: scores[c].to_numpy(dtype=np.int64) for c in ("customer_id", "recency_days", "frequency")}


def _text_columns(scores: pd.DataFrame) -> dict[str, tuple[np.ndarray, list[str]]]:
    texts = {c: _text_codes(scores, c) for c in TEXT_COLUMNS}
    texts["churn_reasons"] = _reasons_codes(scores)
    return texts


def scores_table(scores: pd.DataFrame) -> pa.Table:
    """The scores as an Arrow table of `SCORE_STAGE_COLUMNS`, the values the ORM would store."""
    import pyarrow as pa

    from kehu.demo.bulk import money

    n = len(scores)
    names = [c for c, _, _ in SCORE_STAGE_COLUMNS]
    arrays: dict[str, pa.Array] = {c: pa.array(v, type=pa.int64()) for c, v in _int_columns(scores).items()}
    for c in MONEY_COLUMNS:
        cents, missing = money_cents(_float_column(scores, c))
        if c == "monetary":  # the spend is never unknown: a missing one is stored as 0
            cents, missing = np.where(missing, 0, cents), np.zeros(n, dtype=bool)
        arr = money(cents)
        arrays[c] = _with_nulls(arr, missing) if missing.any() else arr
    for c, (codes, texts) in _text_columns(scores).items():
        arrays[c] = pa.array(texts, type=pa.string()).take(pa.array(codes))
    for c in FLOAT_COLUMNS:
        arrays[c] = pa.array(_float_column(scores, c), type=pa.float64(), from_pandas=True)
    return pa.Table.from_arrays([arrays[c] for c in names], names=names)


def _with_nulls(arr: pa.Array, missing: np.ndarray) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.if_else(pa.array(missing), pa.scalar(None, type=arr.type), arr)


def stage_warnings(
    cursor: Any, customer_ids: list[int], codes: list[str], reasons: list[str], teams: list[str]
) -> None:
    columns = (
        ("customer_id", "bigint", "INTEGER"),
        ("code", "text", "TEXT"),
        ("reason", "text", "TEXT"),
        ("team", "text", "TEXT"),
    )
    _create_stage(cursor, WARNING_STAGE, columns)
    if not customer_ids:
        return
    names = [c for c, _, _ in columns]
    if is_postgres():
        import pyarrow as pa

        table = pa.Table.from_arrays(
            [
                pa.array(customer_ids, type=pa.int64()),
                pa.array(codes, type=pa.string()),
                pa.array(reasons, type=pa.string()),
                pa.array(teams, type=pa.string()),
            ],
            names=names,
        )
        _copy_arrow(cursor, WARNING_STAGE, table)
    else:
        _executemany(cursor, WARNING_STAGE, names, zip(customer_ids, codes, reasons, teams, strict=True))


def drop_stage(cursor: Any, name: str) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {name}")


# --- reads --------------------------------------------------------------------------------------


def read_rows(sql: str, params: Sequence[Any], columns: Sequence[str], int_columns: Sequence[str] = ()) -> pd.DataFrame:
    """The rows of a query (integer and text columns only) as a DataFrame, the same on both
    databases: PostgreSQL streams them with `COPY (query) TO STDOUT`, parsed by Arrow; SQLite
    fetches them and pandas infers the same dtypes."""
    import pandas as pd

    with connection.cursor() as cursor:
        if not is_postgres():
            cursor.execute(sql, params)
            return pd.DataFrame.from_records(cursor.fetchall(), columns=list(columns))
        import pyarrow as pa
        import pyarrow.csv as pacsv

        raw: Any = cursor.cursor
        buffer = io.BytesIO()
        with raw.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, FORCE_QUOTE *)", params) as copy:
            for block in copy:
                buffer.write(block)
    if buffer.tell() == 0:
        return pd.DataFrame.from_records([], columns=list(columns))
    buffer.seek(0)
    table = pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=list(columns)),
        # Quoted fields are values (an empty string stays ""); only bare empty fields are NULL.
        convert_options=pacsv.ConvertOptions(
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            column_types={c: pa.int64() if c in int_columns else pa.string() for c in columns},
        ),
    )
    frame: pd.DataFrame = table.to_pandas()
    return frame


# --- table swap (PostgreSQL) --------------------------------------------------------------------

SWAP_SUFFIX = "_kehu_new"


def _swap_name(name: str) -> str:
    """A temporary name for an object of the table being built: PostgreSQL truncates names at 63 bytes."""
    return name[: 63 - len(SWAP_SUFFIX)] + SWAP_SUFFIX


def table_layout(cursor: Any, table: str) -> dict[str, Any] | None:
    """What a rebuilt copy of `table` must be given to be the same table: its constraints and
    indexes by name and definition, and its grants. None if the table cannot be swapped for a
    copy without breaking or losing something that refers to it (a foreign key into it, a view
    over it, a trigger of its own, a sequence it owns, a replication publication, row security
    policies, extended statistics, storage options) — those would need more than renames."""
    cursor.execute("SELECT to_regclass(%s)::oid", [table])
    oid = cursor.fetchone()[0]
    if oid is None:
        return None
    cursor.execute(
        "SELECT (SELECT count(*) FROM pg_constraint WHERE confrelid = %s AND conrelid <> %s)"
        " + (SELECT count(*) FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid"
        "    WHERE d.refobjid = %s AND r.ev_class <> %s)"
        " + (SELECT count(*) FROM pg_trigger WHERE tgrelid = %s AND NOT tgisinternal)"
        " + (SELECT count(*) FROM pg_depend WHERE refobjid = %s AND classid = 'pg_class'::regclass"
        "    AND deptype IN ('a', 'i') AND objid IN (SELECT oid FROM pg_class WHERE relkind = 'S'))"
        " + (SELECT count(*) FROM pg_inherits WHERE inhparent = %s OR inhrelid = %s)"
        " + (SELECT count(*) FROM pg_publication_rel WHERE prrelid = %s)"
        " + (SELECT count(*) FROM pg_publication WHERE puballtables)"
        " + (SELECT count(*) FROM pg_policy WHERE polrelid = %s)"
        " + (SELECT count(*) FROM pg_statistic_ext WHERE stxrelid = %s)"
        " + (SELECT count(*) FROM pg_class WHERE oid = %s AND (reloptions IS NOT NULL OR relrowsecurity))",
        [oid] * 12,
    )
    if cursor.fetchone()[0]:
        return None
    # Not-null constraints (listed here from PostgreSQL 18) come with the columns' copy.
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s AND contype <> 'n'"
        " ORDER BY conname",
        [oid],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT c.relname, i.indisunique, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = %s)"
        " ORDER BY c.relname",
        [oid, oid],
    )
    indexes = [(name, unique, definition.split(" USING ", 1)[1]) for name, unique, definition in cursor.fetchall()]
    cursor.execute(
        "SELECT CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END, a.privilege_type,"
        " a.is_grantable FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = %s AND a.grantee <> c.relowner",
        [oid],
    )
    grants = cursor.fetchall()
    return {"constraints": constraints, "indexes": indexes, "grants": grants}


def build_swap_table(cursor: Any, table: str) -> str:
    """An empty copy of `table`'s columns (defaults and not-null included, nothing else) to fill."""
    new = _swap_name(table)
    cursor.execute(f"DROP TABLE IF EXISTS {q(new)}")
    cursor.execute(f"CREATE TABLE {q(new)} (LIKE {q(table)} INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMMENTS)")
    return new


def swap_in(cursor: Any, table: str, new: str, layout: dict[str, Any]) -> None:
    """Give the filled copy `new` the table's indexes and constraints (bulk builds, under temporary
    names), then, holding the table's lock only for renames, drop the table and put the copy in its
    place with the original names. Runs inside the caller's transaction."""
    renames: list[str] = []

    def add_constraints(foreign: bool) -> None:
        for name, definition in layout["constraints"]:
            if definition.startswith("FOREIGN KEY") == foreign:
                temporary = _swap_name(name)
                cursor.execute(f"ALTER TABLE {q(new)} ADD CONSTRAINT {q(temporary)} {definition}")
                renames.append(f"ALTER TABLE {q(table)} RENAME CONSTRAINT {q(temporary)} TO {q(name)}")

    add_constraints(foreign=False)
    for name, unique, tail in layout["indexes"]:
        temporary = _swap_name(name)
        cursor.execute(f"CREATE {'UNIQUE ' if unique else ''}INDEX {q(temporary)} ON {q(new)} USING {tail}")
        renames.append(f"ALTER INDEX {q(temporary)} RENAME TO {q(name)}")
    # Foreign keys last: checking one locks the table it refers to against writes until the commit.
    add_constraints(foreign=True)
    for grantee, privilege, grantable in layout["grants"]:
        option = " WITH GRANT OPTION" if grantable else ""
        cursor.execute(f"GRANT {privilege} ON {q(new)} TO {grantee}{option}")
    # A deferred key check still queued on the old table (rows written earlier in this
    # transaction) would forbid dropping it: run those checks now.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute(f"DROP TABLE {q(table)}")
    cursor.execute(f"ALTER TABLE {q(new)} RENAME TO {q(table)}")
    for statement in renames:
        cursor.execute(statement)
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


# --- grade snapshots, one partition per run (PostgreSQL) ----------------------------------------


def run_partition(table: str, run_id: int) -> str:
    """The name of a run's partition of the grade snapshots."""
    return f"{table}_run_{int(run_id)}"


def write_run_partition(cursor: Any, table: str, run_id: int, columns: Sequence[str], select: str, params: Any) -> int:
    """Replace run `run_id`'s rows of the partitioned `table` by the rows of `select` (which yields
    `columns`): they fill a table of their own, which gets the partitioned table's unique and plain
    indexes in bulk builds and is then attached as the run's partition. Attaching takes no
    lock that stops readers or other runs' writers, and a check constraint on the run spares
    PostgreSQL the scan that would prove the rows belong. Returns the number of rows written."""
    part = run_partition(table, run_id)
    cursor.execute(f"DROP TABLE IF EXISTS {q(part)}")
    # Rows of the run written outside a scoring run (an unmerge putting rows back after the run's
    # partition was replaced) sit in the default partition.
    cursor.execute(f"DELETE FROM {q(table)} WHERE run_id = %s", [int(run_id)])
    cursor.execute(
        f"CREATE TABLE {q(part)} (LIKE {q(table)} INCLUDING DEFAULTS, "
        f"CONSTRAINT {q(part + '_run')} CHECK (run_id = {int(run_id)}))"
    )
    cursor.execute(f"INSERT INTO {q(part)} ({', '.join(q(c) for c in columns)}) {select}", params)
    written = int(cursor.rowcount)
    # The partitioned table's keys are unique indexes, not constraints (migration scoring.0005: a
    # restore could not drop a partition's inherited key constraint); each gets its twin here, named
    # after the partition, which ATTACH adopts instead of building another.
    cursor.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indrelid = %s::regclass ORDER BY c.relname",
        [table],
    )
    for index, definition in cursor.fetchall():
        unique = "UNIQUE " if definition.startswith("CREATE UNIQUE") else ""
        name = _partition_object(part, index)
        cursor.execute(f"CREATE {unique}INDEX {q(name)} ON {q(part)} USING {definition.split(' USING ', 1)[1]}")
    cursor.execute(f"ALTER TABLE {q(table)} ATTACH PARTITION {q(part)} FOR VALUES IN ({int(run_id)})")
    return written


def _partition_object(part: str, index: str) -> str:
    suffix = "_" + index.rsplit("_", 1)[-1]
    return part[: 63 - len(suffix)] + suffix


def drop_orphan_partitions(cursor: Any, table: str, runs: str) -> None:
    """Drop the partitions of runs that no longer exist (a deleted run leaves its partition empty)."""
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = %s::regclass AND c.relname LIKE %s",
        [table, table.replace("_", r"\_") + r"\_run\_%"],
    )
    prefix = table + "_run_"
    partitions = {int(name[len(prefix) :]): name for (name,) in cursor.fetchall() if name[len(prefix) :].isdigit()}
    if not partitions:
        return
    cursor.execute(f"SELECT id FROM {q(runs)} WHERE id = ANY(%s)", [list(partitions)])
    existing = {row[0] for row in cursor.fetchall()}
    for run_id, name in partitions.items():
        if run_id not in existing:
            cursor.execute(f"DROP TABLE {q(name)}")
