"""CATE accuracy of the deployed model on fresh customers of worlds with known effects.

For each world and seed: draw a cohort (scenario default n), cross-fit the nuisances as
``rollout analyze`` does, run the CATE stage (every candidate on the 80/20 split, the R-stack,
selection, the deployed model; no refutation refits), and load the deployed model from the bytes
the results folder would keep (``model.joblib``). Then draw *fresh* customers from the same world
(another seed) and compute the root PEHE, sqrt(mean((cate - true cate)^2)), of

- the deployed model,
- econml's CausalForestDML and LinearDML with default settings (only ``discrete_treatment=True``
  and the seed given), fitted on all customers of the same cohort,
- a constant at the true ATE of the fresh customers (the error of knowing only the average),

over all fresh customers, inside the overlap region (true propensity in [0.1, 0.9]) and outside.

Usage::

    python benchmarks/cate_accuracy.py                      # every bundled world, 5 seeds
    python benchmarks/cate_accuracy.py --worlds good_overlap --seeds 2 --out runs.csv
    python benchmarks/cate_accuracy.py --worlds harmful --first-seed 5   # seeds 5-9
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import time
import warnings

import joblib
import numpy as np
import pandas as pd

from rollout.analysis import analyze
from rollout.data.contract import Cohort, load_cohort
from rollout.estimation.cate.fitting import fit_and_score, split_customers
from rollout.estimation.cate.learners import LEARNERS
from rollout.estimation.cate.stage import CateOptions, outcome_data, run_cate
from rollout.simulation import simulate_world

#: Every bundled world (the A/B-return scenarios are not worlds).
WORLDS = ("nie_wager_a", "nie_wager_b", "good_overlap", "overlap_violation", "poor_overlap",
          "homogeneous", "no_effect", "harmful", "linear_confounding", "hidden_confounding",
          "drift")


def primary_only(cohort: Cohort) -> Cohort:
    """The cohort with only its primary outcome (the benchmark scores the primary CATE)."""
    roles = dataclasses.replace(cohort.roles, outcomes=cohort.roles.outcomes[:1])
    return Cohort(frame=cohort.frame, roles=roles, source=cohort.source)


ECONML = ("econml CausalForestDML (defaults)", "econml LinearDML (defaults)")


def econml_defaults(cohort: Cohort, seed: int, X_new: np.ndarray) -> dict[str, np.ndarray]:
    """econml's CausalForestDML and LinearDML with default settings, fitted on all customers,
    predicting ``X_new``."""
    from econml.dml import CausalForestDML, LinearDML

    X, t, y = cohort.X, cohort.treatment.astype(int), cohort.outcome(cohort.roles.outcomes[0])
    out = {}
    for name, est in ((ECONML[0], CausalForestDML(discrete_treatment=True, random_state=seed)),
                      (ECONML[1], LinearDML(discrete_treatment=True, random_state=seed))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(y, t, X=X)
            out[name] = np.asarray(est.effect(X_new), float).ravel()
    return out


def pehe(cate: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(cate, float) - truth) ** 2)))


def _regions(values: np.ndarray, truth: np.ndarray, inside: np.ndarray) -> dict[str, float]:
    out = {"all": pehe(values, truth)}
    out["overlap"] = pehe(values[inside], truth[inside]) if inside.any() else np.nan
    out["outside"] = pehe(values[~inside], truth[~inside]) if (~inside).any() else np.nan
    return out


def one_run(world_name: str, seed: int) -> dict[str, object]:
    """The deployed CATE, econml's defaults and the constant on fresh customers of one draw."""
    world = simulate_world(world_name, seed=seed)
    fresh = simulate_world(world_name, seed=10_000 + seed)
    cohort = primary_only(world.cohort)
    truth = fresh.truth["true_cate"].to_numpy(float)
    inside = (fresh.truth["propensity"].to_numpy() >= 0.1) & (
        fresh.truth["propensity"].to_numpy() <= 0.9)
    result = analyze(cohort, seed=seed, cate=None, policy=None)
    cate = run_cate(result.core, CateOptions(validate="none"))
    (oc,) = cate.outcomes
    deployed = joblib.load(io.BytesIO(cate.model_file))
    X_fresh = fresh.cohort.X
    row: dict[str, object] = {"world": world_name, "seed": seed, "n": cohort.n,
                              "true_sd": float(truth.std()),
                              "overlap_share": float(inside.mean()),
                              "selected": oc.selection.selected,
                              "fit_on": cate.model_record["fit_on"]}
    candidates = {"deployed": np.asarray(deployed.effect(X_fresh), float),
                  "constant at true ATE": np.full(len(truth), truth.mean())}
    candidates.update(econml_defaults(cohort, seed, X_fresh))
    for name, values in candidates.items():
        for region, value in _regions(values, truth, inside).items():
            row[f"{name} [{region}]"] = value
    return row


