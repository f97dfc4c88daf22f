"""Model tests: likelihood correctness against direct numerical integration, gradients, degenerate fits, CLV."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import integrate, stats

from kehu.analytics import (
    BetaGeoModel,
    ConvergenceError,
    DegenerateDataError,
    GammaGammaModel,
    ParetoNBDModel,
    customer_lifetime_value,
    manager_clv,
    monthly_to_period_rate,
)
from kehu.analytics.bgnbd import _gradient as bg_gradient
from kehu.analytics.bgnbd import bgnbd_log_likelihood
from kehu.analytics.pareto_nbd import pareto_nbd_log_likelihood


def _pareto_by_integration(params: tuple[float, float, float, float], x: int, tx: float, T: float) -> float:
    """Integrate the individual Pareto/NBD likelihood over the gamma mixing densities (independent check)."""
    r, alpha, s, beta = params

    def individual(lam: float, mu: float) -> float:
        alive = lam**x * np.exp(-(lam + mu) * T)
        dead = lam**x * mu / (lam + mu) * (np.exp(-(lam + mu) * tx) - np.exp(-(lam + mu) * T))
        return float(alive + dead)

    g_lam = stats.gamma(r, scale=1 / alpha)
    g_mu = stats.gamma(s, scale=1 / beta)
    val, _ = integrate.dblquad(
        lambda mu, lam: individual(lam, mu) * g_lam.pdf(lam) * g_mu.pdf(mu),
        0,
        g_lam.ppf(1 - 1e-12),
        0,
        g_mu.ppf(1 - 1e-12),
        epsabs=1e-14,
        epsrel=1e-8,
    )
    return float(np.log(val))


@pytest.mark.parametrize("params", [(1.5, 4.0, 1.2, 9.0), (2.0, 10.0, 1.5, 3.0)])  # alpha < beta and alpha > beta
@pytest.mark.parametrize(("x", "tx", "T"), [(0, 0.0, 5.0), (2, 3.0, 8.0), (6, 7.5, 8.0)])
def test_pareto_likelihood_matches_numerical_integration(
    params: tuple[float, float, float, float], x: int, tx: float, T: float
) -> None:
    ours = pareto_nbd_log_likelihood(np.array(params), np.array([x]), np.array([tx]), np.array([T]))[0]
    assert ours == pytest.approx(_pareto_by_integration(params, x, tx, T), abs=1e-5)


def test_pareto_likelihood_is_finite_for_very_large_counts() -> None:
    x = np.array([500.0, 5000.0, 20000.0])
    ll = pareto_nbd_log_likelihood(np.array([0.55, 10.6, 0.6, 11.7]), x, x / 10, x / 10 + 5)
    assert np.all(np.isfinite(ll))
    ll2 = pareto_nbd_log_likelihood(np.array([0.55, 1.6, 0.6, 91.7]), x, x / 10, x / 10 + 5)
    assert np.all(np.isfinite(ll2))


def test_bgnbd_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 8, 50).astype(float)
    T = rng.uniform(5, 40, 50)
    tx = np.where(x > 0, rng.uniform(0, 1, 50) * T, 0.0)
    p = np.array([0.7, 3.0, 0.9, 2.5])
    w = np.ones(50)
    g = bg_gradient(p, x, tx, T, w)
    for i in range(4):
        e = np.zeros(4)
        e[i] = 1e-6
        fd = (bgnbd_log_likelihood(p + e, x, tx, T).sum() - bgnbd_log_likelihood(p - e, x, tx, T).sum()) / 2e-6
        assert g[i] == pytest.approx(fd, rel=1e-5)


def _simulate_bgnbd(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lam = rng.gamma(0.8, 1 / 6.0, n)
    p = rng.beta(1.2, 3.0, n)
    T = rng.uniform(20, 52, n)
    x = np.zeros(n)
    tx = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i]:
                break
            x[i] += 1
            tx[i] = t
            if rng.random() < p[i]:
                break
    return x, tx, T


def test_bgnbd_recovers_simulated_parameters() -> None:
    x, tx, T = _simulate_bgnbd(8000, 7)
    m = BetaGeoModel().fit(x, tx, T)
    assert m.params_["r"] / m.params_["alpha"] == pytest.approx(0.8 / 6.0, rel=0.1)
    assert m.params_["a"] / (m.params_["a"] + m.params_["b"]) == pytest.approx(1.2 / 4.2, rel=0.15)


def test_grouping_gives_the_same_fit_as_ungrouped_sum() -> None:
    x, tx, T = _simulate_bgnbd(500, 3)
    m = BetaGeoModel().fit(np.concatenate([x, x]), np.concatenate([tx, tx]), np.concatenate([T, T]))
    single = BetaGeoModel().fit(x, tx, T)
    assert m.log_likelihood_ == pytest.approx(2 * single.log_likelihood_, rel=1e-8)
    assert m.params_["r"] == pytest.approx(single.params_["r"], rel=1e-4)


@pytest.mark.parametrize("model", [BetaGeoModel, ParetoNBDModel])
def test_degenerate_btyd_inputs_raise(model: type) -> None:
    with pytest.raises(DegenerateDataError, match="1 customer"):
        model().fit([2], [3.0], [5.0])
    with pytest.raises(DegenerateDataError, match="repeat"):
        model().fit([0, 0, 0], [0, 0, 0], [3.0, 4.0, 5.0])
    with pytest.raises(DegenerateDataError, match="identical"):
        model().fit([2] * 50, [3.0] * 50, [5.0] * 50)


def test_unidentified_bgnbd_raises_instead_of_absurd_parameters() -> None:
    # Everybody buys at a steady pace until the end: no drop-out is visible, so b (or a) runs to a boundary.
    x = np.array([10.0, 20.0, 30.0] * 10)
    with pytest.raises(ConvergenceError, match="diverges"):
        BetaGeoModel().fit(x, x * 1.0, x * 1.0 + 0.5)


def test_gamma_gamma_degenerate_inputs() -> None:
    with pytest.raises(DegenerateDataError):
        GammaGammaModel().fit([0, 0], [0.0, 0.0])
    with pytest.raises(DegenerateDataError):
        GammaGammaModel().fit([1, 2, 3, 4], [5.0, 5.0, 5.0, 5.0])


def test_gamma_gamma_expected_spend_shrinks_towards_population_mean() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(1, 10, 3000).astype(float)
    nu = rng.gamma(4.0, 1 / 20.0, 3000)
    m = np.array([rng.gamma(6.0 * k, 1 / (nu_i * k)) for k, nu_i in zip(x, nu, strict=True)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gg = GammaGammaModel().fit(x, m)
    spend = gg.expected_average_spend(x, m)
    pop = gg.expected_average_spend([0.0], [0.0])[0]
    assert np.all((spend - pop) * (m - pop) >= -1e-9)  # the estimate sits between the customer's mean and pop
    assert np.all(np.abs(spend - pop) <= np.abs(m - pop) + 1e-9)


def test_clv_equals_closed_form_for_a_constant_purchase_rate() -> None:
    class Constant:
        def conditional_expected_purchases(self, t: float, x: object, t_x: object, T: object) -> np.ndarray:
            return np.full(2, 2.0 * t)  # 2 purchases per time unit

    clv = customer_lifetime_value(
        Constant(),
        [0, 0],
        [0, 0],
        [1, 1],
        [10.0, 20.0],
        months=12,
        monthly_discount_rate=0.01,
        days_per_time_unit=30.4375,
    )
    expected = sum(2.0 / 1.01**i for i in range(1, 13)) * np.array([10.0, 20.0])
    np.testing.assert_allclose(clv, expected)


def test_manager_clv_and_rate_conversion() -> None:
    np.testing.assert_allclose(manager_clv([100.0, 0.0], years=2), [2400.0, 0.0])
    assert (1 + monthly_to_period_rate(0.12)) ** 12 == pytest.approx(1.12)


def test_gamma_gamma_gradient_matches_finite_differences() -> None:
    from kehu.analytics.gamma_gamma import _gradient as gg_gradient
    from kehu.analytics.gamma_gamma import gamma_gamma_log_likelihood

    rng = np.random.default_rng(2)
    x = rng.integers(1, 12, 80).astype(float)
    m = rng.gamma(3.0, 10.0, 80)
    p = np.array([4.0, 3.0, 12.0])
    g = gg_gradient(p, x, m, np.ones(80))
    for i in range(3):
        e = np.zeros(3)
        e[i] = 1e-6
        fd = (gamma_gamma_log_likelihood(p + e, x, m).sum() - gamma_gamma_log_likelihood(p - e, x, m).sum()) / 2e-6
        assert g[i] == pytest.approx(fd, rel=1e-5)
