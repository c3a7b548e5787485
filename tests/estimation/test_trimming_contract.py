"""Trimming sensitivity against a hand computation of the trimmed-window AIPW estimate and its SE.

The hand version loops over customers with plain Python: keep a customer when its propensity lies
in the closed window [a, 1 - a], clip the kept scores into [clip, 1 - clip], write out the AIPW
score, and take the mean and the influence-function SE ``sqrt(mean((g - mean)^2) / n)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rollout.estimation.trimming import trimming_sensitivity

Z = 1.959963984540054
CLIP = 0.01
# ten customers, six treated and four controls; 0.1/0.9 and 0.25/0.75 sit exactly on the
# edges of the two windows, 0.005 and 0.995 lie beyond the clipping bound
Y = [12.0, 3.0, 7.5, 20.0, 0.0, 9.0, 4.0, 15.0, 6.0, 11.0]
T = [1, 0, 1, 0, 1, 0, 1, 1, 0, 1]
E = [0.005, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.95, 0.995]
MU0 = [8.0, 4.0, 6.0, 15.0, 1.0, 10.0, 3.0, 12.0, 5.0, 9.0]
MU1 = [11.0, 5.5, 9.0, 18.0, 0.5, 12.0, 6.0, 14.0, 7.0, 10.0]


def hand_row(a: float | None) -> dict[str, float]:
    """Counts, estimate, SE and interval of one row, customer by customer."""
    gammas, n1, n0 = [], 0, 0
    for y, t, e, m0, m1 in zip(Y, T, E, MU0, MU1, strict=True):
        if a is not None and not (a <= e <= 1 - a):
            continue
        n1, n0 = n1 + (t == 1), n0 + (t == 0)
        e = min(max(e, CLIP), 1 - CLIP)
        if t == 1:
            gammas.append(m1 - m0 + (y - m1) / e)
        else:
            gammas.append(m1 - m0 - (y - m0) / (1 - e))
    n = len(gammas)
    mean = sum(gammas) / n
    se = math.sqrt(sum((g - mean) ** 2 for g in gammas) / n / n)
    return {"n": n, "n_treated": n1, "n_control": n0, "estimate": mean, "se": se,
            "ci_low": mean - Z * se, "ci_high": mean + Z * se}


def run(**kwargs):
    args = {"y": np.array(Y), "treatment": np.array(T), "e": np.array(E),
            "mu0": np.array(MU0), "mu1": np.array(MU1), "outcome": "spend",
            "windows": [0.1, 0.25], "clip": CLIP}
    return trimming_sensitivity(**(args | kwargs))


def test_rows_match_hand_computation() -> None:
    res = run()
    assert res.table["trim"].tolist() == ["none", "0.1-0.9", "0.25-0.75"]
    for trim, a in (("none", None), ("0.1-0.9", 0.1), ("0.25-0.75", 0.25)):
        row, hand = res.row("spend", trim), hand_row(a)
        for key in ("n", "n_treated", "n_control"):
            assert row[key] == hand[key], (trim, key)
        for key in ("estimate", "se", "ci_low", "ci_high"):
            assert row[key] == pytest.approx(hand[key], rel=1e-12, abs=1e-12), (trim, key)


def test_counts_by_arm_are_not_swapped() -> None:
    res = run()
    counts = res.table[["trim", "n", "n_treated", "n_control"]].values.tolist()
    assert counts == [["none", 10, 6, 4], ["0.1-0.9", 7, 4, 3], ["0.25-0.75", 5, 3, 2]]


def test_window_is_closed_at_both_edges() -> None:
    # a treated customer exactly on the lower edge of [0.25, 0.75], a control exactly on the
    # upper edge, and one customer of each arm just outside each edge
    e = np.array([0.25, 0.75, 0.5, 0.5, np.nextafter(0.25, 0), np.nextafter(0.75, 1)])
    t = np.array([1, 0, 1, 0, 1, 0])
    res = trimming_sensitivity(np.arange(6.0), t, e, np.zeros(6), np.ones(6), windows=[0.25],
                               min_per_arm=1)
    row = res.row("y", "0.25-0.75")
    assert (row["n"], row["n_treated"], row["n_control"]) == (4, 2, 2)


def test_float32_scores_are_windowed_on_their_float64_values() -> None:
    # float32(0.8) is 0.800000011920929 > 0.8: outside [0.2, 0.8] as the rest of the pipeline
    # (clipping, AIPW) sees it, so a float32 model output must give the rows of its float64 copy
    e32 = np.array([0.8, 0.5, 0.3, 0.6, 0.4, 0.7], dtype=np.float32)
    t = np.array([1, 0, 1, 0, 1, 0])
    args = (np.array([5.0, 1.0, 4.0, 2.0, 3.0, 0.5]), t)
    nuis = (np.zeros(6), np.ones(6))
    res32 = trimming_sensitivity(*args, e32, *nuis, windows=[0.2])
    res64 = trimming_sensitivity(*args, e32.astype(np.float64), *nuis, windows=[0.2])
    assert res64.row("y", "0.2-0.8")["n"] == 5
    assert res32.table.equals(res64.table)


def test_cohort_without_controls_gives_nan_rows_of_floats() -> None:
    # every row lacks a control arm: the estimate columns are still there, float and NaN
    n = 6
    res = trimming_sensitivity(np.arange(float(n)), np.ones(n, int), np.linspace(0.3, 0.7, n),
                               np.zeros(n), np.ones(n), windows=[0.1])
    summary = res.summary()
    for column in ("estimate", "se", "ci_low", "ci_high"):
        assert summary[column].dtype == np.float64, column
        assert all(math.isnan(v) for v in summary[column]), column
    assert res.table[["n", "n_treated", "n_control"]].values.tolist() == [[6, 6, 0], [6, 6, 0]]


def test_min_per_arm_is_a_floor_not_a_strict_bound() -> None:
    # exactly min_per_arm customers in the smaller arm is enough for a number
    t = np.array([1, 1, 0, 0, 0])
    res = trimming_sensitivity(np.arange(5.0), t, np.full(5, 0.5), np.zeros(5), np.ones(5),
                               windows=[], min_per_arm=2)
    assert np.isfinite(res.row("y", "none")["se"])
    res3 = trimming_sensitivity(np.arange(5.0), t, np.full(5, 0.5), np.zeros(5), np.ones(5),
                                windows=[], min_per_arm=3)
    assert math.isnan(res3.row("y", "none")["estimate"])
