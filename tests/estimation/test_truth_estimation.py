"""Checks of the average-effect machinery against hand computations and worlds built so that a
wiring mistake cannot hide behind double robustness."""

from __future__ import annotations

import numpy as np
import pytest

from rollout.estimation.ate import (
    EffectEstimate,
    aipw,
    effects_frame,
    methods_disagree,
    naive_difference,
)
from rollout.estimation.crossfit import cross_fit, cross_fit_outcomes, make_folds
from rollout.estimation.trimming import trimming_sensitivity

Z975 = 1.959963984540054


def test_trimmed_window_se_uses_the_kept_customers_only() -> None:
    # 8 customers, scores 0.02..0.98 evenly: the window [0.1, 0.9] keeps the middle 6.
    t = np.array([0, 1] * 4)
    y = np.array([1.0, 5.0, 2.0, 7.0, 3.0, 4.0, 0.5, 9.0])
    e = np.linspace(0.02, 0.98, 8)
    mu0, mu1 = np.full(8, 2.0), np.full(8, 5.0)
    row = trimming_sensitivity(y, t, e, mu0, mu1, windows=[0.1]).row("y", "0.1-0.9")
    keep = (e >= 0.1) & (e <= 0.9)
    assert row["n"] == 6 and row["n_treated"] == 3 and row["n_control"] == 3
    # AIPW score by hand on the kept six: mu1 - mu0 + T (y - mu1)/e - (1 - T)(y - mu0)/(1 - e)
    scores = []
    for yi, ti, ei in zip(y[keep], t[keep], e[keep], strict=True):
        scores.append(3.0 + (yi - 5.0) / ei if ti else 3.0 - (yi - 2.0) / (1 - ei))
    scores = np.array(scores)
    estimate = scores.mean()
    se = np.sqrt(np.sum((scores - estimate) ** 2) / 6) / np.sqrt(6)  # kept n = 6, not 8
    assert row["estimate"] == pytest.approx(estimate, rel=1e-12)
    assert row["se"] == pytest.approx(se, rel=1e-12)
    assert row["ci_low"] == pytest.approx(estimate - Z975 * se, rel=1e-9)
    assert row["ci_high"] == pytest.approx(estimate + Z975 * se, rel=1e-9)
    # the untrimmed row on all 8 customers (scores clipped at 0.01 do not move here)
    full = trimming_sensitivity(y, t, e, mu0, mu1, windows=[0.1]).row("y", "none")
    reference = aipw(y, t, e, mu0, mu1)
    assert full["n"] == 8
    assert full["estimate"] == pytest.approx(reference.estimate, rel=1e-12)
    assert full["se"] == pytest.approx(reference.se, rel=1e-12)


def test_trimming_clips_the_kept_scores_and_refuses_thin_arms() -> None:
    t = np.array([0, 1, 0, 1, 0, 1])
    y = np.arange(6.0)
    e = np.array([0.3, 0.4, 0.5, 0.6, 0.7, 0.95])
    res = trimming_sensitivity(y, t, e, np.zeros(6), np.ones(6), windows=[0.2, 0.45],
                               clip=0.35)
    row = res.row("y", "0.2-0.8")
    assert row["n"] == 5
    kept_e = np.clip(e[:5], 0.35, 0.65)
    scores = 1 + t[:5] * (y[:5] - 1) / kept_e - (1 - t[:5]) * y[:5] / (1 - kept_e)
    assert row["estimate"] == pytest.approx(scores.mean(), rel=1e-12)
    thin = res.row("y", "0.45-0.55")  # one control (e = 0.5) and no treated customer
    assert thin["n"] == 1 and np.isnan(thin["estimate"]) and np.isnan(thin["se"])


