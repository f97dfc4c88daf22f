"""Shared maximum-likelihood machinery: grouping of (x, t_x, T), log-space optimisation and Hessians."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import optimize
from threadpoolctl import threadpool_limits

from .exceptions import AnalyticsInputError, ConvergenceError, DegenerateDataError, ModelFitWarning

FloatArray = NDArray[np.float64]
LogLik = Callable[[FloatArray], float]
Grad = Callable[[FloatArray], FloatArray]

# Log-parameters beyond these bounds mean the likelihood has no interior optimum (a parameter runs off to 0 or
# infinity); we report that instead of returning absurd values.
LOG_BOUND = 12.0


@dataclass(frozen=True)
class Grouped:
    """Identical rows merged: the model likelihood is evaluated once per distinct row and weighted."""

    columns: tuple[FloatArray, ...]
    weights: FloatArray
    n: int


def as_float_array(name: str, values: object) -> FloatArray:
    """Convert ``values`` to a 1-D float array, rejecting NaN/inf with a clear message."""
    arr = np.asarray(values, dtype=float).ravel()
    if not np.all(np.isfinite(arr)):
        raise AnalyticsInputError(f"{name} contains NaN or infinite values")
    return arr


def check_btyd_inputs(x: object, t_x: object, T: object) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validate BTYD inputs: same length, x >= 0 integers, 0 <= t_x <= T.

    T == 0 (first purchase on the cutoff day) is allowed: such a customer contributes exactly 0 to the
    log-likelihood and is predicted as a brand-new customer.
    """
    xa, ta, Ta = as_float_array("x", x), as_float_array("t_x", t_x), as_float_array("T", T)
    if not (xa.shape == ta.shape == Ta.shape):
        raise AnalyticsInputError("x, t_x and T must have the same length")
    if xa.size == 0:
        raise AnalyticsInputError("no customers to fit")
    if np.any(xa < 0) or np.any(xa != np.round(xa)):
        raise AnalyticsInputError("x (repeat purchase periods) must be non-negative integers")
    if np.any(ta < 0) or np.any(ta > Ta + 1e-9):
        raise AnalyticsInputError("t_x must satisfy 0 <= t_x <= T")
    if np.any((xa == 0) & (ta != 0)):
        raise AnalyticsInputError("t_x must be 0 for customers without repeat purchases (x == 0)")
    if np.any(Ta < 0):
        raise AnalyticsInputError("T must be non-negative")
    return xa, ta, Ta


def _row_codes(cols: tuple[FloatArray, ...]) -> tuple[NDArray[np.intp], int]:
    """Group number of every row (numbered in order of first appearance) and the number of groups.

    Each column is factorised on its own (a hash table of one float column) and the codes are combined into one
    integer key that is factorised again: the same groups, in the same order, as a multi-column
    ``DataFrame.groupby(sort=False)``, at about half its cost.
    """
    key: NDArray[np.int64] | None = None
    size = 1
    for col in cols:
        codes, uniques = pd.factorize(np.asarray(col), sort=False, use_na_sentinel=False)
        k = max(len(uniques), 1)
        if key is None:
            key, size = codes.astype(np.int64), k
            continue
        if size * k >= 2**62:  # keep the combined key inside int64: renumber what we have so far first
            renumbered, kept = pd.factorize(key, sort=False)
            key, size = renumbered.astype(np.int64), len(kept)
        key = key * k + codes
        size *= k
    assert key is not None
    group_codes, group_keys = pd.factorize(key, sort=False)
    return np.asarray(group_codes, dtype=np.intp), len(group_keys)


def _first_rows(codes: NDArray[np.intp], groups: int) -> NDArray[np.intp]:
    """Index of the first row of every group."""
    first = np.empty(groups, dtype=np.intp)
    # Assigning in reverse leaves each group's first row as the last write.
    first[codes[::-1]] = np.arange(codes.size - 1, -1, -1, dtype=np.intp)
    return first


