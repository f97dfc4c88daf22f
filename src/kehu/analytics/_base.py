"""Common base class of the BTYD / spend models (sklearn-style estimator conventions)."""

from __future__ import annotations

import abc
import inspect
from typing import Any

import numpy as np
import pandas as pd

from ._fitting import FloatArray, as_float_array, check_btyd_inputs, unique_rows


class ParametricModel:
    """Base of models fitted by maximum likelihood; ``__init__`` stores settings only.

    It follows the scikit-learn estimator API (``get_params``/``set_params``, so ``sklearn.base.clone`` and grid
    searches work; ``fit`` returns self; fitted attributes end in ``_``) without importing scikit-learn, whose
    import alone takes seconds: the BTYD models only need NumPy and SciPy.
    """

    param_names: tuple[str, ...] = ()
    model_name: str = ""

    params_: dict[str, float]
    standard_errors_: dict[str, float]
    log_likelihood_: float
    n_customers_: int

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values() if p.name != "self" and p.kind == p.POSITIONAL_OR_KEYWORD]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor settings (scikit-learn convention)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> ParametricModel:
        """Change constructor settings (scikit-learn convention); returns self."""
        valid = set(self._param_names())
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; valid: {sorted(valid)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if defaults.get(k) != v]
        return f"{type(self).__name__}({', '.join(changed)})"

    def _check_fitted(self) -> FloatArray:
        if not hasattr(self, "params_"):
            from sklearn.exceptions import NotFittedError  # scikit-learn's exception, imported only when raised

            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit() first")
        return np.array([self.params_[n] for n in self.param_names], dtype=float)

    def _set_result(self, params: FloatArray, ses: FloatArray, ll: float, n: int) -> None:
        self.params_ = {n: float(v) for n, v in zip(self.param_names, params, strict=True)}
        self.standard_errors_ = {n: float(v) for n, v in zip(self.param_names, ses, strict=True)}
        self.log_likelihood_ = float(ll)
        self.n_customers_ = int(n)

    def summary(self) -> pd.DataFrame:
        """Parameters with standard errors and 95% Wald intervals."""
        self._check_fitted()
        rows = []
        for n in self.param_names:
            coef, se = self.params_[n], self.standard_errors_[n]
            rows.append(
                {"param": n, "coef": coef, "se": se, "lower_95": coef - 1.96 * se, "upper_95": coef + 1.96 * se}
            )
        return pd.DataFrame(rows).set_index("param")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description of the fitted model (used by the CLI)."""
        self._check_fitted()
        return {
            "model": self.model_name,
            "params": dict(self.params_),
            "standard_errors": {k: (None if not np.isfinite(v) else v) for k, v in self.standard_errors_.items()},
            "log_likelihood": self.log_likelihood_,
            "n_customers": self.n_customers_,
        }


class PurchaseModelBase(ParametricModel, abc.ABC):
    """Shared prediction code of BG/NBD and Pareto/NBD.

    For both models E[X(T, T + t) | x, t_x, T] = P(alive | x, t_x, T) * g(t; x, T): the costly part ``g`` (a
    hypergeometric function for BG/NBD) depends on ``(x, T)`` only, so it is evaluated once per distinct
    ``(x, T)`` pair (tens of thousands for a million customers) and for all horizons in one vectorised call,
    then broadcast back. P(alive) is evaluated once per distinct ``(x, t_x, T)`` triple.
    """

    @abc.abstractmethod
    def _alive(self, params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
        """P(alive | x, t_x, T) for distinct rows."""

    @abc.abstractmethod
    def _expected_if_alive(self, params: FloatArray, times: FloatArray, x: FloatArray, T: FloatArray) -> FloatArray:
        """(distinct rows, horizons) matrix of expected purchases in (T, T + t] for a customer still alive."""

    def p_alive(self, x: object, t_x: object, T: object) -> FloatArray:
        """Probability that each customer is still active at T."""
        p = self._check_fitted()
        xa, ta, Ta = check_btyd_inputs(x, t_x, T)
        (ux, ut, uT), inv = unique_rows(xa, ta, Ta)
        return np.asarray(self._alive(p, ux, ut, uT)[inv], dtype=float)

    def conditional_expected_purchases(self, t: float, x: object, t_x: object, T: object) -> FloatArray:
        """Expected number of purchases in (T, T + t] given each customer's history."""
        if t < 0:
            raise ValueError("t must be non-negative")
        return self.discounted_expected_purchases([t], [1.0], x, t_x, T)

    def discounted_expected_purchases(
        self, times: object, weights: object, x: object, t_x: object, T: object
    ) -> FloatArray:
        """sum_i weights[i] * (E[X(T, T + times[i])] - E[X(T, T + times[i-1])]) per customer (times[-1] = 0).

        With weights = discount factors this is the discounted expected number of purchases used by
        :func:`~kehu.analytics.clv.customer_lifetime_value`, computed for all horizons at once.
        """
        p = self._check_fitted()
        xa, ta, Ta = check_btyd_inputs(x, t_x, T)
        ts, wts = as_float_array("times", times), as_float_array("weights", weights)
        if ts.shape != wts.shape or ts.size == 0:
            raise ValueError("times and weights must be non-empty and of the same length")
        if np.any(ts < 0) or np.any(np.diff(ts) < 0):
            raise ValueError("times must be non-negative and non-decreasing")
        (ux, uT), inv = unique_rows(xa, Ta)
        cumulative = self._expected_if_alive(p, ts, ux, uT)
        increments = np.diff(cumulative, axis=1, prepend=0.0)
        return np.asarray((increments @ wts)[inv] * self.p_alive(xa, ta, Ta), dtype=float)
