"""Per-customer RFM and BTYD (x, t_x, T) summary of a transactions table, written once as Ibis expressions."""

from __future__ import annotations

import datetime as dt
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .exceptions import AnalyticsInputError, DataQualityWarning
from .sources import EPOCH, ColumnNames, normalise_transactions, to_day_number, transactions_from_pandas

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = [
    "DataQualityReport",
    "SummaryOptions",
    "check_transactions",
    "customer_summary",
    "daily_expr",
    "materialised",
    "prepare_transactions",
    "summary_arrays",
    "summary_expr",
    "summary_frame",
    "summary_from_daily",
    "time_unit_days",
    "to_pandas_fast",
]

TimeUnit = Literal["day", "week"]
DuplicatePolicy = Literal["keep", "warn", "drop"]
FuturePolicy = Literal["ignore", "warn", "error"]
ZeroPolicy = Literal["purchase", "ignore"]

_UNIT_DAYS = {"day": 1.0, "week": 7.0}


def time_unit_days(unit: str) -> float:
    """Length of a model time unit in days (weeks are exactly 7 days, kept as floats)."""
    try:
        return _UNIT_DAYS[unit]
    except KeyError:
        raise AnalyticsInputError(f"time unit must be 'day' or 'week', not {unit!r}") from None


@dataclass(frozen=True)
class SummaryOptions:
    """Documented data rules used by :func:`customer_summary`.

    * ``time_unit``: unit of ``t_x`` and ``T`` (``week`` = days / 7 as floats).
    * ``period_days``: RFM ``frequency``/``monetary`` look-back window ending at the cutoff (None = all history).
    * ``trend_days``: length of the two windows compared for ``frequency_recent``/``frequency_previous``.
    * ``zero_amounts``: ``purchase`` (default) counts a zero-value line as a purchase (free or fully discounted
      orders are still orders; the published CDNOW figures rely on it); ``ignore`` does not.
    * Refunds (negative lines) are never purchases. They net against the same day's purchases and reduce
      ``monetary``; refund-only days only reduce ``monetary`` and are counted in ``refund_amount``/``refund_lines``.
    * ``duplicates``: exact duplicate lines are ``keep`` (two identical items bought the same day), counted and
      kept with a warning (``warn``, default) or removed (``drop``).
    * ``future``: lines dated after the cutoff are always excluded; ``warn`` (default) says so, ``error`` raises,
      ``ignore`` is for calibration/holdout splits where later data is expected.
    """

    time_unit: TimeUnit = "week"
    period_days: int | None = None
    trend_days: int = 180
    zero_amounts: ZeroPolicy = "purchase"
    duplicates: DuplicatePolicy = "warn"
    future: FuturePolicy = "warn"


@dataclass(frozen=True)
class DataQualityReport:
    """Counts of the rows that a documented rule dropped or interpreted."""

    rows: int
    null_customer: int
    null_date: int
    null_amount: int
    negative_lines: int
    zero_lines: int
    future_lines: int
    duplicate_lines: int | None
    min_date: dt.date | None
    max_date: dt.date | None


def _day_to_date(day: Any) -> dt.date | None:
    if day is None or pd.isna(day):
        return None
    return EPOCH + dt.timedelta(days=int(day))


