"""Every recorded field of a fixed-sample sizing, and every refusal with its message and
option, so that a wrong record or a wrong error cannot pass silently."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from rollout.cli.app import as_cli_error
from rollout.errors import InputError
from rollout.planning.power import parse_allocation, solve_fixed


def test_t_sizing_records_its_t_critical_value_and_fields() -> None:
    s = solve_fixed(sd=10.0, mde=4.0, power=0.8, alpha=0.05, distribution="t")
    n_c, n_t = s.n_per_arm["control"], s.n_per_arm["treatment"]
    assert s.critical_value == pytest.approx(stats.t.isf(0.025, 2 * s.n_control_exact - 2))
    assert s.n_total == n_c + n_t and s.solved_for == "n" and s.distribution == "t"
    assert s.comparison_alpha == 0.05 and s.multiplicity is None and s.sided == 2
    assert (s.sd, s.sd_effective, s.r2, s.baseline) == (10.0, 10.0, None, None)
    assert s.allocation == {"treatment": 0.5, "control": 0.5}
    assert s.outcome_type == "continuous" and s.mde == 4.0 and s.power == 0.8
    assert s.to_dict()["n_per_arm"] == s.n_per_arm


def test_bonferroni_records_the_per_comparison_level() -> None:
    s = solve_fixed(sd=10.0, mde=4.0, power=0.8, alpha=0.05, n_treatment_arms=3,
                    multiplicity="bonferroni", distribution="z")
    assert s.comparison_alpha == pytest.approx(0.05 / 3)
    assert s.critical_value == pytest.approx(stats.norm.isf(0.05 / 6))
    assert s.multiplicity == "bonferroni" and s.distribution == "z"
    assert set(s.n_per_arm) == {"treatment_1", "treatment_2", "treatment_3", "control"}
    t_version = solve_fixed(sd=10.0, mde=4.0, power=0.8, alpha=0.05, n_treatment_arms=3,
                            multiplicity="bonferroni", distribution="t")
    df = 4 * t_version.n_control_exact - 4
    assert t_version.critical_value == pytest.approx(stats.t.isf(0.05 / 6, df))


def test_ancova_r2_shrinks_the_sd_and_the_size() -> None:
    plain = solve_fixed(sd=10.0, mde=2.0, power=0.8, distribution="z")
    ancova = solve_fixed(sd=10.0, mde=2.0, power=0.8, distribution="z", r2=0.36)
    assert ancova.sd_effective == pytest.approx(8.0) and ancova.r2 == 0.36
    assert ancova.n_control_exact == pytest.approx(0.64 * plain.n_control_exact, rel=1e-6)


def test_solving_power_and_mde_round_the_given_n() -> None:
    by_power = solve_fixed(sd=180, mde=34, n=440.4, power=None, distribution="z")
    assert by_power.n_per_arm == {"treatment": 440, "control": 440}
    assert by_power.solved_for == "power"
    se = 180 * math.sqrt(2 / 440.4)
    z = stats.norm.isf(0.025)
    assert by_power.power == pytest.approx(stats.norm.cdf(34 / se - z)
                                           + stats.norm.cdf(-34 / se - z), rel=1e-9)
    by_mde = solve_fixed(sd=180, n=440.6, power=0.8, mde=None, distribution="z",
                         allocation={"treatment": 0.6, "control": 0.4})
    assert by_mde.n_per_arm == {"treatment": round(440.6 * 1.5), "control": 441}
    se = 180 * math.sqrt(1 / (440.6 * 1.5) + 1 / 440.6)
    got = stats.norm.cdf(by_mde.mde / se - z) + stats.norm.cdf(-by_mde.mde / se - z)
    assert got == pytest.approx(0.8, abs=1e-9) and by_mde.solved_for == "mde"
    binary = solve_fixed(baseline=0.1, n=2000, power=0.8, mde=None, outcome_type="binary",
                         distribution="z")
    assert 0 < binary.mde < 0.9 and binary.baseline == 0.1 and binary.sd is None


def test_a_large_binary_mde_fails_cleanly() -> None:
    with pytest.raises(InputError, match="no effect within the rate's range") as info:
        solve_fixed(baseline=0.5, n=3, power=0.999, mde=None, outcome_type="binary")
    assert as_cli_error(info.value).option == "--n"


@pytest.mark.parametrize(("kwargs", "message", "option"), [
    ({"alpha": 0.0}, "alpha must be in (0, 0.5), got 0", "--alpha"),
    ({"alpha": 0.5}, "alpha must be in (0, 0.5), got 0.5", "--alpha"),
    ({"sided": 3}, "sided must be 1 or 2, got 3", "--sided"),
    ({"power": 1.0}, "power must be in (0, 1), got 1", "--power"),
    ({"power": 0.0}, "power must be in (0, 1), got 0", "--power"),
    ({"mde": 0.0}, "the MDE must be positive, got 0", "--mde"),
    ({"r2": 1.0}, "R^2 must be in [0, 1), got 1", "--r2"),
    ({"r2": -0.1}, "R^2 must be in [0, 1), got -0.1", "--r2"),
    ({"sd": None}, "a continuous outcome needs its standard deviation", "--sd"),
    ({"sd": -1.0}, "the outcome SD must be positive, got -1", "--sd"),
    ({"sd": math.inf}, "the outcome SD must be positive, got inf", "--sd"),
    ({"outcome_type": "binary", "baseline": None},
     "a binary outcome needs a baseline rate in (0, 1), got None", "--baseline"),
    ({"outcome_type": "binary", "baseline": 1.0},
     "a binary outcome needs a baseline rate in (0, 1), got 1.0", "--baseline"),
    ({"outcome_type": "binary", "baseline": 0.9, "mde": 0.2},
     "baseline 0.9 + MDE 0.2 is not a rate in (0, 1)", "--mde"),
    ({"multiplicity": "holm", "n_treatment_arms": 2},
     "multiplicity must be dunnett or bonferroni, got 'holm'", "--multiplicity"),
    ({"n_treatment_arms": 0}, "there must be at least one treatment arm", "--arms"),
    ({"n_treatment_arms": 2, "allocation": {"treatment_1": 0.2, "treatment_2": 0.3,
                                            "control": 0.5}},
     "treatment arms must have equal shares", "--allocation"),
])
def test_refusals_name_their_option(kwargs, message, option) -> None:
    args = {"sd": 10.0, "mde": 2.0, "power": 0.8} | kwargs
    with pytest.raises(InputError) as info:
        solve_fixed(**args)
    assert info.value.message == message
    assert as_cli_error(info.value).option == option


def test_n_below_two_is_refused() -> None:
    with pytest.raises(InputError) as info:
        solve_fixed(sd=10.0, n=1.5, power=0.8, mde=None)
    assert info.value.message == "n per arm must be at least 2, got 1.5"
    assert as_cli_error(info.value).option == "--n"


def test_exactly_two_of_n_mde_power() -> None:
    with pytest.raises(InputError) as info:
        solve_fixed(sd=10.0, mde=2.0, power=0.8, n=100)
    assert as_cli_error(info.value).option == "--n"
    assert "give exactly two of n, mde and power" in info.value.message
    assert "given: n, mde, power" in info.value.message


@pytest.mark.parametrize(("spec", "arms", "expected"), [
    (None, 1, {"treatment": 0.5, "control": 0.5}),
    ("", 2, {"treatment_1": 1 / 3, "treatment_2": 1 / 3, "control": 1 / 3}),
    (0.25, 2, {"treatment_1": 0.25, "treatment_2": 0.25, "control": 0.5}),
    ("0.7", 1, {"treatment": 0.7, "control": 0.3}),
    (" treatment = 0.6 , control=0.4 ", 1, {"treatment": 0.6, "control": 0.4}),
    ({"treatment": 3, "control": 1}, 1, None),
])
def test_parse_allocation(spec, arms, expected) -> None:
    if expected is None:
        with pytest.raises(InputError) as info:
            parse_allocation(spec, arms)
        assert as_cli_error(info.value).option == "--allocation"
        return
    assert parse_allocation(spec, arms) == pytest.approx(expected)


@pytest.mark.parametrize(("spec", "message"), [
    ("lots", "allocation 'lots' is neither a number nor 'arm=share,...'"),
    ("treatment=x,control=0.5", "allocation share 'treatment=x' is not a number"),
    ("treatment=0.5,holdout=0.5",
     "allocation must name exactly the arms ['treatment', 'control'], got ['holdout', "
     "'treatment']"),
    ("treatment=1.0,control=0.0", "allocation share of 'treatment' must be in (0, 1), got 1"),
    ("treatment=0.5,control=0.6", "allocation shares sum to 1.1, not 1"),
])
def test_parse_allocation_refusals(spec, message) -> None:
    with pytest.raises(InputError) as info:
        parse_allocation(spec)
    assert info.value.message == message and as_cli_error(info.value).option == "--allocation"


def test_parse_allocation_normalizes_within_tolerance() -> None:
    shares = parse_allocation({"treatment": 0.6000004, "control": 0.4})
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-15)
    assert shares["treatment"] == pytest.approx(0.6000004 / 1.0000004, rel=1e-12)


def test_power_curve_is_the_control_size_at_each_mde() -> None:
    from rollout.planning.power import power_curve
    curve = power_curve([2.0, 4.0], sd=10.0, power=0.8, alpha=0.05, distribution="z", n=999,
                        mde=1.0)
    expected = [solve_fixed(sd=10.0, mde=m, power=0.8, distribution="z").n_per_arm["control"]
                for m in (2.0, 4.0)]
    assert curve.tolist() == expected


def test_single_arm_critical_values() -> None:
    from rollout.planning.power import dunnett_critical_value
    assert dunnett_critical_value(1, 0.05) == pytest.approx(stats.norm.isf(0.025))
    assert dunnett_critical_value(1, 0.05, sided=1) == pytest.approx(stats.norm.isf(0.05))


def test_two_arm_dunnett_is_a_z_design_and_records_it() -> None:
    s = solve_fixed(sd=10.0, mde=3.0, power=0.8, n_treatment_arms=2, distribution="t")
    assert s.distribution == "z" and s.multiplicity == "dunnett" and s.alpha == 0.05
    assert s.comparison_alpha == 0.05
    by_power = solve_fixed(sd=10.0, mde=3.0, n=200.2, power=None, n_treatment_arms=2)
    assert by_power.n_per_arm == {"treatment_1": 200, "treatment_2": 200, "control": 200}


def test_binary_two_sided_power_by_the_formula() -> None:
    s = solve_fixed(baseline=0.2, mde=0.05, n=800, power=None, outcome_type="binary")
    p_c, p_t, n = 0.2, 0.25, 800
    pbar = (p_c + p_t) / 2
    sd0 = np.sqrt(pbar * (1 - pbar) * 2 / n)
    sd1 = np.sqrt(p_t * (1 - p_t) / n + p_c * (1 - p_c) / n)
    z = stats.norm.isf(0.025)
    expected = stats.norm.cdf((0.05 - z * sd0) / sd1) + stats.norm.cdf((-0.05 - z * sd0) / sd1)
    assert s.power == pytest.approx(expected, rel=1e-10)
    one = solve_fixed(baseline=0.2, mde=0.05, n=800, power=None, outcome_type="binary", sided=1)
    assert one.power == pytest.approx(stats.norm.cdf((0.05 - stats.norm.isf(0.05) * sd0) / sd1))


def test_t_power_with_unequal_allocation_records_its_df() -> None:
    s = solve_fixed(sd=10.0, mde=3.0, n=100, power=None, distribution="t",
                    allocation={"treatment": 0.6, "control": 0.4})
    df = 100 * 1.5 + 100 - 2
    assert s.critical_value == pytest.approx(stats.t.isf(0.025, df))
    assert s.power == pytest.approx(stats.nct.sf(stats.t.isf(0.025, df), df,
                                                 3 / (10 * np.sqrt(1 / 150 + 1 / 100)))
                                    + stats.nct.cdf(-stats.t.isf(0.025, df), df,
                                                    3 / (10 * np.sqrt(1 / 150 + 1 / 100))))


def test_boundary_inputs_that_are_allowed() -> None:
    assert solve_fixed(sd=10.0, n=2, power=0.5, mde=None, distribution="z").n_per_arm == {
        "treatment": 2, "control": 2}
    assert solve_fixed(sd=10.0, mde=2.0, power=0.8, r2=0.0).sd_effective == 10.0
    # a huge effect: two customers per arm already reach the power
    assert solve_fixed(sd=1.0, mde=100.0, power=0.8, distribution="z").n_per_arm == {
        "treatment": 2, "control": 2}
    # a small treatment share with n = 2 controls still gives the treatment arm one customer
    tiny = solve_fixed(sd=1.0, n=2, power=0.8, mde=None, distribution="z",
                       allocation={"treatment": 0.2, "control": 0.8})
    assert tiny.n_per_arm == {"treatment": 1, "control": 2}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"outcome_type": "binary", "baseline": 0.0},
     "a binary outcome needs a baseline rate in (0, 1), got 0.0"),
    ({"outcome_type": "binary", "baseline": 0.9, "mde": 0.1},
     "baseline 0.9 + MDE 0.1 is not a rate in (0, 1)"),
])
def test_rate_boundaries_are_refused(kwargs, message) -> None:
    with pytest.raises(InputError) as info:
        solve_fixed(**({"sd": 10.0, "mde": 2.0, "power": 0.8} | kwargs))
    assert info.value.message == message


def test_parse_allocation_details() -> None:
    assert parse_allocation("0.25", 2) == pytest.approx(
        {"treatment_1": 0.25, "treatment_2": 0.25, "control": 0.5})
    with pytest.raises(InputError) as info:
        parse_allocation("treatment=0.0,control=1.0")
    assert info.value.message == "allocation share of 'treatment' must be in (0, 1), got 0"
