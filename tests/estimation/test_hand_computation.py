"""Every estimator against an independent hand computation on a small table.

The hand versions are written out separately with plain Python loops over customers, following
the textbook formulas, so a slip in the vectorized code cannot hide in a shared helper.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from sklearn.metrics import roc_auc_score

from rollout.estimation.ate import (
    aipw,
    ato_overlap,
    ato_weighting,
    dml_partialling_out,
    ipw_hajek,
    naive_difference,
    ols_adjusted,
)
from rollout.estimation.balance import covariate_balance, standardized_mean_difference
from rollout.estimation.propensity import auc_delong
from rollout.estimation.sensitivity import evalue_continuous, manski_bounds

TOL = 1e-9


@pytest.fixture
def table() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    n = 40
    x = rng.normal(size=(n, 2))
    e = np.clip(1 / (1 + np.exp(-x[:, 0])), 0.003, 0.997)
    e[0], e[1] = 0.004, 0.995  # two scores beyond the default clipping
    t = rng.binomial(1, e)
    t[0], t[1] = 1, 0
    y = 1 + x[:, 0] + 2 * t + rng.normal(size=n)
    mu0 = 1 + 0.9 * x[:, 0]
    mu1 = 3.1 + 1.1 * x[:, 0]
    m = e * mu1 + (1 - e) * mu0 + 0.05
    return {"x": x, "e": e, "t": t, "y": y, "mu0": mu0, "mu1": mu1, "m": m}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def test_ipw_matches_hand_computation(table) -> None:
    clip = 0.01
    y, t, e = table["y"], table["t"], table["e"]
    num1 = den1 = num0 = den0 = 0.0
    clipped = []
    moved = 0
    for yi, ti, ei in zip(y, t, e, strict=True):
        ec = min(max(ei, clip), 1 - clip)
        moved += ec != ei
        clipped.append(ec)
        if ti == 1:
            num1 += yi / ec
            den1 += 1 / ec
        else:
            num0 += yi / (1 - ec)
            den0 += 1 / (1 - ec)
    mu1, mu0 = num1 / den1, num0 / den0
    n = len(y)
    psi = []
    for yi, ti, ec in zip(y, t, clipped, strict=True):
        if ti == 1:
            psi.append((yi - mu1) / ec / (den1 / n))
        else:
            psi.append(-(yi - mu0) / (1 - ec) / (den0 / n))
    se = math.sqrt(sum(p * p for p in psi) / n / n)
    est = ipw_hajek(y, t, e, clip=clip)
    assert est.estimate == pytest.approx(mu1 - mu0, abs=TOL)
    assert est.se == pytest.approx(se, abs=TOL)
    assert est.n_clipped == moved == 2
    assert est.ci_low == pytest.approx(mu1 - mu0 - 1.959963984540054 * se, abs=TOL)


def test_ato_weighting_matches_hand_computation(table) -> None:
    y, t, e = table["y"], table["t"], table["e"]
    num1 = den1 = num0 = den0 = 0.0
    for yi, ti, ei in zip(y, t, e, strict=True):
        if ti == 1:
            num1 += (1 - ei) * yi
            den1 += 1 - ei
        else:
            num0 += ei * yi
            den0 += ei
    est = ato_weighting(y, t, e)
    assert est.estimate == pytest.approx(num1 / den1 - num0 / den0, abs=TOL)


def test_augmented_ato_matches_hand_computation(table) -> None:
    y, t, e, mu0, mu1 = table["y"], table["t"], table["e"], table["mu0"], table["mu1"]
    num = den = 0.0
    for yi, ti, ei, a0, a1 in zip(y, t, e, mu0, mu1, strict=True):
        weight = (ti - ei) ** 2
        num += weight * (a1 - a0)
        num += (1 - ei) * (yi - a1) if ti == 1 else -ei * (yi - a0)
        den += weight
    theta = num / den
    n = len(y)
    psi = []
    for yi, ti, ei, a0, a1 in zip(y, t, e, mu0, mu1, strict=True):
        residual = (1 - ei) * (yi - a1) if ti == 1 else -ei * (yi - a0)
        psi.append(((ti - ei) ** 2 * (a1 - a0 - theta) + residual) / (den / n))
    est = ato_overlap(y, t, e, mu0, mu1)
    assert est.estimate == pytest.approx(theta, abs=TOL)
    assert est.se == pytest.approx(math.sqrt(sum(p * p for p in psi) / n / n), abs=TOL)


def test_augmented_ato_equals_dml_with_arm_models(table) -> None:
    """Algebra: the efficient overlap-weighted score is partialling-out with m = e mu1+(1-e) mu0."""
    y, t, e, mu0, mu1 = table["y"], table["t"], table["e"], table["mu0"], table["mu1"]
    a = ato_overlap(y, t, e, mu0, mu1)
    b = dml_partialling_out(y, t, e, e * mu1 + (1 - e) * mu0)
    assert a.estimate == pytest.approx(b.estimate, abs=TOL)
    assert a.se == pytest.approx(b.se, abs=TOL)


def test_aipw_and_dml_match_hand_computation(table) -> None:
    y, t, e, mu0, mu1, m = (table[k] for k in ("y", "t", "e", "mu0", "mu1", "m"))
    clip = 0.01
    scores = []
    for yi, ti, ei, a0, a1 in zip(y, t, e, mu0, mu1, strict=True):
        ec = min(max(ei, clip), 1 - clip)
        scores.append(a1 - a0 + (ti * (yi - a1) / ec) - ((1 - ti) * (yi - a0) / (1 - ec)))
    ate = _mean(scores)
    se = math.sqrt(sum((s - ate) ** 2 for s in scores) / len(scores) ** 2)
    est = aipw(y, t, e, mu0, mu1, clip=clip)
    assert est.estimate == pytest.approx(ate, abs=TOL)
    assert est.se == pytest.approx(se, abs=TOL)

    sxy = sum((ti - ei) * (yi - mi) for yi, ti, ei, mi in zip(y, t, e, m, strict=True))
    sxx = sum((ti - ei) ** 2 for ti, ei in zip(t, e, strict=True))
    theta = sxy / sxx
    n = len(y)
    j = sxx / n
    psi2 = [((ti - ei) * (yi - mi - theta * (ti - ei)) / j) ** 2
            for yi, ti, ei, mi in zip(y, t, e, m, strict=True)]
    est = dml_partialling_out(y, t, e, m)
    assert est.estimate == pytest.approx(theta, abs=TOL)
    assert est.se == pytest.approx(math.sqrt(sum(psi2) / n / n), abs=TOL)


def test_smd_matches_hand_computation(table) -> None:
    x, t, e = table["x"], table["t"], table["e"]
    for j in range(x.shape[1]):
        xs = x[:, j].tolist()
        treated = [v for v, ti in zip(xs, t, strict=True) if ti == 1]
        control = [v for v, ti in zip(xs, t, strict=True) if ti == 0]

        def var(values: list[float]) -> float:
            mean = _mean(values)
            return sum((v - mean) ** 2 for v in values) / (len(values) - 1)

        pooled = math.sqrt((var(treated) + var(control)) / 2)
        raw = (_mean(treated) - _mean(control)) / pooled
        w1 = [(v, 1 / ei) for v, ti, ei in zip(xs, t, e, strict=True) if ti == 1]
        w0 = [(v, 1 / (1 - ei)) for v, ti, ei in zip(xs, t, e, strict=True) if ti == 0]
        wmean1 = sum(v * w for v, w in w1) / sum(w for _, w in w1)
        wmean0 = sum(v * w for v, w in w0) / sum(w for _, w in w0)
        weighted = (wmean1 - wmean0) / pooled
        assert standardized_mean_difference(x[:, j], t) == pytest.approx(raw, abs=TOL)
        balance = covariate_balance(x, t, e, ["a", "b"])
        assert balance.table.loc[j, "smd_unweighted"] == pytest.approx(raw, abs=TOL)
        assert balance.table.loc[j, "smd_weighted"] == pytest.approx(weighted, abs=TOL)


def test_naive_matches_scipy_welch(table) -> None:
    y, t = table["y"], table["t"]
    est = naive_difference(y, t)
    ref = stats.ttest_ind(y[t == 1], y[t == 0], equal_var=False)
    assert est.estimate / est.se == pytest.approx(ref.statistic, abs=TOL)
    ci = ref.confidence_interval(0.95)
    assert (est.ci_low, est.ci_high) == pytest.approx((ci.low, ci.high), abs=TOL)


def test_ols_matches_statsmodels_hc3(table) -> None:
    x, t, y = table["x"], table["t"], table["y"]
    design = sm.add_constant(np.column_stack([t, x]))
    ref = sm.OLS(y, design).fit(cov_type="HC3")
    est = ols_adjusted(y, t, x)
    assert est.estimate == pytest.approx(ref.params[1], abs=TOL)
    assert est.se == pytest.approx(ref.bse[1], abs=TOL)


def test_delong_matches_brute_force_placements() -> None:
    rng = np.random.default_rng(5)
    labels = rng.binomial(1, 0.4, size=60)
    scores = np.round(rng.normal(size=60) + labels, 1)  # rounding creates ties
    pos, neg = scores[labels == 1], scores[labels == 0]

    def kernel(a: float, b: float) -> float:
        return 1.0 if a > b else 0.5 if a == b else 0.0

    v10 = [_mean([kernel(p, q) for q in neg]) for p in pos]
    v01 = [_mean([kernel(p, q) for p in pos]) for q in neg]
    auc = _mean(v10)
    s10 = sum((v - auc) ** 2 for v in v10) / (len(v10) - 1)
    s01 = sum((v - auc) ** 2 for v in v01) / (len(v01) - 1)
    result = auc_delong(labels, scores)
    assert result.auc == pytest.approx(auc, abs=TOL)
    assert result.auc == pytest.approx(roc_auc_score(labels, scores), abs=TOL)
    assert result.se == pytest.approx(math.sqrt(s10 / len(pos) + s01 / len(neg)), abs=TOL)
    assert result.ci_low < auc < result.ci_high <= 1


def test_manski_bounds_by_hand() -> None:
    y = np.array([5.0, 7.0, 1.0, 9.0, 12.0])
    t = np.array([1, 0, 0, 1, 1])
    low, high = 0.0, 10.0
    p1 = 3 / 5
    mean1 = (5 + 9 + 10) / 3   # 12 is clipped to the declared maximum
    mean0 = (7 + 1) / 2
    lower = (mean1 * p1 + low * (1 - p1)) - (mean0 * (1 - p1) + high * p1)
    upper = (mean1 * p1 + high * (1 - p1)) - (mean0 * (1 - p1) + low * p1)
    bounds = manski_bounds(y, t, low, high)
    assert bounds.lower == pytest.approx(lower, abs=TOL)
    assert bounds.upper == pytest.approx(upper, abs=TOL)
    assert bounds.upper - bounds.lower == pytest.approx(high - low, abs=TOL)
    assert bounds.n_outside == 1
    assert bounds.straddles_zero


def test_evalue_published_formula() -> None:
    # VanderWeele & Ding (2017): RR = 3.9 gives an E-value of 7.26.
    sd = 1.0
    d = math.log(3.9) / 0.91
    ev = evalue_continuous(d, d * 0.5, d * 1.5, sd)
    assert ev.rr == pytest.approx(3.9, abs=1e-12)
    assert ev.evalue_estimate == pytest.approx(3.9 + math.sqrt(3.9 * 2.9), abs=TOL)
    assert round(ev.evalue_estimate, 2) == 7.26
    # a protective effect uses 1/RR; an interval that includes zero needs no confounding
    neg = evalue_continuous(-d, -1.5 * d, 0.1, sd)
    assert neg.evalue_estimate == pytest.approx(ev.evalue_estimate, abs=TOL)
    assert neg.evalue_ci == 1.0
