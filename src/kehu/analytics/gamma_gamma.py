"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005) for the average value of repeat purchases."""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import NDArray
from scipy.special import digamma, gammaln

from ._base import ParametricModel
from ._fitting import FloatArray, as_float_array, group_rows, maximise, require_identifiable, standard_errors
from .exceptions import AnalyticsInputError, DataQualityWarning, DegenerateDataError, ModelFitWarning

__all__ = ["GammaGammaModel", "gamma_gamma_log_likelihood"]


XLevels = tuple[FloatArray, NDArray[np.intp]]


def _per_x(x: FloatArray) -> XLevels:
    ux, inv = np.unique(x, return_inverse=True)
    return ux, inv.ravel()


def gamma_gamma_log_likelihood(
    params: FloatArray, x: FloatArray, m: FloatArray, xu: XLevels | None = None
) -> FloatArray:
    """Per-customer log density of the mean spend ``m`` of ``x`` repeat purchases (x >= 1, m > 0)."""
    p, q, gamma = params
    ux, inv = xu if xu is not None else _per_x(x)
    pux = p * ux
    # gamma functions depend on x only: evaluated once per distinct x.
    per_x = (gammaln(pux + q) - gammaln(pux) - gammaln(q) + q * np.log(gamma) + pux * np.log(ux))[inv]
    px = p * x
    return np.asarray(per_x + (px - 1.0) * np.log(m) - (px + q) * np.log(gamma + x * m), dtype=float)


def _gradient(params: FloatArray, x: FloatArray, m: FloatArray, w: FloatArray, xu: XLevels | None = None) -> FloatArray:
    p, q, gamma = params
    ux, inv = xu if xu is not None else _per_x(x)
    wx = np.bincount(inv, weights=w, minlength=ux.size)
    pux = p * ux
    px = p * x
    lgxm = np.log(gamma + x * m)
    dg_pq, dg_p = digamma(pux + q), digamma(pux)
    d_p = np.dot(wx, ux * (dg_pq - dg_p + np.log(ux))) + np.dot(w, x * (np.log(m) - lgxm))
    d_q = np.dot(wx, dg_pq - digamma(q) + np.log(gamma)) - np.dot(w, lgxm)
    d_g = q / gamma * w.sum() - np.dot(w, (px + q) / (gamma + x * m))
    return np.array([d_p, d_q, d_g])


def _repeat_buyers(x: object, m: object) -> tuple[FloatArray, FloatArray]:
    xa, ma = as_float_array("x", x), as_float_array("monetary", m)
    if xa.shape != ma.shape:
        raise AnalyticsInputError("x and monetary must have the same length")
    keep = (xa > 0) & (ma > 0)
    dropped_nonpos = int(np.sum((xa > 0) & (ma <= 0)))
    if dropped_nonpos:
        # A non-positive average (refunds exceeding purchases) has no Gamma density; such customers are left out.
        warnings.warn(
            f"{dropped_nonpos} repeat customer(s) with a non-positive average spend were left out of the "
            "Gamma-Gamma fit",
            DataQualityWarning,
            stacklevel=3,
        )
    return xa[keep], ma[keep]


class GammaGammaModel(ParametricModel):
    """Gamma-Gamma model of average transaction value with parameters ``p, q, gamma``.

    Fit on repeat customers only (``x >= 1``); ``monetary`` is each customer's mean repeat-purchase value.
    """

    param_names = ("p", "q", "gamma")
    model_name = "gamma-gamma"

    def __init__(self, compute_standard_errors: bool = True, max_iter: int = 2000) -> None:
        self.compute_standard_errors = compute_standard_errors
        self.max_iter = max_iter

    def fit(self, x: object, monetary: object) -> GammaGammaModel:
        """Fit on (x, mean repeat spend); customers with x == 0 are ignored (they carry no spend information)."""
        xa, ma = _repeat_buyers(x, monetary)
        if xa.size == 0:
            raise DegenerateDataError("cannot fit Gamma-Gamma: no customer made a repeat purchase")
        g = group_rows(xa, ma)
        require_identifiable(g, 3, "Gamma-Gamma")
        if np.unique(ma).size < 2:
            raise DegenerateDataError("cannot fit Gamma-Gamma: every customer has the same average spend")
        gx, gm = g.columns
        w = g.weights
        corr = float(np.corrcoef(xa, ma)[0, 1]) if xa.size > 2 and np.std(xa) > 0 else 0.0
        if abs(corr) > 0.3:
            warnings.warn(
                f"frequency and spend are correlated (r = {corr:.2f}); the Gamma-Gamma independence assumption "
                "is doubtful",
                ModelFitWarning,
                stacklevel=2,
            )

        xu = _per_x(gx)

        def ll(prm: FloatArray) -> float:
            return float(np.dot(w, gamma_gamma_log_likelihood(prm, gx, gm, xu)))

        def grad(prm: FloatArray) -> FloatArray:
            return _gradient(prm, gx, gm, w, xu)

        mean_m = float(np.dot(w, gm) / w.sum())
        start = np.array([2.0, 3.0, mean_m])
        params, value = maximise(ll, grad, start, self.param_names, "Gamma-Gamma", self.max_iter)
        ses = (
            standard_errors(ll, grad, params, self.param_names, "Gamma-Gamma")
            if self.compute_standard_errors
            else np.full(3, np.nan)
        )
        self._set_result(params, ses, value, xa.size)
        if params[1] <= 1.0:
            warnings.warn(
                "q <= 1: the population mean spend is infinite; expected spends are unreliable",
                ModelFitWarning,
                stacklevel=2,
            )
        return self

    def expected_average_spend(self, x: object, monetary: object) -> FloatArray:
        """Posterior mean spend per transaction; customers with x == 0 get the population mean."""
        p, q, gamma = self._check_fitted()
        xa = as_float_array("x", x)
        ma = np.nan_to_num(np.asarray(monetary, dtype=float).ravel(), nan=0.0)
        ma = np.where(xa > 0, np.maximum(ma, 0.0), 0.0)
        return np.asarray((gamma + xa * ma) * p / (p * xa + q - 1.0), dtype=float)
