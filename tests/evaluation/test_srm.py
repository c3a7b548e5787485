"""Sample-ratio mismatch against scipy and the issue's two reference cases."""

from __future__ import annotations

import pytest
from scipy import stats

from rollout.errors import InputError
from rollout.evaluation.srm import srm_check


def test_flags_52_48_at_100k_under_50_50() -> None:
    result = srm_check({"treatment": 52_000, "control": 48_000}, {"treatment": .5, "control": .5})
    assert result.flag
    assert result.p_value == pytest.approx(
        stats.chisquare([52_000, 48_000], [50_000, 50_000]).pvalue, rel=1e-12)


def test_correct_95_5_design_is_not_flagged() -> None:
    result = srm_check({"treatment": 95_030, "control": 4_970}, {"treatment": .95, "control": .05})
    assert not result.flag
    assert result.p_value > 0.5


def test_three_arms_match_scipy() -> None:
    counts = {"a": 340, "b": 310, "control": 350}
    alloc = {"a": 1 / 3, "b": 1 / 3, "control": 1 / 3}
    result = srm_check(counts, alloc)
    ref = stats.chisquare([340, 310, 350], [1000 / 3] * 3)
    assert result.chi2 == pytest.approx(ref.statistic, rel=1e-12)
    assert result.df == 2


def test_unknown_arm_and_bad_allocation_are_input_errors() -> None:
    with pytest.raises(InputError, match="not in the design"):
        srm_check({"treatment": 5, "holdout": 3}, {"treatment": .5, "control": .5})
    with pytest.raises(InputError, match="sum to 1"):
        srm_check({"treatment": 5, "control": 3}, {"treatment": .5, "control": .6})
