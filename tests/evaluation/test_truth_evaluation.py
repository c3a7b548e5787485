"""Evaluation statistics against scipy, statsmodels and hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

from rollout.errors import InputError
from rollout.evaluation.effects import (
    adjusted,
    difference_in_means,
    profit_per_customer,
    segment_effects,
    stratified,
)
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


def test_profit_per_customer_by_hand() -> None:
    y = np.array([1.0, 2, 3, 4, 6, 8, 5, 7])
    t = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    e = difference_in_means(y, t)  # estimate 4
    p = profit_per_customer(e, cost=0.5, margin=2.0)
    assert p == pytest.approx({
        "profit": 2.0 * e.estimate - 0.5, "se": 2.0 * e.se,
        "ci_low": 2.0 * e.ci_low - 0.5, "ci_high": 2.0 * e.ci_high - 0.5,
        "roi": (2.0 * e.estimate - 0.5) / 0.5, "roi_ci_low": (2.0 * e.ci_low - 0.5) / 0.5,
        "roi_ci_high": (2.0 * e.ci_high - 0.5) / 0.5, "cost": 0.5, "margin": 2.0,
        "breakeven_effect": 0.25})
    free = profit_per_customer(e, cost=0.0, margin=0.5)
    assert np.isnan(free["roi"]) and np.isnan(free["roi_ci_low"]) and np.isnan(free["roi_ci_high"])
    assert free["profit"] == pytest.approx(0.5 * e.estimate) and free["breakeven_effect"] == 0
    for cost, margin in ((1.0, 0.0), (1.0, -0.2), (-1.0, 0.3)):
        with pytest.raises(InputError) as info:
            profit_per_customer(e, cost=cost, margin=margin)
        assert info.value.message == "margin must be positive and cost non-negative"
        assert info.value.column == "margin"


def test_stagewise_inference_at_a_first_look_is_the_normal_interval() -> None:
    """Stopping at look 1 of 3: stage-wise inference is the fixed-sample normal inference at
    the first look's information t_1 I_max, for any z (here far out, z = 12, and negative)."""
    from rollout.evaluation.sequential_inference import stagewise_inference
    from rollout.planning.sequential import efficacy_boundaries

    fr = [1 / 3, 2 / 3, 1.0]
    b = efficacy_boundaries(fr, 0.05, 2, "obf")
    i_max = 9.0
    se = 1 / np.sqrt(fr[0] * i_max)
    for z in (12.0, 4.2, -4.0):
        res = stagewise_inference(fr, b, -b, look=1, z=z, max_information=i_max)
        assert res.look == 1 and res.z == z
        assert res.estimate == pytest.approx(z * se, rel=1e-6)
        assert res.ci_low == pytest.approx((z - stats.norm.ppf(0.975)) * se, rel=1e-6)
        assert res.ci_high == pytest.approx((z + stats.norm.ppf(0.975)) * se, rel=1e-6)
        p_one = stats.norm.sf(z)
        assert res.p_value_one_sided == pytest.approx(p_one, rel=1e-4, abs=1e-300)
        assert res.p_value_two_sided == pytest.approx(2 * min(p_one, 1 - p_one), rel=1e-4,
                                                      abs=1e-300)
        assert res.to_dict()["method"] == "stage-wise ordering (Jennison & Turnbull 2000, ch. 8)"


def test_stratified_pools_strata_too_small_to_have_a_variance() -> None:
    # strata a and b are fine; c has a single treated customer and d a single control: both
    # are pooled into one remainder stratum (2 treated, 2 controls), weights by stratum size
    y = np.array([1.0, 2, 3, 5, 10, 11, 14, 16, 20, 40, 30, 35])
    t = np.array([0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 0])
    s = np.array(["a"] * 4 + ["b"] * 4 + ["c", "c", "d", "d"])
    e = stratified(y, t, s)
    parts = {"a": slice(0, 4), "b": slice(4, 8), "pool": slice(8, 12)}
    est, var = 0.0, 0.0
    for sl in parts.values():
        yy, tt = y[sl], t[sl]
        est += len(yy) / 12 * (yy[tt == 1].mean() - yy[tt == 0].mean())
        var += (len(yy) / 12) ** 2 * (yy[tt == 1].var(ddof=1) / 2 + yy[tt == 0].var(ddof=1) / 2)
    assert e.estimate == pytest.approx(est, rel=1e-12)
    assert e.se == pytest.approx(np.sqrt(var), rel=1e-12)
    assert "3 strata" in e.se_type
    assert (e.n, e.n_treatment, e.n_control) == (12, 6, 6)
    z = est / np.sqrt(var)
    assert e.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-10)
    assert e.ci_high == pytest.approx(est + stats.norm.ppf(0.975) * np.sqrt(var), rel=1e-10)


