"""A/B returns: the tested customers only, the scenario's drift, and unbiased outcomes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rollout.errors import InputError
from rollout.simulation import load_scenario, replicate, simulate_world
from rollout.simulation.returns import simulate_returns


def alternate_assignment(world, every: int = 2) -> pd.DataFrame:
    ids = world.cohort.frame["customer_id"].to_numpy()
    arms = np.where(np.arange(len(ids)) % every == 0, "treatment", "control")
    return pd.DataFrame({"customer_id": ids, "arm": arms})


def test_only_tested_customers_in_assignment_order() -> None:
    world = simulate_world("good_overlap", seed=0, n=400)
    assignment = alternate_assignment(world).iloc[::-1].reset_index(drop=True)
    assignment.loc[assignment.index % 5 == 0, "arm"] = "not_in_test"
    returns = simulate_returns(world.scenario, assignment, seed=1, world=world)
    tested = assignment[assignment["arm"] != "not_in_test"]
    assert list(returns.data["customer_id"]) == list(tested["customer_id"])
    assert (returns.data["treatment"] == (returns.data["arm"] == "treatment")).all()
    # truth is the world's truth for the same customers (no drift in this scenario)
    merged = returns.truth.merge(world.truth, on="customer_id", suffixes=("", "_world"))
    np.testing.assert_allclose(merged["true_cate"], merged["true_cate_world"])
    # the covariates are the world's, unchanged
    covariates = world.cohort.frame.set_index("customer_id").loc[tested["customer_id"]]
    np.testing.assert_array_equal(returns.data["share_fresh"], covariates["share_fresh"])


def test_world_is_redrawn_from_the_seed_when_not_given() -> None:
    world = simulate_world("homogeneous", seed=4, n=100)
    assignment = alternate_assignment(world)
    with_world = simulate_returns("homogeneous", assignment, seed=4, world=world)
    without = simulate_returns("homogeneous", assignment, seed=4, n=100)
    pd.testing.assert_frame_equal(with_world.data, without.data)
    other_seed = simulate_returns("homogeneous", assignment, seed=5, world=world)
    assert not np.allclose(other_seed.data["purchase_amount"], with_world.data["purchase_amount"])


def test_drift_scales_the_effect_and_shifts_the_baseline(tmp_path: Path) -> None:
    path = load_scenario("good_overlap").path
    text = path.read_text().replace(
        "[economics]",
        "[ab_test]\neffect_multiplier = 0.5\nbaseline_multiplier = 1.1\nbaseline_shift = -20.0\n\n"
        "[economics]")
    drifted = tmp_path / "drift.toml"
    drifted.write_text(text)
    world = simulate_world(drifted, seed=0, n=300)
    returns = simulate_returns(world.scenario, alternate_assignment(world), seed=0, world=world)
    truth = returns.truth.merge(world.truth, on="customer_id", suffixes=("", "_history"))
    np.testing.assert_allclose(truth["true_cate"], 0.5 * truth["true_cate_history"])
    np.testing.assert_allclose(truth["mu0"], 1.1 * truth["mu0_history"] - 20.0)
    # the second outcome scales its effect but takes no dollar shift
    np.testing.assert_allclose(truth["true_cate_purchase_count"],
                               0.5 * truth["true_cate_purchase_count_history"])
    np.testing.assert_allclose(truth["mu0_purchase_count"],
                               1.1 * truth["mu0_purchase_count_history"])


def test_several_treatment_arms_and_other_control_name() -> None:
    world = simulate_world("homogeneous", seed=0, n=90)
    ids = world.cohort.frame["customer_id"]
    arms = np.array(["a", "b", "base"] * 30)
    returns = simulate_returns(world.scenario, pd.DataFrame({"customer_id": ids, "arm": arms}),
                               seed=0, world=world, treatment_arms=("a", "b"),
                               control_arm="base")
    assert returns.to_dict()["n_treatment"] == 60
    with pytest.raises(InputError, match="must differ"):
        simulate_returns(world.scenario, pd.DataFrame({"customer_id": ids, "arm": arms}),
                         seed=0, world=world, treatment_arms=("a",), control_arm="a")


def difference_in_means_error(rep_seed: int) -> tuple[float, float]:
    """Estimate minus the true sample ATE, and its standard error, on one returned test."""
    world = simulate_world("good_overlap", seed=rep_seed, n=600)
    returns = simulate_returns(world.scenario, alternate_assignment(world), seed=rep_seed,
                               world=world)
    y, t = returns.data["purchase_amount"].to_numpy(), returns.data["treatment"].to_numpy()
    estimate = y[t == 1].mean() - y[t == 0].mean()
    se = math.sqrt(y[t == 1].var(ddof=1) / (t == 1).sum() + y[t == 0].var(ddof=1) / (t == 0).sum())
    return estimate - float(returns.truth["true_cate"].mean()), se


@pytest.mark.slow
@pytest.mark.calibration
def test_difference_in_means_is_unbiased_and_covers_on_returns() -> None:
    """Over 400 returned tests the difference in means is unbiased and its 95% interval covers.

    Coverage of the sample ATE by the Neyman interval is conservative (at least 95%); the
    tolerance is 3 Monte Carlo standard errors below.
    """
    results = replicate(difference_in_means_error, n_reps=400, seed=2024)
    errors = np.array([e for e, _ in results])
    ses = np.array([s for _, s in results])
    assert abs(errors.mean()) < 4 * errors.std(ddof=1) / math.sqrt(len(errors))
    coverage = float((np.abs(errors) <= 1.96 * ses).mean())
    assert coverage >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / len(errors))


def test_returns_for_customers_of_a_real_cohort(tmp_path: Path) -> None:
    """A world drawn on every row of a cohort answers an assignment made on that cohort."""
    from rollout.data.contract import save_cohort

    source = simulate_world("good_overlap", seed=1, n=120)
    frame = source.cohort.frame.copy()
    frame["customer_id"] = frame["customer_id"] + 5000
    save_cohort(tmp_path / "real.parquet",
                type(source.cohort).from_frame(frame, roles=source.cohort.roles))
    scenario = tmp_path / "as_is.toml"
    scenario.write_text('''
kind = "world"
name = "as_is"

[covariates]
source = "cohort"
cohort = "real.parquet"
sampling = "all"

[targeting]
propensity = "0.5"

[[outcomes]]
name = "purchase_amount"
mu0 = "5 * monetary_sales"
cate = "20 * share_fresh"
scale = 10.0
''')
    assignment = pd.DataFrame({"customer_id": frame["customer_id"],
                               "arm": ["treatment", "control", "not_in_test"] * 40})
    returns = simulate_returns(scenario, assignment, seed=0)
    assert returns.to_dict()["n"] == 80
    expected = 20 * frame.set_index("customer_id").loc[returns.data["customer_id"], "share_fresh"]
    np.testing.assert_allclose(returns.truth["true_cate"], expected.to_numpy())
    wrong = assignment.assign(customer_id=assignment["customer_id"] - 5000)
    with pytest.raises(InputError, match="not in the simulated world"):
        simulate_returns(scenario, wrong, seed=0)
