"""Benchmark: `rollout assign` on ten million customers in twenty strata.

Writes a synthetic customer table (segment x ps_region = 20 strata, two covariates, a pilot flag
and a policy flag) and a design from `rollout design` with those strata and phases, then runs
`rollout assign` in a child process for each method, measuring wall time, the child's CPU time
(user + system, over both cores) and its peak resident memory (``wait4`` rusage). The target:
under 60 s and under 4 GB on 2 cores.

    python benchmarks/assign_scale.py                 # 10 million, both methods
    python benchmarks/assign_scale.py --n 1000000 --methods complete --repeat 2

``--repeat 2`` also checks that a second run writes byte-identical files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SEGMENTS = 10
REGIONS = ("overlap", "extreme")


def make_customers(n: int, seed: int) -> pd.DataFrame:
    """A customer list of ``n`` rows with 20 strata, covariates and phase flags."""
    rng = np.random.default_rng(seed)
    segment = rng.integers(0, SEGMENTS, size=n)
    return pd.DataFrame({
        "customer_id": rng.permutation(n).astype(np.int64) * 7 + 100_000,
        "segment": pd.Categorical.from_codes(segment,
                                             categories=[f"seg{i:02d}" for i in range(SEGMENTS)]),
        "ps_region": pd.Categorical.from_codes((rng.random(n) < 0.3).astype(np.int8),
                                               categories=list(REGIONS)),
        "pre_spend": rng.gamma(2.0, 60.0, size=n),
        "visits": rng.poisson(4.0, size=n),
        "target_conservative": rng.random(n) < 0.005,
        "target_breakeven": rng.random(n) < 0.3,
    })


def make_design(folder: Path, n_total: int) -> Path:
    """A design from `rollout design`, given the benchmark's strata, phases and test size."""
    path = folder / "design.json"
    subprocess.run([sys.executable, "-c", "from rollout.cli import main; main()", "design",
                    "--sd", "180", "--mde", "34", "-o", str(path)],
                   check=True, stdout=subprocess.DEVNULL)
    document = json.loads(path.read_text())
    half = n_total // 2
    document.update({"strata": ["segment", "ps_region"], "n_total": 2 * half,
                     "n_per_arm": {"treatment": half, "control": half},
                     "n_per_arm_unadjusted": {"treatment": half, "control": half}})
    document["phases"][0]["select_column"] = "target_conservative"
    document["phases"][2]["select_column"] = "target_breakeven"
    path.write_text(json.dumps(document))
    return path


def run_assign(design: Path, customers: Path, output: Path, method: str) -> dict:
    """One `rollout assign` in a child process: wall seconds and that child's peak RSS."""
    command = [sys.executable, "-c", "from rollout.cli import main; main()", "assign",
               str(design), str(customers), "-o", str(output), "--method", method, "--json"]
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)  # rusage of this child alone
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        if child.returncode != 0:
            raise SystemExit(f"assign failed ({child.returncode}): {stderr.read().decode()}")
        report = json.loads(stdout.read())
    return {"method": method, "seconds": round(seconds, 1),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_rss_gb": round(usage.ru_maxrss / 1024**2, 2), "report": report}


def digest_files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def machine() -> str:
    memory_kb = 0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    return (f"{os.cpu_count()} cores, {memory_kb / 1024**2:.0f} GB, {platform.system()} "
            f"{platform.machine()}, Python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="customers")
    parser.add_argument("--n-total", type=int, default=None,
                        help="test size in the design (default: half the customers)")
    parser.add_argument("--methods", nargs="+", default=["complete", "hash"],
                        choices=["complete", "hash"])
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per method; from 2 on, outputs must be byte-identical")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="assign-bench-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        customers = make_customers(args.n, args.seed)
        customers_path = folder / "customers.parquet"
        customers.to_parquet(customers_path, index=False)
        del customers
        design = make_design(folder, args.n_total or args.n // 2)
        print(f"data: {args.n:,} customers written in {time.perf_counter() - start:.1f} s",
              file=sys.stderr)
        rows = []
        for method in args.methods:
            digests = []
            for repeat in range(args.repeat):
                out = folder / f"{method}-{repeat}"
                result = run_assign(design, customers_path, out / "assignment.parquet", method)
                digests.append(digest_files(out))
                report = result.pop("report")
                result.update({"customers": report["customers"],
                               "strata": len(report["strata"]), "entered":
                               report["test"]["entered"], "repeat": repeat + 1})
                rows.append(result)
                print(json.dumps(result), file=sys.stderr)
            if len(digests) > 1:
                same = all(d == digests[0] for d in digests)
                print(f"{method}: byte-identical across {len(digests)} runs: {same}",
                      file=sys.stderr)
                if not same:
                    raise SystemExit(f"{method}: outputs differ between runs")
    summary = {"date": dt.date.today().isoformat(), "machine": machine(), "runs": rows}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
