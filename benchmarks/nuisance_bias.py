"""Bias of the doubly robust estimates from the outcome learner (``good_overlap`` by default).

Each replication draws a ``good_overlap`` cohort (known CATE), cross-fits the analysis' boosted
propensity score on seeded folds and the outcome regressions mu0/mu1 with one of several
learners (``boosted``: the analysis' trees alone, its outcome learner until 2026-11;
``linear_plus_boosted``: least squares plus boosted residuals, the current mu0/mu1 learner), and
records

- the z-score of the AIPW ATE against the sample ATE (mean true CATE), with the analysis' clip;
- the z-score of the breakeven policy's honest doubly robust value (target CATE > cost / margin,
  CATE = mu1 - mu0 out of fold) against the population value of the realized rule, computed by
  applying each fold's fitted rule to fresh customers of the same world.

Unbiased nuisances give a mean z near 0 and coverage near 0.95. Mean z is reported with its
Monte Carlo SE. Run ``python benchmarks/nuisance_bias.py --reps 100 --n 1500 --folds 3``;
``--world`` runs another bundled world.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import numpy as np

from rollout.common.stats import aipw_scores
from rollout.estimation.ate import aipw
from rollout.estimation.crossfit import (
    FitPredict,
    fit_predict_linear_plus_boosted,
    fit_predict_regressor,
    make_folds,
)
from rollout.estimation.propensity import cross_fit_propensity
from rollout.policy.policies import HoldoutPlan, PolicyInputs, evaluate_policy
from rollout.policy.value import profit_scores
from rollout.simulation import mean_and_se, replicate, simulate_world

WORLD = "good_overlap"
CLIP = 0.01
POPULATION = 20_000


LEARNERS: dict[str, Callable[[int], FitPredict]] = {
    "boosted": fit_predict_regressor,
    "linear_plus_boosted": fit_predict_linear_plus_boosted,
}


def replication(seed: int, learner: str, n: int, n_folds: int,
                world_name: str = WORLD) -> dict[str, float]:
    """One draw: z of the AIPW ATE and of the breakeven policy value against their truths."""
    seed = seed % 2**31
    world = simulate_world(world_name, seed=seed, n=n)
    fresh = simulate_world(world_name, seed=seed + 1, n=POPULATION)
    cohort, scenario = world.cohort, world.scenario
    # A world without campaign economics is scored as margin 1, cost 0: target CATE > 0.
    margin = 1.0 if scenario.margin is None else float(scenario.margin)
    cost = 0.0 if scenario.cost is None else float(scenario.cost)
    X, t, y = cohort.X, cohort.treatment, cohort.outcome(world.outcome)
    X_pop = fresh.cohort.X
    gain_pop = margin * fresh.truth["true_cate"].to_numpy() - cost
    folds = make_folds(t, n_folds, seed)
    e_hat = cross_fit_propensity(X, t, folds, seed)
    fit_predict = LEARNERS[learner](seed)
    mu0, mu1 = np.empty(n), np.empty(n)
    population_value = 0.0
    for k in range(n_folds):
        test, train = folds == k, folds != k
        stacked = np.vstack([X[test], X_pop])
        p0 = fit_predict(X[train & (t == 0)], y[train & (t == 0)], stacked)
        p1 = fit_predict(X[train & (t == 1)], y[train & (t == 1)], stacked)
        n_test = int(test.sum())
        mu0[test], mu1[test] = p0[:n_test], p1[:n_test]
        rule_pop = (p1[n_test:] - p0[n_test:]) > cost / margin
        population_value += n_test / n * float(np.mean(rule_pop * gain_pop))
    ate = aipw(y, t, e_hat, mu0, mu1, clip=CLIP)
    true_ate = float(world.truth["true_cate"].mean())
    cate = mu1 - mu0
    profit = profit_scores(aipw_scores(y, t, e_hat, mu0, mu1, clip=CLIP), margin, cost)
    inputs = PolicyInputs(X=X, covariate_names=cohort.roles.covariates, cate=cate,
                          cate_lower=None, treatment=t, y=y, profit=profit, margin=margin,
                          cost=cost, seed=0)
    breakeven = evaluate_policy("breakeven", "", inputs, HoldoutPlan.from_folds(folds),
                                lambda c, m, h: (cate > cost / margin).astype(np.int64))
    value = breakeven.value
    return {
        "ate z": (ate.estimate - true_ate) / ate.se,
        "ate covered": float(ate.ci_low <= true_ate <= ate.ci_high),
        "ate error": ate.estimate - true_ate,
        "value z": (value.value - population_value) / value.se,
        "value covered": float(value.ci_low <= population_value <= value.ci_high),
    }


def summarize(results: list[dict[str, float]]) -> dict[str, list[float]]:
    """Mean and Monte Carlo SE of every recorded quantity."""
    return {key: [round(v, 4) for v in mean_and_se([r[key] for r in results])]
            for key in results[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--n", type=int, default=1500)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20251129)
    parser.add_argument("--learners", default=",".join(LEARNERS))
    parser.add_argument("--world", default=WORLD, help="a bundled world (default good_overlap)")
    args = parser.parse_args()
    for learner in args.learners.split(","):
        start = time.perf_counter()
        replication_fn = _Replication(learner, args.n, args.folds, args.world)
        results = replicate(replication_fn, args.reps, args.seed, n_jobs=2)
        print(json.dumps({"world": args.world, "learner": learner, "n": args.n,
                          "folds": args.folds,
                          "reps": args.reps, "seconds": round(time.perf_counter() - start, 1),
                          **summarize(results)}), flush=True)


class _Replication:
    """A picklable ``fn(seed)`` for :func:`replicate`."""

    def __init__(self, learner: str, n: int, n_folds: int, world_name: str) -> None:
        self.learner, self.n, self.n_folds, self.world_name = learner, n, n_folds, world_name

    def __call__(self, seed: int) -> dict[str, float]:
        return replication(seed, self.learner, self.n, self.n_folds, self.world_name)


if __name__ == "__main__":
    main()
