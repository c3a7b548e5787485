"""Experimental effects against scipy/statsmodels, a hand computation, and simulated truth."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from rollout.evaluation.effects import (
    adjusted,
    difference_in_means,
    profit_per_customer,
    segment_effects,
    stratified,
)


def _trial(seed: int, n: int = 600, tau: float = 2.0, r2: float = 0.6):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    t = rng.permutation(np.repeat([0, 1], n // 2))
    signal = x @ np.array([1.0, 0.5])
    noise_sd = np.sqrt(signal.var() * (1 - r2) / r2)
    y = 10 + signal + tau * t + 0.5 * t * x[:, 0] + rng.normal(0, noise_sd, n)
    return y, t, x


def test_welch_matches_scipy() -> None:
    y, t, _ = _trial(1)
    e = difference_in_means(y, t)
    ref = stats.ttest_ind(y[t == 1], y[t == 0], equal_var=False)
    assert e.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    ci = ref.confidence_interval()
    assert (e.ci_low, e.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-10)


def test_adjusted_equals_lin_by_hand() -> None:
    y, t, x = _trial(2)
    xc = x - x.mean(axis=0)
    # Lin's estimator by hand: separate OLS fits per arm, predicted at the covariate mean.
    b1 = np.linalg.lstsq(np.column_stack([np.ones((t == 1).sum()), xc[t == 1]]), y[t == 1],
                         rcond=None)[0]
    b0 = np.linalg.lstsq(np.column_stack([np.ones((t == 0).sum()), xc[t == 0]]), y[t == 0],
                         rcond=None)[0]
    assert adjusted(y, t, x).estimate == pytest.approx(b1[0] - b0[0], abs=1e-9)


def test_adjusted_is_narrower_when_covariates_predict() -> None:
    y, t, x = _trial(3, r2=0.7)
    assert adjusted(y, t, x).se < 0.7 * difference_in_means(y, t).se


def test_stratified_by_hand() -> None:
    y = np.array([1.0, 2, 3, 4, 10, 12, 14, 20, 21, 23])
    t = np.array([0, 0, 1, 1, 0, 0, 1, 1, 1, 0])
    s = np.array(["a"] * 4 + ["b"] * 6)
    # stratum a: 3.5 - 1.5 = 2; stratum b: mean(14,20,21) - mean(10,12,23) = 55/3 - 15 = 10/3
    expected = 0.4 * 2 + 0.6 * (55 / 3 - 15)
    var_a = np.var([3, 4], ddof=1) / 2 + np.var([1, 2], ddof=1) / 2
    var_b = np.var([14, 20, 21], ddof=1) / 3 + np.var([10, 12, 23], ddof=1) / 3
    e = stratified(y, t, s)
    assert e.estimate == pytest.approx(expected, abs=1e-12)
    assert e.se == pytest.approx(np.sqrt(0.16 * var_a + 0.36 * var_b), abs=1e-12)


def test_segment_effects_holm() -> None:
    rng = np.random.default_rng(4)
    n = 3000
    seg = rng.choice(["light", "heavy", "bulk"], n)
    t = rng.integers(0, 2, n)
    y = rng.normal(0, 1, n) + t * np.where(seg == "light", 0.5, 0.0)
    out = segment_effects(y, t, seg).set_index("segment")
    assert out.loc["light", "significant"]
    assert not out.loc["heavy", "significant"]
    assert (out["p_holm"] >= out["p_value"]).all()


def test_profit_maps_effect_interval() -> None:
    e = difference_in_means(*_trial(5)[:2])
    p = profit_per_customer(e, cost=1.0, margin=0.3)
    assert p["profit"] == pytest.approx(0.3 * e.estimate - 1.0)
    assert p["breakeven_effect"] == pytest.approx(1 / 0.3)
    assert p["ci_low"] < p["profit"] < p["ci_high"]


@pytest.mark.slow
@pytest.mark.calibration
def test_coverage_of_all_three_methods() -> None:
    """95% intervals cover the true effect within 3 Monte Carlo SEs over 1,000 trials."""
    reps, tau = 1000, 2.0  # true ATE = tau + 0.5 * E[x0] = tau
    hits = {"dim": 0, "adj": 0, "strat": 0}
    for seed in range(reps):
        y, t, x = _trial(1000 + seed, n=400)
        for key, e in (("dim", difference_in_means(y, t)), ("adj", adjusted(y, t, x)),
                       ("strat", stratified(y, t, x[:, 0] > 0))):
            hits[key] += e.ci_low <= tau <= e.ci_high
    mc_se = np.sqrt(0.95 * 0.05 / reps)
    for key, h in hits.items():
        assert abs(h / reps - 0.95) <= 3 * mc_se, (key, h / reps)
