"""The full record of every average-effect estimator, field by field, against hand computations.

Each test calls an estimator with its defaults (no ``outcome=``, no ``clip=``) on a small table
and compares *every* field of the returned :class:`EffectEstimate` with a value written out here:
the labels and notes literally, the numbers from plain Python loops over customers following the
textbook formulas (Welch-Satterthwaite df, HC3 with the leverages computed one customer at a time,
the Hajek and overlap-weighted means with their sandwich SEs, the residual-on-residual slope).
The edge cases are the ones the code has a branch or a conversion for: no variance in an arm,
a customer whose leverage is one, and inputs that are not float64 (float32 scores, as boosted
libraries return them; integer and boolean treatment vectors).
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
from scipy import stats

from rollout.estimation.ate import (
    EffectEstimate,
    aipw,
    ato_overlap,
    ato_weighting,
    dml_partialling_out,
    ipw_hajek,
    methods_disagree,
    naive_difference,
    ols_adjusted,
)

Z975 = 1.959963984540054
REL = 1e-12

NOTE_NAIVE = ("the raw difference of arm means; a causal effect only under random assignment, "
              "biased when targeting depends on customer characteristics")
NOTE_IPW = ("average effect over all customers; relies on the clipped propensity weights, "
            "so it is biased toward the overlap population when scores were clipped")
NOTE_AIPW = "average effect over all customers (doubly robust)"
NOTE_OLS = ("equals the ATE when the effect is constant; when effects vary, a weighted average "
            "of effects with weights the residual variance of treatment given the covariates")
NOTE_DML = ("partialling-out targets E[e(1-e) tau(x)] / E[e(1-e)] when effects vary (the ATO); "
            "equals the ATE only when the effect is constant")
NOTE_ATO = "average effect in the overlap population, each customer weighted by e(1-e)"

T = [1, 0, 1, 0, 1, 1, 0, 0, 1, 0]
Y = [12.37, 7.19, 14.03, 9.58, 11.71, 16.29, 6.02, 8.77, 13.55, 10.06]
E = [0.004, 0.31, 0.62, 0.27, 0.55, 0.83, 0.993, 0.41, 0.71, 0.38]  # two beyond the default clip
X1 = [0.31, -1.2, 0.77, -0.45, 0.12, 1.63, -0.08, -0.91, 0.58, 0.24]
X2 = [1.1, 0.4, -0.7, 2.3, 0.05, -1.4, 0.9, 0.6, -0.2, 1.7]


def _approx(value: float) -> object:
    return pytest.approx(value, rel=REL, abs=REL)


def check_record(est: EffectEstimate, **expected: object) -> None:
    """Every field of ``est`` is ``expected``: text, counts and None exactly, floats to 1e-12."""
    names = {f.name for f in dataclasses.fields(est)}
    assert set(expected) == names, "the check must name every field of the record"
    for name, want in expected.items():
        got = getattr(est, name)
        if isinstance(want, float):
            assert isinstance(got, float), name
            assert got == _approx(want), name
        else:
            assert got == want, name
            assert type(got) is type(want), name


def interval(estimate: float, se: float, critical: float = Z975) -> dict[str, float]:
    return {"estimate": estimate, "se": se, "ci_low": estimate - critical * se,
            "ci_high": estimate + critical * se}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _var(values: list[float]) -> float:
    mean = _mean(values)
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)


def _mu0(i: int) -> float:
    return 1.0 + 0.9 * X1[i] - 0.2 * X2[i]


def _mu1(i: int) -> float:
    return 3.1 + 1.1 * X1[i] - 0.1 * X2[i]


def arrays() -> dict[str, np.ndarray]:
    n = len(Y)
    mu0 = np.array([_mu0(i) for i in range(n)])
    mu1 = np.array([_mu1(i) for i in range(n)])
    e = np.array(E)
    return {"y": np.array(Y), "t": np.array(T), "e": e, "x": np.column_stack([X1, X2]),
            "mu0": mu0, "mu1": mu1, "m": e * mu1 + (1 - e) * mu0 + 0.05}


# --- naive --------------------------------------------------------------------------------------

def _welch_by_hand(y: list[float], t: list[int]) -> tuple[float, float, float]:
    y1 = [v for v, ti in zip(y, t, strict=True) if ti == 1]
    y0 = [v for v, ti in zip(y, t, strict=True) if ti == 0]
    v1, v0 = _var(y1) / len(y1), _var(y0) / len(y0)
    se = math.sqrt(v1 + v0)
    df = (v1 + v0) ** 2 / (v1**2 / (len(y1) - 1) + v0**2 / (len(y0) - 1))
    return _mean(y1) - _mean(y0), se, df


def _naive_expected(estimate: float, se: float, critical: float, n: int) -> dict[str, object]:
    return dict(outcome="y", method="naive", estimand="difference in means",
                **interval(estimate, se, critical), n=n,
                se_type="Welch (unequal variances, t interval)", estimand_note=NOTE_NAIVE,
                n_clipped=None, clip=None)


def test_naive_record_with_the_welch_satterthwaite_t_interval() -> None:
    estimate, se, df = _welch_by_hand(Y, T)
    assert 7 < df < 8  # neither arm's n - 1 nor the pooled n - 2: the df is really Welch's
    q = float(stats.t.ppf(0.975, df))
    check_record(naive_difference(np.array(Y), np.array(T)),
                 **_naive_expected(estimate, se, q, len(Y)))


def test_naive_float32_outcome_is_computed_in_float64() -> None:
    y32 = np.array(Y, dtype=np.float32)
    y64 = [float(v) for v in y32]  # the same numbers, exactly, as doubles
    estimate, se, df = _welch_by_hand(y64, T)
    q = float(stats.t.ppf(0.975, df))
    check_record(naive_difference(y32, np.array(T)), **_naive_expected(estimate, se, q, len(Y)))


def test_naive_without_variance_in_either_arm_has_a_zero_width_interval() -> None:
    y = np.array([5.0, 2.0, 5.0, 2.0, 5.0])
    t = np.array([1, 0, 1, 0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0/0 for the df when there is nothing to estimate
        est = naive_difference(y, t)
    check_record(est, **_naive_expected(3.0, 0.0, Z975, 5))
    assert est.ci_low == est.ci_high == 3.0


def test_naive_without_variance_in_one_arm_uses_the_other_arms_df() -> None:
    y = [5.0, 2.0, 5.0, 3.5, 5.0, 6.0]
    t = [1, 0, 1, 0, 1, 0]
    v0 = _var([2.0, 3.5, 6.0]) / 3
    se = math.sqrt(v0)
    q = float(stats.t.ppf(0.975, 2))  # Welch-Satterthwaite reduces to n0 - 1 = 2
    check_record(naive_difference(np.array(y), np.array(t, dtype=bool)),
                 **_naive_expected(5.0 - (2.0 + 3.5 + 6.0) / 3, se, q, 6))


# --- Hajek IPW ----------------------------------------------------------------------------------

def _hajek_by_hand(y: list[float], t: list[int], e: list[float],
                   clip: float) -> tuple[float, float, int]:
    clipped = [min(max(ei, clip), 1 - clip) for ei in e]
    moved = sum(c != ei for c, ei in zip(clipped, e, strict=True))
    w1 = [ti / c for ti, c in zip(t, clipped, strict=True)]
    w0 = [(1 - ti) / (1 - c) for ti, c in zip(t, clipped, strict=True)]
    mu1 = sum(w * v for w, v in zip(w1, y, strict=True)) / sum(w1)
    mu0 = sum(w * v for w, v in zip(w0, y, strict=True)) / sum(w0)
    m1, m0 = _mean(w1), _mean(w0)
    psi = [a * (v - mu1) / m1 - b * (v - mu0) / m0 for a, b, v in zip(w1, w0, y, strict=True)]
    n = len(y)
    return mu1 - mu0, math.sqrt(sum(p * p for p in psi) / n / n), moved


def _ipw_expected(estimate: float, se: float, moved: int) -> dict[str, object]:
    return dict(outcome="y", method="ipw", estimand="ATE", **interval(estimate, se), n=len(Y),
                se_type="influence function (Hajek; propensity treated as known)",
                estimand_note=NOTE_IPW, n_clipped=moved, clip=(0.01, 0.99))


def test_ipw_record_with_the_default_clip_and_the_hajek_sandwich_se() -> None:
    estimate, se, moved = _hajek_by_hand(Y, T, E, 0.01)
    assert moved == 2
    est = ipw_hajek(np.array(Y), np.array(T, dtype=bool), np.array(E))
    check_record(est, **_ipw_expected(estimate, se, moved))
    assert est.to_dict()["clip"] == [0.01, 0.99]


def test_ipw_float32_scores_are_clipped_in_float64() -> None:
    """A boosted library's float32 score below the clip becomes exactly 0.01, not float32(0.01)."""
    e32 = np.array(E, dtype=np.float32)
    estimate, se, moved = _hajek_by_hand(Y, T, [float(v) for v in e32], 0.01)
    check_record(ipw_hajek(np.array(Y), np.array(T), e32), **_ipw_expected(estimate, se, moved))


