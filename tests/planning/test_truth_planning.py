"""Sizing and boundaries against independent computations and published values.

Independent here means: statsmodels for power, scipy's multivariate normal CDF (not the
package's recursive integration) for group-sequential crossing probabilities, and spending
functions written out from their published formulas in this file.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower, TTestIndPower

from rollout.planning.power import solve_fixed
from rollout.planning.sequential import efficacy_boundaries, sequential_design

Z = stats.norm.ppf


# ---------------------------------------------------------------- sizes and achieved power

def _mde_for_control_n(n_control: float, ratio: float, power: float = 0.8,
                       alpha: float = 0.05) -> float:
    """The standardized effect whose z-test size is exactly ``n_control`` (sd = 1)."""
    return float((Z(1 - alpha / 2) + Z(power)) * math.sqrt(1 / (n_control * ratio)
                                                           + 1 / n_control))


@pytest.mark.parametrize(("raw", "ratio"), [(100.05, 1.0), (200.02, 1.5), (150.1, 0.5),
                                             (80.01, 2.0)])
def test_sizes_round_up_so_achieved_power_is_at_least_requested(raw, ratio) -> None:
    """Raw sizes with a small fractional part: rounding to nearest would lose power."""
    mde = _mde_for_control_n(raw, ratio)
    share_t = ratio / (1 + ratio)
    sizing = solve_fixed(sd=1.0, mde=mde, power=0.8, alpha=0.05, distribution="z",
                         allocation={"treatment": share_t, "control": 1 - share_t})
    # (the far tail of the two-sided test adds a sliver of power: the exact size is a hair
    # below the one-tail formula's, its fractional part still small)
    assert sizing.n_control_exact == pytest.approx(raw, abs=1e-3)
    n_c, n_t = sizing.n_per_arm["control"], sizing.n_per_arm["treatment"]
    assert n_c == math.ceil(raw)
    assert n_t == math.ceil(raw * ratio - 1e-9)
    achieved = NormalIndPower().power(mde, nobs1=n_t, alpha=0.05, ratio=n_c / n_t)
    assert achieved >= 0.8
    # rounded to nearest instead (down, for these fractional parts) the test falls short
    n_c_near, n_t_near = round(raw), round(raw * ratio)
    assert NormalIndPower().power(mde, nobs1=n_t_near, alpha=0.05,
                                  ratio=n_c_near / n_t_near) < 0.8


@pytest.mark.parametrize("ratio", [1.0, 1.5])
def test_t_test_sizes_reach_the_power_by_statsmodels(ratio) -> None:
    share_t = ratio / (1 + ratio)
    for mde in (0.2503, 0.31, 0.4441):
        sizing = solve_fixed(sd=1.0, mde=mde, power=0.8, alpha=0.05, distribution="t",
                             allocation={"treatment": share_t, "control": 1 - share_t})
        n_c, n_t = sizing.n_per_arm["control"], sizing.n_per_arm["treatment"]
        assert TTestIndPower().power(mde, nobs1=n_t, alpha=0.05, ratio=n_c / n_t) >= 0.8
        assert n_c == math.ceil(sizing.n_control_exact - 1e-9)


def _dunnett_by_mvn(rho: float, k: int, alpha: float) -> float:
    """Two-sided many-to-one critical value from scipy's multivariate normal CDF."""
    cov = np.full((k, k), rho) + (1 - rho) * np.eye(k)
    mvn = stats.multivariate_normal(mean=np.zeros(k), cov=cov)

    def coverage(c: float) -> float:
        return float(mvn.cdf(np.full(k, c), lower_limit=np.full(k, -c)))
    from scipy import optimize
    return float(optimize.brentq(lambda c: coverage(c) - (1 - alpha), 1.5, 4.0, xtol=1e-7))


@pytest.mark.parametrize(("k", "control_share"), [(2, 0.4), (3, 0.4), (2, 0.2)])
def test_unequal_allocation_dunnett_sizing_through_the_solver(k, control_share) -> None:
    shares = {f"treatment_{i + 1}": (1 - control_share) / k for i in range(k)}
    shares["control"] = control_share
    sizing = solve_fixed(sd=20.0, mde=3.0, power=0.8, alpha=0.05, n_treatment_arms=k,
                         allocation=shares, multiplicity="dunnett")
    ratio = shares["treatment_1"] / control_share
    rho = ratio / (1 + ratio)  # corr of two comparisons sharing the control
    crit = _dunnett_by_mvn(rho, k, 0.05)
    assert sizing.critical_value == pytest.approx(crit, abs=2e-4)
    n_c, n_t = sizing.n_per_arm["control"], sizing.n_per_arm["treatment_1"]
    assert all(sizing.n_per_arm[a] == n_t for a in shares if a != "control")
    se = 20.0 * math.sqrt(1 / n_t + 1 / n_c)
    achieved = stats.norm.cdf(3.0 / se - crit) + stats.norm.cdf(-3.0 / se - crit)
    assert achieved >= 0.8
    se_less = 20.0 * math.sqrt(1 / n_t + 1 / (n_c - 1))
    se_fewer_t = 20.0 * math.sqrt(1 / (n_t - 1) + 1 / n_c)
    # the exact solution lies within one customer per arm of the rounded sizes
    exact = sizing.n_control_exact
    assert n_c - 1 < exact <= n_c and n_t - 1 < exact * ratio <= n_t
    assert stats.norm.cdf(3.0 / max(se_less, se_fewer_t) - crit) < 0.8 + 1e-3


