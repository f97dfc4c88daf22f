"""Customer lifetime value: discounted expected purchases x expected spend, and the manager's rule of thumb."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ._fitting import FloatArray, as_float_array
from .exceptions import AnalyticsInputError

__all__ = ["PurchaseModel", "customer_lifetime_value", "manager_clv", "monthly_to_period_rate"]


class PurchaseModel(Protocol):
    """Any fitted model that predicts conditional expected purchases (BG/NBD, Pareto/NBD)."""

    def conditional_expected_purchases(self, t: float, x: object, t_x: object, T: object) -> FloatArray: ...


def monthly_to_period_rate(annual_rate: float) -> float:
    """Convert an annual discount rate to the equivalent compound monthly rate."""
    if annual_rate <= -1:
        raise AnalyticsInputError("the discount rate must be greater than -100%")
    return float((1.0 + annual_rate) ** (1.0 / 12.0) - 1.0)


def customer_lifetime_value(
    model: PurchaseModel,
    x: object,
    t_x: object,
    T: object,
    expected_spend: object,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
    days_per_time_unit: float = 7.0,
    margin: float = 1.0,
) -> FloatArray:
    """Discounted CLV over ``months``: sum over months i of (E[Y(i)] - E[Y(i-1)]) * spend * margin / (1+d)^i.

    ``days_per_time_unit`` converts months (30.4375 days, a mean Gregorian month) to the model's time unit.
    Use :func:`monthly_to_period_rate` to turn an annual rate into the monthly rate.
    """
    if months < 1:
        raise AnalyticsInputError("months must be at least 1")
    if monthly_discount_rate <= -1:
        raise AnalyticsInputError("the discount rate must be greater than -100%")
    spend = as_float_array("expected_spend", expected_spend)
    times, discount = discount_schedule(months, monthly_discount_rate, days_per_time_unit)
    batched = getattr(model, "discounted_expected_purchases", None)
    if batched is not None:
        # All horizons in one vectorised call, evaluated per distinct (x, T) (see PurchaseModelBase).
        total = np.asarray(batched(times, discount, x, t_x, T), dtype=float)
    else:
        total = np.zeros_like(spend)
        previous = np.zeros_like(spend)
        for t, d in zip(times, discount, strict=True):
            cumulative = model.conditional_expected_purchases(float(t), x, t_x, T)
            total += (cumulative - previous) * d
            previous = cumulative
    return np.asarray(total * spend * margin, dtype=float)


def discount_schedule(
    months: int, monthly_discount_rate: float, days_per_time_unit: float
) -> tuple[FloatArray, FloatArray]:
    """Month ends in model time units (a month is 30.4375 days) and their discount factors (1 + d)^-i."""
    month = 30.4375 / days_per_time_unit
    i = np.arange(1, months + 1, dtype=float)
    return i * month, (1.0 + monthly_discount_rate) ** -i


def manager_clv(monthly_revenue: object, years: float = 3.0, margin: float = 1.0) -> FloatArray:
    """The manager's estimate: average monthly revenue x 12 x years (x margin), undiscounted."""
    if years <= 0:
        raise AnalyticsInputError("years must be positive")
    rev = as_float_array("monthly_revenue", monthly_revenue)
    return np.asarray(rev * 12.0 * years * margin, dtype=float)
