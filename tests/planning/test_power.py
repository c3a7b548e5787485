"""Fixed-sample sizing against statsmodels, textbook tables and hand computation."""

from __future__ import annotations

import math

import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import power_proportions_2indep

from rollout.errors import InputError
from rollout.planning.power import dunnett_critical_value, parse_allocation, solve_fixed


def test_original_analysis_inputs_give_about_440_per_arm() -> None:
    # sigma 180, MDE 34, 80% power, two-sided 5%: 2 (z_.975 + z_.8)^2 180^2 / 34^2.
    z = solve_fixed(sd=180, mde=34, power=0.8, alpha=0.05, distribution="z")
    t = solve_fixed(sd=180, mde=34, power=0.8, alpha=0.05, distribution="t")
    hand = 2 * (stats.norm.isf(0.025) + stats.norm.isf(0.2)) ** 2 * 180**2 / 34**2
    # the formula leaves out the far tail (power to find an effect of the wrong sign)
    assert z.n_control_exact == pytest.approx(hand, rel=1e-5)
    assert z.n_per_arm == {"treatment": 440, "control": 440}
    assert t.n_per_arm["control"] in (440, 441)


@pytest.mark.parametrize("ratio", [1.0, 0.5, 7 / 3])
@pytest.mark.parametrize("alternative,sided", [("two-sided", 2), ("larger", 1)])
def test_t_and_z_sizes_equal_statsmodels(ratio: float, alternative: str, sided: int) -> None:
    effect = 34 / 180
    allocation = {"treatment": ratio / (1 + ratio), "control": 1 / (1 + ratio)}
    for solver, distribution in ((TTestIndPower(), "t"), (NormalIndPower(), "z")):
        expected = solver.solve_power(effect, power=0.8, alpha=0.05, ratio=ratio,
                                      alternative=alternative)
        ours = solve_fixed(sd=180, mde=34, power=0.8, alpha=0.05, sided=sided,
                           allocation=allocation, distribution=distribution)
        # statsmodels' nobs1 is our control arm, nobs2 = ratio * nobs1 the treatment arm.
        assert ours.n_control_exact == pytest.approx(expected, rel=1e-6)
        assert ours.n_per_arm["treatment"] == math.ceil(ratio * ours.n_control_exact - 1e-9)


@pytest.mark.parametrize("distribution", ["t", "z"])
def test_power_and_mde_equal_statsmodels(distribution: str) -> None:
    solver = TTestIndPower() if distribution == "t" else NormalIndPower()
    power = solve_fixed(sd=2.0, mde=0.5, n=100, power=None, distribution=distribution,
                        allocation="treatment=0.6,control=0.4").power
    assert power == pytest.approx(solver.power(0.25, 100, 0.05, ratio=1.5), abs=1e-9)
    mde = solve_fixed(sd=2.0, n=100, power=0.9, distribution=distribution).mde
    assert mde / 2.0 == pytest.approx(solver.solve_power(None, 100, 0.05, 0.9, 1.0), rel=1e-6)


@pytest.mark.parametrize("d,n", [(0.5, 64), (0.8, 26)])
def test_cohen_table(d: float, n: int) -> None:
    # Cohen (1988), Statistical Power Analysis, Table 2.4.1: n per group for the two-sample
    # t test, two-sided alpha .05, power .80.
    assert solve_fixed(sd=1.0, mde=d, power=0.8).n_per_arm["control"] == n


def test_binary_equals_statsmodels_and_fleiss_formula() -> None:
    # Fleiss, Levin & Paik (2003), eq. 4.14 without continuity correction, by hand.
    p_c, p_t = 0.20, 0.25
    pbar = (p_c + p_t) / 2
    za, zb = stats.norm.isf(0.025), stats.norm.isf(0.2)
    hand = (za * math.sqrt(2 * pbar * (1 - pbar))
            + zb * math.sqrt(p_c * (1 - p_c) + p_t * (1 - p_t))) ** 2 / (p_t - p_c) ** 2
    sizing = solve_fixed(baseline=p_c, mde=0.05, outcome_type="binary")
    assert sizing.n_control_exact == pytest.approx(hand, rel=1e-4)
    power = solve_fixed(baseline=p_c, mde=0.05, n=900, power=None, outcome_type="binary",
                        allocation="treatment=0.6,control=0.4").power
    expected = power_proportions_2indep(0.05, p_c, 900 * 1.5, ratio=1 / 1.5).power
    assert power == pytest.approx(expected, abs=1e-6)