def test_stratified_folds_a_pool_still_too_small_into_the_largest_stratum() -> None:
    y = np.array([1.0, 2, 3, 5, 10, 11, 14, 16, 12, 13, 30, 7])
    t = np.array([0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 0])
    s = np.array(["a"] * 4 + ["b"] * 7 + ["c"])  # c: one control only, pooled alone: too small
    e = stratified(y, t, s)
    # c joins b, the largest stratum
    est = 4 / 12 * (4.0 - 1.5) + 8 / 12 * (y[4:][t[4:] == 1].mean() - y[4:][t[4:] == 0].mean())
    assert e.estimate == pytest.approx(est, rel=1e-12)
    assert "2 strata" in e.se_type


def test_segment_table_counts_and_unestimable_rows() -> None:
    y, t, seg = _segment_data(6)
    out = segment_effects(y, t, seg).set_index("segment")
    for s in out.index:
        mask = seg == s
        assert out.loc[s, "n"] == mask.sum()
        assert out.loc[s, "n_treatment"] == (t[mask] == 1).sum()
        assert out.loc[s, "n_control"] == (t[mask] == 0).sum()
    y2, t2 = np.r_[y, 1.0, 2.0], np.r_[t, 1, 0]
    seg2 = np.concatenate([seg, ["solo", "solo"]])
    out2 = segment_effects(y2, t2, seg2).set_index("segment")
    row = out2.loc["solo"]
    assert row["n"] == 2 and row["n_treatment"] == 1 and row["n_control"] == 1
    assert np.isnan(row["estimate"]) and np.isnan(row["se"]) and np.isnan(row["p_value"])
    assert not row["significant"]


def test_effect_inputs_are_checked() -> None:
    y, t = np.arange(6.0), np.array([0, 0, 0, 1, 1, 1])
    with pytest.raises(InputError, match="different lengths"):
        difference_in_means(y, t[:5])
    with pytest.raises(InputError, match="missing or infinite"):
        difference_in_means(np.r_[y[:5], np.nan], t)
    with pytest.raises(InputError, match="fewer than 2 customers in the treatment"):
        difference_in_means(y, np.array([0, 0, 0, 0, 0, 1]))
    with pytest.raises(InputError, match="fewer than 2 customers in the control"):
        difference_in_means(y, np.array([0, 1, 1, 1, 1, 1]))
    with pytest.raises(InputError, match="covariates have missing"):
        adjusted(y, t, np.array([1.0, 2, np.inf, 4, 5, 6]))


def test_srm_record_and_messages() -> None:
    ok = srm_check({"treatment": 5_010, "control": 4_990}, {"treatment": 0.5, "control": 0.5})
    assert ok.to_dict() == {
        "observed": {"treatment": 5010, "control": 4990},
        "expected": {"treatment": 5000.0, "control": 5000.0},
        "chi2": pytest.approx(0.04), "df": 1,
        "p_value": pytest.approx(stats.chi2.sf(0.04, 1)), "threshold": 0.001, "flag": False}
    assert ok.message() == ("arm sizes match the design: treatment 5,010 (50.1%), control 4,990 "
                            f"(49.9%); p = {ok.p_value:.2g}")
    bad = srm_check({"treatment": 5_400, "control": 4_600}, {"treatment": 0.5, "control": 0.5},
                    threshold=0.01)
    assert bad.flag and bad.threshold == 0.01
    assert bad.message() == (
        "sample-ratio mismatch: treatment 5,400 (54.0%), control 4,600 (46.0%); "
        f"p = {bad.p_value:.2g} < 0.01. Check the assignment and the data pipeline before "
        "trusting any effect.")
    # the threshold is strict: p exactly at it is not flagged
    at = srm_check({"treatment": 5_400, "control": 4_600}, {"treatment": 0.5, "control": 0.5},
                   threshold=bad.p_value)
    assert not at.flag


