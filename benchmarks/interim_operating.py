"""Operating characteristics of `rollout interim` decisions, by simulating whole trials.

Each trial draws a 50:50 test of a continuous outcome, runs the interim decision at each of the
design's three looks (O'Brien-Fleming efficacy, beta-spending non-binding futility, mirrored harm
boundary) on the data accumulated so far, and records where it would stop. Under no effect: how
often efficacy or harm is declared at any look (each at most alpha/2). Under the design effect
(the MDE): power when futility is ignored, power when followed, and how often futility stops.

Run by hand:  python benchmarks/interim_operating.py [--trials 2000]
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import time

import numpy as np
import pandas as pd

from rollout.evaluation.interim import interim_decision
from rollout.evaluation.returned import ReturnedData
from rollout.planning.design import DESIGN_SCHEMA, Design
from rollout.planning.sequential import sequential_design
from rollout.simulation import replicate

SD, MDE = 30.0, 5.0


def design() -> Design:
    seq = sequential_design([1 / 3, 2 / 3, 1], alpha=0.05, power=0.8, sided=2, spending="obf",
                            futility="beta")
    n = int(np.ceil(2 * SD**2 * (seq.drift / MDE) ** 2))
    looks = [{"look": k, "information_fraction": f,
              "n_per_arm": {"treatment": round(n * f), "control": round(n * f)},
              "efficacy_z": e, "futility_z": fz, "harm_z": h, "alpha_spent": a,
              "efficacy_effect": None, "futility_effect": None, "harm_effect": None}
             for k, (f, e, fz, h, a) in enumerate(zip(
                 seq.information_fractions, seq.efficacy_z, seq.futility_z, seq.harm_z,
                 seq.alpha_spent, strict=True), start=1)]
    return Design.from_dict({
        "schema": DESIGN_SCHEMA, "test": "ate", "outcome": "y", "arms": ["treatment", "control"],
        "allocation": {"treatment": 0.5, "control": 0.5},
        "n_per_arm": {"treatment": n, "control": n}, "n_total": 2 * n,
        "n_per_arm_unadjusted": {"treatment": n, "control": n}, "alpha": 0.05, "power": 0.8,
        "sided": 2, "mde": MDE, "mde_source": "given", "sd": SD, "r2": None, "strata": [],
        "strata_sizes": None, "looks": looks, "spending": seq.spending_record(),
        "max_inflation": seq.max_inflation, "phases": [], "cost": None, "margin": None,
        "seed": 0, "created_by": "benchmark"})


def trial(seed: int, effect: float) -> list[str]:
    d = design()
    n = d.n_per_arm["treatment"]
    rng = np.random.default_rng(seed)
    y_t, y_c = rng.normal(100 + effect, SD, n), rng.normal(100, SD, n)
    decisions = []
    for look, frac in enumerate((1 / 3, 2 / 3, 1.0), start=1):
        m = round(n * frac)
        frame = pd.DataFrame({"customer_id": np.arange(2 * m),
                              "arm": ["treatment"] * m + ["control"] * m,
                              "y": np.concatenate([y_t[:m], y_c[:m]])})
        data = ReturnedData(frame=frame, outcome="y", treatment_arm="treatment",
                            control_arm="control", covariates=[], source="sim")
        decisions.append(interim_decision(d, data, look).decision)
    return decisions


def summarize(runs: list[list[str]]) -> dict[str, float]:
    def first_stop(r: list[str]) -> str:
        return next((x for x in r if x != "continue"), "continue")

    followed = [first_stop(r) for r in runs]
    return {
        "efficacy_any_look_futility_ignored": float(np.mean(
            [any(x == "stop_efficacy" for x in r) for r in runs])),
        "harm_any_look": float(np.mean([any(x == "stop_harm" for x in r) for r in runs])),
        "efficacy_futility_followed": float(np.mean([f == "stop_efficacy" for f in followed])),
        "futility_stop_before_final": float(np.mean(
            [next((i for i, x in enumerate(r) if x == "stop_futility"), 9) < 2 for r in runs])),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=2000)
    args = parser.parse_args()
    start = time.perf_counter()
    out = {"trials": args.trials, "n_per_arm_max": design().n_per_arm["treatment"]}
    for label, effect in (("null", 0.0), ("mde", MDE)):
        runs = replicate(functools.partial(trial, effect=effect), args.trials, seed=2026,
                         n_jobs=2)
        out[label] = summarize(runs)
    out["seconds"] = round(time.perf_counter() - start, 1)
    out["machine"] = f"{platform.machine()}, {platform.python_version()}"
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
