"""Hypothesis property tests on degenerate inputs: a clear error or a warning with a sensible result."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kehu.analytics import (
    AnalyticsError,
    AnalyticsInputError,
    BetaGeoModel,
    DataQualityWarning,
    DegenerateDataError,
    ScoreConfig,
    SummaryOptions,
    customer_summary,
    score_customers,
    tie_safe_bins,
)

CUTOFF = pd.Timestamp("2024-06-30")

lines = st.lists(
    st.tuples(
        st.integers(1, 6),  # customer
        st.integers(-30, 200),  # days before the cutoff (negative = future)
        st.sampled_from([0.0, -5.0, 1.0, 9.99, 25.0, 100.0]),
    ),
    min_size=1,
    max_size=40,
)


def _frame(rows: list[tuple[int, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "date": [CUTOFF - pd.Timedelta(days=r[1]) for r in rows],
            "amount": [r[2] for r in rows],
        }
    )


SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(lines)
def test_summary_invariants_or_clear_error(rows: list[tuple[int, int, float]]) -> None:
    df = _frame(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        try:
            s = customer_summary(df, CUTOFF, SummaryOptions(time_unit="day", duplicates="warn"))
        except AnalyticsInputError as exc:
            past = df[df["date"] <= CUTOFF]
            assert past.empty or (past["amount"] < 0).all(), exc
            return
    assert s["customer_id"].is_unique
    assert (s["x"] >= 0).all() and (s["t_x"] <= s["T"]).all() and (s["T"] >= 0).all()
    assert (s["recency_days"] >= 0).all() and (s["x"] == s["purchase_days"] - 1).all()
    # only data up to the cutoff: totals equal the sum of the past lines of the summarised customers
    past = df[(df["date"] <= CUTOFF) & df["customer_id"].isin(s["customer_id"])]
    assert s["total_amount"].sum() == pytest.approx(past["amount"].sum())
    rep = s[s["x"] > 0]
    assert rep["avg_repeat_value"].notna().all() and s.loc[s["x"] == 0, "avg_repeat_value"].isna().all()


@SLOW
@given(lines)
def test_duplicating_every_row_changes_money_not_periods(rows: list[tuple[int, int, float]]) -> None:
    df = _frame(rows)
    doubled = pd.concat([df, df], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        try:
            a = customer_summary(df, CUTOFF, SummaryOptions(time_unit="day", duplicates="keep"))
        except AnalyticsInputError:
            return
        b = customer_summary(doubled, CUTOFF, SummaryOptions(time_unit="day", duplicates="keep"))
        c = customer_summary(doubled, CUTOFF, SummaryOptions(time_unit="day", duplicates="drop"))
        base = customer_summary(df.drop_duplicates(), CUTOFF, SummaryOptions(time_unit="day", duplicates="keep"))
    pd.testing.assert_series_equal(a["x"], b["x"])
    np.testing.assert_allclose(b["total_amount"], 2 * a["total_amount"])
    np.testing.assert_allclose(c["total_amount"], base["total_amount"])


@given(st.integers(1, 50), st.integers(0, 20), st.floats(1.0, 100.0))
@settings(max_examples=30, deadline=None)
def test_identical_customers_are_rejected(n: int, x: int, T: float) -> None:
    tx = 0.0 if x == 0 else T / 2
    with pytest.raises(DegenerateDataError):
        BetaGeoModel().fit([x] * n, [tx] * n, [T] * n)


@given(st.lists(st.floats(0, 10), min_size=1, max_size=200), st.integers(1, 6))
@settings(max_examples=60, deadline=None)
def test_tie_safe_bins_properties(values: list[float], k: int) -> None:
    v = np.round(np.asarray(values), 1)
    bins = tie_safe_bins(v, k)
    assert bins.min() >= 0 and bins.max() <= k - 1
    order = np.argsort(v, kind="stable")
    assert np.all(np.diff(bins[order]) >= 0)  # monotone
    for value in np.unique(v):
        assert len(set(bins[v == value])) == 1  # ties never split
    distinct = np.unique(v).size
    if distinct >= k:
        assert len(set(bins)) == k  # every grade used when possible


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines)
def test_score_never_crashes_on_degenerate_data(rows: list[tuple[int, int, float]]) -> None:
    df = _frame(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            scores = score_customers(df, CUTOFF, ScoreConfig(churn_splits=2))
        except AnalyticsError as exc:
            assert isinstance(exc, AnalyticsInputError)
            return
    assert scores["customer_id"].is_unique
    assert scores["p_alive"].isna().all() or scores["p_alive"].between(0, 1).all()


def test_single_purchase_customers_warn_and_leave_models_empty() -> None:
    df = pd.DataFrame(
        {"customer_id": range(20), "date": [CUTOFF - pd.Timedelta(days=i) for i in range(20)], "amount": 10.0}
    )
    with pytest.warns(Warning) as record:
        scores = score_customers(df, CUTOFF)
    assert any("BG/NBD not fitted" in str(w.message) for w in record)
    assert scores["p_alive"].isna().all() and len(scores) == 20
    assert scores["r_grade"].notna().all()