def test_ipw_float32_outcome_is_computed_in_float64() -> None:
    """With numpy 1.x value-based casting ``float32 array - float64 scalar`` stays float32, so an
    outcome read as float32 must be converted first; numpy 2 promotes it either way."""
    y32 = np.array(Y, dtype=np.float32)
    estimate, se, moved = _hajek_by_hand([float(v) for v in y32], T, E, 0.01)
    check_record(ipw_hajek(y32, np.array(T), np.array(E)), **_ipw_expected(estimate, se, moved))


# --- AIPW ---------------------------------------------------------------------------------------

def test_aipw_record_with_the_default_clip() -> None:
    a = arrays()
    scores = []
    for i in range(len(Y)):
        ec = min(max(E[i], 0.01), 0.99)
        scores.append(_mu1(i) - _mu0(i) + T[i] * (Y[i] - _mu1(i)) / ec
                      - (1 - T[i]) * (Y[i] - _mu0(i)) / (1 - ec))
    estimate = _mean(scores)
    se = math.sqrt(sum((s - estimate) ** 2 for s in scores) / len(Y) ** 2)
    check_record(aipw(a["y"], a["t"], a["e"], a["mu0"], a["mu1"]),
                 outcome="y", method="aipw", estimand="ATE", **interval(estimate, se), n=len(Y),
                 se_type="influence function (cross-fitted)", estimand_note=NOTE_AIPW,
                 n_clipped=2, clip=(0.01, 0.99))


