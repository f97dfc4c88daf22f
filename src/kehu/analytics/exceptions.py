"""Exception and warning classes raised by the analytics engine."""

from __future__ import annotations

__all__ = [
    "AnalyticsError",
    "AnalyticsInputError",
    "AnalyticsWarning",
    "ConvergenceError",
    "DataQualityWarning",
    "DegenerateDataError",
    "ModelFitWarning",
]


class AnalyticsError(Exception):
    """Base class of every error raised by :mod:`kehu.analytics`."""


class AnalyticsInputError(AnalyticsError, ValueError):
    """The input (file, table, column, date, parameter) cannot be used as given."""


class DegenerateDataError(AnalyticsInputError):
    """The data cannot identify the model (one customer, nobody repeats, identical customers...)."""


class ConvergenceError(AnalyticsError, RuntimeError):
    """The maximum-likelihood optimiser did not reach a usable optimum."""


class AnalyticsWarning(UserWarning):
    """Base class of every warning emitted by :mod:`kehu.analytics`."""


class DataQualityWarning(AnalyticsWarning):
    """The input had rows that were dropped, merged or interpreted by a documented rule."""


class ModelFitWarning(AnalyticsWarning):
    """A model was fitted but a result (e.g. a standard error) is unreliable."""
