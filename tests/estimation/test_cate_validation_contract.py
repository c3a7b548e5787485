"""Contract of the CATE validation figures: exact hand computations on tiny tables, the edges of
the degenerate-CATE rule, the record fields, and the input types the figures accept."""

from __future__ import annotations

import math
import warnings
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from rollout.common.stats import Z_975
from rollout.estimation.cate.validation import (
    blp_test,
    r_loss_terms,
    rate_weights,
    uplift_curve,
    uplift_test,
)


def _decimals(values) -> np.ndarray:
    """Values as a SQL NUMERIC column arrives in Python: an object array of Decimal."""
    return np.array([Decimal(str(v)) for v in values], dtype=object)


# --- RATE weights -----------------------------------------------------------------------------


def _rate_by_definition(g: np.ndarray, kind: str) -> float:
    """AUTOC / Qini of already-ranked scores straight from TOC(k/n) = mean(top k) - mean(all)."""
    n = len(g)
    toc = np.array([g[:k].mean() - g.mean() for k in range(1, n + 1)])
    if kind == "autoc":
        return float(toc.mean())
    return float(np.mean(np.arange(1, n + 1) / n * toc))


@pytest.mark.parametrize("kind", ["autoc", "qini"])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 7])
def test_rate_weights_reproduce_the_toc_definition(kind: str, n: int) -> None:
    a = rate_weights(n, kind)
    # weight j is the RATE of the unit vector on the j-th ranked customer
    by_definition = [_rate_by_definition(np.eye(n)[j], kind) for j in range(n)]
    np.testing.assert_allclose(a, by_definition, rtol=1e-12, atol=1e-15)
    assert a.sum() == pytest.approx(0.0, abs=1e-12)


def test_autoc_weights_of_four_customers_by_hand() -> None:
    # H = (0, 1, 3/2, 11/6, 25/12); a_j = (H_4 - H_{j-1}) / 4 - 1/4
    expected = [25 / 48 - 1 / 4, 13 / 48 - 1 / 4, 7 / 48 - 1 / 4, 1 / 16 - 1 / 4]
    np.testing.assert_allclose(rate_weights(4, "autoc"), expected, rtol=1e-12)


def test_unknown_rate_kind_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match=r"unknown RATE kind 'toc'"):
        rate_weights(4, "toc")


# --- R-loss -----------------------------------------------------------------------------------


def test_r_loss_terms_by_hand() -> None:
    # ((y - m) - (t - e) tau)^2: (1 - 0.5 * 2)^2 = 0, (0 + 0.25 * 4)^2 = 1, (1 + 0.5 * 2)^2 = 4
    terms = r_loss_terms(np.array([3.0, 1.0, 2.0]), np.array([1, 0, 1]), np.array([2.0, 1.0, 1.0]),
                         np.array([0.5, 0.25, 0.5]), np.array([2.0, 4.0, -2.0]))
    assert terms.tolist() == [0.0, 1.0, 4.0]


def test_r_loss_clips_the_propensity_at_both_ends() -> None:
    y, t, m, tau = np.full(4, 1.0), np.array([1, 0, 1, 0]), np.zeros(4), np.full(4, 1.0)
    e = np.array([0.0, 1.0, 0.999, 0.004])
    clipped = np.array([0.01, 0.99, 0.99, 0.01])
    expected = ((y - m) - (t - clipped) * tau) ** 2
    np.testing.assert_allclose(r_loss_terms(y, t, m, e, tau), expected, rtol=1e-15)
    assert r_loss_terms(y, t, m, e, tau).tolist() == pytest.approx(
        [0.01**2, 1.99**2, 0.99**2, 1.01**2])
    # another clip: the window is [clip, 1 - clip]
    e2 = np.array([0.05, 0.95, 0.5, 0.2])
    wide = np.array([0.2, 0.8, 0.5, 0.2])
    np.testing.assert_allclose(r_loss_terms(y, t, m, e2, tau, clip=0.2),
                               ((y - m) - (t - wide) * tau) ** 2, rtol=1e-15)


