"""Interval coverage against known truth, over many seeded simulated cohorts (slow).

Each replication draws a cohort with known propensity and effect, runs the estimators exactly as
``rollout analyze`` does (same folds, learners and clipping), and records whether each 95%
interval covers the truth of *its own* estimand:

- aipw: ATE = mean(tau) over the sample;
- dml and ato: ATO = sum(e(1-e) tau) / sum(e(1-e)) with the true e;
- aipw trimmed to a window: mean(tau) over the customers kept by the estimated score;
- ols: the ATE in a world with a constant effect and linear confounding.

Coverage must lie within 3 Monte Carlo standard errors of 95%. As a check that the estimand
labels mean something, DML's interval is also shown to miss the ATE far more often than 5%.
The replications run in 2 processes; ``ROLLOUT_COVERAGE_REPS`` changes their number (default 500).
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from calibration import replications
from estimation_worlds import heterogeneous_world, linear_constant_world

from rollout.analysis import AnalyzeOptions, fit_nuisances
from rollout.estimation.ate import aipw, ato_overlap, dml_partialling_out, ols_adjusted
from rollout.estimation.trimming import trimming_sensitivity

REPS = int(os.environ.get("ROLLOUT_COVERAGE_REPS", str(replications(500, 250))))
NOMINAL = 0.95


def _covers(low: float, high: float, truth: float) -> bool:
    return bool(low <= truth <= high)


def heterogeneous_replication(seed: int) -> dict[str, bool]:
    world = heterogeneous_world(seed, n=1000)
    cohort = world.cohort
    options = AnalyzeOptions(seed=seed)
    nuisances = fit_nuisances(cohort, options)
    y, t, e = cohort.outcome("y"), cohort.treatment, nuisances.e_hat
    fitted = nuisances.outcomes["y"]
    out = {}
    est = aipw(y, t, e, fitted.mu0, fitted.mu1, clip=options.clip)
    out["aipw vs ATE"] = _covers(est.ci_low, est.ci_high, world.ate)
    est = dml_partialling_out(y, t, e, fitted.m)
    out["dml vs ATO"] = _covers(est.ci_low, est.ci_high, world.ato)
    out["dml vs ATE (should under-cover)"] = _covers(est.ci_low, est.ci_high, world.ate)
    est = ato_overlap(y, t, e, fitted.mu0, fitted.mu1)
    out["ato vs ATO"] = _covers(est.ci_low, est.ci_high, world.ato)
    trimmed = trimming_sensitivity(y, t, e, fitted.mu0, fitted.mu1, windows=[0.1, 0.2],
                                   clip=options.clip).table
    for window in ("0.1-0.9", "0.2-0.8"):
        row = trimmed[trimmed["trim"] == window].iloc[0]
        low, high = (float(w) for w in window.split("-"))
        kept = (e >= low) & (e <= high)
        out[f"aipw trimmed {window} vs trimmed ATE"] = _covers(row["ci_low"], row["ci_high"],
                                                               float(world.tau[kept].mean()))
    return out


def linear_replication(seed: int) -> dict[str, bool]:
    world = linear_constant_world(seed, n=1000)
    cohort = world.cohort
    est = ols_adjusted(cohort.outcome("y"), cohort.treatment, cohort.X)
    return {"ols vs ATE (constant effect)": _covers(est.ci_low, est.ci_high, world.ate)}


def coverage(replicate, reps: int) -> dict[str, float]:
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(replicate, range(reps), chunksize=10))
    return {key: float(np.mean([r[key] for r in results])) for key in results[0]}


def _assert_nominal(rates: dict[str, float], reps: int) -> None:
    mc_se = np.sqrt(NOMINAL * (1 - NOMINAL) / reps)
    for key, rate in rates.items():
        if "should under-cover" in key:
            continue
        assert abs(rate - NOMINAL) <= 3 * mc_se, f"{key}: coverage {rate:.3f} over {reps} reps"


@pytest.mark.slow
@pytest.mark.calibration
def test_doubly_robust_intervals_cover_their_estimands() -> None:
    rates = coverage(heterogeneous_replication, REPS)
    print({k: round(v, 3) for k, v in rates.items()})
    _assert_nominal(rates, REPS)
    # DML targets the overlap-weighted effect: against the ATE its interval misses far too often.
    assert rates["dml vs ATE (should under-cover)"] < NOMINAL - 5 * np.sqrt(0.0475 / REPS)


@pytest.mark.slow
@pytest.mark.calibration
def test_ols_covers_a_constant_effect_under_linear_confounding() -> None:
    rates = coverage(linear_replication, REPS)
    print(rates)
    _assert_nominal(rates, REPS)
