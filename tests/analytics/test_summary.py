"""Tests of the Ibis per-customer summary and the file readers."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from kehu.analytics import (
    AnalyticsInputError,
    ColumnNames,
    DataQualityWarning,
    SummaryOptions,
    customer_summary,
    read_table,
)


def _summary(df: pd.DataFrame, cutoff: str = "2024-01-31", **kw: object) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return customer_summary(df, cutoff, SummaryOptions(**kw))  # type: ignore[arg-type]


def test_same_day_lines_merge_into_one_period(tiny: pd.DataFrame) -> None:
    s = _summary(tiny, time_unit="day").set_index("customer_id")
    c1 = s.loc[1]
    assert c1["purchase_days"] == 3 and c1["x"] == 2
    assert c1["t_x"] == 14 and c1["T"] == 30 and c1["recency_days"] == 16
    # repeat purchases: 20 and 30; the first day (10 + 5) is excluded
    assert c1["avg_repeat_value"] == pytest.approx(25.0)
    assert c1["monetary"] == pytest.approx(65.0)


def test_refund_only_day_is_not_a_purchase_but_reduces_monetary(tiny: pd.DataFrame) -> None:
    s = _summary(tiny, time_unit="day").set_index("customer_id")
    c2 = s.loc[2]
    assert c2["x"] == 0 and np.isnan(c2["avg_repeat_value"])
    assert c2["monetary"] == pytest.approx(25.0)
    assert c2["refund_amount"] == pytest.approx(15.0) and c2["refund_lines"] == 1
    assert c2["recency_days"] == 21  # the refund on 01-20 is not the last purchase


def test_future_lines_are_excluded_with_a_warning(tiny: pd.DataFrame) -> None:
    with pytest.warns(DataQualityWarning, match="after the cutoff"):
        s = customer_summary(tiny, "2024-01-31")
    assert s.set_index("customer_id").loc[3, "monetary"] == pytest.approx(7.0)
    with pytest.raises(AnalyticsInputError, match="after the cutoff"):
        customer_summary(tiny, "2024-01-31", SummaryOptions(future="error"))


def test_weeks_are_days_over_seven(tiny: pd.DataFrame) -> None:
    d = _summary(tiny, time_unit="day").set_index("customer_id")
    w = _summary(tiny, time_unit="week").set_index("customer_id")
    np.testing.assert_allclose(w["T"], d["T"] / 7)
    np.testing.assert_allclose(w["t_x"], d["t_x"] / 7)


def test_period_window_limits_frequency_and_monetary(tiny: pd.DataFrame) -> None:
    s = _summary(tiny, period_days=20, time_unit="day").set_index("customer_id")
    # window is (01-11, 01-31]: customer 1 only bought on 01-15 inside it
    assert s.loc[1, "frequency"] == 1 and s.loc[1, "monetary"] == pytest.approx(30.0)
    assert s.loc[1, "purchase_days"] == 3


def test_duplicates_drop_and_warn() -> None:
    df = pd.DataFrame(
        {"customer_id": [1, 1, 1], "date": ["2024-01-01", "2024-01-01", "2024-01-05"], "amount": [10.0, 10.0, 5.0]}
    )
    with pytest.warns(DataQualityWarning, match="1 exact duplicate"):
        kept = customer_summary(df, "2024-01-31")
    with pytest.warns(DataQualityWarning, match="removed"):
        dropped = customer_summary(df, "2024-01-31", SummaryOptions(duplicates="drop"))
    assert kept["total_amount"].iloc[0] == pytest.approx(25.0)
    assert dropped["total_amount"].iloc[0] == pytest.approx(15.0)


def test_zero_amount_policy() -> None:
    df = pd.DataFrame({"customer_id": [1, 1], "date": ["2024-01-01", "2024-01-05"], "amount": [0.0, 5.0]})
    with pytest.warns(DataQualityWarning, match="zero-amount"):
        counted = customer_summary(df, "2024-01-31", SummaryOptions(time_unit="day"))
    ignored = _summary(df, zero_amounts="ignore", time_unit="day")
    assert counted["x"].iloc[0] == 1 and counted["T"].iloc[0] == 30
    assert ignored["x"].iloc[0] == 0 and ignored["T"].iloc[0] == 26


def test_column_names_and_integer_dates_are_configurable() -> None:
    df = pd.DataFrame({"cust": ["a", "a"], "when": [20240101, 20240108], "value": [1.0, 2.0]})
    s = customer_summary(df, "2024-01-31", SummaryOptions(time_unit="day"), ColumnNames("cust", "when", "value"))
    assert list(s["customer_id"]) == ["a"] and s["t_x"].iloc[0] == 7


def test_missing_column_and_empty_inputs_are_clear_errors(tiny: pd.DataFrame) -> None:
    with pytest.raises(AnalyticsInputError, match="missing column"):
        customer_summary(tiny.rename(columns={"amount": "amt"}), "2024-01-31")
    with pytest.raises(AnalyticsInputError, match="no purchase"):
        _summary(tiny, cutoff="2023-01-01")
    with pytest.raises(AnalyticsInputError, match="empty"):
        customer_summary(tiny.iloc[:0], "2024-01-31")


def test_csv_and_parquet_readers_agree(tiny: pd.DataFrame, tmp_path: object) -> None:
    from pathlib import Path

    base = Path(str(tmp_path))
    tiny.to_csv(base / "t.csv", index=False)
    tiny.to_parquet(base / "t.parquet", index=False)
    a = _summary(tiny)
    b = _summary(read_table(base / "t.csv"))  # type: ignore[arg-type]
    c = _summary(read_table(base / "t.parquet"))  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    pd.testing.assert_frame_equal(a, c, check_dtype=False)


def test_reader_errors(tmp_path: object) -> None:
    from pathlib import Path

    base = Path(str(tmp_path))
    with pytest.raises(AnalyticsInputError, match="not found"):
        read_table(base / "missing.csv")
    (base / "empty.csv").write_text("")
    with pytest.raises(AnalyticsInputError, match="empty"):
        read_table(base / "empty.csv")
    (base / "bad.csv").write_text("customer_id,date,amount\n1,not-a-date,3\n")
    with pytest.raises(AnalyticsInputError):
        customer_summary(read_table(base / "bad.csv"), "2024-01-31")
