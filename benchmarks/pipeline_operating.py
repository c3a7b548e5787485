"""Known-truth operating characteristics of the whole pipeline, for the three tests.

design -> assign -> simulated returns -> interim at every look -> evaluate's stage-wise
inference at the stopping look, through library calls (:mod:`rollout.simulation.pipeline`),
seeded; for each test (ate, heterogeneity, policy) with three O'Brien-Fleming looks and
beta-spending non-binding futility, under its null world and at its design effect.

Run by hand:  python benchmarks/pipeline_operating.py [--replications 2000] [--jobs 2]
              [--only ate/null] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

from rollout.simulation.pipeline import TESTS, WORLDS, check, run_setting


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replications", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", action="append", default=None,
                        help="test/world to run (repeatable), e.g. policy/null")
    parser.add_argument("--out", default=None, help="also write the summaries here (JSON)")
    args = parser.parse_args()
    settings = [(t, w) for t in TESTS for w in WORLDS
                if args.only is None or f"{t}/{w}" in args.only]
    out = []
    for test, world in settings:
        start = time.perf_counter()
        summary = run_setting(test, world, args.replications, n_jobs=args.jobs)
        summary["seconds"] = round(time.perf_counter() - start, 1)
        summary["failures_at_3_mc_se"] = check(summary, 3.0)
        summary["machine"] = f"{platform.machine()}, Python {platform.python_version()}"
        out.append(summary)
        print(json.dumps(summary), flush=True)
        if args.out:
            with open(args.out, "w", encoding="utf-8") as handle:
                json.dump(out, handle, indent=2)


if __name__ == "__main__":
    main()
