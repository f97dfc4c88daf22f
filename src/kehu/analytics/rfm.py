"""RFM grading (fixed cut-offs or tie-safe quantiles), R x F grid, 27 RFM classes, tiers and named segments."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .exceptions import AnalyticsInputError, DataQualityWarning

__all__ = [
    "SEGMENTS",
    "QuantileRule",
    "RFMConfig",
    "ThresholdRule",
    "default_tier",
    "grade_rfm",
    "quantile_grades",
    "segment_customers",
    "tie_safe_bins",
]

SEGMENTS = (
    "Champions",
    "Loyal",
    "Potential loyalist",
    "New",
    "Promising",
    "Need attention",
    "About to sleep",
    "At risk",
    "Can't lose",
    "Hibernating",
    "Lost",
)


def tie_safe_bins(values: Sequence[float] | NDArray[np.float64] | pd.Series, k: int) -> NDArray[np.int64]:
    """Split values into ``k`` ordered bins (0 = lowest) like quantiles, but never splitting ties.

    Rule (documented in the guide): the distinct values are sorted and each distinct value (a "tie block") is
    placed by the midpoint of its cumulative share, ``floor(k * mid)``, like an ordinary quantile cut. Two
    corrections keep heavy ties sensible: the lowest block is always bin 0 and consecutive blocks never skip a
    bin, and the highest blocks are pulled up so that the top block is always bin ``k-1``. Hence, when there are
    at least ``k`` distinct values every bin is used; with fewer, the distinct values are spread evenly over the
    bins (lowest -> 0, highest -> k-1), and when all values are equal everyone lands in the middle bin.
    NaN values get -1.
    """
    if k < 1:
        raise AnalyticsInputError("the number of grades must be at least 1")
    arr = np.asarray(values, dtype=float)
    out = np.full(arr.shape, -1, dtype=np.int64)
    ok = ~np.isnan(arr)
    if not ok.any():
        return out
    # Hash-based distinct values (sorted afterwards) instead of np.unique's sort of every value: the same blocks
    # (+ 0.0 turns -0.0 into 0.0, which np.unique also treats as one value), several times faster on the few
    # distinct day counts and frequencies of a million customers.
    codes, uniq = pd.factorize(arr[ok] + 0.0, sort=True)
    inverse = codes
    counts = np.bincount(codes, minlength=uniq.size)
    m = uniq.size
    if m == 1:
        block = np.array([(k - 1) // 2])
    elif m <= k:
        block = np.round(np.arange(m) * (k - 1) / (m - 1)).astype(np.int64)
    else:
        cum = np.cumsum(counts) / counts.sum()
        mid = cum - counts / counts.sum() / 2
        raw = np.clip(np.floor(k * mid).astype(np.int64), 0, k - 1)
        raw[0] = 0
        idx = np.arange(m)
        upper = np.minimum.accumulate(raw - idx) + idx  # no bin is skipped going up
        lower = (k - 1) - (m - 1 - idx)  # the top blocks reach the top bin
        block = np.maximum(upper, lower)
    out[ok] = block[inverse.ravel()]
    return out


@dataclass(frozen=True)
class QuantileRule:
    """Data-driven grades: ``len(labels)`` tie-safe quantile bins. Labels are listed best first."""

    labels: tuple[str, ...] = ("A", "B", "C")
    higher_is_better: bool = True

    def apply(self, values: pd.Series) -> pd.Series:
        k = len(self.labels)
        v = values.astype(float)
        bins = tie_safe_bins(v if self.higher_is_better else -v, k)
        lab = np.array(self.labels[::-1], dtype=object)  # bin 0 = worst
        graded = pd.Series(lab[np.clip(bins, 0, k - 1)], index=values.index)
        return graded.where(bins >= 0, None)


@dataclass(frozen=True)
class ThresholdRule:
    """Fixed cut-offs. ``thresholds`` has one fewer entry than ``labels`` (best first).

    With ``higher_is_better`` a value >= thresholds[i] earns labels[i] (first match; thresholds descending),
    otherwise a value <= thresholds[i] does (thresholds ascending); anything else gets the last label.
    Example R: thresholds (10, 20), labels A/B/C, lower is better -> <=10 days A, 11-20 B, otherwise C.
    """

    thresholds: tuple[float, ...]
    labels: tuple[str, ...] = ("A", "B", "C")
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        if len(self.thresholds) != len(self.labels) - 1:
            raise AnalyticsInputError("a threshold rule needs exactly one threshold fewer than labels")
        t = np.asarray(self.thresholds, dtype=float)
        ordered = np.all(np.diff(t) < 0) if self.higher_is_better else np.all(np.diff(t) > 0)
        if not ordered:
            direction = "descending" if self.higher_is_better else "ascending"
            raise AnalyticsInputError(f"thresholds must be strictly {direction}")

    def apply(self, values: pd.Series) -> pd.Series:
        v = values.astype(float).to_numpy()
        t = np.asarray(self.thresholds, dtype=float)
        if self.higher_is_better:
            idx = np.sum(v[:, None] < t[None, :], axis=1)
        else:
            idx = np.sum(v[:, None] > t[None, :], axis=1)
        lab = np.array(self.labels, dtype=object)
        graded = pd.Series(lab[idx], index=values.index)
        return graded.where(~np.isnan(v), None)


GradeRule = QuantileRule | ThresholdRule


def default_tier(r: str, f: str, m: str) -> str:
    """Default tier on A/B/C grades.

    gold = high value and loyal (F = A and M = A, not lapsing: R != C); bronze = potential churn (R = C, i.e. the
    longest since the last purchase); silver = the rest: buying, but not both frequent and high-spending.
    """
    if r == "C":
        return "bronze"
    if f == "A" and m == "A":
        return "gold"
    return "silver"


@dataclass(frozen=True)
class RFMConfig:
    """Per-dimension grading rules and the column each dimension reads.

    ``tier`` is either a callable ``(r, f, m) -> tier`` or a mapping from the 3-letter RFM class ("AAB") to a tier.
    """

    recency: GradeRule = field(default_factory=lambda: QuantileRule(higher_is_better=False))
    frequency: GradeRule = field(default_factory=QuantileRule)
    monetary: GradeRule = field(default_factory=QuantileRule)
    recency_column: str = "recency_days"
    frequency_column: str = "frequency"
    monetary_column: str = "monetary"
    tier: Callable[[str, str, str], str] | Mapping[str, str] = default_tier


def grade_rfm(summary: pd.DataFrame, config: RFMConfig | None = None) -> pd.DataFrame:
    """Add ``r_grade, f_grade, m_grade, rf_cell`` (the R x F grid cell), ``rfm_class`` and ``tier`` columns."""
    cfg = config or RFMConfig()
    _require(summary, (cfg.recency_column, cfg.frequency_column, cfg.monetary_column), "RFM grading")
    return _add_rfm(summary.copy(), cfg)


def _require(summary: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    for col in columns:
        if col not in summary.columns:
            raise AnalyticsInputError(f"missing column {col!r} for {what}")


def _add_rfm(out: pd.DataFrame, cfg: RFMConfig) -> pd.DataFrame:
    """:func:`grade_rfm`'s columns added to ``out`` in place (for callers that own the frame)."""
    _require(out, (cfg.recency_column, cfg.frequency_column, cfg.monetary_column), "RFM grading")
    out["r_grade"] = cfg.recency.apply(out[cfg.recency_column])
    out["f_grade"] = cfg.frequency.apply(out[cfg.frequency_column])
    out["m_grade"] = cfg.monetary.apply(out[cfg.monetary_column])
    # Labels, classes and tiers depend on the grade triple only, and there are few distinct triples (<= 27 with
    # A/B/C grades): they are built once per distinct triple and broadcast, instead of once per customer (a
    # Python-level loop over a million customers took seconds). The tier callable is called once per triple.
    grades = out[["r_grade", "f_grade", "m_grade"]]
    codes = grades.groupby(list(grades.columns), sort=False, dropna=False).ngroup().to_numpy()
    rep = np.zeros(int(codes.max()) + 1 if codes.size else 0, dtype=np.int64)
    rep[codes] = np.arange(codes.size)
    u = grades.iloc[rep].reset_index(drop=True)
    rf_cell = u["r_grade"].astype(str) + u["f_grade"].astype(str)
    rfm_class = rf_cell + u["m_grade"].astype(str)
    if callable(cfg.tier):
        fn = cfg.tier
        tier = pd.Series([fn(r, f, m) for r, f, m in zip(u["r_grade"], u["f_grade"], u["m_grade"], strict=True)])
    else:
        mapping = dict(cfg.tier)
        unknown = set(rfm_class) - set(mapping)
        if unknown:
            raise AnalyticsInputError(f"tier mapping has no entry for class(es) {sorted(unknown)[:5]}")
        tier = rfm_class.map(mapping)
    for name, per_triple in (("rf_cell", rf_cell), ("rfm_class", rfm_class), ("tier", tier)):
        out[name] = pd.Series(per_triple.take(codes).to_numpy(), index=out.index, dtype=per_triple.dtype)
    return out


