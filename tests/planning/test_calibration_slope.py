"""The calibration slope's SE as the design states it, against a hand computation and against
the BLP test evaluate runs on seeded returns from the same world."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rollout.data.contract import Cohort, save_cohort
from rollout.evaluation.calibration import blp_test
from rollout.planning.assignment import assign_customers
from rollout.planning.estimands import calibration_slope_se
from rollout.planning.plan import DesignRequest, plan_design
from tests.calibration import replications
from tests.planning.conftest import make_results


def test_slope_se_by_hand_with_its_allocation() -> None:
    rng = np.random.default_rng(0)
    cate = rng.normal(0, 2, size=4000)
    e = rng.normal(0, 10, size=4000)
    out = calibration_slope_se(cate, e, 1000, 0.2)
    sd_s, sd_e = np.std(cate), np.sqrt(np.mean(e**2))
    # e independent of the CATE: the textbook sigma_e / (sd(S) sqrt(N p (1 - p)))
    assert out["se_homoskedastic"] == pytest.approx(sd_e / (sd_s * math.sqrt(1000 * 0.16)))
    assert out["se"] == pytest.approx(out["se_homoskedastic"] * math.sqrt(out["kappa"]))
    assert out["kappa"] == pytest.approx(1, abs=0.1)
    # noise that grows with |S - Sbar| raises the SE by sqrt(kappa) > 1
    loud = calibration_slope_se(cate, e * np.abs(cate), 1000, 0.2)
    assert loud["kappa"] > 2 and loud["se"] > 1.4 * loud["se_homoskedastic"]


def _world(tmp_path: Path, loud: bool) -> tuple[Path, pd.DataFrame, np.ndarray]:
    """make_results' world; ``loud``: outcome noise SD 80 (0.3 + |x1|), in the analysis's data
    and the test's returns alike."""
    results = make_results(tmp_path, n=3000, seed=21)
    cohort = pd.read_parquet(tmp_path / "cohort.parquet")
    x1 = cohort["x1"].to_numpy()
    scale = (0.3 + np.abs(x1)) if loud else np.ones(len(x1))
    rng = np.random.default_rng(5)
    cate = 20 + 25 * x1
    cohort["spend"] = (0.8 * cohort["pre_spend"] + 30 * x1 + cohort["treatment"] * cate
                       + rng.normal(0, 80, size=len(x1)) * scale)
    save_cohort(tmp_path / "cohort.parquet", Cohort.from_frame(
        cohort, outcomes=["spend"], covariates=["pre_spend", "x1"]))
    return results, cohort, scale


@pytest.mark.slow
@pytest.mark.calibration
@pytest.mark.parametrize("loud", [False, True])
def test_design_slope_se_matches_the_simulated_blp(tmp_path: Path, loud: bool) -> None:
    results, cohort, scale = _world(tmp_path, loud)
    design = plan_design(DesignRequest(results=results, test="heterogeneity", mde=50))
    slope = design.details["validation"]["calibration_slope"]
    customers = pd.read_parquet(results / "customers.parquet")
    true_slope = 0.5  # the world's effects: 20 + 0.5 (cate - 20), half as spread as predicted
    tau = 20 + true_slope * (customers["cate"].to_numpy() - 20)
    rng = np.random.default_rng(11)
    reps = replications(1000, 300)
    estimates, rejected = [], []
    for k in range(reps):
        table = assign_customers(customers, design, salt=f"s{k}").table
        tested = table[table["arm"].isin(design.arms)]
        rows = tested["customer_id"].to_numpy()
        t = (tested["arm"] == "treatment").to_numpy(dtype=float)
        x = cohort[["pre_spend", "x1"]].to_numpy()[rows]
        y = (0.8 * x[:, 0] + 30 * x[:, 1] + t * tau[rows]
             + rng.normal(0, 80, size=len(rows)) * scale[rows])
        fit = blp_test(customers["cate"].to_numpy()[rows], y, t, 0.5, baseline=x)
        estimates.append(fit.slope)
        rejected.append(fit.p_value_slope_zero < 0.05)
    # the simulated SE within 10% of the design's (the MC error of an SD is 1 / sqrt(2 reps))
    assert np.std(estimates, ddof=1) == pytest.approx(slope["se"], rel=0.10)
    assert np.mean(estimates) == pytest.approx(true_slope, abs=3 * slope["se"] / math.sqrt(reps))
    # the power the design states for the world's slope
    power = float(stats.norm.sf(stats.norm.isf(0.05) - true_slope / slope["se"]))
    assert abs(np.mean(rejected) - power) <= 3 * math.sqrt(power * (1 - power) / reps) + 0.02
    if loud:
        assert slope["kappa"] > 1.3
