"""Policy values by hand: scores, clipping, masks, paired differences, the model's own profit."""

from __future__ import annotations

import numpy as np
import pytest

from rollout.common.stats import aipw_scores
from rollout.policy.value import (
    policy_difference,
    policy_value,
    predicted_profit,
    profit_scores,
)

Z975 = 1.959963984540054


def test_aipw_scores_clip_the_propensity() -> None:
    y = np.array([10.0, 4.0, 7.0])
    t = np.array([1, 0, 1])
    e = np.array([0.001, 0.999, 0.5])
    mu0, mu1 = np.array([3.0, 3.0, 2.0]), np.array([6.0, 6.0, 5.0])
    got = aipw_scores(y, t, e, mu0, mu1, clip=0.05)
    # clipped to 0.05 and 0.95: 3 + 4 / 0.05 = 83; 3 - 1 / 0.05 = -17; 3 + 2 / 0.5 = 7
    np.testing.assert_allclose(got, [83.0, -17.0, 7.0])
    at_001 = aipw_scores(y, t, e, mu0, mu1, clip=0.01)  # the analysis' AIPW clip
    np.testing.assert_allclose(at_001, [3 + 4 / 0.01, 3 - 1 / 0.01, 7.0])
    unclipped = aipw_scores(y, t, e, mu0, mu1)  # no clip unless asked for
    np.testing.assert_allclose(unclipped, [3 + 4 / 0.001, 3 - 1 / 0.001, 7.0])
    # integer inputs are taken as numbers
    np.testing.assert_allclose(aipw_scores([10, 4, 7], [1, 0, 1], e, [3, 3, 2], [6, 6, 5],
                                           clip=0.05), [83.0, -17.0, 7.0])


def test_profit_scores() -> None:
    np.testing.assert_allclose(profit_scores([100, -20], margin=0.3, cost=10.0), [20.0, -16.0])


def test_policy_value_mask_and_interval() -> None:
    targets = np.array([1, 0, 1, 1, 0, 1])
    scores = np.array([4.0, -1.0, 2.0, 5.0, 3.0, -2.0])
    mask = np.array([True, True, False, True, True, True])
    v = policy_value(targets, scores, mask)
    contrib = (targets * scores)[mask]
    se = contrib.std(ddof=1) / np.sqrt(5)
    assert v.n == 5 and v.value == pytest.approx(contrib.mean())
    assert v.se == pytest.approx(se)
    assert (v.ci_low, v.ci_high) == pytest.approx((contrib.mean() - Z975 * se,
                                                   contrib.mean() + Z975 * se))
    assert v.to_dict()["se_type"] == "influence function (sd of pi x profit score / sqrt(n))"
    one = policy_value(np.array([1.0]), np.array([3.0]))
    assert one.value == 3.0 and np.isnan(one.se)
    with pytest.raises(ValueError, match="no customers"):
        policy_value(targets, scores, np.zeros(6, bool))


def test_policy_difference_is_paired() -> None:
    a = np.array([1, 1, 0, 1])
    b = np.array([0, 1, 1, 1])
    scores = np.array([3.0, 5.0, -2.0, 1.0])
    d = policy_difference(a, b, scores)
    contrib = (a - b) * scores  # 3, 0, 2, 0
    assert d.value == pytest.approx(1.25) and d.n == 4
    assert d.se == pytest.approx(contrib.std(ddof=1) / 2)
    masked = policy_difference(a, b, scores, mask=np.array([1, 0, 1, 1], bool))
    assert masked.value == pytest.approx(5 / 3) and masked.n == 3


def test_predicted_profit() -> None:
    per, total, roi = predicted_profit(np.array([1, 0, 1]), np.array([50.0, 10.0, 20.0]),
                                       margin=0.5, cost=4.0)
    # gains 21, 0, 6: total 27, per customer 9, spent 8, ROI 27 / 8
    assert (per, total, roi) == pytest.approx((9.0, 27.0, 27 / 8))
    nobody = predicted_profit(np.zeros(2), np.array([5.0, 6.0]), margin=0.5, cost=4.0)
    assert nobody[:2] == (0.0, 0.0) and np.isnan(nobody[2])
