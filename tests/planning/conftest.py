"""A small synthetic results folder in the layout ``rollout analyze`` writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rollout.data.contract import Cohort, save_cohort

COST, MARGIN = 12.0, 0.3


def make_results(folder: Path, n: int = 1200, seed: int = 3, *, with_breakeven: bool = True,
                 overlap_effect: float | None = 30.0) -> Path:
    """Write cohort.parquet beside RESULTS/ (summary.json, customers.parquet); return RESULTS."""
    rng = np.random.default_rng(seed)
    pre = rng.gamma(2.0, 60.0, size=n)
    x1 = rng.normal(size=n)
    segment = rng.choice(["loyal", "lapsed", "bulk", "rare"], size=n, p=[0.4, 0.3, 0.28, 0.02])
    ps = 1 / (1 + np.exp(-(pre - 120) / 40))
    treatment = (rng.uniform(size=n) < ps).astype(int)
    cate = 20 + 25 * x1
    spend = 0.8 * pre + 30 * x1 + treatment * cate + rng.normal(0, 80, size=n)
    cohort = Cohort.from_frame(
        pd.DataFrame({"customer_id": np.arange(n), "treatment": treatment, "spend": spend,
                      "pre_spend": pre, "x1": x1, "segment": segment}),
        outcomes=["spend"], covariates=["pre_spend", "x1"])
    save_cohort(folder / "cohort.parquet", cohort)
    region = np.select([(ps >= 0.1) & (ps <= 0.9), (ps >= 0.05) & (ps <= 0.95), ps < 0.05],
                       ["overlap", "near_boundary", "extreme_low"], "extreme_high")
    breakeven = COST / MARGIN
    customers = pd.DataFrame({
        "customer_id": np.arange(n), "treatment": treatment, "ps": ps, "ps_region": region,
        "cate": cate, "segment": segment,
        "target_breakeven": (cate > breakeven).astype(int),
        "target_conservative": (cate - 30 > breakeven).astype(int),
    })
    results = folder / "results"
    results.mkdir()
    customers.to_parquet(results / "customers.parquet", index=False)
    summary: dict = {
        "cohort": {"path": "../cohort.parquet", "outcomes": ["spend"]},
        "ate": [{"outcome": "spend", "method": "aipw", "estimate": 21.0, "se": 5.0}],
        "positivity": {"auc": 0.8},
    }
    if with_breakeven:
        summary["breakeven"] = {"cost": COST, "margin": MARGIN, "breakeven_cate": breakeven}
    if overlap_effect is not None:
        summary["overlap_effect"] = {"spend": overlap_effect}
    (results / "summary.json").write_text(json.dumps(summary))
    return results


@pytest.fixture
def results_folder(tmp_path: Path) -> Path:
    return make_results(tmp_path)
