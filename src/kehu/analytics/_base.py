"""Common base class of the BTYD / spend models (sklearn-style estimator conventions)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from ._fitting import FloatArray


class ParametricModel(BaseEstimator):  # type: ignore[misc]
    """Base of models fitted by maximum likelihood; ``__init__`` stores settings only."""

    param_names: tuple[str, ...] = ()
    model_name: str = ""

    params_: dict[str, float]
    standard_errors_: dict[str, float]
    log_likelihood_: float
    n_customers_: int

    def _check_fitted(self) -> FloatArray:
        if not hasattr(self, "params_"):
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
