"""Operating characteristics of `rollout design` designs, by simulation; run by hand.

    python benchmarks/design_operating.py [--replications 10000]

For each setting: the design (sd 180, MDE 34, two-sided alpha 0.05, power 0.8), then
``--replications`` seeded trials at the MDE and at zero effect, analysed as designed. Prints a
markdown table for benchmarks/README.md: empirical power with futility ignored and followed
(the power lost by following it), type I error both ways, and the expected share of the maximum
sample used under the null when futility is followed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rollout.planning.operating import simulate_operating_characteristics
from rollout.planning.plan import DesignRequest, plan_design

SETTINGS = {
    "fixed": {},
    "fixed, ANCOVA R²=0.5": {"r2": 0.5},
    "3 looks OBF, no futility": {"looks": 3, "futility": "none"},
    "3 looks OBF, beta futility": {"looks": 3},
    "3 looks OBF, beta futility, ANCOVA R²=0.5": {"looks": 3, "r2": 0.5},
    "4 looks Pocock, beta futility": {"looks": 4, "spending": "pocock"},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replications", type=int, default=10_000)
    args = parser.parse_args()
    reps = args.replications
    print("| setting | n/arm | inflation | design s | power, futility ignored (nominal) "
          "| power, futility followed | power lost | type I ignored | type I followed "
          "| E[n]/n_max under H0, followed | sim s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for i, (name, options) in enumerate(SETTINGS.items()):
        start = time.perf_counter()
        design = plan_design(DesignRequest(sd=180, mde=34, **options))
        design_seconds = time.perf_counter() - start
        start = time.perf_counter()
        alt = simulate_operating_characteristics(design, 34.0, reps, seed=1000 + i)
        null = simulate_operating_characteristics(design, 0.0, reps, seed=2000 + i)
        sim_seconds = time.perf_counter() - start
        nominal = design.spending.power_if_futility_ignored or design.power
        se_power = np.sqrt(nominal * (1 - nominal) / reps)
        se_alpha = np.sqrt(0.05 * 0.95 / reps)
        print(f"| {name} | {design.n_per_arm['control']} | {design.max_inflation:.3f} "
              f"| {design_seconds:.2f} "
              f"| {alt.reject_ignoring_futility:.4f} ({nominal:.4f}, MC SE {se_power:.4f}) "
              f"| {alt.reject_following_futility:.4f} "
              f"| {alt.reject_ignoring_futility - alt.reject_following_futility:.4f} "
              f"| {null.reject_ignoring_futility:.4f} (MC SE {se_alpha:.4f}) "
              f"| {null.reject_following_futility:.4f} "
              f"| {null.expected_n_fraction_following_futility:.3f} | {sim_seconds:.1f} |")


if __name__ == "__main__":
    main()
