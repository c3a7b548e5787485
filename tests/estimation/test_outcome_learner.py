"""The outcome learner (least squares plus boosted residuals) against known regression functions.

The fast tests check that it recovers a steep, skewed trend with a step on top, where shallow
trees alone flatten the upper tail, that it is seeded, and that it extrapolates the linear trend
beyond the training covariates (a test fold's heaviest customers often lie there). The slow test
is the reason for the learner: on the ``good_overlap`` world the AIPW ATE and the breakeven
policy's honest value, with the analysis' nuisances, must be unbiased (mean z within 3 Monte
Carlo SE of 0; the boosted-only outcome models gave about +0.9 and +1.1).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from calibration import replications

from rollout.common.stats import aipw_scores
from rollout.estimation.ate import aipw
from rollout.estimation.crossfit import (
    fit_predict_linear_plus_boosted,
    fit_predict_regressor,
    make_folds,
)
from rollout.estimation.propensity import cross_fit_propensity
from rollout.policy.policies import HoldoutPlan, PolicyInputs, evaluate_policy
from rollout.policy.value import profit_scores
from rollout.simulation import mean_and_se, replicate, simulate_world


def _skewed_world(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    spend = rng.lognormal(np.log(20), 0.6, n)
    other = rng.normal(size=(n, 3))
    X = np.column_stack([spend, other])
    mean = 5 * spend + 10 * (other[:, 0] > 0)
    return X, mean + rng.normal(0, 20, n), mean


def test_recovers_a_steep_skewed_trend_that_shallow_trees_flatten() -> None:
    X_train, y_train, _ = _skewed_world(0, 2000)
    X_test, _, truth = _skewed_world(1, 5000)
    new = fit_predict_linear_plus_boosted(0)(X_train, y_train, X_test)
    old = fit_predict_regressor(0)(X_train, y_train, X_test)
    upper = X_test[:, 0] > np.quantile(X_test[:, 0], 0.95)
    # Noise SD 20 on 2,000 customers: a well-specified fit is off by a few units at most.
    assert np.sqrt(np.mean((new - truth) ** 2)) < 6
    assert abs(np.mean(new[upper] - truth[upper])) < 3
    # The boosted trees alone underpredict the upper tail by far more.
    assert np.mean(old[upper] - truth[upper]) < -3 * abs(np.mean(new[upper] - truth[upper]))
    assert np.sqrt(np.mean((new - truth) ** 2)) < np.sqrt(np.mean((old - truth) ** 2)) / 2


def test_is_seeded_and_extrapolates_the_linear_trend() -> None:
    X, y, _ = _skewed_world(2, 500)
    learner = fit_predict_linear_plus_boosted(7)
    first = learner(X, y, X[:50])
    assert np.array_equal(first, fit_predict_linear_plus_boosted(7)(X, y, X[:50]))
    # Beyond the heaviest training customer the slope of 5 per unit of spend carries on.
    edge, beyond = X[:1].copy(), X[:1].copy()
    edge[0, 0] = X[:, 0].max()
    beyond[0, 0] = X[:, 0].max() + 100
    assert learner(X, y, beyond)[0] - learner(X, y, edge)[0] == pytest.approx(500, rel=0.1)


REPS = int(os.environ.get("ROLLOUT_NUISANCE_BIAS_REPS", str(replications(300, 60))))
N, FOLDS, CLIP, POPULATION = 1500, 3, 0.01, 20_000


def _replication(seed: int) -> dict[str, float]:
    seed = seed % 2**31
    world = simulate_world("good_overlap", seed=seed, n=N)
    fresh = simulate_world("good_overlap", seed=seed + 1, n=POPULATION)
    margin, cost = float(world.scenario.margin), float(world.scenario.cost)
    cohort = world.cohort
    X, t, y = cohort.X, cohort.treatment, cohort.outcome(world.outcome)
    gain_pop = margin * fresh.truth["true_cate"].to_numpy() - cost
    folds = make_folds(t, FOLDS, seed)
    e_hat = cross_fit_propensity(X, t, folds, seed)
    learner = fit_predict_linear_plus_boosted(seed)
    mu0, mu1, population_value = np.empty(N), np.empty(N), 0.0
    for k in range(FOLDS):
        test, train = folds == k, folds != k
        stacked, n_test = np.vstack([X[test], fresh.cohort.X]), int(test.sum())
        p0 = learner(X[train & (t == 0)], y[train & (t == 0)], stacked)
        p1 = learner(X[train & (t == 1)], y[train & (t == 1)], stacked)
        mu0[test], mu1[test] = p0[:n_test], p1[:n_test]
        rule = (p1[n_test:] - p0[n_test:]) > cost / margin
        population_value += n_test / N * float(np.mean(rule * gain_pop))
    ate = aipw(y, t, e_hat, mu0, mu1, clip=CLIP)
    true_ate = float(world.truth["true_cate"].mean())
    cate = mu1 - mu0
    profit = profit_scores(aipw_scores(y, t, e_hat, mu0, mu1, clip=CLIP), margin, cost)
    inputs = PolicyInputs(X=X, covariate_names=cohort.roles.covariates, cate=cate,
                          cate_lower=None, treatment=t, y=y, profit=profit, margin=margin,
                          cost=cost, seed=0)
    value = evaluate_policy("breakeven", "", inputs, HoldoutPlan.from_folds(folds),
                            lambda c, m, h: (cate > cost / margin).astype(np.int64)).value
    return {"ate z": (ate.estimate - true_ate) / ate.se,
            "value z": (value.value - population_value) / value.se}


@pytest.mark.slow
@pytest.mark.calibration
def test_doubly_robust_estimates_are_unbiased_on_good_overlap() -> None:
    results = replicate(_replication, n_reps=REPS, seed=20251129, n_jobs=2)
    for key in ("ate z", "value z"):
        mean, mc_se = mean_and_se([r[key] for r in results])
        print(key, round(mean, 3), "MC SE", round(mc_se, 3))
        assert abs(mean) <= 3 * mc_se, (key, mean, mc_se)
