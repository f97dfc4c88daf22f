"""The grade-trend warnings' fast reshaping equals the pandas `pivot_table(aggfunc="last")` + `map`
it replaced, on messy snapshots: duplicates, missing and unknown grades, runs missing entirely."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from kehu.analytics.trends import TrendRules, _ranks, _wide, grade_trend_warnings

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
    rank = {g: i for i, g in enumerate(TrendRules().grade_order)}
    for col in ("r_grade", "m_grade", "tier"):
        expected = frame.pivot_table(index="customer_id", columns="run", values=col, aggfunc="last").reindex(
            columns=runs
        )
        got = _wide(frame, "customer_id", "run", col, runs)
        assert list(got.index) == list(expected.index)
        assert got.shape == expected.shape
        same = (got.to_numpy(dtype=object) == expected.to_numpy(dtype=object)) | (
            got.isna().to_numpy() & expected.isna().to_numpy()
        )
        assert same.all()
        ranks = _ranks(got, rank)
        reference = expected.apply(lambda s: s.map(rank)).to_numpy(dtype=float)
        np.testing.assert_array_equal(ranks, reference)


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