def test_r_loss_clips_a_float32_propensity_to_the_float64_bound() -> None:
    # a float32 model output clipped in float32 would land on float32(0.99) = 0.99000001
    y, t, m, tau = np.full(2, 1.0), np.array([0, 1]), np.zeros(2), np.full(2, 1.0)
    e32 = np.array([0.995, 0.001], dtype=np.float32)
    got = r_loss_terms(y, t, m, e32, tau)
    assert got.tolist() == r_loss_terms(y, t, m, np.array([0.99, 0.01]), tau).tolist()
    assert got.tolist() == [(1 + 0.99) ** 2, (1 - 0.99) ** 2]


@pytest.mark.parametrize("which", ["y", "t", "e", "tau"])
def test_r_loss_reads_decimal_inputs_as_floats(which: str) -> None:
    args = {"y": [3.0, 1.0, 2.0], "t": [1, 0, 1], "e": [0.5, 0.25, 0.5], "tau": [2.0, 4.0, -2.0]}
    m = np.array([2.0, 1.0, 1.0])
    floats = {k: np.asarray(v, float) for k, v in args.items()}
    mixed = dict(floats, **{which: _decimals(args[which])})
    got = r_loss_terms(mixed["y"], mixed["t"], m, mixed["e"], mixed["tau"])
    assert got.dtype == np.float64
    assert got.tolist() == [0.0, 1.0, 4.0]


# --- BLP --------------------------------------------------------------------------------------


def test_blp_of_three_customers_by_hand_and_by_statsmodels() -> None:
    # n = 3 is the smallest table with a slope: cate (0, 1, 2), scores (0, 3, 3);
    # c = (-1, 0, 1), slope = (2 + 1) / 2 = 1.5, residuals (-0.5, 1, -0.5), HC1 factor 3 / 1
    cate, scores = np.array([0.0, 1.0, 2.0]), np.array([0.0, 3.0, 3.0])
    fit = blp_test(cate, scores)
    assert fit.n == 3 and fit.se_type == "HC1"
    assert fit.ate == pytest.approx(2.0)
    assert fit.slope == pytest.approx(1.5)
    assert fit.ate_se == pytest.approx(np.sqrt(3 * 1.5 / 9))
    assert fit.slope_se == pytest.approx(np.sqrt(3 * 0.5 / 4))
    assert fit.p_value == pytest.approx(stats.norm.sf(1.5 / np.sqrt(0.375)))
    ols = sm.OLS(scores, sm.add_constant(cate - cate.mean())).fit(cov_type="HC1")
    assert [fit.ate, fit.slope] == pytest.approx(list(ols.params))
    assert [fit.ate_se, fit.slope_se] == pytest.approx(list(ols.bse))


def test_blp_record_as_a_dict() -> None:
    fit = blp_test(np.array([0.0, 1.0, 2.0]), np.array([0.0, 3.0, 3.0]))
    d = fit.to_dict()
    assert list(d) == ["ate", "ate_se", "slope", "slope_se", "p_value", "n", "se_type"]
    assert d == {"ate": fit.ate, "ate_se": fit.ate_se, "slope": fit.slope,
                 "slope_se": fit.slope_se, "p_value": fit.p_value, "n": 3, "se_type": "HC1"}


def test_blp_of_a_constant_cate_keeps_the_plain_ate_and_its_se() -> None:
    # scores (1, 3, 5, 7): mean 4, sample SD sqrt(20 / 3), SE sqrt(20 / 3) / 2
    fit = blp_test(np.full(4, 2.0), np.array([1.0, 3.0, 5.0, 7.0]))
    assert fit.ate == 4.0
    assert fit.ate_se == pytest.approx(np.sqrt(20 / 3) / 2)
    assert isinstance(fit.slope, float) and math.isnan(fit.slope)
    assert isinstance(fit.slope_se, float) and math.isnan(fit.slope_se)
    assert fit.p_value == 1.0
    assert fit.n == 4


def test_blp_of_two_customers_has_no_slope_but_an_ate_se() -> None:
    # scores (1, 3): SD sqrt(2), SE sqrt(2) / sqrt(2) = 1
    fit = blp_test(np.array([0.0, 1.0]), np.array([1.0, 3.0]))
    assert (fit.ate, fit.ate_se, fit.p_value, fit.n) == (2.0, pytest.approx(1.0), 1.0, 2)
    assert math.isnan(fit.slope) and math.isnan(fit.slope_se)