# --- OLS with HC3 -------------------------------------------------------------------------------

def _hc3_by_hand(y: list[float], rows: list[list[float]]) -> tuple[float, float]:
    """beta = (X'X)^-1 X'y; HC3: (X'X)^-1 [sum_i x_i x_i' r_i^2 / (1 - h_i)^2] (X'X)^-1."""
    p = len(rows[0])
    xtx = [[sum(r[a] * r[b] for r in rows) for b in range(p)] for a in range(p)]
    inv = np.linalg.inv(np.array(xtx)).tolist()
    xty = [sum(r[a] * v for r, v in zip(rows, y, strict=True)) for a in range(p)]
    beta = [sum(inv[a][b] * xty[b] for b in range(p)) for a in range(p)]
    meat = [[0.0] * p for _ in range(p)]
    for r, v in zip(rows, y, strict=True):
        resid = v - sum(b * x for b, x in zip(beta, r, strict=True))
        h = sum(r[a] * inv[a][b] * r[b] for a in range(p) for b in range(p))
        w = resid**2 / (1 - h) ** 2
        for a in range(p):
            for b in range(p):
                meat[a][b] += w * r[a] * r[b]
    var = sum(inv[1][a] * meat[a][b] * inv[b][1] for a in range(p) for b in range(p))
    return beta[1], math.sqrt(var)


