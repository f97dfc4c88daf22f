"""Cohort retention: first-purchase month x months since, computed as Ibis expressions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from .exceptions import AnalyticsInputError
from .sources import ColumnNames, normalise_transactions, to_day_number, transactions_from_pandas

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["cohort_retention"]


def cohort_retention(
    transactions: ir.Table | pd.DataFrame,
    cutoff: Any | None = None,
    columns: ColumnNames | None = None,
    as_share: bool = True,
    date_format: str | None = None,
) -> pd.DataFrame:
    """Retention matrix: rows = first-purchase month (cohort), columns = months since (0, 1, ...).

    Cells hold the share (``as_share``) or number of the cohort's customers who made a purchase (a non-negative
    line) in that month. Month 0 is 1.0 by construction. Only data up to ``cutoff`` (if given) is used.
    """
    raw = transactions_from_pandas(transactions) if isinstance(transactions, pd.DataFrame) else transactions
    norm = normalise_transactions(raw, columns, date_format)
    t = norm.filter(norm.customer_id.notnull(), norm.day.notnull(), norm.amount >= 0)
    if cutoff is not None:
        t = t.filter(t.day <= to_day_number(cutoff))
    # Month index = 12 * year + month, computed from the day number so every backend agrees.
    date = (t.day.cast("int64") * 86400).as_timestamp("s").date()
    months = t.mutate(month=date.year() * 12 + date.month() - 1).select("customer_id", "month").distinct()
    first = months.group_by("customer_id").aggregate(cohort=months.month.min())
    joined = months.inner_join(first, "customer_id")
    counts = (
        joined.mutate(since=joined.month - joined.cohort)
        .group_by(["cohort", "since"])
        .aggregate(customers=lambda x: x.customer_id.nunique())
        .to_pandas()
    )
    if counts.empty:
        raise AnalyticsInputError("no purchases to build cohorts from")
    matrix = counts.pivot(index="cohort", columns="since", values="customers").fillna(0).astype("int64")
    matrix = matrix.reindex(columns=range(int(matrix.columns.max()) + 1), fill_value=0)
    if as_share:
        matrix = matrix.div(matrix[0], axis=0)
    matrix.index = [f"{c // 12:04d}-{c % 12 + 1:02d}" for c in matrix.index]
    matrix.index.name = "cohort"
    matrix.columns.name = "months_since"
    return pd.DataFrame(matrix)