def test_blp_of_one_customer_has_no_se_and_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a 1-row sample SD warns "Degrees of freedom <= 0"
        fit = blp_test(np.array([1.0]), np.array([2.5]))
    assert fit.ate == 2.5 and fit.n == 1 and fit.p_value == 1.0
    assert isinstance(fit.ate_se, float) and math.isnan(fit.ate_se)
    assert math.isnan(fit.slope) and math.isnan(fit.slope_se)


def test_blp_degenerate_rule_is_inclusive_and_relative_to_the_cate_scale() -> None:
    # the rule: sum (cate - mean)^2 <= 1e-12 * max(1, max|cate|^2) * n. With max|cate| = 1e6 and
    # n = 4 the bound is exactly 4.0; cate 1e6 +- 1 around its mean gives exactly 4.0
    at_bound = blp_test(np.array([1e6, 1e6 - 2, 1e6, 1e6 - 2]), np.array([1.0, 0.0, 2.0, 0.0]))
    assert math.isnan(at_bound.slope) and at_bound.p_value == 1.0
    # deviations +- 2: sum of squares 16 > 4, so a slope is fitted
    above = blp_test(np.array([1e6, 1e6 - 4, 1e6, 1e6 - 4]), np.array([1.0, 0.0, 2.0, 0.0]))
    # c = (2, -2, 2, -2), g - 0.75 = (0.25, -0.75, 1.25, -0.75): slope = 6 / 16
    assert above.slope == pytest.approx(6 / 16)
    assert above.n == 4


def test_blp_degenerate_rule_uses_one_as_the_scale_of_a_small_cate() -> None:
    # |cate| < 1: the bound is 1e-12 * n = 4e-12; spread d^2 = 6e-12 is above it, 3e-12 below
    scores = np.array([1.0, 0.0, 2.0, 0.0])
    d = np.sqrt(6e-12)
    above = blp_test(np.array([0.5 + d, 0.5, 0.5 + d, 0.5]), scores)
    assert not math.isnan(above.slope)
    # c = +-d/2, g - 0.75 = (0.25, -0.75, 1.25, -0.75): sum c (g - 0.75) = 1.5 d, sxx = d^2
    assert above.slope == pytest.approx(1.5 / d, rel=1e-6)
    d = np.sqrt(3e-12)
    below = blp_test(np.array([0.5 + d, 0.5, 0.5 + d, 0.5]), scores)
    assert math.isnan(below.slope)


def test_blp_slope_is_exact_when_the_scores_share_a_large_level() -> None:
    # scores around 1e9 (a total in cents): the slope must be the exact OLS slope of the floats
    cate = np.array([0.1, 0.2, 0.7, 0.4, 0.35])
    scores = 1e9 + np.array([0.3, -1.1, 2.0, 0.5, 0.25])
    cf, sf = [Fraction(x) for x in cate], [Fraction(x) for x in scores]
    mc, ms = sum(cf) / 5, sum(sf) / 5
    exact = sum((c - mc) * (s - ms) for c, s in zip(cf, sf, strict=True)) / sum(
        (c - mc) ** 2 for c in cf)
    assert blp_test(cate, scores).slope == pytest.approx(float(exact), rel=1e-12)


def test_blp_of_a_perfect_fit_has_zero_slope_se_and_no_p_value() -> None:
    fit = blp_test(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.0]))
    assert (fit.ate, fit.slope, fit.slope_se) == (1.0, 1.0, 0.0)
    assert isinstance(fit.p_value, float) and math.isnan(fit.p_value)


@pytest.mark.parametrize("which", ["cate", "scores"])
def test_blp_reads_decimal_inputs_as_floats(which: str) -> None:
    cate, scores = [0.0, 1.0, 2.0, 3.0], [0.0, 2.0, 1.0, 3.0]
    ref = blp_test(np.array(cate), np.array(scores))
    args = {"cate": np.array(cate), "scores": np.array(scores)}
    args[which] = _decimals(cate if which == "cate" else scores)
    fit = blp_test(args["cate"], args["scores"])
    assert fit.to_dict() == pytest.approx(ref.to_dict())


# --- uplift -----------------------------------------------------------------------------------