def _ols_expected(estimate: float, se: float, n: int) -> dict[str, object]:
    return dict(outcome="y", method="ols", estimand="variance-weighted average effect",
                **interval(estimate, se), n=n, se_type="HC3 robust", estimand_note=NOTE_OLS,
                n_clipped=None, clip=None)


def test_ols_record_with_hc3_by_the_textbook_formula() -> None:
    rows = [[1.0, float(T[i]), X1[i], X2[i]] for i in range(len(Y))]
    estimate, se = _hc3_by_hand(Y, rows)
    a = arrays()
    check_record(ols_adjusted(a["y"], a["t"], a["x"]), **_ols_expected(estimate, se, len(Y)))


def test_ols_integer_outcome_boolean_treatment_and_integer_covariates() -> None:
    y = [3, 9, 4, 1, 12, 8, 2, 7, 11, 5]
    rows = [[1.0, float(T[i]), float(round(10 * X1[i]))] for i in range(len(y))]
    estimate, se = _hc3_by_hand([float(v) for v in y], rows)
    x_int = np.array([[round(10 * v)] for v in X1], dtype=np.int64)
    check_record(ols_adjusted(np.array(y), np.array(T, dtype=bool), x_int),
                 **_ols_expected(estimate, se, len(y)))


def test_ols_a_customer_alone_in_a_cell_has_leverage_one_and_adds_nothing_to_hc3() -> None:
    """Customers 0 and 1 each own a dummy: they are fitted exactly (leverage 1, residual 0), so
    their HC3 term 0/0 must count as nothing; the effect and its SE are those of the other eight
    customers without the dummies. Without the floor on 1 - h the term is inf or nan."""
    n = len(Y)
    d0 = [1.0 if i == 0 else 0.0 for i in range(n)]
    d1 = [1.0 if i == 1 else 0.0 for i in range(n)]
    x = np.column_stack([X1, d0, d1])
    rest = range(2, n)
    estimate, se = _hc3_by_hand([Y[i] for i in rest], [[1.0, float(T[i]), X1[i]] for i in rest])
    est = ols_adjusted(np.array(Y), np.array(T), x)
    assert math.isfinite(est.se)
    check_record(est, **_ols_expected(estimate, se, n))


# --- DML partialling-out ------------------------------------------------------------------------

def test_dml_record_with_the_residual_on_residual_slope_and_its_se() -> None:
    a = arrays()
    m = a["m"].tolist()
    rt = [T[i] - E[i] for i in range(len(Y))]
    ry = [Y[i] - m[i] for i in range(len(Y))]
    sxy = sum(u * v for u, v in zip(rt, ry, strict=True))
    sxx = sum(u * u for u in rt)
    theta = sxy / sxx
    n = len(Y)
    j = sxx / n
    psi = [u * (v - theta * u) / j for u, v in zip(rt, ry, strict=True)]
    se = math.sqrt(sum(p * p for p in psi) / n / n)
    check_record(dml_partialling_out(a["y"], a["t"], a["e"], a["m"]),
                 outcome="y", method="dml", estimand="overlap-weighted average effect (ATO)",
                 **interval(theta, se), n=n,
                 se_type="influence function (Neyman-orthogonal score, cross-fitted)",
                 estimand_note=NOTE_DML, n_clipped=None, clip=None)


# --- overlap weighting --------------------------------------------------------------------------

def _ato_weighting_by_hand(e: list[float], y: list[float] = Y) -> tuple[float, float]:
    w1 = [ti * (1 - ei) for ti, ei in zip(T, e, strict=True)]
    w0 = [(1 - ti) * ei for ti, ei in zip(T, e, strict=True)]
    mu1 = sum(w * v for w, v in zip(w1, y, strict=True)) / sum(w1)
    mu0 = sum(w * v for w, v in zip(w0, y, strict=True)) / sum(w0)
    m1, m0 = _mean(w1), _mean(w0)
    psi = [a * (v - mu1) / m1 - b * (v - mu0) / m0 for a, b, v in zip(w1, w0, y, strict=True)]
    n = len(Y)
    return mu1 - mu0, math.sqrt(sum(p * p for p in psi) / n / n)


