"""Dependent rounding of per-stratum arm counts: margins within one, and unbiased cells."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rollout.planning.assignment import exact_shares, split_by_allocation
from rollout.planning.dependent_rounding import dependent_round

ALLOCATIONS = [(0.5, 0.5), (0.3, 0.7), (0.2, 0.3, 0.5), (1 / 3, 1 / 3, 1 / 3), (0.1, 0.45, 0.45)]


def tables(totals: list[int], shares: tuple[float, ...]) -> list[list[Fraction]]:
    exact = exact_shares(shares)
    return [[t * s for s in exact] for t in totals]


@settings(max_examples=200, deadline=None)
@given(
    totals=st.lists(st.integers(min_value=0, max_value=60), min_size=1, max_size=25),
    shares=st.sampled_from(ALLOCATIONS),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_rows_exact_cells_and_columns_within_one(totals: list[int], shares: tuple[float, ...],
                                                 seed: int) -> None:
    targets = tables(totals, shares)
    rng = random.Random(seed)
    counts = dependent_round(targets, coin=lambda _k: rng.random())
    for row, target_row, total in zip(counts, targets, totals, strict=True):
        assert sum(row) == total
        for count, target in zip(row, target_row, strict=True):
            assert math.floor(target) <= count <= math.ceil(target)
    for a in range(len(shares)):
        column_target = sum(row[a] for row in targets)
        column = sum(row[a] for row in counts)
        assert math.floor(column_target) <= column <= math.ceil(column_target)


def test_each_cell_is_unbiased_by_simulation() -> None:
    # Known truth: E[count] equals the fractional target. 3000 replications; the tolerance is
    # 4.5 Monte Carlo standard errors of a cell whose count is floor or floor + 1.
    totals = [7, 11, 3, 13, 5, 9]
    shares = (0.2, 0.3, 0.5)
    targets = tables(totals, shares)
    rng = random.Random(20261129)
    reps = 3000
    draws = np.array([dependent_round(targets, coin=lambda _k: rng.random())
                      for _ in range(reps)], dtype=float)
    expected = np.array(targets, dtype=float)
    frac = expected - np.floor(expected)
    se = np.sqrt(np.maximum(frac * (1 - frac), 1e-12) / reps)
    assert (np.abs(draws.mean(axis=0) - expected) <= 4.5 * se + 1e-12).all()


def test_a_fixed_rule_would_fail_the_same_check() -> None:
    # The check above can fail: giving the extra customer to the first arm is biased.
    totals = [7, 11, 3, 13, 5, 9]
    targets = tables(totals, (0.5, 0.5))
    first_arm_rule = np.array([[math.ceil(t[0]), math.floor(t[1])] for t in targets], dtype=float)
    expected = np.array(targets, dtype=float)
    assert np.abs(first_arm_rule - expected).max() == 0.5


def test_whole_targets_need_no_coin() -> None:
    counts = dependent_round(tables([4, 10], (0.5, 0.5)), coin=lambda _k: 1 / 0)
    assert counts == [[2, 2], [5, 5]]


def test_split_is_reproducible_and_salt_dependent() -> None:
    totals = [7] * 40
    first = split_by_allocation(totals, (0.5, 0.5), "a")
    assert (first == split_by_allocation(totals, (0.5, 0.5), "a")).all()
    assert (first != split_by_allocation(totals, (0.5, 0.5), "b")).any()
    assert abs(int(first[:, 0].sum()) - 140) <= 1
