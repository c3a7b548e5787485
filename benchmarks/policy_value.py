"""Benchmark: how much the breakeven list truly earns, against the oracle and a plain forest.

For every bundled world (known CATE), draw one cohort, run ``analyze`` with the CATE step and the
policy stage (the world's own cost and margin), and compare the true profit per customer,
mean(pi(x) x (margin x true CATE - cost)), of

- ``target_breakeven`` (the analysis' list: selected CATE model, CATE > cost / margin);
- the oracle list (true CATE > breakeven), the best any rule can do;
- the same rule applied to econml's default ``CausalForestDML`` fitted on all customers;

and shows the analysis' own model-predicted profit and honest (doubly robust, held-out) value
with its 95% interval beside them. It also measures the stability of the behavioural
segmentation between seeds (adjusted Rand index) on the ``good_overlap`` covariates.

Run: ``python benchmarks/policy_value.py [--seed 0] [--worlds a,b]``; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from rollout.analysis import analyze
from rollout.estimation.cate.stage import CateOptions
from rollout.policy.segments import segment_customers, segment_stability
from rollout.policy.stage import PolicySettings
from rollout.simulation import list_scenarios, simulate_world


def forest_cate(X: np.ndarray, t: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """econml's CausalForestDML with its defaults (only the seed fixed)."""
    from econml.dml import CausalForestDML

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CausalForestDML(random_state=seed).fit(y, t, X=X)
    return np.asarray(model.effect(X), dtype=float).ravel()


def true_profit(targets: np.ndarray, true_cate: np.ndarray, margin: float, cost: float) -> float:
    return float(np.mean(np.asarray(targets, float) * (margin * true_cate - cost)))


def bench_world(name: str, seed: int) -> dict[str, object]:
    world = simulate_world(name, seed=seed)
    scenario = world.scenario
    if scenario.cost is None or scenario.margin is None:
        return {"world": name, "n": world.cohort.n, "breakeven": float("nan"),
                "note": "no [economics] in the world file: no breakeven to target"}
    margin, cost = float(scenario.margin), float(scenario.cost)
    be = cost / margin
    cohort = world.cohort
    tau = world.truth["true_cate"].to_numpy()
    start = time.perf_counter()
    result = analyze(cohort, seed=seed, cate=CateOptions(validate="none"),
                     policy=PolicySettings(cost=cost, margin=margin, trees=()))
    seconds = time.perf_counter() - start
    row: dict[str, object] = {"world": name, "n": cohort.n, "breakeven": be,
                              "analysis_s": seconds}
    if "target_breakeven" not in result.customer_columns:
        row["note"] = "; ".join(result.warnings[-1:])
        return row
    chosen = result.customer_columns["target_breakeven"]
    policy = next(p for p in result.sections["policies"] if p["policy"] == "breakeven")
    forest = forest_cate(cohort.X, cohort.treatment, cohort.outcome(world.outcome), seed)
    row.update({
        "model": (result.sections.get("cate_model") or {}).get("model"),
        "share": float(np.mean(chosen)),
        "true_breakeven": true_profit(chosen, tau, margin, cost),
        "true_oracle": true_profit(tau > be, tau, margin, cost),
        "true_forest": true_profit(forest > be, tau, margin, cost),
        "true_everyone": true_profit(np.ones_like(tau), tau, margin, cost),
        "predicted": policy["predicted_profit"],
        "value": policy["value"], "ci": (policy["value_ci_low"], policy["value_ci_high"]),
    })
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worlds", default=",".join(list_scenarios()))
    args = parser.parse_args()
    print("| world | n | breakeven | CATE model | share targeted | true profit: breakeven list "
          "| oracle | CausalForestDML rule | everyone | predicted (model) | honest value [95% CI] "
          "| analysis s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.worlds.split(","):
        r = bench_world(name, args.seed)
        if "true_breakeven" not in r:
            print(f"| {name} | {r['n']} | {r['breakeven']:.1f} | - | - | {r.get('note')} "
                  "| | | | | | |")
            continue
        low, high = r["ci"]  # type: ignore[misc]
        print(f"| {name} | {r['n']} | {r['breakeven']:.1f} | {r['model']} | {r['share']:.1%} | "
              f"{r['true_breakeven']:.2f} | {r['true_oracle']:.2f} | {r['true_forest']:.2f} | "
              f"{r['true_everyone']:.2f} | {r['predicted']:.2f} | {r['value']:.2f} "
              f"[{low:.2f}, {high:.2f}] | {r['analysis_s']:.0f} |", flush=True)
    world = simulate_world("good_overlap", seed=args.seed)
    frame, covariates = world.cohort.frame, world.cohort.roles.covariates
    chosen = segment_customers(frame, covariates, seed=args.seed)
    ari = segment_stability(frame, covariates, chosen.k, seeds=range(args.seed, args.seed + 5))
    print(f"\nsegmentation of good_overlap (n={len(frame)}): k={chosen.k} by silhouette "
          f"{chosen.silhouette}; mean adjusted Rand index between consecutive seeds of 5: "
          f"{ari:.3f}")


if __name__ == "__main__":
    main()