def _ato_weighting_expected(estimate: float, se: float) -> dict[str, object]:
    return dict(outcome="y", method="ato", estimand="ATO", **interval(estimate, se), n=len(Y),
                se_type="influence function (sandwich; propensity treated as known)",
                estimand_note=NOTE_ATO, n_clipped=None, clip=None)


def test_ato_weighting_record_with_weights_e_one_minus_e_and_the_sandwich_se() -> None:
    estimate, se = _ato_weighting_by_hand(E)
    check_record(ato_weighting(np.array(Y), np.array(T), np.array(E)),
                 **_ato_weighting_expected(estimate, se))


def test_ato_weighting_float32_scores_are_weighted_in_float64() -> None:
    e32 = np.array(E, dtype=np.float32)
    estimate, se = _ato_weighting_by_hand([float(v) for v in e32])
    check_record(ato_weighting(np.array(Y), np.array(T, dtype=bool), e32),
                 **_ato_weighting_expected(estimate, se))


def test_ato_weighting_float32_outcome_is_computed_in_float64() -> None:
    """As for IPW: ``y - mu1`` with a float64 scalar mean stays float32 under numpy 1.x."""
    y32 = np.array(Y, dtype=np.float32)
    estimate, se = _ato_weighting_by_hand(E, [float(v) for v in y32])
    check_record(ato_weighting(y32, np.array(T), np.array(E)),
                 **_ato_weighting_expected(estimate, se))


def _ato_overlap_by_hand(e: list[float]) -> tuple[float, float]:
    num = den = 0.0
    for i, ei in enumerate(e):
        num += (T[i] - ei) ** 2 * (_mu1(i) - _mu0(i))
        num += (1 - ei) * (Y[i] - _mu1(i)) if T[i] == 1 else -ei * (Y[i] - _mu0(i))
        den += (T[i] - ei) ** 2
    theta = num / den
    n = len(Y)
    psi = []
    for i, ei in enumerate(e):
        residual = (1 - ei) * (Y[i] - _mu1(i)) if T[i] == 1 else -ei * (Y[i] - _mu0(i))
        psi.append(((T[i] - ei) ** 2 * (_mu1(i) - _mu0(i) - theta) + residual) / (den / n))
    return theta, math.sqrt(sum(p * p for p in psi) / n / n)


def _ato_overlap_expected(estimate: float, se: float) -> dict[str, object]:
    return dict(outcome="y", method="ato", estimand="ATO", **interval(estimate, se), n=len(Y),
                se_type="influence function (augmented overlap weighting, cross-fitted)",
                estimand_note=NOTE_ATO, n_clipped=None, clip=None)


def test_ato_overlap_record_by_hand() -> None:
    a = arrays()
    estimate, se = _ato_overlap_by_hand(E)
    check_record(ato_overlap(a["y"], a["t"], a["e"], a["mu0"], a["mu1"]),
                 **_ato_overlap_expected(estimate, se))


def test_ato_overlap_float32_scores_are_weighted_in_float64() -> None:
    a = arrays()
    e32 = np.array(E, dtype=np.float32)
    estimate, se = _ato_overlap_by_hand([float(v) for v in e32])
    check_record(ato_overlap(a["y"], a["t"], e32, a["mu0"], a["mu1"]),
                 **_ato_overlap_expected(estimate, se))


# --- disagreement -------------------------------------------------------------------------------

def test_intervals_that_touch_do_not_disagree_in_either_order() -> None:
    def est(method: str, low: float, high: float) -> EffectEstimate:
        return EffectEstimate("y", method, "ATE", (low + high) / 2, 1.0, low, high, 10, "IF")

    low, high = est("ipw", 0.0, 2.0), est("ato", 2.0, 4.0)
    assert methods_disagree([low, high]) == []
    assert methods_disagree([high, low]) == []
    apart = est("dml", 2.0 + 1e-9, 5.0)
    assert methods_disagree([apart, low]) == [("dml", "ipw")]
    assert methods_disagree([low, apart]) == [("ipw", "dml")]
