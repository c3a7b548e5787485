"""Calibration of an observational CATE on a randomized test with known truth."""

from __future__ import annotations

import numpy as np
import pytest
from calibration import replications
from scipy import stats

from rollout.evaluation.calibration import (
    blp_test,
    calibration_by_group,
    calibration_verdict,
    policy_value_difference,
    rate,
    rate_weights,
    transformed_outcome,
)


def _rct(seed: int, n: int = 4000, p: float = 0.5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    tau = 3.0 * x + 1.0
    t = (rng.random(n) < p).astype(int)
    y = 20 + 5 * x + t * tau + rng.normal(0, 5, n)
    return x, tau, t, y


def test_rate_weights_equal_direct_toc_average() -> None:
    rng = np.random.default_rng(0)
    g = rng.normal(size=50)
    ranked = g  # already in rank order
    toc = np.array([ranked[:k].mean() - ranked.mean() for k in range(1, 51)])
    assert rate_weights(50, "autoc") @ ranked == pytest.approx(toc.mean(), abs=1e-12)
    qini = np.mean(np.arange(1, 51) / 50 * toc)
    assert rate_weights(50, "qini") @ ranked == pytest.approx(qini, abs=1e-12)
    assert rate_weights(50, "autoc").sum() == pytest.approx(0, abs=1e-12)


def test_transformed_outcome_is_unbiased_for_the_ate() -> None:
    _x, tau, t, y = _rct(1, n=200_000, p=0.3)
    ystar = transformed_outcome(y, t, 0.3)
    assert abs(ystar.mean() - tau.mean()) < 4 * ystar.std() / np.sqrt(len(y))


def test_correct_ranking_validated_random_ranking_not() -> None:
    _x, tau, t, y = _rct(2)
    good = blp_test(tau, y, t, 0.5)
    assert good.p_value_slope_zero < 1e-6
    assert abs(good.slope - 1) < 3 * good.slope_se
    rng = np.random.default_rng(3)
    noise = blp_test(rng.normal(size=len(y)), y, t, 0.5)
    assert abs(noise.slope) < 3 * noise.slope_se
    assert calibration_verdict(good, None, ate_ci_high=5)["verdict"] == "validated"
    assert calibration_verdict(noise, None, ate_ci_high=5)["verdict"] == "not_validated"
    groups = calibration_by_group(tau, y, t, 0.5)
    assert groups["estimate"].is_monotonic_increasing
    r_good = rate(tau, transformed_outcome(y, t, 0.5))
    r_bad = rate(-tau, transformed_outcome(y, t, 0.5))
    assert r_good.autoc - 3 * r_good.autoc_se > 0 > r_bad.autoc + 3 * r_bad.autoc_se


def test_a_constant_score_has_no_slope_and_its_ate_is_the_hajek_contrast() -> None:
    """The average effect deployed: no ranking, so the verdict is not_estimable, and the BLP's
    ATE is the weighted difference in means (with p = 1/2 and no baseline, the plain one)."""
    _x, tau, t, y = _rct(5)
    blp = blp_test(np.full(len(y), 7.5), y, t, 0.5)
    assert not blp.estimable and blp.slope is None and blp.p_value_slope_zero is None
    assert blp.ate == pytest.approx(y[t == 1].mean() - y[t == 0].mean(), rel=1e-9)
    verdict = calibration_verdict(blp, None, ate_ci_high=5)
    assert verdict["verdict"] == "not_estimable" and "ranks nobody" in verdict["reason"]
    assert calibration_verdict(blp, None, ate_ci_high=-0.1)["verdict"] == "harmful"
    # a score that varies, however little, keeps its slope
    assert blp_test(7.5 + 1e-3 * tau, y, t, 0.5).estimable


def test_harmful_verdict() -> None:
    _x, tau, t, y = _rct(4)
    blp = blp_test(tau, y, t, 0.5)
    assert calibration_verdict(blp, None, ate_ci_high=-0.1)["verdict"] == "harmful"


@pytest.mark.slow
@pytest.mark.calibration
def test_blp_size_and_policy_value_coverage() -> None:
    """Random score: one-sided BLP rejects at 5%. The policy value's 95% CI covers the
    population value at 95% (two-sided, 3 MC SE).

    Population truth: x ~ N(0, 1), tau = 3x + 1, policy 1{x > 0} against treating everyone:
    E[(1{x>0} - 1)(0.3 tau - 0.5)] = -E[1{x<=0}(0.9 x - 0.2)] = 0.9 phi(0) + 0.1.
    """
    reps, rejections, covered = replications(600, 600), 0, 0
    truth = 0.9 * float(stats.norm.pdf(0.0)) + 0.1
    for seed in range(reps):
        x, _tau, t, y = _rct(100 + seed, n=1500)
        score = np.random.default_rng(10_000 + seed).normal(size=len(y))
        rejections += blp_test(score, y, t, 0.5).p_value_slope_zero < 0.05
        policy, reference = (x > 0).astype(float), np.ones(len(y))
        v = policy_value_difference(policy, reference, y, t, 0.5, cost=0.5, margin=0.3)
        covered += v["ci_low"] <= truth <= v["ci_high"]
    mc = np.sqrt(0.05 * 0.95 / reps)
    assert abs(rejections / reps - 0.05) <= 3 * mc
    mc_cover = np.sqrt(0.95 * 0.05 / reps)
    assert abs(covered / reps - 0.95) <= 3 * mc_cover, covered / reps
