"""Churn prediction: features from transactions or any customer table, calibrated boosting, CV metrics, reasons."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder
from threadpoolctl import threadpool_limits

from .exceptions import AnalyticsInputError, DataQualityWarning, DegenerateDataError
from .sources import ColumnNames, normalise_transactions, to_day_number, transactions_from_pandas
from .summary import ZeroPolicy, daily_expr, to_pandas_fast

MONEY_DECIMALS = 6

__all__ = [
    "ChurnModel",
    "calibration_table",
    "churn_dataset_from_daily",
    "feature_aggregates",
    "features_from_aggregates",
    "features_from_daily",
    "labelled_dataset",
    "lift_at",
    "prepare_feature_table",
    "scoring_aggregates",
    "split_scoring_aggregates",
    "transaction_churn_dataset",
    "transaction_churn_features",
]

DEFAULT_WINDOWS = (30, 90, 180, 365)


# --------------------------------------------------------------------------------------------------- features
def feature_aggregates(
    d: ir.Table, cutoff_day: int, windows: Sequence[int], label_horizon: int | None = None, prefix: str = ""
) -> dict[str, Any]:
    """The conditional aggregates behind the churn features at ``cutoff_day`` (and, with ``label_horizon``, the
    label: purchase days in (cutoff, cutoff + horizon]) over a (customer, day) table ``d`` that holds no day after
    ``cutoff_day + label_horizon``. Named ``prefix + name``, so that the aggregates of several cutoffs (and of the
    summary) can share one GROUP BY; :func:`features_from_aggregates` turns the result into the feature table."""
    before = d.day <= cutoff_day
    is_p = d.purchase_lines > 0
    bp = is_p & before
    aggs: dict[str, Any] = {
        "last_day": d.day.max(where=bp),
        "first_day": d.day.min(where=bp),
        "purchase_days": d.count(where=bp),
        "total_amount": d.amount.sum(where=before),
        "refund_lines": d.refund_lines.sum(where=before),
        "refund_amount": d.refund_amount.sum(where=before),
        "lines": d.lines.sum(where=before),
    }
    for w in sorted(windows):
        inside = before & (d.day > cutoff_day - w)
        aggs[f"frequency_{w}d"] = d.count(where=is_p & inside)
        aggs[f"monetary_{w}d"] = d.amount.sum(where=inside)
    if label_horizon is not None:
        aggs["future_purchase_days"] = d.count(where=is_p & ~before)
    return {prefix + name: value for name, value in aggs.items()}


def scoring_aggregates(d: ir.Table, cutoff_day: int, horizon_days: int, windows: Sequence[int]) -> dict[str, Any]:
    """Aggregates (over a (customer, day) table ``d`` with no day after ``cutoff_day``) from which
    :func:`split_scoring_aggregates` derives both the features at the cutoff and the training set (features at
    cutoff - horizon with their labels). Every window sum at the earlier cutoff is the difference of two sums that
    end at the cutoff, so the two feature sets need about half the aggregates of two :func:`feature_aggregates`
    calls (each aggregate is one more random update per row of a million-group hash table)."""
    is_p = d.purchase_lines > 0
    recent = d.day > cutoff_day - horizon_days
    aggs: dict[str, Any] = {
        "last_day": d.day.max(where=is_p),
        "first_day": d.day.min(where=is_p),
        "purchase_days": d.count(where=is_p),
        "total_amount": d.amount.sum(),
        "refund_lines": d.refund_lines.sum(),
        "refund_amount": d.refund_amount.sum(),
        "lines": d.lines.sum(),
        "last_day_before": d.day.max(where=is_p & ~recent),
        "refund_lines_recent": d.refund_lines.sum(where=recent),
        "refund_amount_recent": d.refund_amount.sum(where=recent),
        "lines_recent": d.lines.sum(where=recent),
    }
    for w in _scoring_windows(horizon_days, windows):
        inside = d.day > cutoff_day - w
        aggs[f"frequency_{w}d"] = d.count(where=is_p & inside)
        aggs[f"monetary_{w}d"] = d.amount.sum(where=inside)
    return aggs


def _scoring_windows(horizon_days: int, windows: Sequence[int]) -> list[int]:
    return sorted({*windows, horizon_days, *(horizon_days + w for w in windows)})


def split_scoring_aggregates(
    df: pd.DataFrame, horizon_days: int, windows: Sequence[int]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(now, earlier)``: the columns of :func:`feature_aggregates` at the cutoff and at cutoff - horizon (with
    the label count ``future_purchase_days``) from the columns of :func:`scoring_aggregates` (same index).

    Counts are exact differences; money sums are differences of float sums (last-digit noise, removed by the
    rounding to a millionth in :func:`features_from_aggregates`). Missing sums (no row in a window) count as 0,
    as the feature table treats them."""
    h = horizon_days

    def zero(col: str) -> pd.Series:
        return df[col].astype(float).fillna(0.0)

    now = df[["last_day", "first_day", "purchase_days", "total_amount", "refund_lines", "refund_amount", "lines"]]
    now = now.assign(**{f"{k}_{w}d": df[f"{k}_{w}d"] for w in windows for k in ("frequency", "monetary")})
    before = df["last_day_before"].notna()
    earlier = pd.DataFrame(
        {
            "last_day": df["last_day_before"],
            "first_day": df["first_day"].where(before),
            "purchase_days": df["purchase_days"] - df[f"frequency_{h}d"],
            "total_amount": zero("total_amount") - zero(f"monetary_{h}d"),
            "refund_lines": zero("refund_lines") - zero("refund_lines_recent"),
            "refund_amount": zero("refund_amount") - zero("refund_amount_recent"),
            "lines": df["lines"] - df["lines_recent"].fillna(0),
        },
        index=df.index,
    )
    for w in windows:
        earlier[f"frequency_{w}d"] = df[f"frequency_{h + w}d"] - df[f"frequency_{h}d"]
        earlier[f"monetary_{w}d"] = zero(f"monetary_{h + w}d") - zero(f"monetary_{h}d")
    earlier["future_purchase_days"] = df[f"frequency_{h}d"]
    return now, earlier


