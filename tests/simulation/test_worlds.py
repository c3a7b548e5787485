"""Every bundled world keeps the promises of its ``[expect]`` table, and draws reproducibly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rollout.simulation import (
    check_expectations,
    list_scenarios,
    load_scenario,
    simulate_world,
)

WORLDS = list_scenarios()


def test_bundled_worlds_are_found() -> None:
    assert {"overlap_violation", "no_effect", "homogeneous"} <= set(WORLDS)


@pytest.mark.parametrize("name", WORLDS)
def test_world_meets_its_expectations_at_its_seed(name: str) -> None:
    scenario = load_scenario(name)
    assert scenario.expect, f"{name} promises nothing in [expect]"
    world = simulate_world(scenario, seed=scenario.expect_seed)
    assert world.cohort.n == scenario.n
    assert check_expectations(world.truth_summary(), scenario.expect) == []


@pytest.mark.parametrize("name", WORLDS)
def test_world_meets_its_expectations_over_other_seeds(name: str) -> None:
    scenario = load_scenario(name)
    for seed in (11, 12):
        world = simulate_world(scenario, seed=seed)
        assert check_expectations(world.truth_summary(), scenario.expect) == [], f"seed {seed}"


@pytest.mark.parametrize("name", WORLDS)
def test_same_seed_same_world_other_seed_other_world(name: str) -> None:
    first = simulate_world(name, seed=3, n=200)
    again = simulate_world(name, seed=3, n=200)
    other = simulate_world(name, seed=4, n=200)
    pd.testing.assert_frame_equal(first.cohort.frame, again.cohort.frame)
    pd.testing.assert_frame_equal(first.truth, again.truth)
    outcome = first.outcome
    assert not np.array_equal(first.cohort.frame[outcome], other.cohort.frame[outcome])


@pytest.mark.parametrize("name", WORLDS)
def test_cohort_follows_the_contract(name: str) -> None:
    world = simulate_world(name, seed=0, n=300)
    roles = world.cohort.roles
    frame = world.cohort.frame
    assert list(frame["customer_id"]) == list(world.truth["customer_id"])
    assert set(frame["treatment"].unique()) == {0, 1}
    assert roles.outcomes[0] == world.outcome
    for pre in roles.pre_outcomes.values():
        assert pre in frame.columns and pre not in roles.covariates
    # latent factors never leak into the analyst's view
    for latent in world.scenario.covariates.latent:
        assert latent not in frame.columns
    truth = world.truth
    np.testing.assert_allclose(truth["mu1"] - truth["mu0"], truth["true_cate"])
    assert truth["propensity"].between(0, 1).all()


@pytest.mark.parametrize("name", WORLDS)
def test_every_world_promises_the_core_truth(name: str) -> None:
    scenario = load_scenario(name)
    assert {"ate", "ps_auc", "share_positive"} <= set(scenario.expect)
    assert scenario.description
