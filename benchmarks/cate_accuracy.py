"""CATE accuracy on worlds with known effects, and the speed of the default CATE step.

For each world and seed: cross-fit the nuisances as ``rollout analyze`` does, run the CATE step
(six models on the 80/20 split, R-loss selection, full-data refit of the selected model; no
refutation refits), and compute every model's root PEHE, sqrt(mean((cate - true cate)^2)) over
all customers, beside econml's CausalForestDML and LinearDML with default settings (only
``discrete_treatment=True`` and the seed given) fitted on all customers of the same data.

Then times the default ``rollout analyze`` pieces on a cohort file (per-model fit times).

Usage::

    python benchmarks/cate_accuracy.py                       # accuracy table, 3 seeds per world
    python benchmarks/cate_accuracy.py --seeds 1 --cohort cohort.parquet   # plus timings
"""

from __future__ import annotations

import argparse
import dataclasses
import time
import warnings

import numpy as np
import pandas as pd

from rollout.analysis import analyze
from rollout.data.contract import Cohort, load_cohort
from rollout.estimation.cate.fitting import fit_and_score, split_customers
from rollout.estimation.cate.learners import LEARNERS
from rollout.estimation.cate.stage import CateOptions, outcome_data, run_cate
from rollout.simulation import simulate_world

WORLDS = ("nie_wager_a", "nie_wager_b", "good_overlap", "overlap_violation")


def primary_only(cohort: Cohort) -> Cohort:
    """The cohort with only its primary outcome (the benchmark scores the primary CATE)."""
    roles = dataclasses.replace(cohort.roles, outcomes=cohort.roles.outcomes[:1])
    return Cohort(frame=cohort.frame, roles=roles, source=cohort.source)


def econml_defaults(cohort: Cohort, seed: int) -> dict[str, np.ndarray]:
    """econml's CausalForestDML and LinearDML with default settings, fitted on all customers."""
    from econml.dml import CausalForestDML, LinearDML

    X, t, y = cohort.X, cohort.treatment.astype(int), cohort.outcome(cohort.roles.outcomes[0])
    out = {}
    for name, est in (("econml CausalForestDML (defaults)",
                       CausalForestDML(discrete_treatment=True, random_state=seed)),
                      ("econml LinearDML (defaults)",
                       LinearDML(discrete_treatment=True, random_state=seed))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(y, t, X=X)
            out[name] = np.asarray(est.effect(X), float).ravel()
    return out


def pehe(cate: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(cate, float) - truth) ** 2)))


def accuracy(worlds: tuple[str, ...], seeds: int) -> pd.DataFrame:
    rows = []
    for world_name in worlds:
        for seed in range(seeds):
            world = simulate_world(world_name, seed=seed)
            cohort = primary_only(world.cohort)
            truth = world.truth["true_cate"].to_numpy()
            result = analyze(cohort, seed=seed, cate=None, policy=None)
            cate = run_cate(result.core, CateOptions(validate="none"))
            (oc,) = cate.outcomes
            row = {"world": world_name, "seed": seed, "n": cohort.n,
                   "true_sd": float(truth.std()), "selected_model": oc.selection.selected,
                   "selected (full refit)": pehe(cate.columns.cate, truth)}
            for fit in oc.fits:
                row[fit.model] = pehe(fit.cate, truth) if fit.cate is not None else np.nan
            row.update({k: pehe(v, truth) for k, v in econml_defaults(cohort, seed).items()})
            rows.append(row)
            print(pd.DataFrame([row]).round(3).to_string(index=False), flush=True)
    return pd.DataFrame(rows)


def timings(path: str, seed: int = 0) -> pd.DataFrame:
    """Seconds per model fit (training split, each outcome) on a cohort file."""
    cohort = load_cohort(path)
    start = time.perf_counter()
    result = analyze(cohort, seed=seed, steps=[])
    rows = [{"piece": "core analyze (nuisances, effects)", "outcome": "all",
             "seconds": time.perf_counter() - start}]
    for outcome in cohort.roles.outcomes:
        data = outcome_data(result, outcome)
        split = split_customers(data.t, seed)
        for name in LEARNERS:
            start = time.perf_counter()
            fit_and_score(data, name, split, seed)
            rows.append({"piece": name, "outcome": outcome,
                         "seconds": time.perf_counter() - start})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--worlds", default=",".join(WORLDS))
    parser.add_argument("--cohort", default=None, help="cohort file to time the models on")
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args()
    if not args.skip_accuracy:
        table = accuracy(tuple(args.worlds.split(",")), args.seeds)
        models = list(LEARNERS)
        peers = ["econml CausalForestDML (defaults)", "econml LinearDML (defaults)"]
        summary = table.groupby("world")[["selected (full refit)", *models, *peers]].mean()
        print("\nmean root PEHE over seeds")
        print(summary.round(3).to_string())
        counts = table.groupby("world")["selected_model"].agg(lambda s: s.value_counts().to_dict())
        print(counts.to_string())
    if args.cohort:
        print(timings(args.cohort).round(2).to_string(index=False))


if __name__ == "__main__":
    main()