@pytest.mark.parametrize(("counts", "allocation", "message", "column"), [
    ({"treatment": 5, "holdout": 3}, {"treatment": .5, "control": .5},
     "arms ['holdout'] are not in the design's allocation ['treatment', 'control']", "arm"),
    ({"treatment": 5, "control": 3}, {"treatment": .5, "control": .6},
     "allocation shares must be positive and sum to 1", "allocation"),
    ({"treatment": 5, "control": 3}, {"treatment": 1.0, "control": 0.0},
     "allocation shares must be positive and sum to 1", "allocation"),
    ({"treatment": 0, "control": 0}, {"treatment": .5, "control": .5},
     "no customers in any arm", "arm"),
])
def test_srm_refusals(counts, allocation, message, column) -> None:
    with pytest.raises(InputError) as info:
        srm_check(counts, allocation)
    assert info.value.message == message and info.value.column == column


def test_effect_records_name_method_estimand_and_se_type() -> None:
    y = np.array([1.0, 2, 3, 4, 6, 8, 5, 7, 3, 9])
    t = np.array([0, 0, 0, 0, 1, 1, 1, 1, 0, 1])
    x = np.column_stack([np.arange(10.0), np.full(10, 2.0), (np.arange(10) % 3).astype(float)])
    dim = difference_in_means(y, t)
    lin = adjusted(y, t, x)
    strat = stratified(y, t, np.array(list("aabbaabbab")))
    assert dim.to_dict() | {"estimate": 0, "se": 0, "ci_low": 0, "ci_high": 0,
                            "p_value": 0} == {
        "method": "difference_in_means", "estimand": "ATE of assignment (tested population)",
        "estimate": 0, "se": 0, "ci_low": 0, "ci_high": 0, "n": 10, "n_treatment": 5,
        "n_control": 5, "se_type": "Welch (unequal variances), t reference", "p_value": 0}
    assert (lin.method, lin.estimand) == ("adjusted", "ATE of assignment (tested population)")
    # the constant covariate is dropped: two centred covariates
    assert lin.se_type == "HC2 robust, Lin interacted OLS on 2 centred covariates"
    assert (lin.n, lin.n_treatment, lin.n_control) == (10, 5, 5)
    assert (strat.method, strat.estimand) == (
        "stratified", "ATE of assignment (tested population), post-stratified")
    assert strat.se_type == "Neyman variance summed over 2 strata"
    # a one-dimensional covariate and no covariates
    one = adjusted(y, t, np.arange(10.0))
    assert one.se_type.endswith("on 1 centred covariates")
    empty = adjusted(y, t, np.empty((10, 0)))
    assert empty.se_type.endswith("on 0 centred covariates")
    assert empty.estimate == pytest.approx(dim.estimate)


def test_two_per_arm_is_enough_and_zero_variance_is_handled() -> None:
    y, t = np.array([1.0, 2.0, 5.0, 7.0]), np.array([0, 0, 1, 1])
    e = difference_in_means(y, t)
    assert e.estimate == pytest.approx(4.5) and e.n == 4
    s = stratified(y, t, np.array(["a"] * 4))
    assert s.estimate == pytest.approx(4.5)
    # no variance in either arm: SE 0, the interval is the point, p = 0 (or 1 at no effect)
    flat = difference_in_means(np.array([1.0, 1.0, 3.0, 3.0]), t)
    assert flat.se == 0 and flat.ci_low == flat.ci_high == flat.estimate == 2.0
    assert flat.p_value == 0.0
    none = difference_in_means(np.array([1.0, 1.0, 1.0, 1.0]), t)
    assert none.se == 0 and none.estimate == 0 and none.p_value == 1.0
    neg = difference_in_means(np.array([3.0, 3.0, 1.0, 1.0]), t)
    assert neg.p_value == 0.0 and neg.estimate == -2.0


def test_effect_input_errors_name_their_column() -> None:
    y, t = np.arange(6.0), np.array([0, 0, 0, 1, 1, 1])
    cases = [
        (lambda: difference_in_means(y, t[:5]), "outcome and arm have different lengths", None),
        (lambda: difference_in_means(np.r_[y[:5], np.nan], t),
         "outcome has missing or infinite values", "outcome"),
        (lambda: difference_in_means(y, np.array([0, 0, 0, 0, 0, 1])),
         "fewer than 2 customers in the treatment arm", "arm"),
        (lambda: difference_in_means(y, np.array([0, 1, 1, 1, 1, 1])),
         "fewer than 2 customers in the control arm", "arm"),
        (lambda: adjusted(y, t, np.array([1.0, 2, np.inf, 4, 5, 6])),
         "covariates have missing or infinite values", "covariates"),
    ]
    for call, message, column in cases:
        with pytest.raises(InputError) as info:
            call()
        assert info.value.message == message and info.value.column == column


