"""The same Ibis summary gives identical results on DuckDB, SQLite and (when reachable) PostgreSQL."""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest

from kehu.analytics import SummaryOptions, customer_summary


def _transactions() -> pd.DataFrame:
    rng = np.random.default_rng(42)
    n = 3000
    return pd.DataFrame(
        {
            "customer_id": rng.integers(1, 400, n),
            "date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 500, n), unit="D"),
            "amount": np.round(rng.gamma(2.0, 20.0, n) * np.where(rng.random(n) < 0.05, -1, 1), 2),
        }
    )


def _summary(table: object) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = customer_summary(table, "2024-03-31", SummaryOptions(time_unit="week", period_days=180))  # type: ignore
    return s.sort_values("customer_id").reset_index(drop=True)


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for col in a.columns:
        if pd.api.types.is_numeric_dtype(a[col]):
            np.testing.assert_allclose(
                a[col].to_numpy(float), b[col].to_numpy(float), rtol=0, atol=1e-9, equal_nan=True, err_msg=col
            )
        else:
            assert (a[col].astype(str).to_numpy() == b[col].astype(str).to_numpy()).all(), col


def test_duckdb_and_sqlite_agree(tmp_path: Path) -> None:
    df = _transactions()
    path = tmp_path / "tx.db"
    con = sqlite3.connect(path)
    con.execute("create table tx (customer_id integer, date date, amount double)")
    con.executemany(
        "insert into tx values (?, ?, ?)",
        [(int(c), d.date().isoformat(), float(a)) for c, d, a in df.itertuples(index=False)],
    )
    con.commit()
    con.close()
    lite = ibis.sqlite.connect(path).table("tx")
    _assert_same(_summary(df), _summary(lite))


def test_duckdb_and_postgres_agree() -> None:
    psycopg = pytest.importorskip("psycopg")
    try:
        raw = psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=3, autocommit=True)
    except Exception as exc:  # no server: skip with the reason
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432 ({exc})")
    df = _transactions()
    table = "analytics_test_tx"
    try:
        raw.execute(f"drop table if exists {table}")
        raw.execute(f"create table {table} (customer_id bigint, date date, amount double precision)")
        with raw.cursor() as cur, cur.copy(f"copy {table} (customer_id, date, amount) from stdin") as copy:
            for c, d, a in df.itertuples(index=False):
                copy.write_row((int(c), d.date(), float(a)))
        pg = ibis.postgres.connect(host="127.0.0.1", port=5432, user="postgres", database="test")
        _assert_same(_summary(df), _summary(pg.table(table)))
    finally:
        raw.execute(f"drop table if exists {table}")
        raw.close()
