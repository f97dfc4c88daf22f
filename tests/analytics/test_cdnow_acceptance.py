"""Acceptance: published CDNOW figures (Fader, Hardie & Lee) reproduced from the raw transactions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kehu.analytics import BetaGeoModel, GammaGammaModel, ParetoNBDModel


def test_cdnow_summary_shape(cdnow_summary: pd.DataFrame) -> None:
    assert len(cdnow_summary) == 2357
    assert int((cdnow_summary["x"] > 0).sum()) == 946
    # calibration: 1997-01-01 .. 1997-09-30, T in weeks from first purchase to the calibration end
    assert cdnow_summary["T"].max() == pytest.approx(272 / 7)


def test_bgnbd_published_parameters(cdnow_summary: pd.DataFrame) -> None:
    m = BetaGeoModel().fit(cdnow_summary["x"], cdnow_summary["t_x"], cdnow_summary["T"])
    for name, target in {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}.items():
        assert m.params_[name] == pytest.approx(target, rel=1e-3), name
    assert m.log_likelihood_ == pytest.approx(-9582.43, abs=0.05)
    assert m.n_customers_ == 2357
    np.testing.assert_allclose(m.expected_purchases([1, 3, 78]), [0.0532, 0.1506, 1.8576], atol=5e-4)
    assert all(np.isfinite(v) and v > 0 for v in m.standard_errors_.values())


def test_pareto_nbd_published_fit(cdnow_summary: pd.DataFrame) -> None:
    m = ParetoNBDModel().fit(cdnow_summary["x"], cdnow_summary["t_x"], cdnow_summary["T"])
    assert m.log_likelihood_ == pytest.approx(-9594.98, abs=0.1)
    assert m.params_["r"] == pytest.approx(0.553, rel=5e-3)
    assert m.params_["alpha"] == pytest.approx(10.58, rel=5e-3)
    assert m.params_["s"] == pytest.approx(0.606, rel=5e-3)


def test_gamma_gamma_published_parameters(cdnow_summary: pd.DataFrame) -> None:
    rep = cdnow_summary[cdnow_summary["x"] > 0]
    m = GammaGammaModel().fit(rep["x"], rep["avg_repeat_value"])
    assert m.n_customers_ == 946
    for name, target in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert m.params_[name] == pytest.approx(target, rel=5e-3), name


def test_predictions_agree_with_lifetimes(cdnow_summary: pd.DataFrame) -> None:
    lifetimes = pytest.importorskip("lifetimes")
    x, tx, T = (cdnow_summary[c].to_numpy() for c in ("x", "t_x", "T"))
    ours = BetaGeoModel().fit(x, tx, T)
    ref = lifetimes.BetaGeoFitter().fit(x, tx, T)
    np.testing.assert_allclose(ours.p_alive(x, tx, T), ref.conditional_probability_alive(x, tx, T), atol=1e-5)
    np.testing.assert_allclose(
        ours.conditional_expected_purchases(52, x, tx, T),
        ref.conditional_expected_number_of_purchases_up_to_time(52, x, tx, T),
        rtol=1e-4,
    )
    pareto = ParetoNBDModel().fit(x, tx, T)
    ref_p = lifetimes.ParetoNBDFitter().fit(x, tx, T)
    np.testing.assert_allclose(pareto.p_alive(x, tx, T), ref_p.conditional_probability_alive(x, tx, T), atol=1e-4)
