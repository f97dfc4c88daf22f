"""Django-free customer analytics engine of kehu: summaries, BTYD/CLV models, RFM, lifecycle, churn, affinity."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # eager imports for type checkers only; at run time names are loaded on first use
    from .affinity import association_rules, recommend_next_products, segment_preferences
    from .bgnbd import BetaGeoModel
    from .churn import (
        ChurnModel,
        calibration_table,
        lift_at,
        prepare_feature_table,
        transaction_churn_dataset,
        transaction_churn_features,
    )
    from .clv import customer_lifetime_value, manager_clv, monthly_to_period_rate
    from .cohorts import cohort_retention
    from .exceptions import (
        AnalyticsError,
        AnalyticsInputError,
        AnalyticsWarning,
        ConvergenceError,
        DataQualityWarning,
        DegenerateDataError,
        ModelFitWarning,
    )
    from .gamma_gamma import GammaGammaModel
    from .lifecycle import STAGES, LifecycleRules, assign_lifecycle
    from .pareto_nbd import ParetoNBDModel
    from .rfm import QuantileRule, RFMConfig, ThresholdRule, default_tier, grade_rfm, segment_customers, tie_safe_bins
    from .scoring import SCORE_COLUMNS, ScoreConfig, score_customers
    from .sources import ColumnNames, connect_duckdb, normalise_transactions, read_table, transactions_from_pandas
    from .summary import DataQualityReport, SummaryOptions, check_transactions, customer_summary, summary_expr
    from .trends import REASON_CODES, TrendRules, grade_trend_warnings

# Public name -> submodule. Importing ``kehu.analytics`` loads nothing heavy: scikit-learn, Ibis and SciPy are
# imported when a name that needs them is first used (PEP 562), so the ``kehu`` command line and Django start
# fast (see docs/decisions/0101-analytics-engine.md, "Import time").
_EXPORTS = {
    "AnalyticsError": "exceptions",
    "AnalyticsInputError": "exceptions",
    "AnalyticsWarning": "exceptions",
    "BetaGeoModel": "bgnbd",
    "ChurnModel": "churn",
    "ColumnNames": "sources",
    "ConvergenceError": "exceptions",
    "DataQualityReport": "summary",
    "DataQualityWarning": "exceptions",
    "DegenerateDataError": "exceptions",
    "GammaGammaModel": "gamma_gamma",
    "LifecycleRules": "lifecycle",
    "ModelFitWarning": "exceptions",
    "ParetoNBDModel": "pareto_nbd",
    "QuantileRule": "rfm",
    "REASON_CODES": "trends",
    "RFMConfig": "rfm",
    "SCORE_COLUMNS": "scoring",
    "STAGES": "lifecycle",
    "ScoreConfig": "scoring",
    "SummaryOptions": "summary",
    "ThresholdRule": "rfm",
    "TrendRules": "trends",
    "assign_lifecycle": "lifecycle",
    "association_rules": "affinity",
    "calibration_table": "churn",
    "check_transactions": "summary",
    "cohort_retention": "cohorts",
    "connect_duckdb": "sources",
    "customer_lifetime_value": "clv",
    "customer_summary": "summary",
    "default_tier": "rfm",
    "grade_rfm": "rfm",
    "grade_trend_warnings": "trends",
    "lift_at": "churn",
    "manager_clv": "clv",
    "monthly_to_period_rate": "clv",
    "normalise_transactions": "sources",
    "prepare_feature_table": "churn",
    "read_table": "sources",
    "recommend_next_products": "affinity",
    "score_customers": "scoring",
    "segment_customers": "rfm",
    "segment_preferences": "affinity",
    "summary_expr": "summary",
    "tie_safe_bins": "rfm",
    "transaction_churn_dataset": "churn",
    "transaction_churn_features": "churn",
    "transactions_from_pandas": "sources",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = [
    "REASON_CODES",
    "SCORE_COLUMNS",
    "STAGES",
    "AnalyticsError",
    "AnalyticsInputError",
    "AnalyticsWarning",
    "BetaGeoModel",
    "ChurnModel",
    "ColumnNames",
    "ConvergenceError",
    "DataQualityReport",
    "DataQualityWarning",
    "DegenerateDataError",
    "GammaGammaModel",
    "LifecycleRules",
    "ModelFitWarning",
    "ParetoNBDModel",
    "QuantileRule",
    "RFMConfig",
    "ScoreConfig",
    "SummaryOptions",
    "ThresholdRule",
    "TrendRules",
    "assign_lifecycle",
    "association_rules",
    "calibration_table",
    "check_transactions",
    "cohort_retention",
    "connect_duckdb",
    "customer_lifetime_value",
    "customer_summary",
    "default_tier",
    "grade_rfm",
    "grade_trend_warnings",
    "lift_at",
    "manager_clv",
    "monthly_to_period_rate",
    "normalise_transactions",
    "prepare_feature_table",
    "read_table",
    "recommend_next_products",
    "score_customers",
    "segment_customers",
    "segment_preferences",
    "summary_expr",
    "tie_safe_bins",
    "transaction_churn_dataset",
    "transaction_churn_features",
    "transactions_from_pandas",
]
