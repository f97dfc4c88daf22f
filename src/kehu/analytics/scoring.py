"""End-to-end customer scoring: summary, RFM, lifecycle, BG/NBD + Gamma-Gamma CLV and churn in one call."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .exceptions import AnalyticsError, ModelFitWarning
from .lifecycle import LifecycleRules, _add_lifecycle
from .rfm import RFMConfig, _add_rfm, _add_segments
from .sources import ColumnNames, transactions_from_pandas
from .summary import (
    SummaryOptions,
    daily_expr,
    prepare_transactions,
    summary_frame,
    summary_from_daily,
    time_unit_days,
)

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["SCORE_COLUMNS", "ScoreConfig", "score_customers"]

SCORE_COLUMNS = [
    "customer_id",
    "recency_days",
    "frequency",
    "monetary",
    "r_grade",
    "f_grade",
    "m_grade",
    "rfm_class",
    "tier",
    "lifecycle_stage",
    "p_alive",
    "expected_purchases_90d",
    "expected_purchases_365d",
    "clv_365d",
    "churn_probability",
    "churn_reasons",
]


@dataclass(frozen=True)
class ScoreConfig:
    """Settings of :func:`score_customers`.

    ``rfm_period_days`` is the RFM look-back window; ``churn_horizon_days`` N defines churn as "no purchase in
    the next N days": the churn model is trained on the file's own history (features at cutoff - N, labels from
    the N days up to the cutoff, customers active in the year before cutoff - N) and then applied to features at
    the cutoff. ``churn_splits`` > 0 also cross-validates it (slower; 0 = fit only). Reasons are computed for
    customers whose churn probability is at least ``reason_threshold`` (at most ``max_reason_rows`` of the
    riskiest, because each reason costs one model evaluation per feature).

    The churn model is tuned for nightly runs on large files: at most ``churn_max_train_rows`` customers
    (stratified sample), ``churn_learning_rate``/``churn_max_iter`` boosting with early stopping, and
    calibration on a 20% holdout instead of k-fold refits once the sample has 20,000 rows (see
    :class:`~kehu.analytics.churn.ChurnModel`). A learning rate of 0.3 stops after ~40 trees instead of ~50 at
    0.2 (1M-customer benchmark: prediction of every customer 1.5x faster, held-out ROC AUC 0.8300 vs 0.8303).
    """

    time_unit: str = "week"
    rfm_period_days: int | None = 365
    rfm: RFMConfig = field(default_factory=RFMConfig)
    lifecycle: LifecycleRules = field(default_factory=LifecycleRules)
    monthly_discount_rate: float = 0.01
    churn_horizon_days: int = 90
    churn_splits: int = 0
    reason_threshold: float = 0.5
    max_reason_rows: int = 20_000
    churn_max_train_rows: int = 200_000
    churn_learning_rate: float = 0.3
    churn_max_iter: int = 200
    duplicates: str = "warn"
    future: str = "warn"
    random_state: int | None = 0


def score_customers(
    transactions: ir.Table | pd.DataFrame,
    cutoff: dt.date | dt.datetime | str,
    config: ScoreConfig | None = None,
    columns: ColumnNames | None = None,
    progress: Callable[[str], None] | None = None,
    date_format: str | None = None,
) -> pd.DataFrame:
    """Score every customer with a purchase on or before ``cutoff`` (later data is ignored).

    Returns the columns of :data:`SCORE_COLUMNS` plus ``segment``, ``strategy``, ``expected_spend`` and the
    summary columns. Model steps that the data cannot support (e.g. nobody repeats) emit a
    :class:`ModelFitWarning` and leave their columns empty (NaN) instead of failing the whole run.
    """
    cfg = config or ScoreConfig()
    step = progress or (lambda _msg: None)
    raw = transactions_from_pandas(transactions) if isinstance(transactions, pd.DataFrame) else transactions
    unit = time_unit_days(cfg.time_unit)
    opts = SummaryOptions(
        time_unit=cfg.time_unit,  # type: ignore[arg-type]
        period_days=cfg.rfm_period_days,
        duplicates=cfg.duplicates,  # type: ignore[arg-type]
        future=cfg.future,  # type: ignore[arg-type]
    )
    norm, cutoff_day = prepare_transactions(raw, cutoff, opts, columns, date_format)
    from .churn import DEFAULT_WINDOWS, scoring_aggregates  # scikit-learn: loaded on use

    horizon = cfg.churn_horizon_days
    windows = sorted(DEFAULT_WINDOWS)

    def churn_aggregates(t: ir.Table) -> dict[str, Any]:
        # The churn features at the cutoff and the training set (features at cutoff - horizon, labels from the
        # horizon up to the cutoff) come from conditional aggregates of the summary's own GROUP BY: one pass over
        # the (customer, day) rows instead of three queries over a materialised copy of them.
        return {_CHURN + name: agg for name, agg in scoring_aggregates(t, cutoff_day, horizon, windows).items()}

    daily = daily_expr(norm, cutoff_day, opts.zero_amounts)
    frame = summary_frame(summary_from_daily(daily, cutoff_day, opts, extra_aggregates=churn_aggregates), cutoff)
    churn_columns = [c for c in frame.columns if c.startswith(_CHURN)]
    aggregates = frame[churn_columns].set_axis(frame["customer_id"].to_numpy(), axis=0)
    aggregates.columns = [c.removeprefix(_CHURN) for c in churn_columns]
    summary = frame.drop(columns=churn_columns)
    step("summary")
    n = len(summary)
    scored = _models(summary, cfg, unit, step)
    _churn(scored, aggregates, cutoff_day, windows, cfg)
    step("churn")
    assert len(scored) == n
    extra = [c for c in scored.columns if c not in SCORE_COLUMNS]
    return scored[SCORE_COLUMNS + extra]


_CHURN = "__churn_"


def _models(summary: pd.DataFrame, cfg: ScoreConfig, unit: float, step: Callable[[str], None]) -> pd.DataFrame:
    from ._fitting import unique_rows
    from .bgnbd import BetaGeoModel
    from .clv import discount_schedule
    from .gamma_gamma import GammaGammaModel

    # The summary frame is this run's own: columns are added in place instead of copying a million rows per step.
    scored = _add_segments(_add_rfm(summary, cfg.rfm))
    x, t_x, T = (scored[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))
    for col in ("p_alive", "expected_purchases_90d", "expected_purchases_365d", "expected_spend", "clv_365d"):
        scored[col] = np.nan
    bg: BetaGeoModel | None = None
    try:
        bg = BetaGeoModel(compute_standard_errors=False).fit(x, t_x, T)
        # Predictions depend on (x, t_x, T) only: computed once per distinct triple, then broadcast. P(alive) is
        # evaluated once and the costly conditional term once per distinct (x, T) for the 90/365-day horizons and
        # the 12 CLV month ends together (the same arithmetic as p_alive, conditional_expected_purchases and
        # customer_lifetime_value, without repeating their input checks, grouping and P(alive) per call).
        (ux, ut, uT), inv = unique_rows(x, t_x, T)
        params = bg._check_fitted()
        alive = bg._alive(params, ux, ut, uT)
        (vx, vT), pair = unique_rows(ux, uT)
        months, discount = discount_schedule(12, cfg.monthly_discount_rate, unit)
        horizons = bg._expected_if_alive(params, np.array([90 / unit, 365 / unit]), vx, vT)
        scored["p_alive"] = alive[inv]
        scored["expected_purchases_90d"] = (horizons[:, 0][pair] * alive)[inv]
        scored["expected_purchases_365d"] = (horizons[:, 1][pair] * alive)[inv]
    except AnalyticsError as exc:
        warnings.warn(
            f"BG/NBD not fitted, p_alive and expected purchases left empty: {exc}", ModelFitWarning, stacklevel=3
        )
    step("bgnbd")
    if bg is not None:
        try:
            spend = scored["avg_repeat_value"].to_numpy(dtype=float)
            gg = GammaGammaModel(compute_standard_errors=False).fit(x, np.nan_to_num(spend))
            expected_spend = gg.expected_average_spend(x, spend)
            scored["expected_spend"] = expected_spend
            # CLV is linear in the expected spend: discounted purchases per distinct triple x each customer's spend.
            cumulative = bg._expected_if_alive(params, months, vx, vT)
            per_purchase = (np.diff(cumulative, axis=1, prepend=0.0) @ discount)[pair] * alive
            scored["clv_365d"] = per_purchase[inv] * expected_spend
        except AnalyticsError as exc:
            warnings.warn(f"Gamma-Gamma not fitted, clv_365d left empty: {exc}", ModelFitWarning, stacklevel=3)
    step("gamma-gamma")
    return _add_lifecycle(scored, cfg.lifecycle)


def _churn(
    scored: pd.DataFrame, aggregates: pd.DataFrame, cutoff_day: int, windows: list[int], cfg: ScoreConfig
) -> None:
    from .churn import ChurnModel, features_from_aggregates, labelled_dataset, split_scoring_aggregates

    scored["churn_probability"] = np.nan
    scored["churn_reasons"] = ""
    try:
        horizon = cfg.churn_horizon_days
        now, earlier = split_scoring_aggregates(aggregates, horizon, windows)
        X_train, y_train = labelled_dataset(
            features_from_aggregates(earlier, cutoff_day - horizon, windows, None, horizon)
        )
        model = ChurnModel(
            n_splits=cfg.churn_splits,
            random_state=cfg.random_state,
            learning_rate=cfg.churn_learning_rate,
            max_iter=cfg.churn_max_iter,
            max_train_rows=cfg.churn_max_train_rows,
            n_iter_no_change=10,
        )
        model.fit(X_train, y_train)
        X_now = features_from_aggregates(now, cutoff_day, windows)
        X_now = X_now.reindex(scored["customer_id"].to_numpy())
        prob = model.predict_proba(X_now)
        scored["churn_probability"] = prob
        risky = np.flatnonzero(prob >= cfg.reason_threshold)
        if risky.size > cfg.max_reason_rows:
            risky = np.sort(risky[np.argsort(-prob[risky], kind="stable")[: cfg.max_reason_rows]])
        if risky.size:
            reasons = model.explain(X_now.iloc[risky])
            scored.loc[scored.index[risky], "churn_reasons"] = reasons["churn_reasons"].to_numpy()
    except AnalyticsError as exc:
        warnings.warn(f"churn model not trained, churn_probability left empty: {exc}", ModelFitWarning, stacklevel=3)