def _features_expr(
    daily: ir.Table, cutoff_day: int, windows: Sequence[int], label_horizon: int | None = None
) -> ir.Table:
    """One GROUP BY over the (customer, day) table; with ``label_horizon`` the churn label (purchase days in
    (cutoff, cutoff + horizon]) is a conditional aggregate of the same pass instead of a second query."""
    end = cutoff_day + (label_horizon or 0)
    d = daily.filter(daily.day <= end)
    agg = d.group_by("customer_id").aggregate(**feature_aggregates(d, cutoff_day, windows, label_horizon))
    return agg.filter(agg.purchase_days > 0)


def _features_frame(
    daily: ir.Table,
    cutoff_day: int,
    windows: Sequence[int],
    extra_features: pd.DataFrame | None = None,
    label_horizon: int | None = None,
) -> pd.DataFrame:
    try:
        df = to_pandas_fast(_features_expr(daily, cutoff_day, sorted(windows), label_horizon))
    except Exception as exc:
        raise AnalyticsInputError(f"cannot compute churn features: {str(exc).splitlines()[0]}") from exc
    return features_from_aggregates(df.set_index("customer_id"), cutoff_day, windows, extra_features, label_horizon)


def features_from_aggregates(
    df: pd.DataFrame,
    cutoff_day: int,
    windows: Sequence[int],
    extra_features: pd.DataFrame | None = None,
    label_horizon: int | None = None,
    prefix: str = "",
) -> pd.DataFrame:
    """Feature table (indexed by customer id, sorted) from the columns of :func:`feature_aggregates` in ``df``
    (indexed by customer id); rows without a purchase on or before ``cutoff_day`` are left out. With
    ``label_horizon`` the table has an extra ``__future_purchase_days`` column (the label's count)."""
    names = ["last_day", "first_day", "purchase_days", "total_amount", "refund_lines", "refund_amount", "lines"]
    names += [f"{kind}_{w}d" for w in windows for kind in ("frequency", "monetary")]
    if label_horizon is not None:
        names.append("future_purchase_days")
    df = df[[prefix + n for n in names]]
    if prefix:
        df = df.set_axis(names, axis=1)
    df = df[df["purchase_days"].to_numpy() > 0]
    if not df.index.is_monotonic_increasing:
        df = df.sort_index()
    # Money sums are rounded to a millionth: engines add floats in different orders (last-digit differences, ~1e-13),
    # and the boosted trees bin features by quantiles, so such noise could move a customer across a bin edge and
    # change the model. Rounded, the features are bit-identical on DuckDB, SQLite, PostgreSQL and Spark.
    money = {
        c: df[c].astype(float).round(MONEY_DECIMALS)
        for c in ["total_amount", "refund_amount", *(f"monetary_{w}d" for w in windows)]
    }
    out = pd.DataFrame(index=df.index)
    out["recency_days"] = (cutoff_day - df["last_day"]).astype(float)
    out["tenure_days"] = (cutoff_day - df["first_day"]).astype(float)
    out["purchase_days"] = df["purchase_days"].astype(float)
    out["total_amount"] = money["total_amount"].fillna(0.0)
    out["avg_order_value"] = out["total_amount"] / out["purchase_days"]
    out["return_rate"] = df["refund_lines"].fillna(0).astype(float) / df["lines"].astype(float)
    refund = money["refund_amount"].fillna(0.0)
    gross = out["total_amount"] + refund
    out["refund_share"] = np.where(gross > 0, refund / gross.where(gross > 0, 1.0), 0.0)
    out["mean_interpurchase_days"] = np.where(
        out["purchase_days"] > 1, out["tenure_days"] - out["recency_days"], np.nan
    ) / np.maximum(out["purchase_days"] - 1, 1)
    ws = sorted(windows)
    for w in ws:
        out[f"frequency_{w}d"] = df[f"frequency_{w}d"].astype(float)
        out[f"monetary_{w}d"] = money[f"monetary_{w}d"].fillna(0.0)
    if len(ws) > 1:
        short, long = ws[0], ws[-1]
        # Rates per day make windows comparable; > 1 means buying faster recently than over the long window.
        out["frequency_trend"] = (out[f"frequency_{short}d"] / short) / ((out[f"frequency_{long}d"] + 1) / long)
        out["monetary_trend"] = (out[f"monetary_{short}d"] / short) / ((out[f"monetary_{long}d"].abs() + 1) / long)
    if extra_features is not None:
        extra = extra_features.copy()
        extra.index = extra.index.astype(out.index.dtype) if len(extra) else extra.index
        overlap = set(extra.columns) & set(out.columns)
        if overlap:
            raise AnalyticsInputError(f"extra feature columns clash with built-in ones: {sorted(overlap)}")
        out = out.join(extra, how="left")
    if label_horizon is not None:
        out["__future_purchase_days"] = df["future_purchase_days"].astype(np.int64)
    out.index.name = "customer_id"
    return out