def quantile_grades(values: pd.Series, n: int = 5, higher_is_better: bool = True) -> pd.Series:
    """Integer scores 1..n (n = best) from tie-safe quantile bins (quintiles by default)."""
    v = values.astype(float)
    bins = tie_safe_bins(v if higher_is_better else -v, n)
    return pd.Series(np.where(bins >= 0, bins + 1, 0), index=values.index, dtype="int64")


def _segment(r: NDArray[np.int64], f: NDArray[np.int64]) -> NDArray[np.object_]:
    conditions = [
        (r == 5) & (f >= 4),
        (r >= 3) & (f >= 4),
        (r >= 4) & (f >= 2) & (f <= 3),
        (r == 5) & (f == 1),
        (r == 4) & (f == 1),
        (r == 3) & (f == 3),
        (r == 3) & (f <= 2),
        (r <= 2) & (f == 5),
        (r <= 2) & (f >= 3),
        (r == 2) & (f <= 2),
        (r == 1) & (f <= 2),
    ]
    choices = [
        "Champions",
        "Loyal",
        "Potential loyalist",
        "New",
        "Promising",
        "Need attention",
        "About to sleep",
        "Can't lose",
        "At risk",
        "Hibernating",
        "Lost",
    ]
    return np.asarray(np.select(conditions, choices, default="Lost"), dtype=object)