def accuracy(worlds: tuple[str, ...], seeds: int, first_seed: int = 0) -> pd.DataFrame:
    rows = []
    for world_name in worlds:
        for seed in range(first_seed, first_seed + seeds):
            start = time.perf_counter()
            row = one_run(world_name, seed)
            row["seconds"] = time.perf_counter() - start
            rows.append(row)
            print(pd.DataFrame([row]).round(3).to_string(index=False), flush=True)
    return pd.DataFrame(rows)


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Per world: mean root PEHEs, and the ratio of the deployed model to the better econml
    default and to the constant, each with its Monte Carlo SE over seeds."""
    peers = table[[f"{name} [all]" for name in ECONML]].min(axis=1)
    table = table.assign(ratio_econml=table["deployed [all]"] / peers,
                         ratio_constant=table["deployed [all]"]
                         / table["constant at true ATE [all]"],
                         excess_constant=table["deployed [all]"]
                         - table["constant at true ATE [all]"])
    grouped = table.groupby("world", sort=False)
    out = grouped[[c for c in table.columns if c.endswith("]")]].mean()
    for column in ("ratio_econml", "ratio_constant", "excess_constant"):
        out[column] = grouped[column].mean()
        out[f"{column}_se"] = grouped[column].std(ddof=1) / np.sqrt(grouped.size())
    out["selected"] = grouped["selected"].agg(lambda s: ", ".join(
        f"{k} {v}" for k, v in s.value_counts().items()))
    return out


def timings(path: str, seed: int = 0) -> pd.DataFrame:
    """Seconds per model fit (training split, each outcome) on a cohort file."""
    cohort = load_cohort(path)
    start = time.perf_counter()
    result = analyze(cohort, seed=seed, cate=None, policy=None)
    rows = [{"piece": "core analyze (nuisances, effects)", "outcome": "all",
             "seconds": time.perf_counter() - start}]
    for outcome in cohort.roles.outcomes:
        data = outcome_data(result.core, outcome)
        split = split_customers(data.t, seed)
        for name in LEARNERS:
            start = time.perf_counter()
            fit_and_score(data, name, split, seed)
            rows.append({"piece": name, "outcome": outcome,
                         "seconds": time.perf_counter() - start})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds first-seed, ..., first-seed + seeds - 1 (a rule chosen on "
                             "seeds 0-4 is checked on 5-9)")
    parser.add_argument("--worlds", default=",".join(WORLDS))
    parser.add_argument("--out", default=None, help="write the per-run table as CSV")
    parser.add_argument("--cohort", default=None, help="cohort file to time the models on")
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args()
    if not args.skip_accuracy:
        table = accuracy(tuple(args.worlds.split(",")), args.seeds, args.first_seed)
        if args.out:
            table.to_csv(args.out, index=False)
        print("\nper world, mean over seeds")
        print(summarize(table).round(3).to_string())
    if args.cohort:
        print(timings(args.cohort).round(2).to_string(index=False))


if __name__ == "__main__":
    main()
