"""Benchmark: kehu analytics summary/score vs a hand-written DuckDB query vs the lifetimes pipeline."""

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

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from analytics_synth import generate_transactions

CUTOFF = "2024-12-31"

RAW_SQL = """
WITH d AS (
  SELECT customer_id, CAST(date AS DATE) AS day, SUM(amount) AS amount,
         COUNT(*) FILTER (WHERE amount >= 0) AS purchase_lines
  FROM read_parquet('{path}') WHERE CAST(date AS DATE) <= DATE '{cutoff}' GROUP BY 1, 2
), c AS (
  SELECT customer_id, MIN(day) FILTER (WHERE purchase_lines > 0) AS first_day,
         MAX(day) FILTER (WHERE purchase_lines > 0) AS last_day,
         COUNT(*) FILTER (WHERE purchase_lines > 0) AS n,
         SUM(amount) FILTER (WHERE purchase_lines > 0) AS purchase_amount,
         arg_min(amount, day) FILTER (WHERE purchase_lines > 0) AS first_amount,
         COUNT(*) FILTER (WHERE purchase_lines > 0 AND day > DATE '{cutoff}' - 365) AS frequency,
         SUM(amount) FILTER (WHERE day > DATE '{cutoff}' - 365) AS monetary
  FROM d GROUP BY 1
)
SELECT customer_id, DATE '{cutoff}' - last_day AS recency_days, frequency, monetary, n - 1 AS x,
       (last_day - first_day) / 7.0 AS t_x, (DATE '{cutoff}' - first_day) / 7.0 AS T,
       CASE WHEN n > 1 THEN (purchase_amount - first_amount) / (n - 1) END AS avg_repeat_value
FROM c WHERE n > 0 ORDER BY customer_id
"""


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def kehu_summary(path: Path, check: bool) -> pd.DataFrame:
    from kehu.analytics import SummaryOptions, customer_summary, read_table

    return customer_summary(read_table(path), CUTOFF, SummaryOptions(period_days=365), check=check)


def kehu_clv_pipeline(path: Path) -> pd.DataFrame:
    """The lifetimes-equivalent part: summary + BG/NBD + Gamma-Gamma + 12-month CLV."""
    from kehu.analytics import BetaGeoModel, GammaGammaModel, customer_lifetime_value

    s = kehu_summary(path, check=False)
    x, tx, T = (s[c].to_numpy(float) for c in ("x", "t_x", "T"))
    bg = BetaGeoModel(compute_standard_errors=False).fit(x, tx, T)
    m = s["avg_repeat_value"].fillna(0.0).to_numpy()
    gg = GammaGammaModel(compute_standard_errors=False).fit(x, m)
    s["clv"] = customer_lifetime_value(bg, x, tx, T, gg.expected_average_spend(x, m), months=12)
    return s


def kehu_score(path: Path) -> pd.DataFrame:
    from kehu.analytics import read_table, score_customers

    return score_customers(read_table(path), CUTOFF)