def test_segment_rows_and_levels_with_two_segments() -> None:
    y, t, seg = _segment_data(7)
    seg = np.where(np.isin(seg, ["light", "heavy"]), "a", "b")
    # a segment with two treated and one control customer has no estimate
    y = np.r_[y, 1.0, 2.0, 3.0]
    t = np.r_[t, 1, 1, 0]
    seg = np.concatenate([seg, ["c", "c", "c"]])
    out = segment_effects(y, t, seg, alpha=0.1)
    assert list(out.columns) == ["segment", "n", "n_treatment", "n_control", "estimate", "se",
                                 "p_value", "ci_low", "ci_high", "p_holm", "significant",
                                 "ci_level"]
    out = out.set_index("segment")
    assert np.isnan(out.loc["c", "estimate"]) and np.isnan(out.loc["c", "p_holm"])
    m = 2
    np.testing.assert_allclose(out["ci_level"], 1 - 0.1 / m)
    crit = stats.norm.ppf(1 - 0.1 / (2 * m))
    for s in ("a", "b"):
        assert out.loc[s, "ci_high"] == pytest.approx(out.loc[s, "estimate"]
                                                      + crit * out.loc[s, "se"])
    p = out.loc[["a", "b"], "p_value"].to_numpy()
    np.testing.assert_allclose(out.loc[["a", "b"], "p_holm"],
                               multipletests(p, method="holm")[1])
    assert list(out.loc[["a", "b"], "significant"]) == list(out.loc[["a", "b"], "p_holm"] < 0.1)
    # a p-value exactly at alpha is not significant
    exact = segment_effects(y, t, seg, alpha=float(out.loc["a", "p_holm"])).set_index("segment")
    assert not exact.loc["a", "significant"] or exact.loc["a", "p_holm"] < out.loc["a", "p_holm"]


def test_holm_adjusted_p_values_are_capped_at_one() -> None:
    rng = np.random.default_rng(3)
    n = 400
    seg = rng.choice(list("abcd"), n)
    t = rng.integers(0, 2, n)
    y = rng.normal(size=n)
    out = segment_effects(y, t, seg)
    assert out["p_holm"].max() <= 1.0
    np.testing.assert_allclose(out["p_holm"], multipletests(out["p_value"], method="holm")[1])


def test_stagewise_p_at_an_interim_look_under_a_drift() -> None:
    """At look 1 of 3 the stage-wise p-value under drift eta is P(Z_1 >= z) with
    Z_1 ~ N(eta sqrt(t_1), 1); at look 2 it adds the chance of having stopped at look 1."""
    from rollout.evaluation.sequential_inference import stagewise_p
    from rollout.planning.sequential import efficacy_boundaries

    fr = [0.25, 0.6, 1.0]
    b = efficacy_boundaries(fr, 0.05, 2, "obf")
    for drift in (0.0, 1.5, 3.0):
        p1 = stagewise_p(drift, fr, b, -b, look=1, z=1.2)
        assert p1 == pytest.approx(stats.norm.sf(1.2 - drift * np.sqrt(0.25)), rel=1e-6)
        # look 2: P(Z_1 >= b_1) + P(-b_1 < Z_1 < b_1, Z_2 >= z) by scipy's bivariate normal
        z = 1.7
        mean = drift * np.sqrt(np.array([0.25, 0.6]))
        rho = np.sqrt(0.25 / 0.6)
        mvn = stats.multivariate_normal(mean=mean, cov=[[1, rho], [rho, 1]])
        both = mvn.cdf([b[0], np.inf], lower_limit=[-b[0], z])
        expected = stats.norm.sf(b[0] - mean[0]) + both
        assert stagewise_p(drift, fr, b, -b, look=2, z=z) == pytest.approx(expected, abs=2e-6)


def test_arm_counts_with_unequal_arms_and_a_single_segment() -> None:
    y = np.array([1.0, 2, 3, 4, 6, 8, 5])
    t = np.array([0, 0, 0, 0, 1, 1, 1])
    for e in (difference_in_means(y, t), adjusted(y, t, None), stratified(y, t, ["a"] * 7)):
        assert (e.n, e.n_treatment, e.n_control) == (7, 3, 4), e.method
    one = segment_effects(y, t, ["all"] * 7, alpha=0.05)
    assert one["ci_level"].tolist() == [0.95]
    e = difference_in_means(y, t)
    assert one["ci_low"].iloc[0] == pytest.approx(e.estimate - stats.norm.ppf(0.975) * e.se)
