"""The honest policy value's 95% interval covers the chosen policy's true value (slow).

Each replication draws a ``good_overlap`` world (known CATE), cross-fits the nuisances on seeded
folds (the analysis' boosted propensity score and its outcome learner, least squares on the
covariates then boosted trees on the residuals, as ``rollout analyze`` fits mu0 and mu1) and
builds two policies from the T-learner CATE those regressions give (out-of-fold mu1 - mu0):

- ``breakeven``: target CATE > cost / margin;
- ``top_k``: the top k% by CATE, k tuned on the other folds' doubly robust value.

The honest value is the cross-fitted doubly robust estimate on every customer (each fold's
policy decided without that fold's outcomes), exactly as :mod:`rollout.policy.policies` computes
it. Two truths are checked:

- the **population** value of the realized policy, E[pi(x) (margin x CATE(x) - cost)], computed
  by applying each fold's fitted rule to 100,000 fresh customers of the same world: the
  quantity the influence-function interval is built for;
- the **sample** value, the mean over the evaluated customers of pi(x) (margin x CATE - cost).

For ``breakeven`` both coverages must lie within 3 Monte Carlo standard errors of 95% (the
sample one may exceed it: the interval also carries the spread of the effect across customers).
For the tuned ``top_k`` the choice of k for a fold is made on the other folds, whose CATE and
nuisance models were fitted with that fold's outcomes: a second-order leak that widens the
spread of the estimate (SD of z about 1.15 in 300 replications, coverage about 0.91). The test
holds it to at least 0.85 so a larger leak fails; nested cross-fitting would remove it.

Measured with n = 1,500 and 3 folds instead, the breakeven interval covered 0.93 (population)
and 0.91 (sample): nuisances fitted on two thirds of a smaller sample add a spread the interval
ignores. With the analysis' boosted outcome regressions (depth-2 trees) instead of least
squares, this world's interval covered only about 0.79 (n = 1,500, 3 folds; see
benchmarks/README.md): the trees approximate spend coarsely in the upper tail where the
propensity is near the clip, and the product of the two nuisance errors biases the value upwards
by about one SE.
``ROLLOUT_POLICY_COVERAGE_REPS`` changes the number of replications (default 300).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from calibration import replications

from rollout.common.stats import aipw_scores
from rollout.estimation.crossfit import fit_predict_linear_plus_boosted, make_folds
from rollout.estimation.propensity import cross_fit_propensity
from rollout.policy.policies import HoldoutPlan, PolicyInputs, evaluate_policy, top_share
from rollout.policy.value import profit_scores
from rollout.simulation import monte_carlo_se, replicate, simulate_world

REPS = int(os.environ.get("ROLLOUT_POLICY_COVERAGE_REPS", str(replications(300, 100))))
WORLD = "good_overlap"
N = 2400
FOLDS = 5
POPULATION = 100_000


def _fit_predict(seed: int, X_train: np.ndarray, y_train: np.ndarray,
                 *X_predict: np.ndarray) -> list[np.ndarray]:
    """The shipped outcome learner (least squares, then boosted residuals), fitted once and
    predicted at each of ``X_predict``."""
    stacked = fit_predict_linear_plus_boosted(seed)(X_train, y_train, np.vstack(X_predict))
    return np.split(stacked, np.cumsum([len(x) for x in X_predict])[:-1])


def coverage_replication(seed: int) -> dict[str, float]:
    seed = seed % 2**31
    world = simulate_world(WORLD, seed=seed, n=N)
    fresh = simulate_world(WORLD, seed=seed + 1, n=POPULATION)
    cohort, scenario = world.cohort, world.scenario
    margin, cost = float(scenario.margin), float(scenario.cost)
    X, t, y = cohort.X, cohort.treatment, cohort.outcome(world.outcome)
    X_pop = fresh.cohort.X
    gain_pop = margin * fresh.truth["true_cate"].to_numpy() - cost
    folds = make_folds(t, FOLDS, seed)
    e_hat = cross_fit_propensity(X, t, folds, seed)
    mu0, mu1 = np.empty(N), np.empty(N)
    cate_pop = {}
    for k in range(FOLDS):
        test, train = folds == k, folds != k
        arm0, arm1 = train & (t == 0), train & (t == 1)
        mu0[test], pop0 = _fit_predict(seed, X[arm0], y[arm0], X[test], X_pop)
        mu1[test], pop1 = _fit_predict(seed, X[arm1], y[arm1], X[test], X_pop)
        cate_pop[k] = pop1 - pop0
    cate = mu1 - mu0
    profit = profit_scores(aipw_scores(y, t, e_hat, mu0, mu1, clip=0.01), margin, cost)
    inputs = PolicyInputs(X=X, covariate_names=cohort.roles.covariates, cate=cate,
                          cate_lower=None, treatment=t, y=y, profit=profit, margin=margin,
                          cost=cost, seed=0)
    plan = HoldoutPlan.from_folds(folds)
    gain = margin * world.truth["true_cate"].to_numpy() - cost
    shares = np.bincount(folds) / N
    out: dict[str, float] = {}

    breakeven = evaluate_policy("breakeven", "", inputs, plan,
                                lambda c, m, h: (cate > cost / margin).astype(np.int64))
    population = sum(shares[k] * np.mean((cate_pop[k] > cost / margin) * gain_pop)
                     for k in range(FOLDS))
    top_k = evaluate_policy("top_k", "", inputs, plan, lambda c, m, h: top_share(cate, c / 100),
                            candidates=tuple(range(5, 101, 5)))
    population_top = 0.0
    for k, chosen in enumerate(top_k.choice["choice_per_split"]):
        ranked = np.sort(cate)[::-1]
        n_top = int(np.ceil(chosen / 100 * N - 1e-9))
        if n_top == 0:
            continue
        threshold = ranked[n_top - 1]
        population_top += shares[k] * np.mean((cate_pop[k] >= threshold) * gain_pop)
    for name, result, truth_pop in (("breakeven", breakeven, population),
                                    ("top_k", top_k, population_top)):
        value = result.value
        truth_sample = float(np.mean(result.honest_targets * gain))
        out[f"{name} population"] = float(value.ci_low <= truth_pop <= value.ci_high)
        out[f"{name} sample"] = float(value.ci_low <= truth_sample <= value.ci_high)
        out[f"{name} z"] = (value.value - truth_pop) / value.se if value.se > 0 else 0.0
        out[f"{name} sample z"] = ((value.value - truth_sample) / value.se if value.se > 0
                                   else 0.0)
    return out


@pytest.mark.slow
@pytest.mark.calibration
def test_honest_value_interval_covers_the_true_value() -> None:
    results = replicate(coverage_replication, n_reps=REPS, seed=20251129, n_jobs=2)
    tolerance = 3 * monte_carlo_se(0.95, REPS)
    report = {key: float(np.mean([r[key] for r in results])) for key in results[0]}
    print("coverage and mean z over", REPS, "replications:", report, "tolerance", tolerance)
    assert abs(report["breakeven population"] - 0.95) <= tolerance, report
    # the sample value is a different (conditional) target: the interval may over-cover it
    assert 0.95 - tolerance <= report["breakeven sample"] <= 1.0, report
    # the tuned rule's known shortfall (the second-order leak described above, measured at
    # about 0.91) is allowed, two-sided, and no more: 0.95 - 0.04 +- 3 MC SE
    for key in ("top_k population", "top_k sample"):
        assert abs(report[key] - 0.91) <= tolerance + 0.04, (key, report)