def test_uplift_record_as_a_dict_with_its_intervals() -> None:
    res = uplift_test(np.array([2.0, 1.0, 0.0]), np.array([4.0, 0.0, 1.0]))
    d = res.to_dict()
    assert set(d) == {"auuc", "auuc_se", "qini", "qini_se", "n", "auuc_ci_low", "auuc_ci_high",
                      "qini_ci_low", "qini_ci_high"}
    assert d["n"] == 3
    for key in ("auuc", "qini"):
        assert d[f"{key}_se"] > 0
        assert d[f"{key}_ci_low"] == pytest.approx(d[key] - Z_975 * d[f"{key}_se"])
        assert d[f"{key}_ci_high"] == pytest.approx(d[key] + Z_975 * d[f"{key}_se"])


def test_ties_in_the_cate_keep_the_input_order() -> None:
    # many ties (3 distinct predictions over 120 customers): the ranking is the stable sort, so
    # the figures are reproducible and do not depend on the sort algorithm
    rng = np.random.default_rng(0)
    cate = np.repeat([1.0, 2.0, 3.0], 40)
    rng.shuffle(cate)
    scores = rng.normal(size=120)
    order = sorted(range(120), key=lambda i: -cate[i])  # Python's sort is stable
    g = scores[order]
    n = len(g)
    a = (n - np.arange(1, n + 1) + 1) / n**2
    assert uplift_test(cate, scores).auuc == pytest.approx(float(a @ g), rel=1e-12)
    curve = uplift_curve(cate, scores, points=n)
    np.testing.assert_allclose(curve["uplift"][1:], np.cumsum(g) / n, rtol=1e-12, atol=1e-15)


def test_a_boolean_ranking_is_read_as_zero_one() -> None:
    scores = np.array([1.0, 4.0, -2.0, 5.0])
    flag = np.array([False, True, True, False])
    ref = uplift_test(flag.astype(float), scores)
    assert uplift_test(flag, scores) == ref
    got, want = uplift_curve(flag, scores), uplift_curve(flag.astype(float), scores)
    for key in want:
        np.testing.assert_array_equal(got[key], want[key])


def test_uplift_reads_decimal_scores_as_floats() -> None:
    cate, scores = np.array([0.5, 2.0, 1.0, -1.0]), [1.0, 4.0, -2.0, 5.0]
    assert uplift_test(cate, _decimals(scores)) == uplift_test(cate, np.array(scores))
    got = uplift_curve(cate, _decimals(scores))
    want = uplift_curve(cate, np.array(scores))
    for key in want:
        np.testing.assert_array_equal(got[key], want[key])


def test_uplift_curve_by_hand() -> None:
    # ranked by cate the scores are g = (4, -2, 1, 5), mean 2; U(k/4) = cumsum / 4,
    # SE(k) = sqrt(cumsum (g - 2)^2) / 4 = sqrt(0, 4, 20, 21, 30) / 4, random = q * 2
    curve = uplift_curve(np.array([0.5, 2.0, 1.0, -1.0]), np.array([1.0, 4.0, -2.0, 5.0]),
                         points=4)
    assert set(curve) == {"q", "uplift", "low", "high", "random"}
    se = np.sqrt([0.0, 4.0, 20.0, 21.0, 30.0]) / 4
    assert curve["q"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert curve["uplift"].tolist() == [0.0, 1.0, 0.5, 0.75, 2.0]
    np.testing.assert_allclose(curve["low"], curve["uplift"] - Z_975 * se, rtol=1e-14)
    np.testing.assert_allclose(curve["high"], curve["uplift"] + Z_975 * se, rtol=1e-14)
    assert curve["low"][0] == 0.0 and curve["high"][0] == 0.0
    assert curve["random"].tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_uplift_curve_has_51_points_by_default() -> None:
    rng = np.random.default_rng(3)
    curve = uplift_curve(rng.normal(size=100), rng.normal(size=100))
    np.testing.assert_allclose(curve["q"], np.arange(51) / 50, rtol=0, atol=1e-15)
    assert len(curve["uplift"]) == 51


def test_uplift_curve_with_fewer_points_than_customers() -> None:
    # 4 intervals over 10 customers: k = round(0, 2.5, 5, 7.5, 10) = (0, 2, 5, 8, 10)
    cate = np.arange(10.0)[::-1]
    scores = np.arange(10.0)
    curve = uplift_curve(cate, scores, points=4)
    assert curve["q"].tolist() == [0.0, 0.2, 0.5, 0.8, 1.0]
    assert curve["uplift"].tolist() == [0.0, 0.1, 1.0, 2.8, 4.5]
