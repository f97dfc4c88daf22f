"""Customer lifecycle stage (prospect, new, development, stability, decline, churned) and matching strategy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .exceptions import AnalyticsInputError

__all__ = ["STAGES", "LifecycleRules", "assign_lifecycle"]

STAGES = ("prospect", "new", "development", "stability", "decline", "churned")


def _default_strategies() -> dict[str, str]:
    return {
        "prospect": "acquisition",
        "new": "development",
        "development": "development",
        "stability": "retention",
        "decline": "win-back",
        "churned": "win-back",
    }


@dataclass(frozen=True)
class LifecycleRules:
    """Rules evaluated in this order (first match wins):

    1. ``prospect``: no purchase yet (``purchase_days`` is 0 or missing).
    2. ``churned``: no purchase for more than ``churn_days`` days, or ``p_alive < churn_p_alive`` when a
       ``p_alive`` column is present.
    3. ``new`` (identification): first purchase at most ``new_days`` days before the cutoff.
    4. ``decline``: no purchase for more than ``decline_days`` days, or purchases in the last ``trend_days``
       window fell below ``decline_ratio`` x those of the window before (needs ``frequency_recent`` and
       ``frequency_previous``), or ``p_alive < decline_p_alive``.
    5. ``stability``: at least ``stable_purchases`` purchase days and ``stable_tenure_days`` of tenure.
    6. ``development``: everybody else (active, still building the relationship).
    """

    new_days: int = 90
    decline_days: int = 180
    churn_days: int = 365
    decline_ratio: float = 0.5
    stable_purchases: int = 4
    stable_tenure_days: int = 365
    churn_p_alive: float = 0.1
    decline_p_alive: float = 0.5
    strategies: Mapping[str, str] = field(default_factory=_default_strategies)

    def __post_init__(self) -> None:
        if self.new_days <= 0:
            raise AnalyticsInputError("new_days must be positive")
        if not self.decline_days < self.churn_days:
            raise AnalyticsInputError("decline_days must be smaller than churn_days")


def assign_lifecycle(summary: pd.DataFrame, rules: LifecycleRules | None = None) -> pd.DataFrame:
    """Add ``lifecycle_stage`` and ``strategy`` columns to a customer summary."""
    rl = rules or LifecycleRules()
    _require(summary)
    return _add_lifecycle(summary.copy(), rl)


def _require(summary: pd.DataFrame) -> None:
    for col in ("recency_days", "tenure_days"):
        if col not in summary.columns:
            raise AnalyticsInputError(f"missing column {col!r} for lifecycle stages")


def _add_lifecycle(out: pd.DataFrame, rl: LifecycleRules) -> pd.DataFrame:
    """:func:`assign_lifecycle`'s columns added to ``out`` in place (for callers that own the frame)."""
    _require(out)
    n = len(out)
    purchases = out["purchase_days"].fillna(0).to_numpy() if "purchase_days" in out else np.ones(n)
    recency = out["recency_days"].to_numpy(dtype=float)
    tenure = out["tenure_days"].to_numpy(dtype=float)
    p_alive = out["p_alive"].to_numpy(dtype=float) if "p_alive" in out else np.full(n, np.nan)
    with np.errstate(invalid="ignore"):
        if {"frequency_recent", "frequency_previous"} <= set(out.columns):
            fr = out["frequency_recent"].to_numpy(dtype=float)
            fp = out["frequency_previous"].to_numpy(dtype=float)
            falling = (fp > 0) & (fr < rl.decline_ratio * fp)
        else:
            falling = np.zeros(n, dtype=bool)
        conditions = [
            purchases <= 0,
            (recency > rl.churn_days) | (p_alive < rl.churn_p_alive),
            tenure <= rl.new_days,
            (recency > rl.decline_days) | falling | (p_alive < rl.decline_p_alive),
            (purchases >= rl.stable_purchases) & (tenure >= rl.stable_tenure_days),
        ]
    stage = np.select(conditions, ["prospect", "churned", "new", "decline", "stability"], default="development")
    out["lifecycle_stage"] = stage.astype(object)
    out["strategy"] = out["lifecycle_stage"].map(dict(rl.strategies))
    return out
