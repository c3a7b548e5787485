"""Benchmark: the cohort build (DuckDB) beside the same features in plain pandas.

Each measurement runs in a fresh subprocess so that its peak resident memory (``ru_maxrss``) is
its own: the whole ``build_cohort`` on the embedded Complete Journey data, and a straightforward
pandas computation of the heavy part of the features (RFM, category shares and promotion
exposure of every household's pre-period purchase lines, with the 21-million-row promotions
table collapsed and joined) for the same cohort index. The pandas results are checked against
the cohort's columns so that both sides compute the same thing.

    python benchmarks/cohort_build.py --repeats 3

Prints one JSON document (medians over the repeats, the machine and versions), to be recorded in
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DUCKDB_CHILD = r"""
import json, resource, sys, time
start = time.perf_counter()
from rollout.data import build_cohort
build = build_cohort("completejourney")
wall = time.perf_counter() - start
index = build.cohort.frame
index.to_parquet(sys.argv[1])
print(json.dumps({"wall_s": wall, "build_s": sum(build.timings.values()),
                  "features_s": build.timings["compute features"],
                  "timings": build.timings,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "n": build.cohort.n}))
"""

PANDAS_CHILD = r"""
import json, resource, sys, time
start = time.perf_counter()
import numpy as np
import pandas as pd
from rollout.data.completejourney import embedded_data_dir

data = embedded_data_dir()
cohort = pd.read_parquet(sys.argv[1])
index = cohort[["customer_id", "index_week"]]
tx = pd.read_parquet(data / "transactions.parquet")
products = pd.read_parquet(data / "products.parquet",
                           columns=["product_id", "department", "brand", "product_category"])
promo = pd.read_parquet(data / "promotions.parquet")
promo["on_display"] = (promo["display_location"] != "0").astype(np.int64)
promo["in_mailer"] = (promo["mailer_location"] != "0").astype(np.int64)
promo = (promo.groupby(["product_id", "store_id", "week"], as_index=False)
         [["on_display", "in_mailer"]].max())

lines = tx.merge(index, left_on="household_id", right_on="customer_id")
pre = lines[lines["week"] < lines["index_week"]]
pre = pre.merge(products, on="product_id", how="left")
pre = pre.merge(promo, on=["product_id", "store_id", "week"], how="left")
pre[["on_display", "in_mailer"]] = pre[["on_display", "in_mailer"]].fillna(0)

fresh = ["PRODUCE", "MEAT", "MEAT-PCKGD", "DELI", "SEAFOOD", "SEAFOOD-PCKGD", "SALAD BAR",
         "PASTRY"]
pre = pre.assign(
    grocery=np.where(pre["department"] == "GROCERY", pre["sales_value"], 0.0),
    fresh=np.where(pre["department"].isin(fresh), pre["sales_value"], 0.0),
    fuel=np.where(pre["department"].isin(["FUEL", "KIOSK-GAS"]), pre["sales_value"], 0.0),
    frozen=np.where(pre["product_category"].fillna("").str.match(r"^(FRZN|FROZEN|ICE CREAM)"),
                    pre["sales_value"], 0.0),
    private=np.where(pre["brand"] == "Private", pre["sales_value"], 0.0),
)
grouped = pre.groupby("customer_id")
agg = grouped.agg(
    frequency=("basket_id", "nunique"), active_weeks=("week", "nunique"),
    n_stores=("store_id", "nunique"), last_week=("week", "max"),
    sales=("sales_value", "sum"), grocery=("grocery", "sum"), fresh=("fresh", "sum"),
    fuel=("fuel", "sum"), frozen=("frozen", "sum"), private=("private", "sum"),
    display=("on_display", "mean"), mailer_rate=("in_mailer", "mean"),
).join(index.set_index("customer_id"))
pre_weeks = agg["index_week"] - tx["week"].min()
features = pd.DataFrame({
    "recency_weeks": agg["index_week"] - agg["last_week"],
    "frequency": agg["frequency"],
    "frequency_per_week": agg["frequency"] / pre_weeks,
    "monetary_sales": agg["sales"] / pre_weeks,
    "monetary_avg_basket_sales": agg["sales"] / agg["frequency"],
    "active_weeks": agg["active_weeks"], "n_stores": agg["n_stores"],
    "private_label_ratio": (agg["private"] / agg["sales"]).where(agg["sales"] > 0, 0.0),
    "share_grocery": (agg["grocery"] / agg["sales"]).where(agg["sales"] > 0, 0.0),
    "share_fresh": (agg["fresh"] / agg["sales"]).where(agg["sales"] > 0, 0.0),
    "share_fuel": (agg["fuel"] / agg["sales"]).where(agg["sales"] > 0, 0.0),
    "share_frozen": (agg["frozen"] / agg["sales"]).where(agg["sales"] > 0, 0.0),
    "display_exposure_rate": agg["display"], "mailer_exposure_rate": agg["mailer_rate"],
})
wall = time.perf_counter() - start
mine = cohort.set_index("customer_id").loc[features.index]
worst = float(max(np.abs(features[c].to_numpy(float) - mine[c].to_numpy(float)).max()
                  for c in features.columns))
print(json.dumps({"wall_s": wall,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "n": len(features), "max_abs_difference_vs_duckdb": worst}))
"""


def _run(code: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _versions() -> dict[str, str]:
    import duckdb
    import pandas
    import pyarrow

    return {"python": platform.python_version(), "duckdb": duckdb.__version__,
            "pandas": pandas.__version__, "pyarrow": pyarrow.__version__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    duck, pandas_runs = [], []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        cohort = str(Path(tmp) / "cohort.parquet")
        for _ in range(args.repeats):
            duck.append(_run(DUCKDB_CHILD, cohort))
            pandas_runs.append(_run(PANDAS_CHILD, cohort))

    def median(runs: list[dict], key: str) -> float:
        return round(statistics.median(r[key] for r in runs), 2)

    result = {
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_average_1min": {"before": round(load_before, 2),
                                          "after": round(os.getloadavg()[0], 2)}},
        "versions": _versions(),
        "repeats": args.repeats,
        "duckdb_build": {"wall_s": median(duck, "wall_s"), "build_s": median(duck, "build_s"),
                         "features_s": median(duck, "features_s"),
                         "peak_rss_mb": median(duck, "peak_rss_mb"), "n": duck[0]["n"]},
        "pandas_features": {"wall_s": median(pandas_runs, "wall_s"),
                            "peak_rss_mb": median(pandas_runs, "peak_rss_mb"),
                            "max_abs_difference_vs_duckdb": max(
                                r["max_abs_difference_vs_duckdb"] for r in pandas_runs)},
    }
    result["speedup_whole_build_vs_pandas_features"] = round(
        result["pandas_features"]["wall_s"] / result["duckdb_build"]["wall_s"], 2)
    result["memory_ratio_pandas_vs_duckdb"] = round(
        result["pandas_features"]["peak_rss_mb"] / result["duckdb_build"]["peak_rss_mb"], 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
