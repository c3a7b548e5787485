"""Dependent rounding's edges: an empty table, a coin exactly at the threshold, one coin a step."""

from __future__ import annotations

import math
from fractions import Fraction

from rollout.planning.assignment import exact_shares
from rollout.planning.dependent_rounding import dependent_round

HALF, QUARTER = Fraction(1, 2), Fraction(1, 4)


def never(_k: int) -> float:
    raise AssertionError("no coin is needed")


def test_an_empty_table_rounds_to_an_empty_table() -> None:
    assert dependent_round([], coin=never) == []


def test_rows_without_columns_round_to_empty_rows() -> None:
    assert dependent_round([[], []], coin=never) == [[], []]


def test_a_coin_exactly_at_the_threshold_rounds_down() -> None:
    # A cell goes up when the coin is strictly below its chance of going up, so that a coin
    # uniform on [0, 1) sends it up with exactly that probability.
    assert dependent_round([[QUARTER, 1 - QUARTER]], coin=lambda _k: 0.25) == [[0, 1]]
    assert dependent_round([[QUARTER, 1 - QUARTER]], coin=lambda _k: math.nextafter(0.25, 0)) \
        == [[1, 0]]
    square = [[HALF, HALF], [HALF, HALF]]
    assert dependent_round(square, coin=lambda _k: 0.5) == [[0, 1], [1, 0]]
    assert dependent_round(square, coin=lambda _k: math.nextafter(0.5, 0)) == [[1, 0], [0, 1]]


def test_each_step_asks_for_the_next_coin() -> None:
    # coin(k) is the k-th uniform: steps 0, 1, 2, ... each draw a fresh one, none twice.
    shares = exact_shares((0.2, 0.3, 0.5))
    targets = [[t * s for s in shares] for t in (7, 11, 3, 13, 5, 9)]
    asked: list[int] = []

    def coin(k: int) -> float:
        asked.append(k)
        return (k * 0.618034) % 1.0

    counts = dependent_round(targets, coin)
    assert len(asked) >= 3
    assert asked == list(range(len(asked)))
    assert [sum(row) for row in counts] == [7, 11, 3, 13, 5, 9]
