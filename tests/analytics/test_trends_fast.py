"""The grade-trend warnings' fast reshaping equals the pandas `pivot_table(aggfunc="last")` + `map`
it replaced, on messy snapshots: duplicates, missing and unknown grades, runs missing entirely; and
the warnings equal those of the previous implementation (object grids), kept below as the reference."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from kehu.analytics.exceptions import AnalyticsInputError
from kehu.analytics.trends import REASON_CODES, TrendRules, _grid, grade_trend_warnings

RUNS = [dt.date(2025, 1, 1), dt.date(2025, 4, 1), dt.date(2025, 7, 1)]


def messy(seed: int, n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, n // 3, n),
            "run": [RUNS[i] for i in rng.integers(0, len(RUNS), n)],
            "r_grade": rng.choice(np.array(["A", "B", "C", None, "X"], dtype=object), n),
            "m_grade": rng.choice(np.array([None, None, None], dtype=object), n),
            "tier": rng.choice(np.array(["gold", "silver", "bronze", None], dtype=object), n),
        }
    )


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("as_str", [False, True])
def test_reshaping_equals_pivot_table(seed, as_str):
    frame = messy(seed)
    if as_str:
        frame = frame.astype({"r_grade": "str", "tier": "str"}).replace({"None": None})
    runs = sorted(frame["run"].unique())
    order = TrendRules().grade_order
    rank = {g: i for i, g in enumerate(order)}
    for col in ("r_grade", "m_grade", "tier"):
        expected = frame.pivot_table(index="customer_id", columns="run", values=col, aggfunc="last").reindex(
            columns=runs
        )
        got = _grid(frame, "customer_id", "run", col, runs, order)
        assert list(got.customers) == list(expected.index)
        assert got.positions.shape == expected.shape
        values = got.values_at(got.positions)
        same = (values == expected.to_numpy(dtype=object)) | (pd.isna(values) & expected.isna().to_numpy())
        assert same.all()
        reference = expected.apply(lambda s: s.map(rank)).to_numpy(dtype=float)
        np.testing.assert_array_equal(got.ranks, reference)


@pytest.mark.parametrize("seed", range(6))
def test_the_warnings_equal_the_previous_implementations(seed):
    rng = np.random.default_rng(seed)
    frame = messy(seed, n=6000).assign(
        f_grade=lambda f: rng.choice(np.array(["A", "B", "C", None], dtype=object), len(f)),
        m_grade=lambda f: rng.choice(np.array(["A", "B", "C", "C", None, "Z"], dtype=object), len(f)),
    )
    for rules in (TrendRules(), TrendRules(consecutive=1, plunge=1)):
        expected = previous_grade_trend_warnings(frame, rules)
        got = grade_trend_warnings(frame, rules)
        assert len(got) > 100
        pd.testing.assert_frame_equal(got, expected)
    # Per-run frames (a counter for the run) and a run holding no grades at all.
    runs = [frame[frame["run"] == r].drop(columns="run") for r in RUNS]
    pd.testing.assert_frame_equal(grade_trend_warnings(runs), previous_grade_trend_warnings(runs))
    # No snapshots at all: no warnings (the previous implementation failed with an IndexError).
    empty = grade_trend_warnings(frame.head(0))
    assert empty.empty and list(empty.columns) == list(expected.columns)


def test_the_last_value_of_a_customer_in_a_run_wins():
    frame = pd.DataFrame(
        {
            "customer_id": [7, 7, 7, 7],
            "run": [RUNS[0], RUNS[1], RUNS[1], RUNS[2]],
            "r_grade": ["A", "C", "B", "C"],
            "tier": ["gold", "gold", "gold", "silver"],
        }
    )
    flags = grade_trend_warnings(frame)
    assert sorted(flags["reason_code"]) == ["R_SLIDE", "TIER_DOWN"]
    assert flags.set_index("reason_code").loc["R_SLIDE", "grades"] == "A→B→C"


# --- the previous implementation (reference) ---------------------------------------------------------


def previous_grade_trend_warnings(
    snapshots: Sequence[pd.DataFrame] | pd.DataFrame,
    rules: TrendRules | None = None,
    customer_col: str = "customer_id",
    run_col: str = "run",
) -> pd.DataFrame:
    """The implementation before the integer grids (object grids), kept verbatim as the reference.

    ``snapshots`` is either a list of per-run DataFrames in chronological order or one long DataFrame with a
    ``run`` column (sortable: a date or a counter). Each holds ``customer_id`` and any of ``r_grade, f_grade,
    m_grade, tier``. Returns one row per flag: ``customer_id, reason_code, dimension, grades`` (the grade path
    that triggered the flag, oldest first) ``, latest_run, description``.
    """
    rl = rules or TrendRules()
    if isinstance(snapshots, pd.DataFrame):
        if run_col not in snapshots.columns:
            raise AnalyticsInputError(f"missing column {run_col!r} in the snapshot table")
        long = snapshots.copy()
    else:
        if len(snapshots) == 0:
            raise AnalyticsInputError("no snapshots given")
        long = pd.concat([s.assign(**{run_col: i}) for i, s in enumerate(snapshots)], ignore_index=True)
    if customer_col not in long.columns:
        raise AnalyticsInputError(f"missing column {customer_col!r} in the snapshots")
    rank = {g: i for i, g in enumerate(rl.grade_order)}
    tier_rank = {g: i for i, g in enumerate(rl.tier_order)}
    runs = sorted(long[run_col].unique())
    latest = runs[-1]
    flags: list[dict[str, object]] = []
    dims = [(c, d) for c, d in (("r_grade", "R"), ("f_grade", "F"), ("m_grade", "M")) if c in long.columns]
    for col, dim in dims:
        wide = _wide(long, customer_col, run_col, col, runs)
        codes = _ranks(wide, rank)  # larger = worse
        if codes.shape[1] < 2:
            continue
        steps = np.diff(codes, axis=1)  # positive = got worse
        last = steps[:, -1]
        k = rl.consecutive
        slide = np.all(steps[:, -k:] > 0, axis=1) if steps.shape[1] >= k else np.zeros(len(wide), dtype=bool)
        plunge = last >= rl.plunge
        big = (codes[:, -2] == 0) & (last > 0) if dim == "M" else np.zeros(len(wide), dtype=bool)
        grades = wide.to_numpy(dtype=object)
        for code, mask, width in (
            (f"{dim}_SLIDE", slide, k + 1),
            (f"{dim}_PLUNGE", plunge & ~slide, 2),
            ("BIG_SPENDER_M_DROP", big, 2),
        ):
            for i in np.flatnonzero(mask):
                flags.append(
                    {
                        customer_col: wide.index[int(i)],
                        "reason_code": code,
                        "dimension": dim,
                        "grades": "→".join(str(g) for g in grades[i, -width:]),
                        "latest_run": latest,
                        "description": REASON_CODES[code],
                    }
                )
    if "tier" in long.columns:
        wide = _wide(long, customer_col, run_col, "tier", runs)
        if wide.shape[1] >= 2:
            codes = _ranks(wide, tier_rank)
            down = codes[:, -1] > codes[:, -2]
            grades = wide.to_numpy(dtype=object)
            for i in np.flatnonzero(down):
                flags.append(
                    {
                        customer_col: wide.index[int(i)],
                        "reason_code": "TIER_DOWN",
                        "dimension": "tier",
                        "grades": f"{grades[i, -2]}→{grades[i, -1]}",
                        "latest_run": latest,
                        "description": REASON_CODES["TIER_DOWN"],
                    }
                )
    columns = [customer_col, "reason_code", "dimension", "grades", "latest_run", "description"]
    return pd.DataFrame(flags, columns=columns)


def _wide(long: pd.DataFrame, customer_col: str, run_col: str, col: str, runs: list[object]) -> pd.DataFrame:
    """customers x runs table of ``col``: the last non-missing value per (customer, run), customers
    sorted, only customers with a value; the same table as ``pivot_table(aggfunc="last")`` reindexed to
    ``runs``, built by direct assignment into an array (several times faster on millions of rows)."""
    values = long[col]
    present = values.notna().to_numpy()
    customers, rows = pd.factorize(long[customer_col].to_numpy()[present], sort=True)
    columns = pd.Index(runs).get_indexer(pd.Index(long[run_col].to_numpy()[present]))
    grid = np.full((len(rows), len(runs)), np.nan, dtype=object)
    # Later rows overwrite earlier ones: the last value of each (customer, run) stays.
    grid[customers, columns] = values.to_numpy(dtype=object)[present]
    return pd.DataFrame(grid, index=pd.Index(rows, name=customer_col), columns=pd.Index(runs, name=run_col))


def _ranks(wide: pd.DataFrame, rank: dict[str, int]) -> np.ndarray:
    """Rank of every cell (NaN for a missing or unknown grade), as ``wide.apply(lambda s: s.map(rank))``."""
    out = np.full(wide.shape, np.nan)
    grid = wide.to_numpy(dtype=object)
    for value, r in rank.items():
        out[grid == value] = r
    return out
