"""Slow checks that the worlds are what their files and documentation say.

Each test draws many worlds (or one very large one) and compares with independently known
values: the populations promised in ``[expect]``, textbook estimators whose behaviour in a world
is known (OLS is exact under linear confounding; the difference in means is unbiased in a
randomized world and biased under confounding), with tolerances from the Monte Carlo error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm

from rollout.simulation import (
    check_expectations,
    list_scenarios,
    load_scenario,
    monte_carlo_se,
    replicate,
    simulate_world,
)

pytestmark = pytest.mark.slow

WORLDS = list_scenarios()


@pytest.mark.parametrize("name", WORLDS)
def test_expectations_hold_over_many_seeds(name: str) -> None:
    scenario = load_scenario(name)
    failures = [
        (seed, problems) for seed in range(100, 140)
        if (problems := check_expectations(simulate_world(scenario, seed=seed).truth_summary(),
                                           scenario.expect))
    ]
    assert failures == []


@pytest.mark.parametrize("name", WORLDS)
def test_expected_values_are_population_values(name: str) -> None:
    """At n = 200,000 the realized truth is the population's, within a quarter tolerance."""
    scenario = load_scenario(name)
    summary = simulate_world(scenario, seed=7, n=200_000).truth_summary().to_dict()
    for key, promise in scenario.expect.items():
        if key in {"treated_share"}:
            continue
        assert abs(summary[key] - promise.value) <= max(promise.tolerance / 4, 1e-9), key


def _ols_and_naive(rep_seed: int) -> tuple[float, float, float]:
    world = simulate_world("linear_confounding", seed=rep_seed)
    frame = world.cohort.frame
    covariates = frame[list(world.cohort.roles.covariates)]
    design = sm.add_constant(np.column_stack([frame["treatment"], covariates]))
    fit = sm.OLS(frame["purchase_amount"].to_numpy(), design).fit()
    y, t = frame["purchase_amount"].to_numpy(), frame["treatment"].to_numpy()
    return float(fit.params[1]), float(fit.bse[1]), float(y[t == 1].mean() - y[t == 0].mean())


def test_ols_covers_the_constant_effect_under_linear_confounding() -> None:
    results = np.array(replicate(_ols_and_naive, n_reps=400, seed=99))
    estimate, se, naive = results.T
    truth = 10.0
    coverage = float((np.abs(estimate - truth) <= 1.96 * se).mean())
    assert abs(coverage - 0.95) <= 3 * monte_carlo_se(0.95, len(results))
    assert abs(estimate.mean() - truth) < 4 * estimate.std(ddof=1) / math.sqrt(len(results))
    # the naive comparison is confounded upwards (treated have higher baselines)
    assert naive.mean() - truth > 10 * naive.std(ddof=1) / math.sqrt(len(results))


def _randomized_difference(rep_seed: int) -> tuple[float, float]:
    world = simulate_world("nie_wager_b", seed=rep_seed)
    frame = world.cohort.frame
    y, t = frame["y"].to_numpy(), frame["treatment"].to_numpy()
    return float(y[t == 1].mean() - y[t == 0].mean()), world.truth_summary().ate


def test_difference_in_means_is_unbiased_in_the_randomized_world() -> None:
    results = np.array(replicate(_randomized_difference, n_reps=300, seed=5))
    error = results[:, 0] - results[:, 1]
    assert abs(error.mean()) < 4 * error.std(ddof=1) / math.sqrt(len(error))
    # and its mean is the population ATE E[softplus(Z)] = 0.80606 (quadrature)
    assert abs(results[:, 0].mean() - 0.80606) < 4 * results[:, 0].std(ddof=1) / math.sqrt(300)


def _ipw_error(rep_seed: int) -> float:
    """Horvitz-Thompson with the true propensity: unbiased for the sample ATE's expectation."""
    world = simulate_world("good_overlap", seed=rep_seed, n=2000)
    frame, truth = world.cohort.frame, world.truth
    y, t = frame["purchase_amount"].to_numpy(), frame["treatment"].to_numpy()
    p = truth["propensity"].to_numpy()
    ipw = np.mean(t * y / p - (1 - t) * y / (1 - p))
    return float(ipw - truth["true_cate"].mean())


def test_true_propensity_weights_recover_the_ate() -> None:
    """The treatment is drawn from the stated propensity and outcomes from mu0/mu1."""
    errors = np.array(replicate(_ipw_error, n_reps=200, seed=8))
    assert abs(errors.mean()) < 4 * errors.std(ddof=1) / math.sqrt(len(errors))


def _adjusted_error(rep_seed: int) -> tuple[float, float]:
    """OLS on treatment and the observed covariates, minus the true ATE, and its HC2 SE."""
    world = simulate_world("hidden_confounding", seed=rep_seed)
    frame = world.cohort.frame
    design = sm.add_constant(np.column_stack(
        [frame["treatment"], frame[list(world.cohort.roles.covariates)]]))
    fit = sm.OLS(frame["purchase_amount"].to_numpy(), design).fit(cov_type="HC2")
    return float(fit.params[1]) - world.truth_summary().ate, float(fit.bse[1])


def test_hidden_confounder_biases_adjusted_estimates_upwards() -> None:
    """The documented trap: adjusting for what the analyst sees does not remove the bias."""
    results = np.array(replicate(_adjusted_error, n_reps=40, seed=6))
    errors, ses = results.T
    assert errors.mean() > 4 * errors.std(ddof=1) / math.sqrt(len(errors))
    # and the bias is large against a single study's standard error
    assert np.median(errors / ses) > 2
