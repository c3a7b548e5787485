"""The doubly robust policy value against an independent hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rollout.common.stats import aipw_scores
from rollout.policy.value import (
    policy_difference,
    policy_value,
    predicted_profit,
    profit_scores,
)

# a tiny table: outcome, treatment, propensity, mu0, mu1, policy
Y = [12.0, 3.0, 7.5, 20.0, 0.0, 9.0]
T = [1, 0, 1, 0, 1, 0]
E = [0.6, 0.3, 0.8, 0.5, 0.25, 0.7]
MU0 = [8.0, 4.0, 6.0, 15.0, 1.0, 10.0]
MU1 = [11.0, 5.5, 9.0, 18.0, 0.5, 12.0]
PI = [1, 1, 0, 1, 0, 1]
PI_B = [1, 0, 0, 0, 1, 1]
MARGIN, COST = 0.3, 0.9


def hand_scores() -> list[float]:
    """AIPW profit scores written out customer by customer."""
    out = []
    for y, t, e, m0, m1 in zip(Y, T, E, MU0, MU1, strict=True):
        if t == 1:
            gamma = m1 - m0 + (y - m1) / e
        else:
            gamma = m1 - m0 - (y - m0) / (1 - e)
        out.append(MARGIN * gamma - COST)
    return out


def hand_mean_and_se(values: list[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def test_value_matches_hand_computation() -> None:
    scores = profit_scores(aipw_scores(np.array(Y), np.array(T), np.array(E), np.array(MU0),
                                       np.array(MU1), clip=0.01), MARGIN, COST)
    assert scores == pytest.approx(hand_scores(), abs=1e-12)
    mean, se = hand_mean_and_se([p * s for p, s in zip(PI, hand_scores(), strict=True)])
    v = policy_value(np.array(PI), scores)
    assert abs(v.value - mean) < 1e-9 and abs(v.se - se) < 1e-9
    assert abs(v.ci_low - (mean - 1.959963984540054 * se)) < 1e-9
    diff_mean, diff_se = hand_mean_and_se(
        [(a - b) * s for a, b, s in zip(PI, PI_B, hand_scores(), strict=True)])
    d = policy_difference(np.array(PI), np.array(PI_B), scores)
    assert abs(d.value - diff_mean) < 1e-9 and abs(d.se - diff_se) < 1e-9


def test_mask_restricts_to_held_out_customers() -> None:
    scores = np.array(hand_scores())
    mask = np.array([True, False, True, True, False, True])
    kept = [p * s for p, s, m in zip(PI, scores, mask, strict=True) if m]
    mean, se = hand_mean_and_se(kept)
    v = policy_value(np.array(PI), scores, mask)
    assert v.n == 4 and abs(v.value - mean) < 1e-9 and abs(v.se - se) < 1e-9


def test_nobody_has_a_finite_zero_interval() -> None:
    v = policy_value(np.zeros(6), np.array(hand_scores()))
    assert (v.value, v.se, v.ci_low, v.ci_high) == (0.0, 0.0, 0.0, 0.0)


def test_propensity_is_clipped() -> None:
    raw = aipw_scores(np.array([5.0]), np.array([1]), np.array([0.0001]), np.array([0.0]),
                      np.array([0.0]), clip=0.01)
    assert raw[0] == pytest.approx(5.0 / 0.01)


def test_predicted_profit_by_hand() -> None:
    cate = np.array([10.0, 2.0, -4.0])
    per, total, roi = predicted_profit(np.array([1, 1, 0]), cate, margin=0.5, cost=3.0)
    assert total == pytest.approx((0.5 * 10 - 3) + (0.5 * 2 - 3))
    assert per == pytest.approx(total / 3) and roi == pytest.approx(total / 6.0)
    assert math.isnan(predicted_profit(np.zeros(3), cate, 0.5, 3.0)[2])
