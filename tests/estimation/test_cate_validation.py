"""CATE validation figures against hand computations and an independent implementation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from rollout.estimation.cate.regions import cate_by_region
from rollout.estimation.cate.validation import (
    blp_test,
    dr_scores,
    r_loss_terms,
    uplift_curve,
    uplift_test,
)


def test_blp_matches_a_hand_computation_on_a_tiny_table() -> None:
    # cate 0..3, scores (0, 2, 1, 3): centred cate c = (-1.5, -0.5, 0.5, 1.5), sum c^2 = 5
    # slope = sum c (g - 1.5) / 5 = 4 / 5 = 0.8; residuals g - 1.5 - 0.8 c = (-0.3, 0.9, -0.9, 0.3)
    fit = blp_test(np.array([0.0, 1, 2, 3]), np.array([0.0, 2, 1, 3]))
    resid = np.array([-0.3, 0.9, -0.9, 0.3])
    c = np.array([-1.5, -0.5, 0.5, 1.5])
    slope_var = 4 / 2 * np.sum(c**2 * resid**2) / 5**2  # HC1: n / (n - k) sandwich
    assert fit.ate == pytest.approx(1.5)
    assert fit.slope == pytest.approx(0.8)
    assert fit.slope_se == pytest.approx(np.sqrt(slope_var))
    assert fit.ate_se == pytest.approx(np.sqrt(4 / 2 * np.sum(resid**2) / 16))


def test_blp_agrees_with_statsmodels_hc1() -> None:
    rng = np.random.default_rng(4)
    cate = rng.normal(size=300)
    scores = 2 + 0.7 * cate + rng.standard_t(4, size=300) * (1 + np.abs(cate))
    fit = blp_test(cate, scores)
    ols = sm.OLS(scores, sm.add_constant(cate - cate.mean())).fit(cov_type="HC1")
    assert fit.ate == pytest.approx(ols.params[0])
    assert fit.slope == pytest.approx(ols.params[1])
    assert fit.ate_se == pytest.approx(ols.bse[0])
    assert fit.slope_se == pytest.approx(ols.bse[1])
    assert fit.p_value == pytest.approx(ols.pvalues[1] / 2)  # one-sided, slope > 0


def test_blp_of_a_constant_cate_has_no_slope() -> None:
    fit = blp_test(np.full(10, 3.0), np.arange(10.0))
    assert np.isnan(fit.slope) and fit.p_value == 1.0 and fit.ate == pytest.approx(4.5)


def test_auuc_and_qini_by_brute_force() -> None:
    rng = np.random.default_rng(1)
    cate, scores = rng.normal(size=37), rng.normal(loc=1, size=37)
    n = len(scores)
    ordered = scores[np.argsort(-cate)]
    uplift = [ordered[:k].sum() / n for k in range(1, n + 1)]
    random = [k / n * scores.mean() for k in range(1, n + 1)]
    res = uplift_test(cate, scores)
    assert res.auuc == pytest.approx(np.mean(uplift))
    assert res.qini == pytest.approx(np.mean(np.array(uplift) - np.array(random)))
    # the SE of a linear combination sum a_j g_j of independent scores: sqrt(sum a_j^2 var)
    a = np.array([(n - j + 1) / n**2 for j in range(1, n + 1)])
    assert res.auuc_se == pytest.approx(np.sqrt(np.sum(a**2 * (ordered - scores.mean()) ** 2)))
    curve = uplift_curve(cate, scores, points=n)
    assert curve["uplift"][-1] == pytest.approx(scores.sum() / n)
    assert curve["uplift"][0] == 0.0


def test_uplift_intervals_cover_the_truth_on_a_simulated_ranking() -> None:
    """Qini of a known ranking on simulated unbiased effect scores: the 95% CI covers the
    estimand within 3 Monte Carlo SEs of 0.95, on both sides (a too-wide interval fails too)."""
    rng = np.random.default_rng(11)
    n, reps, hits = 400, 1500, 0
    x = rng.uniform(size=n)
    tau = 2 * x
    # the estimand, by brute force from its definition: the mean over k of the top-k uplift
    # (1/n) sum_{j<=k} tau_(j) minus random targeting k/n * mean(tau), ranked by x
    ordered = tau[np.argsort(-x)]
    ks = np.arange(1, n + 1)
    truth = float(np.mean(np.cumsum(ordered) / n - ks / n * tau.mean()))
    assert uplift_test(x, tau).qini == pytest.approx(truth, rel=1e-12)
    for _ in range(reps):
        res = uplift_test(x, tau + rng.normal(scale=3, size=n)).to_dict()
        hits += res["qini_ci_low"] <= truth <= res["qini_ci_high"]
    mc_se = np.sqrt(0.95 * 0.05 / reps)
    assert abs(hits / reps - 0.95) <= 3 * mc_se, hits / reps


def test_dr_scores_and_r_loss_by_hand() -> None:
    y, t = np.array([10.0, 4.0]), np.array([1, 0])
    e, mu0, mu1 = np.array([0.25, 0.8]), np.array([3.0, 3.0]), np.array([6.0, 6.0])
    # treated: 6 - 3 + (10 - 6) / 0.25 = 19; control: 3 - (4 - 3) / 0.2 = -2
    np.testing.assert_allclose(dr_scores(y, t, e, mu0, mu1), [19.0, -2.0])
    # clipping at 0.3 changes the treated customer's weight: 3 + 4 / 0.3
    np.testing.assert_allclose(dr_scores(y, t, e, mu0, mu1, clip=0.3)[0], 3 + 4 / 0.3)
    m, tau = np.array([5.0, 5.0]), np.array([2.0, 2.0])
    # ((10 - 5) - 0.75 * 2)^2 = 12.25 ; ((4 - 5) + 0.8 * 2)^2 = 0.36
    np.testing.assert_allclose(r_loss_terms(y, t, m, e, tau), [12.25, 0.36])


def test_regions_report_the_region_aipw_and_action() -> None:
    region = np.array(["overlap"] * 6 + ["extreme_high"] * 3 + ["near_boundary"])
    t = np.array([0, 1, 0, 1, 0, 1, 1, 1, 1, 0])
    scores = np.arange(10.0)
    cate = np.ones(10)
    frame = cate_by_region(cate, scores, region, t).set_index("region")
    assert frame.loc["overlap", "aipw"] == pytest.approx(2.5)
    assert frame.loc["overlap", "aipw_se"] == pytest.approx(np.std(np.arange(6.0), ddof=1)
                                                           / np.sqrt(6))
    assert frame.loc["overlap", "action"] == "target confidently"
    assert not frame.loc["overlap", "extrapolated"]
    # no controls among the extreme_high customers: no AIPW estimate, still an action
    assert np.isnan(frame.loc["extreme_high", "aipw"])
    assert frame.loc["extreme_high", "action"] == "conservative approach"
    assert frame.loc["extreme_low", "n"] == 0
    assert isinstance(frame, pd.DataFrame)
