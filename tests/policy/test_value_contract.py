"""Contract of the policy value functions: masks, small samples, ROI edges and input types.

Values and SEs are recomputed by hand from the profit scores (mean of pi x score, and the sample
SD with n - 1 over sqrt(n)), never by calling the code under test twice.
"""

from __future__ import annotations

import math
import warnings
from decimal import Decimal

import numpy as np
import pytest

from rollout.policy.value import (
    policy_difference,
    policy_value,
    predicted_profit,
    profit_scores,
)

Z = 1.959963984540054
SCORES = [4.0, -1.0, 2.5, 5.0, -3.0, 0.5]
PI_A = [1, 0, 1, 1, 0, 1]
PI_B = [1, 1, 0, 1, 0, 0]
HELD_OUT = [1, 0, 1, 1, 0, 0]  # a 0/1 column, as a held-out flag is often stored


def hand_mean_and_se(values: list[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)


def held_out(values: list) -> list:
    return [v for v, h in zip(values, HELD_OUT, strict=True) if h == 1]


def test_value_on_a_01_integer_mask_uses_the_flagged_customers() -> None:
    contributions = [p * s for p, s in zip(held_out(PI_A), held_out(SCORES), strict=True)]
    mean, se = hand_mean_and_se(contributions)
    v = policy_value(np.array(PI_A), np.array(SCORES), mask=np.array(HELD_OUT))
    assert v.n == 3
    assert v.value == pytest.approx(mean, abs=1e-12) and v.se == pytest.approx(se, abs=1e-12)


def test_difference_on_a_01_integer_mask_uses_the_flagged_customers() -> None:
    contributions = [(a - b) * s for a, b, s in
                     zip(held_out(PI_A), held_out(PI_B), held_out(SCORES), strict=True)]
    mean, se = hand_mean_and_se(contributions)
    d = policy_difference(np.array(PI_A), np.array(PI_B), np.array(SCORES),
                          mask=np.array(HELD_OUT))
    assert d.n == 3
    assert d.value == pytest.approx(mean, abs=1e-12) and d.se == pytest.approx(se, abs=1e-12)


def test_empty_mask_is_refused_with_its_message() -> None:
    nobody = np.zeros(6, bool)
    with pytest.raises(ValueError) as value_error:
        policy_value(np.array(PI_A), np.array(SCORES), mask=nobody)
    with pytest.raises(ValueError) as difference_error:
        policy_difference(np.array(PI_A), np.array(PI_B), np.array(SCORES), mask=nobody)
    for error in (value_error, difference_error):
        assert str(error.value) == "no customers to evaluate the policy on"


def test_one_customer_has_a_value_and_no_se_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "degrees of freedom <= 0" from a 1-row SD
        v = policy_value(np.array([1]), np.array([4.0]))
    assert (v.value, v.n) == (4.0, 1)
    assert math.isnan(v.se) and math.isnan(v.ci_low) and math.isnan(v.ci_high)


def test_two_customers_have_the_n_minus_1_se() -> None:
    # contributions 4 and -1: mean 1.5, sample SD sqrt(12.5), SE sqrt(12.5 / 2) = 2.5
    v = policy_value(np.array([1, 1]), np.array([4.0, -1.0]))
    assert v.value == 1.5 and v.se == pytest.approx(2.5, abs=1e-12)
    assert v.ci_low == pytest.approx(1.5 - Z * 2.5, abs=1e-12)
    assert v.ci_high == pytest.approx(1.5 + Z * 2.5, abs=1e-12)


def test_roi_when_less_than_one_unit_of_money_is_spent() -> None:
    # one customer targeted at cost 0.5: gain 0.3 x 10 - 0.5 = 2.5, ROI 2.5 / 0.5 = 5
    per_customer, total, roi = predicted_profit(np.array([1, 0]), np.array([10.0, 3.0]),
                                                margin=0.3, cost=0.5)
    assert (per_customer, total) == pytest.approx((1.25, 2.5), abs=1e-12)
    assert roi == pytest.approx(5.0, abs=1e-12)


def test_roi_is_nan_when_nothing_is_spent() -> None:
    assert math.isnan(predicted_profit(np.zeros(2), np.array([10.0, 3.0]), 0.3, 0.5)[2])
    assert math.isnan(predicted_profit(np.ones(2), np.array([10.0, 3.0]), 0.3, 0.0)[2])


def test_float32_effects_and_cate_are_computed_in_float64() -> None:
    # model outputs often come as float32; the arithmetic must be that of their float64 values
    effects32 = np.array([100.1, 3.7, -2.2, 41.3], dtype=np.float32)
    effects64 = effects32.astype(np.float64)
    scores = profit_scores(effects32, margin=0.3, cost=0.9)
    assert scores.dtype == np.float64
    np.testing.assert_array_equal(scores, [0.3 * v - 0.9 for v in effects64.tolist()])
    targets = np.array([1, 1, 1, 0])
    assert predicted_profit(targets, effects32, 0.3, 0.9) == \
        predicted_profit(targets, effects64, 0.3, 0.9)
    assert predicted_profit(targets.astype(np.float32), effects64, 0.3, 0.9) == \
        predicted_profit(targets, effects64, 0.3, 0.9)


def decimals(values: list) -> np.ndarray:
    """Values as a SQL NUMERIC column arrives in Python: an object array of Decimal."""
    return np.array([Decimal(str(v)) for v in values], dtype=object)


def test_decimal_inputs_are_read_as_floats() -> None:
    pi_a, pi_b, scores = np.array(PI_A, float), np.array(PI_B, float), np.array(SCORES)
    ref_value = policy_value(pi_a, scores)
    assert policy_value(decimals(PI_A), scores) == ref_value
    assert policy_value(pi_a, decimals(SCORES)) == ref_value
    ref_diff = policy_difference(pi_a, pi_b, scores)
    assert policy_difference(decimals(PI_A), pi_b, scores) == ref_diff
    assert policy_difference(pi_a, decimals(PI_B), scores) == ref_diff
    assert policy_difference(pi_a, pi_b, decimals(SCORES)) == ref_diff
    cate = [50.0, 10.0, 33.5, 2.0, 7.25, 80.0]
    ref_profit = predicted_profit(pi_a, np.array(cate), 0.3, 0.9)
    assert predicted_profit(decimals(PI_A), np.array(cate), 0.3, 0.9) == ref_profit
    assert predicted_profit(pi_a, decimals(cate), 0.3, 0.9) == ref_profit
    np.testing.assert_array_equal(profit_scores(decimals(cate), 0.3, 0.9),
                                  profit_scores(np.array(cate), 0.3, 0.9))
