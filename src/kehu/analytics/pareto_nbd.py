"""Pareto/NBD model (Schmittlein, Morrison & Colombo 1987) with a log-space, overflow-free likelihood."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, gammaln, hyp2f1

from ._base import PurchaseModelBase
from ._fitting import (
    FloatArray,
    check_btyd_inputs,
    group_rows,
    maximise,
    require_identifiable,
    standard_errors,
)
from .exceptions import DegenerateDataError

__all__ = ["ParetoNBDModel", "pareto_nbd_log_likelihood"]


def _log_a0(params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
    """log of the A0 integral term of the likelihood, (alpha+t)^-(r+s+x) 2F1(...) differences, in log space.

    The textbook 2F1(r+s+x, s+1; r+s+x+1; z) overflows for large x as z -> 1. Euler's transformation turns it
    into (1-z)^-s 2F1(1, r+x; r+s+x+1; z), whose series has first parameter 1 and stays bounded, so for
    alpha >= beta each term is -s log(beta+t) - (r+x) log(alpha+t) + log 2F1(1, r+x; r+s+x+1; z). For alpha < beta
    the roles swap: (1-r-x) log(alpha+t) - (s+1) log(beta+t) + log 2F1(1, s+1; r+s+x+1; z') with
    z' = (beta-alpha)/(beta+t). Both are exact rewrites; the branch keeps z in [0, 1).
    """
    r, alpha, s, beta = params
    c = r + s + x + 1.0

    def term(t: FloatArray) -> FloatArray:
        if alpha >= beta:
            z = (alpha - beta) / (alpha + t)
            return np.asarray(-s * np.log(beta + t) - (r + x) * np.log(alpha + t) + np.log(hyp2f1(1.0, r + x, c, z)))
        z = (beta - alpha) / (beta + t)
        return np.asarray(
            (1.0 - r - x) * np.log(alpha + t) - (s + 1.0) * np.log(beta + t) + np.log(hyp2f1(1.0, s + 1.0, c, z))
        )

    l1 = term(t_x)
    l2 = term(T)
    # A0 = exp(l1) - exp(l2) >= 0 (an integral of a positive density over (t_x, T]); equal when t_x == T.
    with np.errstate(divide="ignore"):
        diff = -np.expm1(np.minimum(l2 - l1, 0.0))
        return np.where(diff > 0, l1 + np.log(diff), -np.inf)


def _parts(
    params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    r, alpha, s, beta = params
    lead = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    dead = np.log(s) - np.log(r + s + x) + _log_a0(params, x, t_x, T)
    return lead, alive, dead


def pareto_nbd_log_likelihood(params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
    """Per-customer Pareto/NBD log-likelihood."""
    lead, alive, dead = _parts(params, x, t_x, T)
    return np.asarray(lead + np.logaddexp(alive, dead), dtype=float)


class ParetoNBDModel(PurchaseModelBase):
    """Pareto/NBD model with parameters ``r, alpha`` (purchase rate) and ``s, beta`` (drop-out rate)."""

    param_names = ("r", "alpha", "s", "beta")
    model_name = "pareto-nbd"

    def __init__(self, compute_standard_errors: bool = True, max_iter: int = 2000) -> None:
        self.compute_standard_errors = compute_standard_errors
        self.max_iter = max_iter

    def fit(self, x: object, t_x: object, T: object) -> ParetoNBDModel:
        """Fit by maximum likelihood on grouped (x, t_x, T) triples (numerical gradient)."""
        xa, ta, Ta = check_btyd_inputs(x, t_x, T)
        g = group_rows(xa, ta, Ta)
        require_identifiable(g, 2, "Pareto/NBD")
        if not np.any(xa > 0):
            raise DegenerateDataError("cannot fit Pareto/NBD: no customer made a repeat purchase")
        gx, gt, gT = g.columns
        w = g.weights

        def ll(p: FloatArray) -> float:
            return float(np.dot(w, pareto_nbd_log_likelihood(p, gx, gt, gT)))

        rate = max(float(np.dot(w, gx) / np.dot(w, gT)), 1e-4)
        mean_T = float(np.dot(w, gT) / w.sum())
        start = np.array([0.5, 0.5 / rate, 0.5, mean_T])
        params, value = maximise(ll, None, start, self.param_names, "Pareto/NBD", self.max_iter)
        ses = (
            standard_errors(ll, None, params, self.param_names, "Pareto/NBD")
            if self.compute_standard_errors
            else np.full(4, np.nan)
        )
        self._set_result(params, ses, value, g.n)
        return self

    def log_likelihood(self, x: object, t_x: object, T: object) -> FloatArray:
        """Per-customer log-likelihood under the fitted parameters."""
        p = self._check_fitted()
        return pareto_nbd_log_likelihood(p, *check_btyd_inputs(x, t_x, T))

    def _alive(self, params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
        _, alive, dead = _parts(params, x, t_x, T)
        return np.asarray(expit(alive - dead), dtype=float)

    def _expected_if_alive(self, params: FloatArray, times: FloatArray, x: FloatArray, T: FloatArray) -> FloatArray:
        r, alpha, s, beta = params
        xc, Tc = x[:, None], T[:, None]
        log_u = np.log(beta + Tc) - np.log(beta + Tc + times[None, :])
        # [1 - u^(s-1)] / (s-1) tends to -log(u) as s -> 1; expm1 keeps precision near that limit.
        factor = -log_u if abs(s - 1.0) < 1e-8 else -np.expm1((s - 1.0) * log_u) / (s - 1.0)
        return np.asarray((r + xc) * (beta + Tc) / (alpha + Tc) * factor, dtype=float)

    def expected_purchases(self, t: object) -> FloatArray:
        """Unconditional E[X(t)] for a new customer."""
        r, alpha, s, beta = self._check_fitted()
        ta = np.atleast_1d(np.asarray(t, dtype=float))
        log_u = np.log(beta) - np.log(beta + ta)
        factor = -log_u if abs(s - 1.0) < 1e-8 else -np.expm1((s - 1.0) * log_u) / (s - 1.0)
        return np.asarray(r * beta / alpha * factor, dtype=float)