def _check_windows(windows: Sequence[int]) -> None:
    if not windows or any(w <= 0 for w in windows):
        raise AnalyticsInputError("windows must be positive numbers of days")


def transaction_churn_features(
    transactions: ir.Table | pd.DataFrame,
    cutoff: Any,
    windows: Sequence[int] = DEFAULT_WINDOWS,
    columns: ColumnNames | None = None,
    extra_features: pd.DataFrame | None = None,
    zero_amounts: ZeroPolicy = "purchase",
    date_format: str | None = None,
) -> pd.DataFrame:
    """Per-customer churn features at ``cutoff`` (data up to the cutoff only), indexed by customer id.

    Features: recency/tenure days, purchase days, net amount, average order value, return (refund-line) rate and
    refund share; for each window w: purchases and net amount in the last w days; trends: purchase and amount rate
    in the shortest window relative to the longest. ``extra_features`` (indexed by customer id: tickets,
    complaints, satisfaction, engagement...) is left-joined as is.
    """
    _check_windows(windows)
    cutoff_day = to_day_number(cutoff)
    raw = transactions_from_pandas(transactions) if isinstance(transactions, pd.DataFrame) else transactions
    norm = normalise_transactions(raw, columns, date_format)
    return features_from_daily(daily_expr(norm, cutoff_day, zero_amounts), cutoff_day, windows, extra_features)


