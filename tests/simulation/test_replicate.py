"""Seeded replications: same seed, same results, whatever the number of processes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rollout.simulation import (
    mean_and_se,
    monte_carlo_se,
    replicate,
    replication_seeds,
    simulate_world,
)


def noisy_mean(rep_seed: int) -> float:
    return float(np.random.default_rng(rep_seed).normal(size=50).mean())


def world_ate(rep_seed: int) -> float:
    return simulate_world("good_overlap", seed=rep_seed, n=100).truth_summary().ate


def test_seeds_are_reproducible_distinct_and_prefix_stable() -> None:
    seeds = replication_seeds(20, seed=4)
    assert seeds == replication_seeds(20, seed=4)
    assert len(set(seeds)) == 20
    assert replication_seeds(5, seed=4) == seeds[:5]
    assert replication_seeds(5, seed=5) != seeds[:5]
    assert all(0 <= s < 2**63 for s in seeds)


def test_two_processes_keep_the_replication_order() -> None:
    # a builtin keeps the worker start-up cheap; the result is the seed each replication got
    assert replicate(str, n_reps=8, seed=3, n_jobs=2) == [str(s) for s in replication_seeds(8, 3)]


@pytest.mark.slow
def test_one_process_and_two_give_identical_results_in_order() -> None:
    one = replicate(world_ate, n_reps=6, seed=3, n_jobs=1)
    two = replicate(world_ate, n_reps=6, seed=3, n_jobs=2)
    assert one == two
    assert one == [world_ate(s) for s in replication_seeds(6, 3)]


def test_progress_is_reported() -> None:
    done: list[int] = []
    replicate(noisy_mean, n_reps=3, seed=0, n_jobs=1, progress=done.append)
    assert done == [1, 2, 3]


def test_monte_carlo_se_matches_the_binomial_formula() -> None:
    assert monte_carlo_se(0.95, 400) == pytest.approx(math.sqrt(0.95 * 0.05 / 400))
    assert monte_carlo_se(0.0, 10) == 0.0
    with pytest.raises(ValueError):
        monte_carlo_se(1.2, 10)
    with pytest.raises(ValueError):
        monte_carlo_se(0.5, 0)


def test_replicated_means_are_calibrated() -> None:
    """The mean of 50 standard normals has SD 1/sqrt(50); check it over 400 replications."""
    values = replicate(noisy_mean, n_reps=400, seed=11, n_jobs=1)
    mean, se = mean_and_se(values)
    assert abs(mean) < 4 * se
    sd = float(np.std(values, ddof=1))
    # the sample SD of 400 draws has relative SE about 1/sqrt(2 * 399)
    assert sd == pytest.approx(1 / math.sqrt(50), rel=4 / math.sqrt(2 * 399))
