"""Benchmark: honest policy values and the campaign cost on the poor-overlap world, over seeds.

On ``scenarios/poor_overlap.toml`` (propensity AUC about 0.95, effect positive for light and
negative for heavy shoppers, a known offer cost of 2.5 per treated household in its
``window_coupon_disc`` outcome), each seeded replication draws a cohort and

- runs the core stage (cross-fitted nuisances) on the primary outcome;
- fits a cheap CATE on a training split (a DR-learner: ridge regression of the cross-fitted DR
  scores of the identified training customers on the covariates), out of sample on the 20% test
  split, so the policies never see the customers they are valued on;
- runs the policy stage at the world's cost and margin, and checks, for every policy, whether
  the 95% interval of its honest value covers its truth on the identified population: the mean
  of pi(x) x (margin x true CATE - cost) over the held-out customers in the propensity window
  [0.1, 0.9] (the population the value is about);
- estimates the offer cost by ``effect_on_discounts`` on the identified population and checks
  whether its interval covers the known 2.5.

``--full K`` also runs the whole ``analyze`` (CATE stage included) on K seeds and reports the
breakeven list's true profit per customer against the oracle's over all customers.

Run: ``python benchmarks/policy_overlap.py --reps 200 [--full 3] [--jobs 2] [--log runs.jsonl]``;
``--summarize runs.jsonl`` summarizes the replications logged so far.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

WORLD = "poor_overlap"
OFFER_COST = 2.5


def _cheap_cate(core, is_test: np.ndarray, gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import RidgeCV

    from rollout.policy.identified import identified_mask

    X = core.cohort.X
    inside = identified_mask(core.nuisances.e_hat)
    train = ~is_test & inside
    honest = RidgeCV(alphas=np.logspace(-2, 3, 12)).fit(X[train], gamma[train]).predict(X)
    deployed = RidgeCV(alphas=np.logspace(-2, 3, 12)).fit(X[inside], gamma[inside]).predict(X)
    return deployed, honest


def replication(rep_seed: int) -> dict[str, object]:
    """One replication: coverage of every policy value and of the offer cost."""
    from rollout.common.stats import aipw_scores
    from rollout.data.contract import Cohort
    from rollout.estimation.cate.stage import CateColumns
    from rollout.estimation.core import AnalyzeOptions, run_core
    from rollout.policy.stage import PolicySettings, estimate_cost, run_policy
    from rollout.simulation import simulate_world

    seed = int(rep_seed % (2**31))
    world = simulate_world(WORLD, seed=seed)
    roles = world.cohort.roles
    cohort = Cohort.from_frame(world.cohort.frame, outcomes=[world.outcome],
                               covariates=list(roles.covariates))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        core = run_core(cohort, AnalyzeOptions(seed=seed))
    fitted = core.nuisances.outcomes[world.outcome]
    gamma = aipw_scores(cohort.outcome(world.outcome), cohort.treatment, core.nuisances.e_hat,
                        fitted.mu0, fitted.mu1, clip=core.options.clip)
    rng = np.random.default_rng(seed)
    is_test = rng.random(cohort.n) < 0.2
    deployed, honest = _cheap_cate(core, is_test, gamma)
    nan = np.full(cohort.n, np.nan)
    columns = CateColumns(cate=deployed, lower=nan, upper=nan, model="dr_ridge",
                          honest=honest, is_test=is_test)
    margin, cost = float(world.scenario.margin), float(world.scenario.cost)
    policy = run_policy(core, columns, PolicySettings(cost=cost, margin=margin, trees=(),
                                                      segments=4))
    tau = world.truth["true_cate"].to_numpy()
    evaluated = policy.evaluated
    covered = {}
    for record in policy.sections["policies"]:
        name = record["policy"]
        truth = float(np.mean(policy.honest_targets[name][evaluated]
                              * (margin * tau[evaluated] - cost)))
        covered[name] = bool(record["value_ci_low"] <= truth <= record["value_ci_high"])
    offer = estimate_cost(core, PolicySettings(cost_method="effect_on_discounts",
                                               contact_cost=0.0))
    offer_part = offer.parts[1]
    return {"covered": covered,
            "identified_share": policy.sections["policy_identification"]["identified_share"],
            "n_evaluated": int(evaluated.sum()),
            "cost_covered": bool(offer_part["ci_low"] <= OFFER_COST <= offer_part["ci_high"]),
            "offer": offer_part["cost"]}


def full_run(seed: int) -> dict[str, float]:
    """The whole analysis: the breakeven list's true profit against the oracle's."""
    from rollout.analysis import analyze
    from rollout.data.contract import Cohort
    from rollout.estimation.cate.stage import CateOptions
    from rollout.policy.identified import identified_mask
    from rollout.policy.stage import PolicySettings
    from rollout.simulation import simulate_world

    world = simulate_world(WORLD, seed=seed)
    cohort = Cohort.from_frame(world.cohort.frame, outcomes=[world.outcome],
                               covariates=list(world.cohort.roles.covariates))
    margin, cost = float(world.scenario.margin), float(world.scenario.cost)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = analyze(cohort, seed=seed, cate=CateOptions(),
                         policy=PolicySettings(cost=cost, margin=margin))
    tau = world.truth["true_cate"].to_numpy()
    be = cost / margin

    def profit(targets: np.ndarray) -> float:
        return float(np.mean(np.asarray(targets, float) * (margin * tau - cost)))

    cols = result.customer_columns
    inside = identified_mask(result.core.nuisances.e_hat)
    oracle = (tau > be).astype(float)
    out: dict[str, object] = {
        "seed": seed, "oracle": profit(oracle),
        "oracle_identified_part": profit(oracle * inside),
        "model": (result.sections.get("cate_model") or {}).get("model"),
        "gate": result.sections["targeting_gate"]["status"],
        "lists": {name[len("target_"):]: profit(values) for name, values in cols.items()
                  if name.startswith("target_")}}
    return out


def _run(reps: int, seed: int, jobs: int, log: str | None) -> list[dict[str, object]]:
    """The replications in chunks, each chunk appended to ``log`` (JSON lines) as it ends."""
    import json

    from joblib import Parallel, delayed

    from rollout.simulation.replicate import replication_seeds

    seeds = replication_seeds(reps, seed)
    runs: list[dict[str, object]] = []
    chunk = max(2 * jobs, 10)
    for start in range(0, reps, chunk):
        part = Parallel(n_jobs=jobs)(delayed(replication)(s) for s in seeds[start:start + chunk])
        runs.extend(part)
        if log:
            with open(log, "a") as handle:
                for row in part:
                    handle.write(json.dumps(row) + "\n")
        print(f"... {len(runs)} of {reps} replications", flush=True)
    return runs


def summarize(runs: list[dict[str, object]], seconds: float | None = None) -> None:
    """Coverage per policy and of the offer cost, as Markdown."""
    from rollout.simulation.replicate import monte_carlo_se

    reps = len(runs)
    names = list(runs[0]["covered"])  # type: ignore[arg-type]
    took = f" in {seconds:.0f} s" if seconds is not None else ""
    print(f"{WORLD}: {reps} replications{took}; identified share "
          f"{np.mean([r['identified_share'] for r in runs]):.3f} (mean), held-out customers "
          f"scored {np.mean([r['n_evaluated'] for r in runs]):.0f} (mean)")
    print("| policy | coverage of the 95% interval | MC SE |")
    print("|---|---|---|")
    pooled = []
    for name in names:
        rate = float(np.mean([r["covered"][name] for r in runs]))  # type: ignore[index]
        pooled.append(rate)
        print(f"| {name} | {rate:.3f} | {monte_carlo_se(rate, reps):.3f} |")
    print(f"| all policies (mean) | {np.mean(pooled):.3f} | |")
    cost_rate = float(np.mean([r["cost_covered"] for r in runs]))
    print(f"\noffer cost (truth {OFFER_COST}): mean estimate "
          f"{np.mean([r['offer'] for r in runs]):.3f}, interval coverage {cost_rate:.3f} "
          f"(MC SE {monte_carlo_se(cost_rate, reps):.3f})", flush=True)


def main() -> None:
    import json

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--full", type=int, default=0)
    parser.add_argument("--log", default=None, help="append each replication to this JSON-lines "
                        "file as it ends")
    parser.add_argument("--summarize", default=None, help="only summarize a --log file")
    args = parser.parse_args()
    if args.summarize:
        with open(args.summarize) as handle:
            summarize([json.loads(line) for line in handle if line.strip()])
        return
    if args.reps:
        start = time.perf_counter()
        runs = _run(args.reps, args.seed, args.jobs, args.log)
        summarize(runs, time.perf_counter() - start)
    for seed in range(args.full):
        r = full_run(seed)
        lists = ", ".join(f"{k} {v:.3f}" for k, v in r["lists"].items())  # type: ignore[union-attr]
        print(f"full analyze seed {seed} ({r['model']}, gate: {r['gate']}): true profit per "
              f"customer, oracle {r['oracle']:.3f} (of which {r['oracle_identified_part']:.3f} "
              f"from identified customers); lists: {lists}", flush=True)


if __name__ == "__main__":
    main()
