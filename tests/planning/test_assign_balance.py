"""Balance statistics against independent hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rollout.planning.balance_report import (
    allocation_test,
    arm_by_stratum_test,
    standardized_mean_differences,
    worst_abs_smd,
)


def test_smd_matches_a_pandas_groupby_computation() -> None:
    rng = np.random.default_rng(4)
    n = 500
    frame = pd.DataFrame({"arm": rng.choice(["treatment", "control", "other"], n),
                          "spend": rng.gamma(2.0, 60.0, n) + 1e6,  # a large offset
                          "visits": rng.poisson(3, n).astype(float)})
    frame.loc[[3, 17, 40], "visits"] = np.nan  # left out covariate by covariate
    arms = ["treatment", "other", "control"]
    index = frame["arm"].map({a: i for i, a in enumerate(arms)}).to_numpy()
    rows = standardized_mean_differences(frame[["spend", "visits"]].to_numpy(),
                                         ["spend", "visits"], index, arms, "control")
    got = {(r["covariate"], r["arm"]): r["smd"] for r in rows}
    for covariate in ("spend", "visits"):
        by_arm = frame.groupby("arm")[covariate]
        mean, var = by_arm.mean(), by_arm.var(ddof=1)
        for arm in ("treatment", "other"):
            expected = (mean[arm] - mean["control"]) / np.sqrt((var[arm] + var["control"]) / 2)
            assert got[(covariate, arm)] == pytest.approx(expected, rel=1e-9)
    assert worst_abs_smd(rows) == pytest.approx(max(abs(v) for v in got.values()))


def test_smd_of_a_constant_and_of_a_too_small_arm() -> None:
    x = np.array([[5.0], [5.0], [5.0], [5.0]])
    rows = standardized_mean_differences(x, ["c"], np.array([0, 0, 1, 1]), ["t", "c"], "c")
    assert rows[0]["smd"] == 0.0
    rows = standardized_mean_differences(np.array([[1.0], [2.0], [3.0]]), ["x"],
                                         np.array([0, 1, 1]), ["t", "c"], "c")
    assert rows[0]["smd"] is None
    assert worst_abs_smd(rows) is None


def test_chi_square_equals_the_textbook_formula() -> None:
    counts = np.array([[12, 9], [30, 41], [7, 7], [0, 0]])
    observed = counts[:3].astype(float)
    expected = observed.sum(1, keepdims=True) * observed.sum(0, keepdims=True) / observed.sum()
    statistic = ((observed - expected) ** 2 / expected).sum()
    result = arm_by_stratum_test(counts)
    assert result is not None
    assert result["statistic"] == pytest.approx(statistic)
    assert result["df"] == 2
    assert result["p_value"] == pytest.approx(stats.chi2.sf(statistic, 2))
    assert arm_by_stratum_test(np.array([[4, 5]])) is None


def test_allocation_test_binomial_by_hand_and_goodness_of_fit() -> None:
    # Two-sided exact binomial for 3 of 10 at p = 0.5: P(X <= 3) + P(X >= 7) = 2 * 176 / 1024.
    result = allocation_test([3, 7], [0.5, 0.5])
    assert result is not None
    assert result["p_value"] == pytest.approx(2 * 176 / 1024)
    three = allocation_test([20, 30, 50], [0.2, 0.3, 0.5])
    assert three is not None and three["statistic"] == pytest.approx(0.0)
    assert allocation_test([0, 0], [0.5, 0.5]) is None