def check_transactions(norm: ir.Table, cutoff_day: int, raw: ir.Table | None = None) -> DataQualityReport:
    """Scan a normalised table once and count data-quality issues.

    When ``raw`` (the caller's table) is given, exact duplicate rows are counted on *all* its columns: two lines
    that differ only in a column we do not use (product, quantity) are not duplicates.
    """
    stats = norm.aggregate(
        rows=norm.count(),
        null_customer=norm.count(where=norm.customer_id.isnull()),
        null_date=norm.count(where=norm.day.isnull()),
        null_amount=norm.count(where=norm.amount.isnull()),
        negative_lines=norm.count(where=norm.amount < 0),
        zero_lines=norm.count(where=norm.amount == 0),
        future_lines=norm.count(where=norm.day > cutoff_day),
        min_day=norm.day.min(),
        max_day=norm.day.max(),
    )
    try:
        row = stats.to_pandas().iloc[0]
    except Exception as exc:  # unparsable dates or amounts surface here, inside the backend
        raise AnalyticsInputError(f"cannot read the transactions: {_first_line(exc)}") from exc
    duplicates: int | None = None
    if raw is not None:
        try:
            duplicates = int(raw.count().to_pyarrow().as_py()) - int(raw.distinct().count().to_pyarrow().as_py())
        except Exception as exc:
            raise AnalyticsInputError(f"cannot read the transactions: {_first_line(exc)}") from exc
    return DataQualityReport(
        rows=int(row["rows"]),
        null_customer=int(row["null_customer"]),
        null_date=int(row["null_date"]),
        null_amount=int(row["null_amount"]),
        negative_lines=int(row["negative_lines"]),
        zero_lines=int(row["zero_lines"]),
        future_lines=int(row["future_lines"]),
        duplicate_lines=duplicates,
        min_date=_day_to_date(row["min_day"]),
        max_date=_day_to_date(row["max_day"]),
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def daily_expr(norm: ir.Table, cutoff_day: int, zero_amounts: ZeroPolicy = "purchase") -> ir.Table:
    """One row per (customer, calendar day) on or before the cutoff: same-day lines merged into one period."""
    t = norm.filter(norm.customer_id.notnull(), norm.day.notnull(), norm.amount.notnull(), norm.day <= cutoff_day)
    purchase_line = (t.amount > 0) if zero_amounts == "ignore" else (t.amount >= 0)
    return t.group_by(["customer_id", "day"]).aggregate(
        amount=t.amount.sum(),
        purchase_lines=t.count(where=purchase_line),
        refund_amount=(-t.amount).sum(where=t.amount < 0),
        refund_lines=t.count(where=t.amount < 0),
        lines=t.count(),
    )


@cache
def _duckdb_arg_min() -> Any:
    """DuckDB's native ``arg_min``: value of ``arg`` on the row with the smallest ``key`` (one hash-aggregate
    state per group). Ibis compiles its portable ``argmin`` to an ordered ``FIRST(... ORDER BY ...)`` on DuckDB,
    which sorts every group and was measured several times slower."""
    import ibis

    @ibis.udf.agg.builtin(name="arg_min")  # type: ignore[untyped-decorator]
    def arg_min(arg: float, key: int) -> float:  # type: ignore[empty-body]
        ...

    return arg_min


# Backends whose arg-min aggregate is a single hash-aggregate pass (see summary_from_daily).
_ARG_MIN_BACKENDS = ("duckdb", "pyspark")


def _backend_name(table: ir.Table) -> str | None:
    try:
        return str(table.get_backend().name)
    except Exception:  # unbound tables have no backend
        return None


def to_pandas_fast(expr: ir.Table) -> pd.DataFrame:
    """Execute ``expr`` and convert through Arrow.

    Ibis' own ``to_pandas`` converts every column that contains a NULL to Python objects (``to_pylist``), which
    took ~2 s per million summary rows; Arrow's converter turns NULLs into NaN in vectorised code.
    """
    return pd.DataFrame(expr.to_pyarrow().to_pandas())


def summary_expr(
    norm: ir.Table,
    cutoff_day: int,
    options: SummaryOptions | None = None,
    native_arg_min: bool | None = None,
) -> ir.Table:
    """Build (without executing) the per-customer summary expression on a normalised table.

    Only lines dated on or before ``cutoff_day`` are used. Purchases on the same calendar day are merged into one
    purchase *period* (the BTYD convention). Customers without any purchase line are left out.
    """
    opts = options or SummaryOptions()
    return summary_from_daily(daily_expr(norm, cutoff_day, opts.zero_amounts), cutoff_day, opts, native_arg_min)


def summary_from_daily(
    daily: ir.Table,
    cutoff_day: int,
    options: SummaryOptions | None = None,
    native_arg_min: bool | None = None,
    extra_aggregates: Callable[[ir.Table], dict[str, Any]] | None = None,
) -> ir.Table:
    """Per-customer summary from a :func:`daily_expr` table (rows after ``cutoff_day`` are ignored).

    ``extra_aggregates(t)`` may add more per-customer aggregates over the (customer, day) rows ``t`` (columns
    ``customer_id, day, amount, purchase_lines, refund_amount, refund_lines, lines``) to the same GROUP BY; they
    are returned as extra columns after the summary's (the scoring run computes its churn features this way).

    The plan is two GROUP BYs: lines -> (customer, day), then (customer, day) -> customer with conditional
    aggregates only. The amount of the first purchase day (subtracted to get the repeat-purchase value) comes
    from an arg-min aggregate in that same pass (DuckDB's ``arg_min``, Spark's ``min_by``); backends without one
    (``native_arg_min=False``; default: DuckDB and PySpark have it) join the first purchase day back instead,
    which costs a second aggregate and a join.
    """
    import ibis

    opts = options or SummaryOptions()
    unit = time_unit_days(opts.time_unit)
    if native_arg_min is None:
        native_arg_min = _backend_name(daily) in _ARG_MIN_BACKENDS
    d = daily.filter(daily.day <= cutoff_day)
    period_start = cutoff_day - opts.period_days if opts.period_days is not None else None

    def conditional_aggregates(t: ir.Table) -> dict[str, Any]:
        is_p = t.purchase_lines > 0
        in_period = (t.day > period_start) if period_start is not None else ibis.literal(True)
        recent = t.day > cutoff_day - opts.trend_days
        previous = (t.day > cutoff_day - 2 * opts.trend_days) & ~recent
        return {
            "last_day": t.day.max(where=is_p),
            "purchase_days": t.count(where=is_p),
            "frequency": t.count(where=is_p & in_period),
            "monetary": t.amount.sum(where=in_period),
            "total_amount": t.amount.sum(),
            "frequency_recent": t.count(where=is_p & recent),
            "frequency_previous": t.count(where=is_p & previous),
            "monetary_recent": t.amount.sum(where=recent),
            "monetary_previous": t.amount.sum(where=previous),
            "refund_amount": t.refund_amount.sum(),
            "refund_lines": t.refund_lines.sum(),
            "lines": t.lines.sum(),
        }

    if native_arg_min:
        is_p = d.purchase_lines > 0
        aggs = conditional_aggregates(d)
        aggs["first_day"] = d.day.min(where=is_p)
        aggs["purchase_amount"] = d.amount.sum(where=is_p)
        if _backend_name(d) == "duckdb":
            aggs["first_amount"] = _duckdb_arg_min()(d.amount, d.day, where=is_p)
        else:  # Ibis' portable argmin: MIN_BY on Spark (one (customer, day) row per day, so no ties)
            aggs["first_amount"] = d.amount.argmin(d.day, where=is_p)
        extra = extra_aggregates(d) if extra_aggregates is not None else {}
        _check_extra(extra, aggs)
        aggs.update(extra)
        agg = d.group_by("customer_id").aggregate(**aggs)
        agg = agg.filter(agg.purchase_days > 0)
        repeat_amount = agg.purchase_amount.fill_null(0.0) - agg.first_amount.fill_null(0.0)
    else:
        firsts = d.filter(d.purchase_lines > 0).group_by("customer_id").aggregate(first_day=lambda t: t.day.min())
        j = d.inner_join(firsts, "customer_id")
        aggs = conditional_aggregates(j)
        aggs["first_day"] = j.first_day.max()
        aggs["repeat_amount"] = j.amount.sum(where=(j.purchase_lines > 0) & (j.day > j.first_day))
        extra = extra_aggregates(j) if extra_aggregates is not None else {}
        _check_extra(extra, aggs)
        aggs.update(extra)
        agg = j.group_by("customer_id").aggregate(**aggs)
        repeat_amount = agg.repeat_amount.fill_null(0.0)
    x = agg.purchase_days - 1
    return agg.select(
        "customer_id",
        "first_day",
        "last_day",
        recency_days=(cutoff_day - agg.last_day).cast("int64"),
        tenure_days=(cutoff_day - agg.first_day).cast("int64"),
        frequency=agg.frequency.cast("int64"),
        monetary=agg.monetary.fill_null(0.0),
        purchase_days=agg.purchase_days.cast("int64"),
        total_amount=agg.total_amount.fill_null(0.0),
        frequency_recent=agg.frequency_recent.cast("int64"),
        frequency_previous=agg.frequency_previous.cast("int64"),
        monetary_recent=agg.monetary_recent.fill_null(0.0),
        monetary_previous=agg.monetary_previous.fill_null(0.0),
        refund_amount=agg.refund_amount.fill_null(0.0),
        refund_lines=agg.refund_lines.fill_null(0).cast("int64"),
        lines=agg.lines.cast("int64"),
        x=x.cast("int64"),
        t_x=(agg.last_day - agg.first_day).cast("float64") / unit,
        T=(cutoff_day - agg.first_day).cast("float64") / unit,
        avg_repeat_value=ibis.ifelse(x > 0, repeat_amount / x.cast("float64"), ibis.null()),
        **{name: agg[name] for name in extra},
    ).order_by("customer_id")


_SUMMARY_COLUMNS = (
    "customer_id",
    "first_day",
    "last_day",
    "recency_days",
    "tenure_days",
    "frequency",
    "monetary",
    "purchase_days",
    "total_amount",
    "frequency_recent",
    "frequency_previous",
    "monetary_recent",
    "monetary_previous",
    "refund_amount",
    "refund_lines",
    "lines",
    "x",
    "t_x",
    "T",
    "avg_repeat_value",
)


def _check_extra(extra: dict[str, Any], aggs: dict[str, Any]) -> None:
    clash = sorted(set(extra) & (set(aggs) | set(_SUMMARY_COLUMNS)))
    if clash:
        raise AnalyticsInputError(f"extra aggregates clash with summary columns: {clash}")


def _warn_quality(report: DataQualityReport, opts: SummaryOptions, stacklevel: int = 4) -> None:
    def warn(msg: str) -> None:
        warnings.warn(msg, DataQualityWarning, stacklevel=stacklevel)

    dropped = report.null_customer + report.null_date + report.null_amount
    if dropped:
        warn(
            f"{dropped} line(s) with a missing customer, date or amount were dropped "
            f"({report.null_customer} customer, {report.null_date} date, {report.null_amount} amount)"
        )
    if report.future_lines:
        msg = f"{report.future_lines} line(s) dated after the cutoff were excluded"
        if opts.future == "error":
            raise AnalyticsInputError(msg)
        if opts.future == "warn":
            warn(msg)
    if report.negative_lines:
        warn(f"{report.negative_lines} negative line(s) treated as refunds (not purchases; netted in monetary)")
    if report.zero_lines:
        rule = "counted as purchases" if opts.zero_amounts == "purchase" else "ignored as purchases"
        warn(f"{report.zero_lines} zero-amount line(s) {rule}")
    if report.duplicate_lines:
        action = "removed" if opts.duplicates == "drop" else "kept as separate lines"
        warn(f"{report.duplicate_lines} exact duplicate line(s) {action}")


def customer_summary(
    transactions: ir.Table | pd.DataFrame,
    cutoff: dt.date | dt.datetime | str,
    options: SummaryOptions | None = None,
    columns: ColumnNames | None = None,
    date_format: str | None = None,
    check: bool = True,
) -> pd.DataFrame:
    """Execute the per-customer summary and return it as a pandas DataFrame (one row per customer).

    Columns: ``customer_id, first_purchase, last_purchase, recency_days, tenure_days, frequency, monetary,
    purchase_days, total_amount, frequency_recent, frequency_previous, monetary_recent, monetary_previous,
    refund_amount, refund_lines, lines, x, t_x, T, avg_repeat_value`` (NaN when ``x == 0``).

    Raises :class:`AnalyticsInputError` for missing columns, unparsable dates or when no purchase is found on or
    before the cutoff; emits :class:`DataQualityWarning` for documented data rules (see :class:`SummaryOptions`).
    """
    opts = options or SummaryOptions()
    norm, cutoff_day = prepare_transactions(transactions, cutoff, opts, columns, date_format, check)
    return summary_frame(summary_expr(norm, cutoff_day, opts), cutoff)


def prepare_transactions(
    transactions: ir.Table | pd.DataFrame,
    cutoff: dt.date | dt.datetime | str,
    options: SummaryOptions,
    columns: ColumnNames | None = None,
    date_format: str | None = None,
    check: bool = True,
) -> tuple[ir.Table, int]:
    """Normalise the transactions, apply the duplicate rule and (``check``) run the data-quality scan with its
    warnings. Returns the normalised table and the cutoff as a day number."""
    time_unit_days(options.time_unit)
    cutoff_day = to_day_number(cutoff)
    raw = transactions_from_pandas(transactions) if isinstance(transactions, pd.DataFrame) else transactions
    norm = normalise_transactions(raw, columns, date_format)
    if options.duplicates == "drop":
        norm = normalise_transactions(raw.distinct(), columns, date_format)
    if check:
        report = check_transactions(norm, cutoff_day, raw if options.duplicates != "keep" else None)
        if report.rows == 0:
            raise AnalyticsInputError("the transactions table is empty")
        _warn_quality(report, options, stacklevel=5)
    return norm, cutoff_day


def summary_frame(expr: ir.Table, cutoff: dt.date | dt.datetime | str) -> pd.DataFrame:
    """Execute a :func:`summary_expr` / :func:`summary_from_daily` expression into the documented DataFrame."""
    try:
        df = to_pandas_fast(expr)
    except AnalyticsInputError:
        raise
    except Exception as exc:
        raise AnalyticsInputError(f"cannot summarise the transactions: {_first_line(exc)}") from exc
    if df.empty:
        raise AnalyticsInputError(f"no purchase found on or before the cutoff {pd.Timestamp(cutoff).date()}")
    df["first_purchase"] = pd.to_datetime(df.pop("first_day").astype("int64"), unit="D")
    df["last_purchase"] = pd.to_datetime(df.pop("last_day").astype("int64"), unit="D")
    df["avg_repeat_value"] = df["avg_repeat_value"].astype("float64")
    order = ["customer_id", "first_purchase", "last_purchase"]
    df = df[order + [c for c in df.columns if c not in order]]
    return pd.DataFrame(df.reset_index(drop=True))


@contextmanager
def materialised(expr: ir.Table) -> Iterator[ir.Table]:
    """Store ``expr`` in a temporary DuckDB table while the block runs, so that several queries (summary, churn
    features at two cutoffs, labels) share one computation of it; other backends get ``expr`` back unchanged
    (each query recomputes it, which is always correct)."""
    table: ir.Table | None = None
    con: Any = None
    name = f"_kehu_tmp_{uuid.uuid4().hex}"
    if _backend_name(expr) == "duckdb":
        try:
            con = expr.get_backend()
            table = con.create_table(name, expr, temp=True)
        except Exception:  # bad input surfaces with a proper message when the queries run on expr itself
            table = None
    try:
        yield expr if table is None else table
    finally:
        if table is not None:
            # Ibis' drop_table emits invalid SQL with sqlglot 30; plain SQL is enough for a temp table.
            con.raw_sql(f'DROP TABLE IF EXISTS "{name}"')


def summary_arrays(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(x, t_x, T)`` float arrays from a summary DataFrame."""
    return (
        summary["x"].to_numpy(dtype=float),
        summary["t_x"].to_numpy(dtype=float),
        summary["T"].to_numpy(dtype=float),
    )
