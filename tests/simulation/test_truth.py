"""The true estimands, checked against independent hand computations."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from rollout.errors import InputError
from rollout.simulation import auc, check_expectations, simulate_world, summarize_truth
from rollout.simulation.scenario import Expectation


def test_auc_matches_sklearn_including_ties() -> None:
    rng = np.random.default_rng(0)
    score = np.round(rng.random(500), 1)  # many ties
    label = rng.random(500) < score
    assert auc(score, label) == pytest.approx(roc_auc_score(label, score), abs=1e-12)
    assert np.isnan(auc(score, np.zeros(500)))


def test_estimands_by_hand() -> None:
    cate = np.array([10.0, -5.0, 30.0, 0.0, 50.0])
    p = np.array([0.5, 0.9, 0.1, 0.5, 0.99])
    t = np.array([1, 1, 0, 0, 1])
    s = summarize_truth(cate, p, t, cost=5.0, margin=0.5)  # breakeven 10
    assert s.ate == pytest.approx(17.0)
    assert s.att == pytest.approx((10 - 5 + 50) / 3)
    assert s.atc == pytest.approx(15.0)
    w = p * (1 - p)
    assert s.ato == pytest.approx((w * cate).sum() / w.sum())
    assert s.share_positive == pytest.approx(3 / 5)
    assert s.overlap_share == pytest.approx(4 / 5)
    assert s.breakeven == pytest.approx(10.0)
    # oracle: only cate > 10 (30 and 50): profits 0.5*30-5 = 10 and 0.5*50-5 = 20
    assert s.oracle_share_targeted == pytest.approx(2 / 5)
    assert s.oracle_policy_value == pytest.approx(30 / 5)
    # history treated 10, -5, 50: profits 0, -7.5, 20
    assert s.historical_policy_value == pytest.approx(12.5 / 5)


def test_no_economics_gives_nan_policy_values() -> None:
    s = summarize_truth(np.array([1.0, 2.0]), np.array([0.5, 0.5]), np.array([0, 1]))
    assert np.isnan(s.oracle_policy_value) and np.isnan(s.breakeven)


def test_world_summary_is_computed_from_its_truth() -> None:
    world = simulate_world("overlap_violation", seed=2, n=500)
    s = world.truth_summary()
    truth = world.truth
    t = world.cohort.treatment == 1
    assert s.ate == pytest.approx(truth["true_cate"].mean())
    assert s.att == pytest.approx(truth["true_cate"][t].mean())
    assert s.ps_auc == pytest.approx(roc_auc_score(t, truth["propensity"]))
    assert s.n_treated == t.sum()
    assert s.summary().shape == (len(s.to_dict()), 2)


def test_check_expectations_reports_misses() -> None:
    s = summarize_truth(np.array([1.0, 3.0]), np.array([0.4, 0.6]), np.array([0, 1]))
    assert check_expectations(s, {"ate": Expectation(2.0, 0.0)}) == []
    problems = check_expectations(s, {"ate": Expectation(2.5, 0.1)})
    assert len(problems) == 1 and problems[0].startswith("ate = 2")


def test_summary_of_a_second_outcome() -> None:
    world = simulate_world("overlap_violation", seed=0, n=300)
    counts = world.truth_summary("purchase_count")
    assert counts.ate == pytest.approx(world.truth["true_cate_purchase_count"].mean())
    assert np.isnan(counts.oracle_policy_value)
    assert world.truth_summary("purchase_amount") == world.truth_summary()
    with pytest.raises(InputError, match="unknown outcome"):
        world.truth_summary("visits")
