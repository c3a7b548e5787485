"""Evaluation statistics against scipy, statsmodels and hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

from rollout.evaluation.effects import adjusted, difference_in_means, segment_effects
from rollout.evaluation.srm import srm_check


@pytest.mark.parametrize(("counts", "allocation"), [
    ({"a": 340, "b": 310, "control": 350}, {"a": 1 / 3, "b": 1 / 3, "control": 1 / 3}),
    ({"a": 2950, "b": 3120, "control": 3930}, {"a": 0.3, "b": 0.3, "control": 0.4}),
    ({"a": 480, "b": 530, "control": 990}, {"a": 0.25, "b": 0.25, "control": 0.5}),
])
def test_three_arm_srm_p_values_equal_scipy(counts, allocation) -> None:
    result = srm_check(counts, allocation)
    total = sum(counts.values())
    ref = stats.chisquare(list(counts.values()),
                          [total * allocation[a] for a in counts])
    assert result.chi2 == pytest.approx(ref.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert result.df == 2
    assert result.flag == (ref.pvalue < 0.001)


def test_srm_flags_a_three_arm_mismatch_and_counts_a_missing_arm_as_zero() -> None:
    skewed = srm_check({"a": 3300, "b": 3300, "control": 3400},
                       {"a": 0.3, "b": 0.3, "control": 0.4})
    ref = stats.chisquare([3300, 3300, 3400], [3000, 3000, 4000])
    assert skewed.flag and skewed.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    missing = srm_check({"a": 10, "control": 12}, {"a": 0.3, "b": 0.3, "control": 0.4})
    assert missing.chi2 == pytest.approx(stats.chisquare([10, 0, 12],
                                                         [6.6, 6.6, 8.8]).statistic)


def _hc2_by_hand(design: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xtx_inv = np.linalg.inv(design.T @ design)
    beta = xtx_inv @ design.T @ y
    resid = y - design @ beta
    leverage = np.einsum("ij,jk,ik->i", design, xtx_inv, design)
    meat = (design * (resid**2 / (1 - leverage))[:, None]).T @ design
    return beta, np.sqrt(np.diag(xtx_inv @ meat @ xtx_inv))


def test_lin_adjusted_se_is_hc2_by_hand() -> None:
    rng = np.random.default_rng(8)
    n = 120  # small, so that HC0, HC1, HC2 and HC3 differ visibly
    x = rng.normal(size=(n, 2)) * np.array([1.0, 3.0])
    t = rng.permutation(np.repeat([0, 1], n // 2))
    y = 5 + x @ np.array([1.0, 0.4]) + 2 * t + 1.5 * t * x[:, 0] \
        + rng.standard_t(3, size=n) * (1 + np.abs(x[:, 0]))
    xc = x - x.mean(axis=0)
    design = np.column_stack([np.ones(n), t, xc, xc * t[:, None]])
    beta, se = _hc2_by_hand(design, y)
    effect = adjusted(y, t, x)
    assert effect.estimate == pytest.approx(beta[1], rel=1e-10)
    assert effect.se == pytest.approx(se[1], rel=1e-10)
    z975 = stats.norm.ppf(0.975)
    assert effect.ci_low == pytest.approx(beta[1] - z975 * se[1], rel=1e-10)
    assert effect.p_value == pytest.approx(2 * stats.norm.sf(abs(beta[1] / se[1])), rel=1e-8)
    # and it is not one of the other sandwich variants
    for other in ("HC0", "HC1", "HC3"):
        alt = sm.OLS(y, design).fit(cov_type=other).bse[1]
        assert abs(alt - se[1]) > 1e-3 * se[1], other


def test_lin_adjusted_drops_constant_covariates_and_without_covariates_is_hc2_of_dim() -> None:
    rng = np.random.default_rng(2)
    n = 60
    t = rng.permutation(np.repeat([0, 1], n // 2))
    y = rng.normal(size=n) + t
    x = np.column_stack([rng.normal(size=n), np.full(n, 4.0)])
    with_const = adjusted(y, t, x)
    only = adjusted(y, t, x[:, :1])
    assert with_const.estimate == pytest.approx(only.estimate, rel=1e-12)
    assert with_const.se == pytest.approx(only.se, rel=1e-12)
    # no covariates: HC2 of the arm coefficient is the unpooled (Neyman) variance
    none = adjusted(y, t, None)
    y1, y0 = y[t == 1], y[t == 0]
    neyman = np.sqrt(y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0))
    assert none.estimate == pytest.approx(y1.mean() - y0.mean(), rel=1e-12)
    assert none.se == pytest.approx(neyman, rel=1e-10)


def _segment_data(seed: int = 4):
    rng = np.random.default_rng(seed)
    n = 1500
    seg = rng.choice(["light", "heavy", "bulk", "fresh"], n, p=[0.3, 0.3, 0.2, 0.2])
    t = rng.integers(0, 2, n)
    lift = pd.Series(seg).map({"light": 0.25, "heavy": 0.12, "bulk": 0.0, "fresh": 0.18})
    y = rng.normal(0, 1, n) + t * lift.to_numpy()
    return y, t, seg


def test_segment_p_values_are_holm_by_statsmodels_and_intervals_bonferroni() -> None:
    y, t, seg = _segment_data()
    out = segment_effects(y, t, seg, alpha=0.05).set_index("segment")
    segments = sorted(set(seg))
    raw = []
    for s in segments:
        mask = seg == s
        ref = stats.ttest_ind(y[mask & (t == 1)], y[mask & (t == 0)], equal_var=False)
        raw.append(ref.pvalue)
        assert out.loc[s, "p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
        assert out.loc[s, "estimate"] == pytest.approx(
            y[mask & (t == 1)].mean() - y[mask & (t == 0)].mean(), rel=1e-12)
    reject, p_holm, _, _ = multipletests(raw, alpha=0.05, method="holm")
    np.testing.assert_allclose(out.loc[segments, "p_holm"], p_holm, rtol=1e-12)
    assert list(out.loc[segments, "significant"]) == list(reject)
    # Holm differs from Bonferroni on these data (else the check above could not tell them)
    p_bonf = multipletests(raw, alpha=0.05, method="bonferroni")[1]
    assert np.max(np.abs(p_bonf - p_holm)) > 1e-3
    # simultaneous intervals: level 1 - alpha / m, normal critical value, Welch SE
    m = len(segments)
    crit = stats.norm.ppf(1 - 0.05 / (2 * m))
    for s in segments:
        e = difference_in_means(y[seg == s], t[seg == s])
        assert out.loc[s, "se"] == pytest.approx(e.se, rel=1e-12)
        assert out.loc[s, "ci_low"] == pytest.approx(e.estimate - crit * e.se, rel=1e-10)
        assert out.loc[s, "ci_high"] == pytest.approx(e.estimate + crit * e.se, rel=1e-10)
    np.testing.assert_allclose(out["ci_level"], 1 - 0.05 / m, rtol=1e-12)


def test_segments_too_small_are_left_out_of_the_family() -> None:
    y, t, seg = _segment_data(5)
    seg = seg.astype(object)
    seg[:3] = "tiny"
    t[:3] = 1  # no control customer in "tiny": no estimate, not counted in m
    out = segment_effects(y, t, seg).set_index("segment")
    assert np.isnan(out.loc["tiny", "estimate"]) and np.isnan(out.loc["tiny", "p_holm"])
    valid = [s for s in out.index if s != "tiny"]
    p_holm = multipletests(out.loc[valid, "p_value"], method="holm")[1]
    np.testing.assert_allclose(out.loc[valid, "p_holm"], p_holm, rtol=1e-12)
    assert out.loc[valid[0], "ci_level"] == pytest.approx(1 - 0.05 / 4)