def lifetimes_pipeline(df: pd.DataFrame) -> pd.DataFrame:
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    pos = df[df["amount"] > 0]
    s = summary_data_from_transaction_data(
        pos, "customer_id", "date", monetary_value_col="amount", observation_period_end=CUTOFF, freq="D"
    )
    s["T"] = s["T"] / 7.0
    s["recency"] = s["recency"] / 7.0
    bg = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    rep = s[s["frequency"] > 0]
    gg = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    s["clv"] = gg.customer_lifetime_value(
        bg, s["frequency"], s["recency"], s["T"], s["monetary_value"], time=12, discount_rate=0.01, freq="W"
    )
    return s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--lifetimes-max-customers", type=int, default=100_000,
                        help="time lifetimes on a random subsample of at most this many customers (it is slow)")
    parser.add_argument("--skip-lifetimes", action="store_true")
    parser.add_argument("--csv", action="store_true", help="also write the CSV file")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="kehu_bench_"))
    t_gen, df = timed(lambda: generate_transactions(args.customers, seed=args.seed))
    path = workdir / f"tx_{args.customers}.parquet"
    df.to_parquet(path, index=False)
    if args.csv:
        df.to_csv(workdir / f"tx_{args.customers}.csv", index=False)
    n_lines = len(df)
    print(f"# generated {args.customers:,} customers / {n_lines:,} lines in {t_gen:.1f}s -> {path}", file=sys.stderr)

    # Warm-up on a tiny file: imports, Ibis/DuckDB start-up and lifetimes' autograd import are one-off costs that
    # a long-running scoring service does not pay per run; they are excluded for both sides.
    tiny = workdir / "warmup.parquet"
    first_ids = np.sort(df["customer_id"].unique())[:3000]
    warm = df[df["customer_id"].isin(first_ids)]
    warm.to_parquet(tiny, index=False)
    kehu_score(tiny)
    if not args.skip_lifetimes:
        lifetimes_pipeline(warm)
    rows: list[tuple[str, float, str]] = []
    t_sql, sql_res = timed(lambda: duckdb.sql(RAW_SQL.format(path=path, cutoff=CUTOFF)).df())
    rows.append(("raw DuckDB SQL summary (reference)", t_sql, f"{len(sql_res):,} customers"))
    t_sum_nc, s_nc = timed(lambda: kehu_summary(path, check=False))
    rows.append(("kehu summary (Ibis, no data-quality scan)", t_sum_nc, f"{len(s_nc):,} customers"))
    t_sum, _ = timed(lambda: kehu_summary(path, check=True))
    rows.append(("kehu summary (Ibis, with data-quality scan + duplicate count)", t_sum, ""))
    t_clv, _ = timed(lambda: kehu_clv_pipeline(path))
    rows.append(("kehu summary + BG/NBD + Gamma-Gamma + CLV", t_clv, ""))
    t_score, sc = timed(lambda: kehu_score(path))
    rows.append(("kehu score (all columns incl. churn model)", t_score, f"{len(sc):,} rows"))

    # sanity: the Ibis summary equals the hand-written SQL
    merged = s_nc.merge(sql_res, on="customer_id", suffixes=("", "_sql"))
    for col in ("x", "t_x", "T", "recency_days", "frequency"):
        assert np.allclose(merged[col].astype(float), merged[f"{col}_sql"].astype(float)), col
    assert np.allclose(merged["avg_repeat_value"].fillna(-1), merged["avg_repeat_value_sql"].fillna(-1))

    t_lt: float | None = None
    scale = 1.0
    note = ""
    if not args.skip_lifetimes:
        ids = df["customer_id"].unique()
        if len(ids) > args.lifetimes_max_customers:
            rng = np.random.default_rng(1)
            keep = rng.choice(ids, args.lifetimes_max_customers, replace=False)
            sub = df[df["customer_id"].isin(keep)]
            scale = len(ids) / args.lifetimes_max_customers
            note = f"subsample of {args.lifetimes_max_customers:,} customers, scaled x{scale:.1f} (linear)"
        else:
            sub = df
        t_read, _ = timed(lambda: pd.read_parquet(path))
        t_lt_raw, _ = timed(lambda: lifetimes_pipeline(sub))
        t_lt = t_lt_raw * scale + t_read
        rows.append(("lifetimes summary + BetaGeo + GammaGamma + CLV", t_lt, note or "full data"))

    cores = os.cpu_count()
    print(f"\n### Analytics score benchmark: {args.customers:,} customers, {n_lines:,} lines ({cores} cores)\n")
    print("| step | seconds | notes |")
    print("| --- | ---: | --- |")
    for name, sec, n in rows:
        print(f"| {name} | {sec:.2f} | {n} |")
    print("\n| ratio | value |")
    print("| --- | ---: |")
    print(f"| kehu summary / raw SQL (no scan) | {t_sum_nc / t_sql:.2f}x |")
    print(f"| kehu summary / raw SQL (with scan) | {t_sum / t_sql:.2f}x |")
    if t_lt is not None:
        print(f"| lifetimes / kehu CLV pipeline (speed-up) | {t_lt / t_clv:.1f}x |")
        print(f"| lifetimes / kehu full score (speed-up) | {t_lt / t_score:.1f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
