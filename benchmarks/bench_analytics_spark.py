"""Benchmark: the kehu.analytics summary on PySpark (local mode) vs embedded DuckDB, in the same run.

Same Parquet file, same Ibis expressions, same 2 cores; results are checked equal (1e-9) before timing counts.
    .venv/bin/python benchmarks/bench_analytics_spark.py --customers 100000   # ~1M transaction lines
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from analytics_synth import generate_transactions
from kehu.analytics import SummaryOptions, customer_summary
from kehu.analytics.sources import connect_duckdb, read_table
from kehu.analytics.spark import connect_spark, spark_session
from kehu.analytics.summary import prepare_transactions, summary_expr, summary_frame


def best_of(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def summary(table: Any, cutoff: str, opts: SummaryOptions, check: bool, native: bool | None = None) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if native is None:
            return customer_summary(table, cutoff, opts, check=check)
        norm, cut = prepare_transactions(table, cutoff, opts, check=check)
        return summary_frame(summary_expr(norm, cut, opts, native_arg_min=native), cutoff)


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert len(a) == len(b), (len(a), len(b))
    for col in a.columns:
        if pd.api.types.is_numeric_dtype(a[col]):
            np.testing.assert_allclose(
                b[col].to_numpy(float), a[col].to_numpy(float), atol=1e-9, rtol=0, equal_nan=True
            )


def bench(name: str, path: Path, cutoff: str, opts: SummaryOptions, spark_con: Any, runs: int) -> None:
    duck = read_table(path, connect_duckdb(threads=2))
    spark = read_table(path, spark_con)
    lines = int(duck.count().to_pyarrow().as_py())
    rows = []
    reference = None
    for label, table, check, native in (
        ("DuckDB summary", duck, False, None),
        ("DuckDB summary + data-quality scan", duck, True, None),
        ("Spark summary (MIN_BY, one aggregate pass)", spark, False, None),
        ("Spark summary (join path)", spark, False, False),
        ("Spark summary + data-quality scan", spark, True, None),
    ):
        summary(table, cutoff, opts, check, native)  # warm-up: JIT, file listing, DuckDB's first scan
        seconds, out = best_of(lambda t=table, c=check, n=native: summary(t, cutoff, opts, c, n), runs)
        if reference is None:
            reference = out
        else:
            same(reference, out)
        rows.append((label, seconds))
    print(f"\n{name}: {lines:,} lines, {len(reference):,} customers, best of {runs} (load {os.getloadavg()[0]:.1f})")
    base = rows[0][1]
    for label, seconds in rows:
        print(f"| {label} | {seconds:.2f} | {seconds / base:.1f}× |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000, help="synthetic customers (~10 lines each)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    session = spark_session("local[2]", {"spark.sql.shuffle.partitions": "4"})
    session.sparkContext.setLogLevel("ERROR")
    con = connect_spark(session)
    with tempfile.TemporaryDirectory() as tmp:
        import lifetimes

        raw = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"
        cdnow = pd.read_csv(raw, sep=r"\s+", header=None, names=["customer_id", "i", "date", "quantity", "amount"])
        cdnow_path = Path(tmp) / "cdnow.parquet"
        cdnow.to_parquet(cdnow_path, index=False)
        bench("CDNOW sample", cdnow_path, "1997-09-30", SummaryOptions(future="ignore"), con, args.runs)
        synth = generate_transactions(args.customers, seed=1)
        synth_path = Path(tmp) / "synth.parquet"
        synth.to_parquet(synth_path, index=False)
        del synth
        bench("synthetic", synth_path, "2024-12-31", SummaryOptions(period_days=365), con, args.runs)
    session.stop()


if __name__ == "__main__":
    main()