def test_dunnett_critical_values_match_dunnett_table() -> None:
    # Dunnett (1964), Biometrics 20, Table II (two-sided) and Dunnett (1955) Table 1a
    # (one-sided), infinite degrees of freedom, alpha 0.05.
    for arms, value in ((2, 2.21), (3, 2.35), (4, 2.44)):
        assert dunnett_critical_value(arms, 0.05, sided=2) == pytest.approx(value, abs=0.005)
    assert dunnett_critical_value(2, 0.05, sided=1) == pytest.approx(1.92, abs=0.005)


def test_multi_arm_bonferroni_uses_alpha_over_k() -> None:
    bonferroni = solve_fixed(sd=180, mde=34, n_treatment_arms=3, multiplicity="bonferroni",
                             distribution="z")
    plain = solve_fixed(sd=180, mde=34, alpha=0.05 / 3, distribution="z")
    assert bonferroni.n_control_exact == pytest.approx(plain.n_control_exact, rel=1e-9)
    dunnett = solve_fixed(sd=180, mde=34, n_treatment_arms=3, multiplicity="dunnett")
    assert dunnett.n_control_exact < bonferroni.n_control_exact
    assert list(dunnett.n_per_arm) == ["treatment_1", "treatment_2", "treatment_3", "control"]


def test_known_r2_shrinks_n_exactly() -> None:
    base = solve_fixed(sd=180, mde=34, distribution="z")
    adjusted = solve_fixed(sd=180, mde=34, distribution="z", r2=0.3)
    assert adjusted.n_control_exact == pytest.approx(base.n_control_exact * 0.7, rel=1e-9)


def test_allocation_parsing() -> None:
    assert parse_allocation("0.7") == {"treatment": 0.7, "control": pytest.approx(0.3)}
    with pytest.raises(InputError, match="allocation"):
        parse_allocation("treatment=0.7,control=0.4")
    with pytest.raises(InputError, match="exactly the arms"):
        parse_allocation("a=0.5,control=0.5")


@pytest.mark.parametrize("kwargs,match", [
    ({"sd": 180, "mde": 34, "power": 1.2}, "power"),
    ({"sd": 180, "mde": 34, "alpha": 0.6}, "alpha"),
    ({"sd": 180, "mde": -1}, "MDE"),
    ({"sd": 0, "mde": 34}, "SD"),
    ({"sd": 180, "mde": 34, "n": 100}, "exactly two"),
    ({"sd": 180, "power": None}, "exactly two"),
    ({"baseline": 0.9, "mde": 0.2, "outcome_type": "binary"}, "rate"),
])
def test_bad_inputs_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        solve_fixed(**kwargs)


def test_dunnett_unequal_allocation_by_multivariate_normal() -> None:
    # Independent check: P(max |Z_i| < c) = 1 - alpha under the many-to-one correlation
    # rho = r / (1 + r), computed with scipy's multivariate normal CDF.
    import numpy as np

    arms, ratio = 3, 0.5
    c = dunnett_critical_value(arms, 0.05, sided=2, treatment_to_control=ratio)
    rho = ratio / (1 + ratio)
    cov = np.full((arms, arms), rho) + (1 - rho) * np.eye(arms)
    mvn = stats.multivariate_normal(np.zeros(arms), cov, abseps=1e-8, releps=1e-8)
    assert mvn.cdf(np.full(arms, c), lower_limit=np.full(arms, -c)) == pytest.approx(0.95,
                                                                                     abs=1e-5)