def group_rows(*cols: FloatArray, weights: FloatArray | None = None) -> Grouped:
    """Merge identical rows (e.g. identical (x, t_x, T) triples) and count them."""
    n = cols[0].shape[0]
    arrays = tuple(np.asarray(c, dtype=float) for c in cols)
    if n == 0:
        return Grouped(arrays, np.zeros(0), 0)
    codes, groups = _row_codes(arrays)
    first = _first_rows(codes, groups)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    counts = np.asarray(np.bincount(codes, weights=w, minlength=groups), dtype=float)
    return Grouped(tuple(c[first] for c in arrays), counts, n)


def unique_rows(*cols: FloatArray) -> tuple[tuple[FloatArray, ...], NDArray[np.intp]]:
    """Distinct rows of the (finite) columns and the inverse index: ``cols[i] == uniques[i][inverse]``.

    Predictions depend on a customer only through a few numbers (e.g. ``(x, T)`` for the expensive
    hypergeometric term), so they are computed once per distinct row and broadcast back.
    """
    n = cols[0].shape[0]
    if n == 0:
        return tuple(np.asarray(c, dtype=float) for c in cols), np.zeros(0, dtype=np.intp)
    arrays = tuple(np.asarray(c, dtype=float) for c in cols)
    codes, groups = _row_codes(arrays)
    first = _first_rows(codes, groups)
    return tuple(c[first] for c in arrays), codes


def require_identifiable(grouped: Grouped, min_distinct: int, what: str) -> None:
    """Raise when too few distinct rows exist to identify a heterogeneity model."""
    if grouped.n < 2:
        raise DegenerateDataError(f"cannot fit {what} on {grouped.n} customer(s): heterogeneity needs a population")
    if grouped.weights.size < min_distinct:
        raise DegenerateDataError(
            f"cannot fit {what}: only {grouped.weights.size} distinct customer profile(s); identical customers "
            "do not identify how customers differ"
        )


def maximise(
    loglik: LogLik,
    grad: Grad | None,
    start: FloatArray,
    names: tuple[str, ...],
    what: str,
    maxiter: int = 2000,
) -> tuple[FloatArray, float]:
    """Maximise ``loglik`` over positive parameters, optimising their logarithms (L-BFGS-B, bounded).

    Returns ``(params, log_likelihood)``. Raises :class:`ConvergenceError` when the optimum is on the boundary
    (a parameter diverging) or the optimiser fails.
    """

    def nll(theta: FloatArray) -> float:
        value = loglik(np.exp(theta))
        return -value if np.isfinite(value) else 1e300

    def nll_grad(theta: FloatArray) -> FloatArray:
        assert grad is not None
        p = np.exp(theta)
        g = grad(p)
        return -(g * p) if np.all(np.isfinite(g)) else np.zeros_like(theta)

    theta0 = np.log(start)
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    best: optimize.OptimizeResult | None = None
    # A second pass restarted from the first optimum removes L-BFGS-B's early stops on flat likelihoods. With an
    # analytic gradient it is skipped when the first pass has provably nothing left to gain (see _converged):
    # on large data it cost a third of the fit and moved the log-likelihood by ~1e-9.
    for attempt in range(2):
        # Single-threaded BLAS: the likelihood's dot products are short, and multi-threaded BLAS spinning on a
        # busy 2-core machine was measured to make each evaluation several times slower.
        with threadpool_limits(limits=1, user_api="blas"):
            res = _minimize(
                nll, theta0 if best is None else best.x, nll_grad if grad is not None else None, bounds, maxiter
            )
        if best is None or res.fun <= best.fun:
            best = res
        if attempt == 0 and grad is not None and _converged(res):
            break
    assert best is not None
    return _check_optimum(best, names, what)


# Relative log-likelihood gain below which an L-BFGS-B result counts as converged (see _converged). For 1M
# customers (log-likelihood ~1e7) that is ~1e-3, for CDNOW (~1e4) ~1e-6; the published reference values are
# quoted to ~1e-3.
CONVERGED_GAIN = 1e-10