# ---------------------------------------------------------------- group-sequential boundaries

def _obf(level: float, t: np.ndarray) -> np.ndarray:
    """Lan-DeMets O'Brien-Fleming-type spending (gsDesign sfLDOF)."""
    return 2 - 2 * stats.norm.cdf(Z(1 - level / 2) / np.sqrt(t))


def _pocock(level: float, t: np.ndarray) -> np.ndarray:
    """Lan-DeMets Pocock-type spending (gsDesign sfLDPocock)."""
    return level * np.log(1 + (np.e - 1) * t)


SPENDING = {"obf": _obf, "pocock": _pocock}


def _cov(t: np.ndarray) -> np.ndarray:
    return np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))


def _box(mean: np.ndarray, cov: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    return float(stats.multivariate_normal(mean=mean, cov=cov, abseps=1e-9, releps=1e-9).cdf(
        upper, lower_limit=lower))


def _first_below(t, lower, upper, drift, k) -> float:
    """P(continue in (lower_j, upper_j) for j < k and Z_k < lower_k) by the MVN CDF."""
    mean = drift * np.sqrt(t[: k + 1])
    cov = _cov(t[: k + 1])
    lo = np.concatenate([lower[:k], [-np.inf]])
    up = np.concatenate([upper[:k], [lower[k]]])
    return _box(mean, cov, lo, up)


def _first_above(t, lower, upper, drift, k) -> float:
    mean = drift * np.sqrt(t[: k + 1])
    cov = _cov(t[: k + 1])
    lo = np.concatenate([lower[:k], [upper[k]]])
    up = np.concatenate([upper[:k], [np.inf]])
    return _box(mean, cov, lo, up)


def test_lan_demets_obf_unequal_spacing_published() -> None:
    # gsDesign::gsDesign(alpha = .025, k = 3, test.type = 1, sfu = sfLDOF,
    # timing = c(.5, .75, 1))$upper$bound = 2.962588 2.359018 2.014084
    # (printed in the gs_b() reference pages of gsDesign2 and gsdmvn).
    bounds = efficacy_boundaries([0.5, 0.75, 1.0], 0.025, sided=1, spending="obf")
    np.testing.assert_allclose(bounds, [2.962588, 2.359018, 2.014084], atol=2e-4)


@pytest.mark.parametrize("spending", ["obf", "pocock"])
@pytest.mark.parametrize("fractions", [[1 / 3, 2 / 3, 1.0], [0.5, 1.0], [0.3, 0.6, 0.8, 1.0]])
def test_futility_spends_beta_of_its_own_family_under_the_alternative(spending,
                                                                      fractions) -> None:
    """Non-binding beta-spending futility (gsDesign test.type = 4 with sfl = sfu): under the
    design drift, the chance of first falling below f_k equals the beta spent at look k by the
    same Lan-DeMets family; f_K = b_K; the efficacy bounds ignore futility."""
    t = np.array(fractions)
    design = sequential_design(fractions, alpha=0.025, power=0.9, sided=1, spending=spending)
    b = np.array(design.efficacy_z)
    f = np.array(design.futility_z, dtype=float)
    harm = np.array(design.harm_z)
    # efficacy bounds of a non-binding design are those of the design without futility
    no_fut = sequential_design(fractions, alpha=0.025, power=0.9, sided=1, spending=spending,
                               futility="none")
    np.testing.assert_allclose(b, no_fut.efficacy_z, atol=1e-9)
    # alpha: P(first above b_k under H0, futility ignored) = increments of the alpha spending
    alpha_inc = np.diff(np.concatenate([[0.0], SPENDING[spending](0.025, t)]))
    for k in range(t.size):
        assert _first_above(t, harm, b, 0.0, k) == pytest.approx(alpha_inc[k], abs=2e-6)
    # beta: the continuation region is (max(f, harm), b)
    floor = np.maximum(f, harm)
    beta_inc = np.diff(np.concatenate([[0.0], SPENDING[spending](0.1, t)]))
    for k in range(t.size - 1):
        got = _first_below(t, floor, b, design.drift, k)
        assert got == pytest.approx(beta_inc[k], abs=2e-5), (k, got, beta_inc[k])
    assert f[-1] == pytest.approx(b[-1])
    # total: power when futility is followed is 1 - beta (the drift solves it)
    power_followed = sum(_first_above(t, floor, b, design.drift, k) for k in range(t.size))
    assert power_followed == pytest.approx(0.9, abs=1e-4)
    assert design.power_if_futility_followed == pytest.approx(power_followed, abs=1e-4)
    # used as binding (trials stop at the futility bound), the type I error is below alpha
    binding_type1 = sum(_first_above(t, floor, b, 0.0, k) for k in range(t.size))
    assert design.type1_if_futility_followed == pytest.approx(binding_type1, abs=1e-5)
    assert binding_type1 < 0.025


def test_the_two_families_give_different_futility_bounds() -> None:
    """A design asked for Pocock-type spending must not get O'Brien-Fleming-type futility."""
    obf = sequential_design([1 / 3, 2 / 3, 1.0], alpha=0.025, power=0.9, sided=1,
                            spending="obf")
    pocock = sequential_design([1 / 3, 2 / 3, 1.0], alpha=0.025, power=0.9, sided=1,
                               spending="pocock")
    assert abs(obf.futility_z[0] - pocock.futility_z[0]) > 0.3
