"""Django-free customer analytics engine of kehu: summaries, BTYD/CLV models, RFM, lifecycle, churn, affinity."""

from __future__ import annotations

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