def _converged(res: optimize.OptimizeResult) -> bool:
    """True when L-BFGS-B stopped normally, inside the bounds, and its own quadratic model of the objective
    predicts a negligible further gain: ``0.5 g' H^-1 g <= CONVERGED_GAIN * |f|`` (H^-1 its inverse-Hessian
    estimate, g the gradient at the result). An early stop on a flat likelihood far from the optimum has a large
    predicted gain along the flat direction, so it still gets the second pass."""
    if not res.success or np.any(np.abs(res.x) >= LOG_BOUND - 1e-3):
        return False
    g = np.asarray(res.jac, dtype=float)
    if not np.all(np.isfinite(g)):
        return False
    gain = 0.5 * float(g @ res.hess_inv.matvec(g))
    return bool(np.isfinite(gain) and 0.0 <= gain <= CONVERGED_GAIN * max(1.0, abs(float(res.fun))))


def _minimize(
    nll: Callable[[FloatArray], float],
    theta0: FloatArray,
    jac: Callable[[FloatArray], FloatArray] | None,
    bounds: list[tuple[float, float]],
    maxiter: int,
) -> optimize.OptimizeResult:
    return optimize.minimize(
        nll,
        theta0,
        jac=jac,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": maxiter, "ftol": 1e-14, "gtol": 1e-9, "maxcor": 20},
    )


def _check_optimum(best: optimize.OptimizeResult, names: tuple[str, ...], what: str) -> tuple[FloatArray, float]:
    if not np.isfinite(best.fun) or best.fun >= 1e299:
        raise ConvergenceError(f"{what}: the likelihood could not be evaluated at any tried parameters")
    at_bound = np.abs(best.x) >= LOG_BOUND - 1e-3
    if np.any(at_bound):
        bad = ", ".join(f"{n}={v:.3g}" for n, v, b in zip(names, np.exp(best.x), at_bound, strict=True) if b)
        raise ConvergenceError(
            f"{what}: no interior maximum ({bad} diverges); the data do not identify the model "
            "(too few repeat buyers, too little time, or no visible drop-out)"
        )
    return np.exp(best.x), -float(best.fun)


def standard_errors(
    loglik: LogLik, grad: Grad | None, params: FloatArray, names: tuple[str, ...], what: str
) -> FloatArray:
    """Standard errors from the inverse of the observed information (numerical Hessian in natural units)."""
    k = params.size
    h = 1e-5 * np.maximum(np.abs(params), 1e-3)
    hess = np.empty((k, k))
    if grad is not None:
        for i in range(k):
            e = np.zeros(k)
            e[i] = h[i]
            hess[:, i] = (grad(params + e) - grad(params - e)) / (2 * h[i])
    else:
        f0 = loglik(params)
        for i in range(k):
            for j in range(i, k):
                ei = np.zeros(k)
                ej = np.zeros(k)
                ei[i] = h[i]
                ej[j] = h[j]
                if i == j:
                    val = (loglik(params + ei) - 2 * f0 + loglik(params - ei)) / h[i] ** 2
                else:
                    val = (
                        loglik(params + ei + ej)
                        - loglik(params + ei - ej)
                        - loglik(params - ei + ej)
                        + loglik(params - ei - ej)
                    ) / (4 * h[i] * h[j])
                hess[i, j] = hess[j, i] = val
    hess = (hess + hess.T) / 2
    info = -hess
    try:
        cov = np.linalg.inv(info)
        diag = np.diag(cov)
    except np.linalg.LinAlgError:
        diag = np.full(k, np.nan)
    if not np.all(np.isfinite(diag)) or np.any(diag <= 0):
        warnings.warn(
            f"{what}: the observed information matrix is not positive definite; standard errors are NaN",
            ModelFitWarning,
            stacklevel=3,
        )
        return np.full(k, np.nan)
    return np.sqrt(diag)
