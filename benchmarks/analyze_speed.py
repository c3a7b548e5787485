"""Time `rollout analyze` end to end on the embedded Complete Journey cohort.

Builds the cohort with `rollout cohort` (the embedded data, Type A campaigns) when it is not
given, then times the analysis and the writing of the results folder (tables and figures)
separately, over a few repetitions: once with the core steps only (cross-fitting, positivity,
balance, the six estimators, trimming, bounds, verdict) and once with every registered extra
step (CATE, policies, ...). Reports
wall-clock and process CPU seconds and the machine's load, since the machine may be shared.

Usage: python benchmarks/analyze_speed.py [COHORT.parquet] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from rollout.analysis import STAGES, analyze, write_results
from rollout.cli import cli
from rollout.data.contract import load_cohort


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("cohort", nargs="?", help="cohort parquet (default: build the embedded)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cohort_path = Path(args.cohort) if args.cohort else Path(tmp) / "cohort.parquet"
        if not args.cohort:
            built = CliRunner().invoke(cli, ["cohort", "-o", str(cohort_path), "--json"])
            if built.exit_code != 0:
                sys.exit(built.output)
        cohort = load_cohort(cohort_path)
        print(f"cohort: {cohort.n} customers ({cohort.n_treated} treated), "
              f"{len(cohort.roles.covariates)} covariates, outcomes {list(cohort.roles.outcomes)}")
        print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"load average before {os.getloadavg()[0]:.1f}")
        for label, later in (("core stage only", False), ("with every stage", True)):
            walls, cpus, writes = [], [], []
            for repeat in range(args.repeats):
                wall, cpu = time.perf_counter(), time.process_time()
                result = (analyze(cohort, seed=0) if later
                          else analyze(cohort, seed=0, cate=None, policy=None))
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
                wall = time.perf_counter()
                write_results(result, Path(tmp) / f"results{repeat}")
                writes.append(time.perf_counter() - wall)
            names = ", ".join(STAGES) if later else "none"
            print(f"analyze, {label} (later stages: {names}): wall "
                  f"{statistics.median(walls):.1f} s (median of {args.repeats}; min "
                  f"{min(walls):.1f}), CPU {statistics.median(cpus):.1f} s; write results with "
                  f"figures: wall {statistics.median(writes):.1f} s; load average after "
                  f"{os.getloadavg()[0]:.1f}")
        pos = result.positivity
        print(f"PS AUC {pos.auc.auc:.3f} [{pos.auc.ci_low:.3f}, {pos.auc.ci_high:.3f}], "
              f"share in [0.1, 0.9] {pos.overlap_share['0.1-0.9']:.3f}, verdict {result.verdict}")


if __name__ == "__main__":
    main()
