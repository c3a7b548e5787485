"""Benchmark: `rollout score` and `rollout assign` on DuckDB and on Spark (local mode).

Builds a small analysed world once (`rollout simulate good_overlap --n 1500 --seed 1`, then
`rollout analyze --models linear_dml,t_learner --model linear_dml`, so the deployed model has
intervals), generates N customers by resampling the cohort's covariate rows with a +-3% jitter
(plus a 4-level `segment` stratum), and times each command in a child process:

* wall time;
* peak memory of the whole process tree: the sum of the resident set sizes of the command and
  all its descendants (the JVM, Spark's Python workers), sampled from /proc every 0.2 s. This is
  what the machine had to hold; `/usr/bin/time -v` reports only the largest single process
  (`Maximum resident set size`), which is also recorded.

    python benchmarks/score_assign_engines.py --n 1000000 3000000
    python benchmarks/score_assign_engines.py --n 10000000 --engines duckdb

Results print as one JSON line per run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

CLI = [sys.executable, "-c", "from rollout.cli import main; main()"]
PAGE = os.sysconf("SC_PAGE_SIZE")


def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and every descendant (read from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    members, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [c for c, p in parents.items() if p == pid and c not in members]
        members.update(children)
        frontier.extend(children)
    total = 0
    for pid in members:
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
        except OSError:
            continue
    return total


def timed(args: list[str], cwd: Path) -> dict:
    """Run a command under /usr/bin/time -v; wall time, tree peak RSS, largest-process RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(["/usr/bin/time", "-v", *args], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, err = proc.communicate()
    sampler.join()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(err[-2000:])
    largest = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1))
    return {"wall_s": round(wall, 1), "tree_peak_gb": round(peak[0] / 1e9, 2),
            "largest_process_gb": round(largest * 1024 / 1e9, 2)}


def world(root: Path) -> tuple[Path, list[str]]:
    results = root / "results"
    if not results.exists():
        subprocess.run([*CLI, "simulate", "good_overlap", "--n", "1500", "--seed", "1", "-o",
                        "world"], cwd=root, check=True, capture_output=True)
        subprocess.run([*CLI, "analyze", "world/cohort.parquet", "-o", "results", "--cost", "9",
                        "--margin", "0.3", "--models", "linear_dml,t_learner", "--model",
                        "linear_dml", "--validate", "none", "--no-report", "--json"],
                       cwd=root, check=True, capture_output=True)
    summary = pd.read_json(results / "summary.json", typ="series")
    return results, list(summary["cate_model"]["covariates"])


def customers(root: Path, n: int, covariates: list[str]) -> Path:
    path = root / f"customers_{n}.parquet"
    if path.exists():
        return path
    cohort = pd.read_parquet(root / "world" / "cohort.parquet")[covariates].to_numpy()
    rng = np.random.default_rng(n)
    chunk = 1_000_000
    writer = None
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        jitter = rng.uniform(0.97, 1.03, (m, len(covariates)))
        rows = cohort[rng.integers(0, len(cohort), m)] * jitter
        table = pa.table({"customer_id": np.arange(start, start + m, dtype=np.int64),
                          "segment": rng.choice(np.array(list("ABCD")), m),
                          **{c: rows[:, j] for j, c in enumerate(covariates)}})
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, nargs="+", default=[1_000_000, 3_000_000])
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    parser.add_argument("--tasks", nargs="+", default=["score", "assign"])
    parser.add_argument("--root", type=Path, default=None)
    args = parser.parse_args()
    root = args.root or Path(tempfile.mkdtemp(prefix="rollout-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    results, covariates = world(root)
    for n in args.n:
        table = customers(root, n, covariates)
        subprocess.run([*CLI, "design", "--sd", "100", "--n", str(n // 4), "--strata", "segment",
                        "-o", f"design_{n}.json"], cwd=root, check=True, capture_output=True)
        for task in args.tasks:
            for engine in args.engines:
                out = root / f"{task}_{engine}_{n}" / "out.parquet"
                command = ([*CLI, "score", str(results), str(table), "-o", str(out)]
                           if task == "score" else
                           [*CLI, "assign", f"design_{n}.json", str(table), "-o", str(out)])
                command += ["--engine", engine, "--json"]
                if engine == "spark":
                    command += ["--spark-master", "local[2]"]
                print(json.dumps({"task": task, "engine": engine, "n": n,
                                  **timed(command, root)}), flush=True)


if __name__ == "__main__":
    main()
