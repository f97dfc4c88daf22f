"""Grade-trend early warning: compare grades across scoring runs and flag slides with a reason code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .exceptions import AnalyticsInputError

__all__ = ["REASON_CODES", "TrendRules", "grade_trend_warnings"]

REASON_CODES = {
    "R_SLIDE": "recency grade worsened in consecutive runs",
    "F_SLIDE": "frequency grade worsened in consecutive runs",
    "M_SLIDE": "monetary grade worsened in consecutive runs",
    "BIG_SPENDER_M_DROP": "a top monetary grade fell in the latest run",
    "R_PLUNGE": "recency grade fell by two or more grades in one run",
    "F_PLUNGE": "frequency grade fell by two or more grades in one run",
    "M_PLUNGE": "monetary grade fell by two or more grades in one run",
    "TIER_DOWN": "tier fell in the latest run (gold > silver > bronze)",
}


@dataclass(frozen=True)
class TrendRules:
    """``grade_order`` lists grades best first; ``consecutive`` falls in a row make a slide."""

    grade_order: tuple[str, ...] = ("A", "B", "C")
    tier_order: tuple[str, ...] = ("gold", "silver", "bronze")
    consecutive: int = 2
    plunge: int = 2


def grade_trend_warnings(
    snapshots: Sequence[pd.DataFrame] | pd.DataFrame,
    rules: TrendRules | None = None,
    customer_col: str = "customer_id",
    run_col: str = "run",
) -> pd.DataFrame:
    """Flag grade slides across scoring runs.

    ``snapshots`` is either a list of per-run DataFrames in chronological order or one long DataFrame with a
    ``run`` column (sortable: a date or a counter). Each holds ``customer_id`` and any of ``r_grade, f_grade,
    m_grade, tier``. Returns one row per flag: ``customer_id, reason_code, dimension, grades`` (the grade path
    that triggered the flag, oldest first) ``, latest_run, description``.
    """
    rl = rules or TrendRules()
    if isinstance(snapshots, pd.DataFrame):
        if run_col not in snapshots.columns:
            raise AnalyticsInputError(f"missing column {run_col!r} in the snapshot table")
        long = snapshots.copy()
    else:
        if len(snapshots) == 0:
            raise AnalyticsInputError("no snapshots given")
        long = pd.concat([s.assign(**{run_col: i}) for i, s in enumerate(snapshots)], ignore_index=True)
    if customer_col not in long.columns:
        raise AnalyticsInputError(f"missing column {customer_col!r} in the snapshots")
    columns = [customer_col, "reason_code", "dimension", "grades", "latest_run", "description"]
    runs = sorted(long[run_col].unique())
    if not runs:  # no snapshots: nothing can have slid
        return pd.DataFrame([], columns=columns)
    latest = runs[-1]
    found: list[pd.DataFrame] = []

    def add(code: str, dim: str, grid: _Grid, rows: np.ndarray, width: int) -> None:
        if rows.size == 0:
            return
        values = grid.values_at(grid.positions[rows, -width:])
        found.append(
            pd.DataFrame(
                {
                    customer_col: grid.customers[rows],
                    "reason_code": code,
                    "dimension": dim,
                    "grades": ["→".join(str(g) for g in path) for path in values],
                    "latest_run": [latest] * rows.size,
                    "description": REASON_CODES[code],
                },
                columns=columns,
            )
        )

    dims = [(c, d) for c, d in (("r_grade", "R"), ("f_grade", "F"), ("m_grade", "M")) if c in long.columns]
    for col, dim in dims:
        grid = _grid(long, customer_col, run_col, col, runs, rl.grade_order)
        codes = grid.ranks  # larger = worse
        if codes.shape[1] < 2:
            continue
        steps = np.diff(codes, axis=1)  # positive = got worse
        last = steps[:, -1]
        k = rl.consecutive
        slide = np.all(steps[:, -k:] > 0, axis=1) if steps.shape[1] >= k else np.zeros(len(codes), dtype=bool)
        plunge = last >= rl.plunge
        big = (codes[:, -2] == 0) & (last > 0) if dim == "M" else np.zeros(len(codes), dtype=bool)
        add(f"{dim}_SLIDE", dim, grid, np.flatnonzero(slide), k + 1)
        add(f"{dim}_PLUNGE", dim, grid, np.flatnonzero(plunge & ~slide), 2)
        add("BIG_SPENDER_M_DROP", dim, grid, np.flatnonzero(big), 2)
    if "tier" in long.columns:
        grid = _grid(long, customer_col, run_col, "tier", runs, rl.tier_order)
        if grid.ranks.shape[1] >= 2:
            add("TIER_DOWN", "tier", grid, np.flatnonzero(grid.ranks[:, -1] > grid.ranks[:, -2]), 2)
    if not found:
        return pd.DataFrame([], columns=columns)
    return pd.concat(found, ignore_index=True)


@dataclass(frozen=True)
class _Grid:
    """One grade column as a customers x runs grid: ``customers`` sorted, ``positions[i, j]`` the snapshot
    row holding customer i's grade in run j (the last one with a value; -1 for none), ``column`` the grades
    by row, ``ranks`` each cell's position in the grade order (NaN for a missing or unknown grade; larger =
    worse)."""

    customers: np.ndarray
    positions: np.ndarray
    column: pd.Series
    ranks: np.ndarray

    def values_at(self, positions: np.ndarray) -> np.ndarray:
        """The grades at ``positions`` (NaN at -1), taken only where asked: a flagged customer's path."""
        flat = positions.ravel()
        out = np.full(flat.size, np.nan, dtype=object)
        held = flat >= 0
        out[held] = self.column.iloc[flat[held]].to_numpy(dtype=object)
        return out.reshape(positions.shape)


def _grid(
    long: pd.DataFrame, customer_col: str, run_col: str, col: str, runs: list[object], order: Sequence[str]
) -> _Grid:
    """The grid of ``col`` (see :class:`_Grid`): the table of ``pivot_table(aggfunc="last")`` reindexed to
    ``runs`` and mapped to ranks, built from integer positions and grade codes instead of Python objects
    (several times faster on millions of snapshots)."""
    column = long[col]
    present = column.notna().to_numpy()
    rows = np.flatnonzero(present)
    customers, ids = pd.factorize(long[customer_col].to_numpy()[present], sort=True)
    runs_at = pd.Index(runs).get_indexer(pd.Index(long[run_col].to_numpy()[present]))
    positions = np.full((len(ids), len(runs)), -1, dtype=np.intp)
    # Later rows overwrite earlier ones: the last value of each (customer, run) stays.
    positions[customers, runs_at] = rows
    # Each row's rank: its grade's place in the order given (best first; a grade listed twice takes its last
    # place, as a dict of the order would), NaN for a grade outside it, and NaN at -1. One vectorised comparison
    # per grade, no Python objects.
    by_row = np.full(len(column) + 1, np.nan)
    for place, grade in enumerate(order):
        by_row[:-1][(column == grade).to_numpy(dtype=bool, na_value=False)] = place
    return _Grid(np.asarray(ids), positions, column, by_row[positions])