def _two_arm_world(seed: int, n: int = 1200):
    """Arms whose outcome functions differ sharply: y0 = 10 + 4 x0, y1 = 50 - 6 x0 + 3 x1."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    t = rng.integers(0, 2, n)
    f0 = 10 + 4 * X[:, 0]
    f1 = 50 - 6 * X[:, 0] + 3 * X[:, 1]
    y = np.where(t == 1, f1, f0) + rng.normal(scale=0.5, size=n)
    return X, t, y, f0, f1


def test_mu1_is_fitted_on_the_treated_and_mu0_on_the_controls() -> None:
    X, t, y, f0, f1 = _two_arm_world(3)
    folds = make_folds(t, 5, seed=3)
    fitted = cross_fit_outcomes(X, t, y, folds, seed=3)
    # every customer gets both predictions, each close to its own arm's outcome function
    # (the arms' functions differ by 40 on average, the noise SD is 0.5)
    assert np.sqrt(np.mean((fitted.mu0 - f0) ** 2)) < 1.0
    assert np.sqrt(np.mean((fitted.mu1 - f1) ** 2)) < 1.0
    # m is E[Y | x] over both arms: between the arm functions, weighted by the treated share
    share = t.mean()
    assert np.sqrt(np.mean((fitted.m - (share * f1 + (1 - share) * f0)) ** 2)) < 4.0


def test_cross_fit_trains_only_on_the_mask_and_other_folds() -> None:
    X = np.arange(12.0).reshape(-1, 1)
    y = np.arange(12.0) * 10
    folds = np.array([0, 1, 2] * 4)
    mask = np.arange(12) % 2 == 0
    seen = []

    def mean_model(X_train, y_train, X_test):
        seen.append(X_train[:, 0].copy())
        return np.full(len(X_test), y_train.mean())

    out = cross_fit(mean_model, X, y, folds, train_mask=mask)
    for k, train in enumerate(seen):
        assert set(train) == {i for i in range(12) if folds[i] != k and i % 2 == 0}
        assert np.allclose(out[folds == k], np.mean([10 * i for i in train]))


def test_trimming_table_records() -> None:
    t = np.array([0, 1] * 5)
    y = np.arange(10.0)
    e = np.linspace(0.05, 0.95, 10)
    res = trimming_sensitivity(y, t, e, np.zeros(10), np.ones(10), outcome="spend",
                               windows=[0.1, 0.3])
    table = res.to_pandas()
    assert list(table["trim"]) == ["none", "0.1-0.9", "0.3-0.7"]
    assert list(table["estimand"]) == [
        "ATE (all customers, clipped scores)",
        "ATE among customers with propensity in [0.1, 0.9]",
        "ATE among customers with propensity in [0.3, 0.7]"]
    assert (table["se_type"] == "influence function (cross-fitted, not refitted)").all()
    assert (table["outcome"] == "spend").all()
    keep = (e >= 0.3) & (e <= 0.7)
    row = res.row("spend", "0.3-0.7")
    assert row["n"] == keep.sum() and row["n_treated"] == (t[keep] == 1).sum()
    assert row["n_control"] == (t[keep] == 0).sum()
    summary = res.summary()
    assert list(summary.columns) == ["outcome", "trim", "n", "estimate", "se", "ci_low",
                                     "ci_high"]
    summary.loc[0, "n"] = -1  # a copy: the result is not changed through it
    assert res.table.loc[0, "n"] == 10
    table.loc[0, "n"] = -1
    assert res.table.loc[0, "n"] == 10


def test_effect_estimate_records() -> None:
    t = np.array([0, 1, 0, 1, 0, 1])
    y = np.array([1.0, 3.0, 2.0, 5.0, 1.5, 4.0])
    e = np.array([0.005, 0.5, 0.5, 0.5, 0.5, 0.999])
    est = aipw(y, t, e, np.full(6, 1.5), np.full(6, 4.0), clip=0.01, outcome="spend")
    doc = est.to_dict()
    assert doc["clip"] == [0.01, 0.99] and doc["n_clipped"] == 2
    assert doc["outcome"] == "spend" and doc["method"] == "aipw" and doc["estimand"] == "ATE"
    assert doc["se_type"] == "influence function (cross-fitted)"
    assert doc["estimand_note"] == "average effect over all customers (doubly robust)"
    assert est.n == 6
    frame = effects_frame([est, naive_difference(y, t, outcome="spend")])
    assert frame["clip"][0] == "0.01-0.99" and frame["clip"].isna()[1]
    assert list(frame["method"]) == ["aipw", "naive"]
    assert est.to_pandas().loc[0, "n_clipped"] == 2


def test_methods_disagree_only_on_non_overlapping_intervals() -> None:
    def est(method, low, high):
        return EffectEstimate("y", method, "ATE", (low + high) / 2, 1.0, low, high, 10, "IF")
    a, b, c = est("ipw", 0.0, 2.0), est("aipw", 2.0, 4.0), est("ato", 2.5, 5.0)
    naive = est("naive", 10.0, 12.0)
    nan_se = EffectEstimate("y", "dml", "ATO", 9.0, float("nan"), 8.0, 10.0, 10, "IF")
    assert methods_disagree([a, b, c, naive, nan_se]) == [("ipw", "ato")]
    assert methods_disagree([a, naive], exclude=()) == [("ipw", "naive")]


def test_naive_difference_uses_welch_df() -> None:
    from scipy import stats
    y = np.array([1.0, 2.0, 4.0, 3.0, 10.0, 14.0, 9.0])
    t = np.array([0, 0, 0, 0, 1, 1, 1])
    res = naive_difference(y, t)
    ref = stats.ttest_ind(y[t == 1], y[t == 0], equal_var=False)
    ci = ref.confidence_interval()
    assert (res.ci_low, res.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert res.se_type == "Welch (unequal variances, t interval)" and res.n == 7