def segment_customers(
    summary: pd.DataFrame, recency_column: str = "recency_days", frequency_column: str = "frequency"
) -> pd.DataFrame:
    """Add ``r_score, f_score`` (tie-safe quintiles, 5 = best) and the named ``segment``.

    Segments on (R, F): Champions R5 F4-5; Loyal R3-4 F4-5; Potential loyalist R4-5 F2-3; New R5 F1; Promising
    R4 F1; Need attention R3 F3; About to sleep R3 F1-2; Can't lose R1-2 F5; At risk R1-2 F3-4; Hibernating R2
    F1-2; Lost R1 F1-2. Every (R, F) pair maps to exactly one segment.
    """
    _require(summary, (recency_column, frequency_column), "segmentation")
    return _add_segments(summary.copy(), recency_column, frequency_column)


def _add_segments(
    out: pd.DataFrame, recency_column: str = "recency_days", frequency_column: str = "frequency"
) -> pd.DataFrame:
    """:func:`segment_customers`' columns added to ``out`` in place (for callers that own the frame)."""
    _require(out, (recency_column, frequency_column), "segmentation")
    if len(out) and out[frequency_column].nunique() == 1:
        warnings.warn("every customer has the same frequency: F scores are all 3", DataQualityWarning, stacklevel=3)
    out["r_score"] = quantile_grades(out[recency_column], 5, higher_is_better=False)
    out["f_score"] = quantile_grades(out[frequency_column], 5, higher_is_better=True)
    out["segment"] = _segment(out["r_score"].to_numpy(), out["f_score"].to_numpy())
    return out
