"""BG/NBD model (Fader, Hardie & Lee 2005): fit on grouped (x, t_x, T), P(alive) and expected purchases."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

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

__all__ = ["BetaGeoModel", "bgnbd_log_likelihood"]


def _per_x(x: FloatArray) -> tuple[FloatArray, NDArray[np.intp]]:
    """Distinct repeat counts and the inverse index: gamma-function terms depend on x only, and x takes few
    distinct values, so they are evaluated once per distinct x instead of once per customer (a large saving)."""
    ux, inv = np.unique(x, return_inverse=True)
    return ux, inv.ravel()


def _terms(
    params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray, xu: tuple[FloatArray, NDArray[np.intp]] | None
) -> tuple[FloatArray, ...]:
    r, alpha, a, b = params
    ux, inv = xu if xu is not None else _per_x(x)
    a12 = (gammaln(r + ux) - gammaln(r) + r * np.log(alpha) + betaln(a, b + ux) - betaln(a, b))[inv]
    a3 = -(r + x) * np.log(alpha + T)
    has = x > 0
    # The second term only exists for repeat buyers (it is the "dropped out after the last purchase" branch);
    # b + x - 1 is guarded so that x == 0 never evaluates log(b - 1) for b < 1.
    bx1 = np.where(has, b + x - 1, 1.0)
    a4 = np.where(has, np.log(a) - np.log(bx1) - (r + x) * np.log(alpha + t_x), -np.inf)
    return a12, a3, a4, bx1


def bgnbd_log_likelihood(
    params: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    xu: tuple[FloatArray, NDArray[np.intp]] | None = None,
) -> FloatArray:
    """Per-customer BG/NBD log-likelihood, computed in log space (logaddexp of the two branches)."""
    a12, a3, a4, _ = _terms(params, x, t_x, T, xu)
    return np.asarray(a12 + np.logaddexp(a3, a4), dtype=float)


def _gradient(
    params: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    w: FloatArray,
    xu: tuple[FloatArray, NDArray[np.intp]] | None = None,
) -> FloatArray:
    r, alpha, a, b = params
    ux, inv = xu if xu is not None else _per_x(x)
    _, a3, a4, bx1 = _terms(params, x, t_x, T, (ux, inv))
    w4 = expit(a4 - a3)  # posterior weight of the "dropped out" branch
    w3 = 1.0 - w4
    ww3, ww4 = w * w3, w * w4
    lat, latx = np.log(alpha + T), np.log(alpha + t_x)
    # Terms depending on x only are summed per distinct x with the weights aggregated by x.
    wx = np.bincount(inv, weights=w, minlength=ux.size)
    d_r = np.dot(wx, digamma(r + ux) - digamma(r) + np.log(alpha)) - np.dot(ww3, lat) - np.dot(ww4, latx)
    d_alpha = r / alpha * w.sum() - np.dot(ww3, (r + x) / (alpha + T)) - np.dot(ww4, (r + x) / (alpha + t_x))
    dab = digamma(a + b) - digamma(a + b + ux)
    d_a = np.dot(wx, dab) + ww4.sum() / a
    d_b = np.dot(wx, dab + digamma(b + ux) - digamma(b)) - np.dot(ww4, 1.0 / bx1)
    return np.array([d_r, d_alpha, d_a, d_b])


class _SharedTerms:
    """Log-likelihood and gradient of grouped data evaluated together.

    L-BFGS-B asks for the value and the gradient at the same point; both need the same branch terms, so the last
    point is cached. ``log(alpha + T)`` and ``log(alpha + t_x)`` are taken once per distinct T / t_x value (day
    counts: at most a few thousand values even for millions of customers) and gathered.
    """

    def __init__(
        self, x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray, xu: tuple[FloatArray, NDArray[np.intp]]
    ) -> None:
        self.x, self.t_x, self.T, self.w, self.xu = x, t_x, T, w, xu
        self.uT, self.iT = _per_x(T)
        self.ut, self.it = _per_x(t_x)
        self.has = x > 0
        self.key: bytes | None = None
        self.result: tuple[float, FloatArray] = (float("nan"), np.zeros(4))

    def value_and_gradient(self, params: FloatArray) -> tuple[float, FloatArray]:
        key = np.asarray(params, dtype=float).tobytes()
        if key != self.key:
            self.result = self._compute(params)
            self.key = key
        return self.result

    def _compute(self, params: FloatArray) -> tuple[float, FloatArray]:
        r, alpha, a, b = params
        x, w, has = self.x, self.w, self.has
        ux, inv = self.xu
        wx = np.bincount(inv, weights=w, minlength=ux.size)
        per_x = gammaln(r + ux) - gammaln(r) + r * np.log(alpha) + betaln(a, b + ux) - betaln(a, b)
        lat = np.log(alpha + self.uT)[self.iT]
        latx = np.log(alpha + self.ut)[self.it]
        rx = r + x
        # Terms of b + x - 1 depend on x only: taken per distinct x and gathered (1 for x == 0, never used).
        bx1_u = np.where(ux > 0, b + ux - 1, 1.0)
        a3 = -rx * lat
        # d = a4 - a3, the log-odds of the "dropped out" branch; -inf without a repeat purchase.
        d = np.where(has, (np.log(a) - np.log(bx1_u))[inv] - rx * latx, -np.inf) - a3
        # log(e^a3 + e^a4) and expit(d) share one exponential: e = exp(-|d|).
        e = np.exp(-np.abs(d))
        value = float(np.dot(wx, per_x) + np.dot(w, a3 + np.maximum(d, 0.0) + np.log1p(e)))
        w4 = np.where(d >= 0, 1.0, e) / (1.0 + e)
        ww4 = w * w4
        ww3 = w - ww4
        d_r = np.dot(wx, digamma(r + ux) - digamma(r) + np.log(alpha)) - np.dot(ww3, lat) - np.dot(ww4, latx)
        inv_T = (1.0 / (alpha + self.uT))[self.iT]
        inv_tx = (1.0 / (alpha + self.ut))[self.it]
        d_alpha = r / alpha * w.sum() - np.dot(ww3 * rx, inv_T) - np.dot(ww4 * rx, inv_tx)
        dab = digamma(a + b) - digamma(a + b + ux)
        d_a = np.dot(wx, dab) + ww4.sum() / a
        # ww4 summed per distinct x: the 1 / (b + x - 1) term needs no per-customer array.
        d_b = np.dot(wx, dab + digamma(b + ux) - digamma(b)) - np.dot(np.bincount(inv, ww4, ux.size), 1.0 / bx1_u)
        return value, np.array([d_r, d_alpha, d_a, d_b])


class BetaGeoModel(PurchaseModelBase):
    """BG/NBD purchase/drop-out model with parameters ``r, alpha, a, b``.

    Parameters
    ----------
    compute_standard_errors:
        Compute standard errors from the numerical Hessian of the (analytic) gradient.
    max_iter:
        Iteration cap of the L-BFGS-B optimiser.
    """

    param_names = ("r", "alpha", "a", "b")
    model_name = "bgnbd"

    def __init__(self, compute_standard_errors: bool = True, max_iter: int = 2000) -> None:
        self.compute_standard_errors = compute_standard_errors
        self.max_iter = max_iter

    def fit(self, x: object, t_x: object, T: object) -> BetaGeoModel:
        """Fit by maximum likelihood on identical (x, t_x, T) triples grouped with counts."""
        xa, ta, Ta = check_btyd_inputs(x, t_x, T)
        g = group_rows(xa, ta, Ta)
        require_identifiable(g, 2, "BG/NBD")
        if not np.any(xa > 0):
            raise DegenerateDataError("cannot fit BG/NBD: no customer made a repeat purchase")
        gx, gt, gT = g.columns
        w = g.weights

        xu = _per_x(gx)
        shared = _SharedTerms(gx, gt, gT, w, xu)

        def ll(p: FloatArray) -> float:
            return shared.value_and_gradient(p)[0]

        def grad(p: FloatArray) -> FloatArray:
            return shared.value_and_gradient(p)[1]

        rate = max(float(np.dot(w, gx) / np.dot(w, gT)), 1e-4)
        start = np.array([0.5, 0.5 / rate, 1.0, 2.0])
        params, value = maximise(ll, grad, start, self.param_names, "BG/NBD", self.max_iter)
        ses = (
            standard_errors(ll, grad, params, self.param_names, "BG/NBD")
            if self.compute_standard_errors
            else np.full(4, np.nan)
        )
        self._set_result(params, ses, value, g.n)
        return self

    def log_likelihood(self, x: object, t_x: object, T: object) -> FloatArray:
        """Per-customer log-likelihood under the fitted parameters."""
        p = self._check_fitted()
        xa, ta, Ta = check_btyd_inputs(x, t_x, T)
        return bgnbd_log_likelihood(p, xa, ta, Ta)

    def _alive(self, params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
        # 1 for customers without repeat purchases (the "dropped out" branch needs a repeat purchase).
        _, a3, a4, _ = _terms(params, x, t_x, T, None)
        return np.asarray(expit(a3 - a4), dtype=float)

    def _expected_if_alive(self, params: FloatArray, times: FloatArray, x: FloatArray, T: FloatArray) -> FloatArray:
        r, alpha, a, b = params
        xc, Tc, tr = x[:, None], T[:, None], times[None, :]
        # Pfaff transformation: ((alpha+T)/(alpha+T+t))^(r+x) * 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))
        # equals 2F1(r+x, a-1; a+b+x-1; -t/(alpha+T)), which has no huge cancelling factors for large x.
        # a == 1 makes the closed form 0/0; the limit is taken through a tiny shift.
        a_eff = 1.0 + 1e-7 if abs(a - 1.0) < 1e-10 else a
        hyp = hyp2f1(r + xc, a_eff - 1.0, a_eff + b + xc - 1.0, -tr / (alpha + Tc))
        lead = (a_eff + b + xc - 1.0) / (a_eff - 1.0)
        return np.asarray(lead * (1.0 - hyp), dtype=float)

    def expected_purchases(self, t: object) -> FloatArray:
        """Unconditional E[X(t)]: expected purchases of a new customer in their first ``t`` time units."""
        r, alpha, a, b = self._check_fitted()
        ta = np.atleast_1d(np.asarray(t, dtype=float))
        hyp = hyp2f1(r, a - 1.0, a + b - 1.0, -ta / alpha)
        return np.asarray((a + b - 1.0) / (a - 1.0) * (1.0 - hyp), dtype=float)
