"""Load transaction tables (CSV, Parquet, pandas, any Ibis backend) into a normalised Ibis table."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .exceptions import AnalyticsInputError

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = [
    "EPOCH",
    "ColumnNames",
    "connect_duckdb",
    "normalise_transactions",
    "read_table",
    "to_day_number",
    "transactions_from_pandas",
]

EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class ColumnNames:
    """Names of the customer, date and amount columns in the caller's table."""

    customer: str = "customer_id"
    date: str = "date"
    amount: str = "amount"


def connect_duckdb(threads: int | None = None) -> Any:
    """Open an embedded in-memory DuckDB connection through Ibis (the default engine)."""
    import ibis  # imported on first use: Ibis and its backends take about a second to import

    con = ibis.duckdb.connect()
    if threads is not None:
        con.raw_sql(f"SET threads = {int(threads)}")
    return con


def read_table(path: str | os.PathLike[str], con: Any | None = None) -> ir.Table:
    """Read a CSV or Parquet file with DuckDB (streamed, multi-threaded, no pandas round-trip) or with ``con``.

    A URL (``s3a://bucket/orders.parquet``, ``hdfs://...``) is passed to the engine as it is: on a Spark cluster
    the executors read it, so it is not checked on this machine. Spark also reads a folder of part files.
    """
    p = Path(path)
    if "://" in str(path):
        p = Path(str(path).split("://", 1)[1])
    elif not p.exists():
        raise AnalyticsInputError(f"file not found: {p}")
    elif p.is_dir():
        if not (con is not None and getattr(con, "name", None) == "pyspark"):  # Spark reads folders of part files
            raise AnalyticsInputError(f"expected a file, got a directory: {p}")
    elif p.stat().st_size == 0:
        raise AnalyticsInputError(f"file is empty: {p}")
    location = str(path) if "://" in str(path) else str(p)
    con = con if con is not None else connect_duckdb()
    suffixes = "".join(p.suffixes).lower()
    try:
        if suffixes.endswith((".parquet", ".pq", ".parq")):
            table = con.read_parquet(location)
        elif suffixes.endswith((".csv", ".csv.gz", ".txt", ".tsv")):
            table = con.read_csv(location)
        else:
            raise AnalyticsInputError(f"unsupported file type {p.suffix!r}: use .csv or .parquet")
    except AnalyticsInputError:
        raise
    except Exception as exc:  # DuckDB raises many exception types for malformed files
        raise AnalyticsInputError(f"cannot read {p}: {_first_line(exc)}") from exc
    return table


def transactions_from_pandas(df: pd.DataFrame) -> ir.Table:
    """Wrap a pandas DataFrame as an Ibis table executed by the in-memory DuckDB backend."""
    if not isinstance(df, pd.DataFrame):
        raise AnalyticsInputError(f"expected a pandas DataFrame, got {type(df).__name__}")
    import ibis

    return ibis.memtable(df)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def to_day_number(value: dt.date | dt.datetime | str | pd.Timestamp) -> int:
    """Convert a date-like value to days since 1970-01-01 (the integer time axis used everywhere)."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise AnalyticsInputError(f"cannot parse date {value!r}") from exc
    if pd.isna(ts):
        raise AnalyticsInputError(f"cannot parse date {value!r}")
    return (ts.date() - EPOCH).days


def normalise_transactions(
    table: ir.Table | pd.DataFrame,
    columns: ColumnNames | None = None,
    date_format: str | None = None,
) -> ir.Table:
    """Return ``customer_id, day (int days since epoch), amount (float64)`` from any transactions table.

    Dates may be DATE, TIMESTAMP (time of day is dropped: the model works on calendar days), strings
    (ISO by default, or ``date_format`` such as ``%Y%m%d``) or integers written as ``yyyymmdd``.
    """
    cols = columns or ColumnNames()
    if isinstance(table, pd.DataFrame):
        table = transactions_from_pandas(table)
    missing = [c for c in (cols.customer, cols.date, cols.amount) if c not in table.columns]
    if missing:
        raise AnalyticsInputError(
            f"missing column(s) {', '.join(missing)}; available: {', '.join(map(str, table.columns))}"
        )
    date_col = table[cols.date]
    dtype = date_col.type()
    if dtype.is_date():
        day = date_col
    elif dtype.is_timestamp():
        day = date_col.cast("date")
    elif dtype.is_string():
        day = date_col.as_date(date_format) if date_format else date_col.cast("date")
    elif dtype.is_integer():
        # Integers are read as yyyymmdd (e.g. the CDNOW files); nothing else is a sensible reading.
        day = date_col.cast("string").as_date(date_format or "%Y%m%d")
    else:
        raise AnalyticsInputError(f"column {cols.date!r} has type {dtype}, which is not a date")
    amount = table[cols.amount]
    if not amount.type().is_numeric():
        if amount.type().is_string():
            amount = amount.cast("float64")
        else:
            raise AnalyticsInputError(f"column {cols.amount!r} has type {amount.type()}, which is not numeric")
    return table.select(
        customer_id=table[cols.customer],
        day=day.epoch_days().cast("int64"),
        amount=amount.cast("float64"),
    )
