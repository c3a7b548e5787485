"""The recorded spending of a sequential design, its refusals, and the two-sided and
fixed-sample special cases, against formulas written out here."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from rollout.cli.app import as_cli_error
from rollout.errors import InputError
from rollout.planning.sequential import (
    SPENDING_DESCRIPTIONS,
    check_information_fractions,
    crossing_probabilities,
    efficacy_boundaries,
    sequential_design,
    spending_function,
)


def test_spending_record_of_a_beta_futility_design() -> None:
    d = sequential_design([0.5, 1.0], alpha=0.05, power=0.8, sided=2, spending="pocock")
    assert d.spending_record() == {
        "efficacy": "pocock",
        "efficacy_function": SPENDING_DESCRIPTIONS["pocock"],
        "alpha_per_side": 0.025,
        "sides": "symmetric: alpha/2 spent on each side",
        "futility": "beta",
        "futility_function": ("beta spending, Lan-DeMets Pocock-type: a(t) = a log(1 + (e - 1) t)"
                              " with beta in place of a; non-binding"),
        "futility_binding": False,
        "beta": pytest.approx(0.2),
        "harm": "efficacy boundary mirrored (-efficacy_z): stop when the effect is "
                "significantly negative",
        "method": "recursive numerical integration (Jennison & Turnbull 2000, ch. 19)",
        "drift": d.drift,
        "power_if_futility_ignored": d.power_if_futility_ignored,
        "power_if_futility_followed": d.power_if_futility_followed,
        "type1_if_futility_followed": d.type1_if_futility_followed,
    }
    assert SPENDING_DESCRIPTIONS["obf"] == ("Lan-DeMets O'Brien-Fleming-type: "
                                            "a(t) = 2 - 2 Phi(Phi^-1(1 - a/2) / sqrt(t))")


def test_spending_record_one_sided_without_futility() -> None:
    d = sequential_design([1 / 3, 2 / 3, 1.0], alpha=0.025, sided=1, futility="none")
    record = d.spending_record()
    assert record["sides"] == "one-sided (upper)" and record["alpha_per_side"] == 0.025
    assert record["futility"] == "none" and record["futility_function"] is None
    assert d.futility_z == [None, None, None]
    # without futility: power 0.8 exactly when ignoring it, and followed = ignored
    assert d.power_if_futility_ignored == pytest.approx(0.8, abs=1e-8)
    assert d.power_if_futility_followed == pytest.approx(0.8, abs=1e-8)
    assert d.type1_if_futility_followed == pytest.approx(0.025, abs=1e-6)
    assert d.alpha_spent == pytest.approx(list(spending_function("obf", 0.025,
                                                                 np.array([1 / 3, 2 / 3, 1]))))
    assert d.max_inflation == pytest.approx(
        (d.drift / (stats.norm.isf(0.025) + stats.norm.isf(0.2))) ** 2)


def test_a_single_look_is_the_fixed_design() -> None:
    d = sequential_design([1.0], alpha=0.05, power=0.9, sided=2)
    z = stats.norm.isf(0.025)
    assert d.efficacy_z == pytest.approx([z]) and d.harm_z == pytest.approx([-z])
    assert d.futility == "none" and d.futility_z == [None]
    assert d.drift == pytest.approx(z + stats.norm.isf(0.1))
    assert d.max_inflation == pytest.approx(1.0)
    assert d.alpha_spent == pytest.approx([0.05])
    assert d.information_fractions == [1.0] and d.alpha == 0.05 and d.sided == 2
    assert d.power == 0.9 and d.spending == "obf"


def test_two_sided_efficacy_spends_half_alpha_per_side() -> None:
    t = [0.5, 1.0]
    b = efficacy_boundaries(t, 0.05, sided=2, spending="obf")
    lo, up = crossing_probabilities(t, -b, b, 0.0)
    spent = np.diff(np.concatenate([[0.0], spending_function("obf", 0.025, np.array(t))]))
    np.testing.assert_allclose(up, spent, atol=1e-8)
    np.testing.assert_allclose(lo, spent, atol=1e-8)
    one = efficacy_boundaries(t, 0.025, sided=1, spending="obf")
    assert b[0] == pytest.approx(one[0], abs=1e-9)  # the first look does not see the other side


def test_spending_functions_by_formula() -> None:
    t = np.array([0.0, 0.2, 0.5, 1.0, 1.5])
    obf = spending_function("obf", 0.05, t)
    expected = np.where(t > 0, 2 - 2 * stats.norm.cdf(stats.norm.isf(0.025)
                                                      / np.sqrt(np.clip(t, 1e-300, 1))), 0.0)
    np.testing.assert_allclose(obf, expected, rtol=1e-12)
    pocock = spending_function("pocock", 0.05, t)
    np.testing.assert_allclose(pocock, 0.05 * np.log(1 + (np.e - 1) * np.clip(t, 0, 1)),
                               rtol=1e-12)
    with pytest.raises(InputError, match="spending must be obf or pocock, got 'hsd'") as info:
        spending_function("hsd", 0.05, t)
    assert as_cli_error(info.value).option == "--spending"


@pytest.mark.parametrize(("fractions", "message"), [
    ([], "give at least one look"),
    ([0.0, 1.0], "information fractions must be strictly increasing and positive, got "
                 "[0.0, 1.0]"),
    ([0.5, 0.5, 1.0], "information fractions must be strictly increasing and positive, got "
                      "[0.5, 0.5, 1.0]"),
    ([0.5, float("nan"), 1.0], "information fractions must be strictly increasing and "
                               "positive, got [0.5, nan, 1.0]"),
    ([0.5, 0.9], "information fractions must end at 1, got 0.9"),
])
def test_information_fraction_refusals(fractions, message) -> None:
    with pytest.raises(InputError) as info:
        check_information_fractions(fractions)
    assert info.value.message == message
    assert as_cli_error(info.value).option == "--information-fractions"


def test_fractions_within_rounding_of_one_end_exactly_at_one() -> None:
    assert check_information_fractions([0.5, 1 - 1e-12]).tolist() == [0.5, 1.0]


@pytest.mark.parametrize(("kwargs", "message", "option"), [
    ({"alpha": 0.5}, "alpha must be in (0, 0.5), got 0.5", "--alpha"),
    ({"alpha": 0.0}, "alpha must be in (0, 0.5), got 0", "--alpha"),
    ({"power": 1.0}, "power must be in (0, 1), got 1", "--power"),
    ({"power": 0.0}, "power must be in (0, 1), got 0", "--power"),
    ({"futility": "binding"}, "futility must be beta or none, got 'binding'", "--futility"),
])
def test_design_refusals(kwargs, message, option) -> None:
    with pytest.raises(InputError) as info:
        sequential_design([0.5, 1.0], **kwargs)
    assert info.value.message == message and as_cli_error(info.value).option == option
