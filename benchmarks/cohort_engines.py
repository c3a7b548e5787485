"""Benchmark: ``rollout cohort`` on DuckDB and on local Spark, for growing customer bases.

For each size (default 100k, 300k and 1M customers) a seeded history is generated as parquet
files in the Complete Journey layout (``tests/data/synthetic_history.write_parquet_history``:
``--lines`` purchase lines per customer, a catalogue of 2,000 products in 20 stores whose
promotions table does not grow with the customers), then the command line runs on it:

    rollout cohort --parquet DIR --engine duckdb|spark -o cohort.parquet --json

Measured for each run, in a fresh process: the wall time of the command, and the peak memory of
the whole process tree, the Python process and (for Spark) its JVM child together: psutil sums
the resident set size of the command and all its descendants every 0.2 s and keeps the largest
sum. ``/usr/bin/time -v`` would report only the largest single process, not the sum. A run that
exceeds ``--timeout`` seconds is stopped and recorded as such; the sizes that fit are reported
with the growth measured between them.

    python benchmarks/cohort_engines.py --sizes 100000 300000 1000000 --timeout 900

Prints one JSON document per run as it finishes (and all of them at the end), to be recorded in
``benchmarks/README.md``. The generated histories are kept under ``--work`` for re-runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "data"))

from synthetic_history import write_parquet_history  # noqa: E402


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def run(command: list[str], timeout: float) -> dict:
    """Run ``command``; its wall time and the peak resident memory of its process tree."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    process = psutil.Process(child.pid)
    peak = 0
    timed_out = False
    while child.poll() is None:
        try:
            peak = max(peak, _tree_rss(process))
        except psutil.NoSuchProcess:
            break
        if time.perf_counter() - start > timeout:
            for member in process.children(recursive=True):
                member.kill()
            child.kill()
            timed_out = True
            break
        time.sleep(0.2)
    stdout, stderr = child.communicate()
    wall = time.perf_counter() - start
    result = {"wall_s": round(wall, 1), "peak_tree_rss_mb": round(peak / 2**20),
              "exit": child.returncode, "timed_out": timed_out}
    if child.returncode == 0:
        doc = json.loads(stdout)
        result.update({"n": doc["n"], "n_treated": doc["n_treated"],
                       "n_control": doc["n_control"], "engine": doc["engine"]})
    else:
        result["stderr_tail"] = stderr.strip().splitlines()[-3:]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--lines", type=int, default=50, help="purchase lines per customer")
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--work", type=Path,
                        default=Path(tempfile.gettempdir()) / "rollout-cohort-engines",
                        help="folder for the generated histories (default: under the system's "
                             "temporary folder)")
    args = parser.parse_args()
    rollout = str(Path(sys.executable).with_name("rollout"))
    results = []
    for size in args.sizes:
        folder = args.work / f"history_{size}_{args.lines}"
        if not (folder / "transactions.parquet").is_file():
            start = time.perf_counter()
            counts = write_parquet_history(folder, size, args.lines, seed=size)
            print(json.dumps({"generated": size, "rows": counts,
                              "seconds": round(time.perf_counter() - start, 1)}), flush=True)
        for engine in args.engines:
            out = args.work / f"cohort_{size}_{engine}.parquet"
            result = run([rollout, "cohort", "--parquet", str(folder), "--engine", engine,
                          "-o", str(out), "--json"], args.timeout)
            result.update({"customers": size, "lines_per_customer": args.lines,
                           "purchase_lines": size * args.lines, "engine_name": engine})
            print(json.dumps(result), flush=True)
            results.append(result)
    print(json.dumps({"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                  "memory_gb": round(psutil.virtual_memory().total / 2**30)},
                      "results": results}, indent=1))


if __name__ == "__main__":
    main()