def features_from_daily(
    daily: ir.Table,
    cutoff_day: int,
    windows: Sequence[int] = DEFAULT_WINDOWS,
    extra_features: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:func:`transaction_churn_features` on an existing :func:`~kehu.analytics.summary.daily_expr` table (lets
    several cutoffs share one materialised (customer, day) table)."""
    _check_windows(windows)
    return _features_frame(daily, cutoff_day, windows, extra_features)


def transaction_churn_dataset(
    transactions: ir.Table | pd.DataFrame,
    cutoff: Any,
    horizon_days: int = 90,
    windows: Sequence[int] = DEFAULT_WINDOWS,
    active_days: int | None = 365,
    columns: ColumnNames | None = None,
    extra_features: pd.DataFrame | None = None,
    date_format: str | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Features at ``cutoff`` and labels: churned (1) = no purchase in the ``horizon_days`` after the cutoff.

    Only customers who bought within ``active_days`` before the cutoff are kept (long-gone customers would make
    the task trivially easy and the AUC flattering). Data after the cutoff is used only for the label. A purchase
    is a line with a non-negative amount (refunds do not count).
    """
    if horizon_days <= 0:
        raise AnalyticsInputError("horizon_days must be positive")
    _check_windows(windows)
    cutoff_day = to_day_number(cutoff)
    raw = transactions_from_pandas(transactions) if isinstance(transactions, pd.DataFrame) else transactions
    norm = normalise_transactions(raw, columns, date_format)
    daily = daily_expr(norm, cutoff_day + horizon_days, "purchase")
    return churn_dataset_from_daily(daily, cutoff_day, horizon_days, windows, active_days, extra_features)


def churn_dataset_from_daily(
    daily: ir.Table,
    cutoff_day: int,
    horizon_days: int = 90,
    windows: Sequence[int] = DEFAULT_WINDOWS,
    active_days: int | None = 365,
    extra_features: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """:func:`transaction_churn_dataset` on a (customer, day) table that covers ``cutoff_day + horizon_days``:
    features and labels in a single aggregation pass."""
    if horizon_days <= 0:
        raise AnalyticsInputError("horizon_days must be positive")
    _check_windows(windows)
    return labelled_dataset(_features_frame(daily, cutoff_day, windows, extra_features, horizon_days), active_days)


def labelled_dataset(features: pd.DataFrame, active_days: int | None = 365) -> tuple[pd.DataFrame, pd.Series]:
    """``(X, y)`` from a feature table with its ``__future_purchase_days`` column (see
    :func:`features_from_aggregates`): churned (1) = no purchase in the horizon; only customers who bought within
    ``active_days`` before the cutoff are kept."""
    future = features["__future_purchase_days"]
    X = features.drop(columns="__future_purchase_days")
    if active_days is not None:
        keep = X["recency_days"] < active_days
        X, future = X[keep], future[keep]
    y = pd.Series((future.to_numpy() == 0).astype(np.int64), index=X.index, name="churned")
    return X, y


def _looks_numeric(values: pd.Series) -> pd.Series | None:
    text = values.astype("string").str.strip()
    blank = text.isna() | (text == "")
    parsed = pd.to_numeric(text.where(~blank), errors="coerce")
    nonblank = int((~blank).sum())
    if nonblank == 0:
        return None
    if int(parsed.notna().sum()) >= 0.98 * nonblank:
        return parsed.astype(float)
    return None


def prepare_feature_table(
    df: pd.DataFrame,
    id_col: str | None,
    label_col: str,
    positive: Any,
    drop: Sequence[str] = (),
) -> tuple[pd.DataFrame, pd.Series]:
    """Turn any customer table into ``(X, y)`` for :class:`ChurnModel`.

    * the id column and ``drop`` columns are removed (an id is never a feature: it leaks row order);
    * text columns whose non-blank values are (>= 98%) numbers become floats, blanks -> NaN (Telco TotalCharges);
    * other text/bool columns become categoricals (ordinal-encoded inside the model);
    * any other column that is unique per row and not floating-point looks like an identifier: dropped with a
      :class:`DataQualityWarning`;
    * ``y = 1`` where the label equals ``positive`` (compared as text; for a boolean label column, a positive
      value of yes/true/1 means True).
    """
    for col in [c for c in (id_col, label_col) if c is not None]:
        if col not in df.columns:
            raise AnalyticsInputError(f"missing column {col!r}; available: {', '.join(map(str, df.columns))}")
    if df.empty:
        raise AnalyticsInputError("the feature table is empty")
    label = df[label_col]
    if label.isna().any():
        raise AnalyticsInputError(f"label column {label_col!r} has {int(label.isna().sum())} missing value(s)")
    if pd.api.types.is_bool_dtype(label):
        # CSV readers (DuckDB) turn Yes/No or true/false columns into booleans: map the positive word onto them.
        truthy = str(positive).strip().lower() in {"yes", "y", "true", "t", "1"}
        y = (label.astype(bool) == truthy).astype(np.int64)
    else:
        y = (label.astype(str).str.strip() == str(positive).strip()).astype(np.int64)
    if y.nunique() < 2:
        raise DegenerateDataError(
            f"label column {label_col!r} has a single class once compared with positive value {positive!r}"
        )
    X = df.drop(columns=[c for c in (id_col, label_col, *drop) if c is not None])
    if id_col is not None:
        X.index = df[id_col].to_numpy()
        y.index = X.index
    n = len(X)
    for col in list(X.columns):
        s = X[col]
        if s.dtype == bool:
            X[col] = s.astype(float)
        elif not pd.api.types.is_numeric_dtype(s):
            num = _looks_numeric(s)
            X[col] = num if num is not None else s.astype("string").str.strip().astype("category")
        if not pd.api.types.is_float_dtype(X[col]) and n > 50 and X[col].nunique(dropna=False) == n:
            warnings.warn(
                f"column {col!r} is unique per row (an identifier?) and was dropped", DataQualityWarning, stacklevel=2
            )
            X = X.drop(columns=col)
    if X.shape[1] == 0:
        raise AnalyticsInputError("no usable feature columns")
    return X, y


# --------------------------------------------------------------------------------------------------- metrics
def lift_at(y: NDArray[Any], p: NDArray[Any], fraction: float = 0.1) -> float:
    """Churn rate among the ``fraction`` highest-scored customers divided by the overall churn rate."""
    yv = np.asarray(y, dtype=float)
    n = max(1, round(fraction * yv.size))
    top = np.argsort(-np.asarray(p, dtype=float), kind="stable")[:n]
    base = yv.mean()
    return float(yv[top].mean() / base) if base > 0 else float("nan")


def calibration_table(y: NDArray[Any], p: NDArray[Any], bins: int = 10) -> pd.DataFrame:
    """Predicted vs observed churn rate per probability decile (equal-count bins of the prediction)."""
    yv = np.asarray(y, dtype=float)
    pv = np.asarray(p, dtype=float)
    order = np.argsort(pv, kind="stable")
    groups = np.array_split(order, bins)
    rows = [
        {
            "bin": i + 1,
            "n": int(g.size),
            "mean_predicted": float(pv[g].mean()),
            "observed_rate": float(yv[g].mean()),
            "min_predicted": float(pv[g].min()),
            "max_predicted": float(pv[g].max()),
        }
        for i, g in enumerate(groups)
        if g.size
    ]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------- model
class ChurnModel(BaseEstimator):  # type: ignore[misc]
    """Calibrated histogram gradient boosting churn classifier with cross-validated metrics and reasons.

    ``fit`` first runs stratified ``n_splits``-fold cross-validation (out-of-fold probabilities give
    ``cv_auc_``, ``cv_auc_std_``, ``lift_top_decile_`` and ``calibration_table_``), then fits the final
    calibrated model on all rows (``n_splits=0`` skips the cross-validation). ``max_train_rows`` subsamples
    (stratified) very large tables for speed.

    Calibration (``calibration_cv``): an integer k fits k boosters on k-fold splits and calibrates each on its
    held-out fold (``CalibratedClassifierCV``; best for small tables); ``"holdout"`` fits one booster on a
    stratified 80% and calibrates it on the other 20% (k times cheaper to fit and to predict; ``holdout_auc_``
    is the booster's AUC on that unseen 20%); ``"auto"`` (default) uses ``"holdout"`` from
    ``holdout_min_rows`` training rows on and 3-fold below, where a 20% holdout would be too small to calibrate.

    ``n_threads`` caps the OpenMP threads of boosting (None = all cores). The default 1 is deliberate: on a busy
    shared 2-core server, 2 OpenMP threads were measured 1.5-7x *slower* than 1 (threads spin at barriers while
    the other core is taken), and the scoring run has other work for the second core (DuckDB).
    """

    def __init__(
        self,
        n_splits: int = 5,
        calibration: str = "isotonic",
        calibration_cv: int | str = "auto",
        learning_rate: float = 0.05,
        max_iter: int = 300,
        max_leaf_nodes: int = 15,
        l2_regularization: float = 1.0,
        max_train_rows: int | None = 200_000,
        random_state: int | None = 0,
        progress: Callable[[int], None] | None = None,
        holdout_min_rows: int = 20_000,
        n_iter_no_change: int = 20,
        n_threads: int | None = 1,
    ) -> None:
        self.n_splits = n_splits
        self.calibration = calibration
        self.calibration_cv = calibration_cv
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.l2_regularization = l2_regularization
        self.max_train_rows = max_train_rows
        self.random_state = random_state
        self.progress = progress
        self.holdout_min_rows = holdout_min_rows
        self.n_iter_no_change = n_iter_no_change
        self.n_threads = n_threads

    def _pipeline(self, X: pd.DataFrame) -> Pipeline:
        cats = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype) or X[c].dtype == object]
        nums = [c for c in X.columns if c not in cats]
        encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan)
        pre = ColumnTransformer([("cat", encoder, cats), ("num", "passthrough", nums)], verbose_feature_names_out=False)
        hgb = HistGradientBoostingClassifier(
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            l2_regularization=self.l2_regularization,
            categorical_features=list(range(len(cats))) if cats else None,
            early_stopping=True,
            validation_fraction=0.15,
            n_iter_no_change=self.n_iter_no_change,
            random_state=self.random_state,
        )
        return Pipeline([("pre", pre), ("hgb", hgb)])

    def _calibration_folds(self, n_rows: int) -> int | None:
        """Number of calibration folds, or None for a single holdout split."""
        cv = self.calibration_cv
        if cv == "holdout" or (cv == "auto" and n_rows >= self.holdout_min_rows):
            return None
        if cv == "auto":
            return 3
        if not isinstance(cv, int) or isinstance(cv, bool) or cv < 2:
            raise AnalyticsInputError(f"calibration_cv must be 'auto', 'holdout' or an integer >= 2, not {cv!r}")
        return cv

    def _fit_calibrated(self, X: pd.DataFrame, y: NDArray[np.int64]) -> tuple[CalibratedClassifierCV, float]:
        """Fit a calibrated model; returns it and the booster's AUC on the calibration holdout (NaN for k-fold)."""
        folds = self._calibration_folds(len(X))
        if folds is not None:
            return CalibratedClassifierCV(self._pipeline(X), method=self.calibration, cv=folds).fit(X, y), float("nan")
        train, hold = train_test_split(np.arange(len(X)), test_size=0.2, stratify=y, random_state=self.random_state)
        booster = self._pipeline(X).fit(X.iloc[train], y[train])
        calibrated = CalibratedClassifierCV(FrozenEstimator(booster), method=self.calibration)
        calibrated.fit(X.iloc[hold], y[hold])
        raw = booster.predict_proba(X.iloc[hold])[:, 1]
        return calibrated, float(roc_auc_score(y[hold], raw))

    def _threads(self) -> Any:
        return threadpool_limits(limits=self.n_threads)

    def _tick(self) -> None:
        if self.progress is not None:
            self.progress(1)

    def fit(self, X: pd.DataFrame, y: pd.Series | NDArray[Any]) -> ChurnModel:
        """Cross-validate, then fit the final calibrated model. ``X`` is a DataFrame (see prepare_feature_table)."""
        with self._threads():
            return self._fit(X, y)

    def _fit(self, X: pd.DataFrame, y: pd.Series | NDArray[Any]) -> ChurnModel:
        if not isinstance(X, pd.DataFrame):
            raise AnalyticsInputError("X must be a pandas DataFrame")
        yv = np.asarray(y, dtype=np.int64)
        if yv.shape[0] != len(X):
            raise AnalyticsInputError("X and y have different lengths")
        counts = np.bincount(yv, minlength=2)
        if counts.size != 2 or counts.min() == 0:
            raise DegenerateDataError("churn labels contain a single class: nothing to learn")
        folds = min(self.n_splits, int(counts.min()))
        cal_folds = self._calibration_folds(min(len(X), self.max_train_rows or len(X)))
        if (self.n_splits != 0 and folds < 2) or counts.min() < 2 * (cal_folds or 5):
            raise DegenerateDataError(
                f"too few examples of the minority class ({int(counts.min())}) to cross-validate and calibrate"
            )
        rng = np.random.default_rng(self.random_state)
        if self.max_train_rows is not None and len(X) > self.max_train_rows:
            keep = np.sort(
                np.concatenate(
                    [
                        rng.choice(
                            np.flatnonzero(yv == c), int(self.max_train_rows * counts[c] / len(X)), replace=False
                        )
                        for c in (0, 1)
                    ]
                )
            )
            X, yv = X.iloc[keep], yv[keep]
        self.feature_names_ = list(X.columns)
        self.categorical_features_ = [
            c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype) or X[c].dtype == object
        ]
        self.categories_ = {c: pd.Series(X[c]).astype("category").cat.categories for c in self.categorical_features_}
        oof = np.zeros(len(X))
        aucs = []
        if self.n_splits:
            skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.random_state)
            for train, test in skf.split(np.zeros(len(yv)), yv):
                model, _ = self._fit_calibrated(X.iloc[train], yv[train])
                oof[test] = model.predict_proba(X.iloc[test])[:, 1]
                aucs.append(roc_auc_score(yv[test], oof[test]))
                self._tick()
        # n_splits=0 skips cross-validation (scoring runs that only need the fitted model): metrics are NaN.
        self.cv_auc_ = float(np.mean(aucs)) if aucs else float("nan")
        self.cv_auc_std_ = float(np.std(aucs)) if aucs else float("nan")
        self.cv_auc_folds_ = [float(a) for a in aucs]
        self.lift_top_decile_ = lift_at(yv, oof, 0.1) if aucs else float("nan")
        self.calibration_table_ = calibration_table(yv, oof) if aucs else pd.DataFrame()
        self.base_rate_ = float(yv.mean())
        self.model_, self.holdout_auc_ = self._fit_calibrated(X, yv)
        self._tick()
        # Reference point of the attribution: the median (numbers) or most common value (categories).
        self.reference_ = {
            c: (X[c].mode(dropna=True).iloc[0] if c in self.categorical_features_ else float(np.nanmedian(X[c])))
            for c in X.columns
        }
        return self

    def _check(self, X: pd.DataFrame) -> pd.DataFrame:
        if not hasattr(self, "model_"):
            raise NotFittedError("ChurnModel is not fitted yet; call fit() first")
        missing = [c for c in self.feature_names_ if c not in X.columns]
        if missing:
            raise AnalyticsInputError(f"missing feature column(s): {missing}")
        X = X[self.feature_names_].copy()
        for c in self.categorical_features_:
            X[c] = pd.Categorical(X[c].astype("string").str.strip(), categories=self.categories_[c])
        return X

    def predict_proba(self, X: pd.DataFrame) -> NDArray[np.float64]:
        """Calibrated churn probability per row."""
        Xc = self._check(X)
        with self._threads():
            return np.asarray(self.model_.predict_proba(Xc)[:, 1], dtype=float)

    def explain(self, X: pd.DataFrame, top_k: int = 3, min_effect: float = 0.01) -> pd.DataFrame:
        """Top reasons per customer by *deviation attribution*.

        For each feature j the customer's probability is recomputed with x_j replaced by the reference value
        (training median / most common category); effect_j = p(x) - p(x with typical x_j). Positive effects are
        features whose value makes this customer riskier than a typical one. This is a local, one-at-a-time
        what-if: effects are not additive and ignore interactions, but they are cheap and honest about what they
        measure. Returns columns ``churn_probability``, ``churn_reasons`` ("feature=value (+0.12); ...").
        """
        Xc = self._check(X)
        n, k = len(Xc), len(self.feature_names_)
        # All what-if rows are built column-wise in NumPy and scored in one call per chunk (block 0 is the
        # customer as is, block j+1 has feature j set to the reference) instead of k separate DataFrame copies.
        chunk = max(1, 400_000 // (k + 1))
        base = np.empty(n)
        effects = np.empty((n, k))
        with self._threads():
            for start in range(0, n, chunk):
                part = Xc.iloc[start : start + chunk]
                p = self.model_.predict_proba(self._what_if_rows(part))[:, 1].reshape(k + 1, len(part))
                base[start : start + len(part)] = p[0]
                effects[start : start + len(part)] = (p[0] - p[1:]).T
        reasons = self._reason_text(Xc, effects, top_k, min_effect)
        return pd.DataFrame({"churn_probability": base, "churn_reasons": reasons}, index=X.index)

    def _what_if_rows(self, Xc: pd.DataFrame) -> pd.DataFrame:
        n, k = len(Xc), len(self.feature_names_)
        cols: dict[str, Any] = {}
        for j, col in enumerate(self.feature_names_):
            block = slice((j + 1) * n, (j + 2) * n)
            ref = self.reference_[col]
            if col in self.categorical_features_:
                cats = self.categories_[col]
                codes = np.tile(np.asarray(Xc[col].cat.codes, dtype=np.int64), k + 1)
                codes[block] = int(cats.get_indexer(pd.Index([ref]))[0])  # -1 (missing) when not a known category
                cols[col] = pd.Categorical.from_codes(codes, categories=cats)
            else:
                values = np.tile(Xc[col].to_numpy(dtype=float, na_value=np.nan), k + 1)
                values[block] = ref
                cols[col] = values
        return pd.DataFrame(cols)

    def _reason_text(self, Xc: pd.DataFrame, effects: NDArray[np.float64], top_k: int, min_effect: float) -> list[str]:
        order = np.argsort(-effects, axis=1)[:, :top_k]
        top = np.take_along_axis(effects, order, axis=1)
        # Only the (at most top_k) selected values per row are formatted.
        count = (top >= min_effect).cumprod(axis=1).sum(axis=1)
        values = Xc.to_numpy(dtype=object)
        names = self.feature_names_
        reasons = []
        for i, m in enumerate(count.tolist()):
            parts = []
            for r in range(m):
                j = order[i, r]
                v = values[i, j]
                shown = f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)
                parts.append(f"{names[j]}={shown} (+{top[i, r]:.2f})")
            reasons.append("; ".join(parts))
        return reasons

    def report(self) -> dict[str, Any]:
        """JSON-ready cross-validation report."""
        if not hasattr(self, "cv_auc_"):
            raise NotFittedError("ChurnModel is not fitted yet; call fit() first")
        return {
            "cv_auc": self.cv_auc_,
            "cv_auc_std": self.cv_auc_std_,
            "cv_auc_folds": self.cv_auc_folds_,
            "lift_top_decile": self.lift_top_decile_,
            "base_rate": self.base_rate_,
            "holdout_auc": self.holdout_auc_,
            "calibration": self.calibration_table_.to_dict(orient="records"),
            "features": self.feature_names_,
        }
