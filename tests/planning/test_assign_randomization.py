"""Randomization checked against known truth: every customer's chance of each arm is the design's.

Over many salts, a customer's share of draws in an arm estimates that chance; the tolerances are
multiples of the Monte Carlo standard error. Strata have sizes whose targets are not whole, where a
fixed rounding rule would be biased.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rollout.planning.assignment import assign_customers

SIZES = {"a": 7, "b": 11, "c": 23}


def population() -> pd.DataFrame:
    segment = [s for s, n in SIZES.items() for _ in range(n)]
    return pd.DataFrame({"customer_id": np.arange(len(segment)) * 7 + 3, "segment": segment})


def design(share: float) -> dict:
    return {"arms": ["treatment", "control"], "n_total": 10**6, "strata": ["segment"],
            "allocation": {"treatment": share, "control": 1 - share}, "phases": [], "seed": 0}


def treated_matrix(method: str, share: float, salts: int) -> np.ndarray:
    customers = population()
    return np.array([
        (assign_customers(customers, design(share), salt=f"r{k}", method=method)
         .table["arm"] == "treatment").to_numpy()
        for k in range(salts)])


def check_unbiased(treated: np.ndarray, share: float) -> None:
    salts = treated.shape[0]
    segment = population()["segment"].to_numpy()
    # Each stratum's treated count averages its (non-whole) target.
    for label, n in SIZES.items():
        counts = treated[:, segment == label].sum(axis=1)
        target = n * share
        frac = target - np.floor(target)
        assert set(np.unique(counts)) <= {int(np.floor(target)), int(np.ceil(target))}
        se = np.sqrt(frac * (1 - frac) / salts)
        assert abs(counts.mean() - target) <= 4.5 * se
    # Each customer's chance of treatment is the allocation (4.5 SE over 41 customers: a false
    # alarm has probability below 1e-3).
    se = np.sqrt(share * (1 - share) / salts)
    assert np.abs(treated.mean(axis=0) - share).max() <= 4.5 * se


@pytest.mark.parametrize("share", [0.5, 0.3])
def test_complete_assignment_is_unbiased_quick(share: float) -> None:
    check_unbiased(treated_matrix("complete", share, 150), share)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["complete", "hash"])
@pytest.mark.parametrize("share", [0.5, 0.3])
def test_assignment_is_unbiased(method: str, share: float) -> None:
    treated = treated_matrix(method, share, 2000)
    if method == "complete":
        check_unbiased(treated, share)
    else:
        se = np.sqrt(share * (1 - share) / treated.shape[0])
        assert np.abs(treated.mean(axis=0) - share).max() <= 4.5 * se


@pytest.mark.slow
@pytest.mark.calibration
def test_hash_allocation_test_has_its_nominal_size() -> None:
    # Under hash assignment the arm counts are binomial, so the report's exact binomial test
    # rejects at 5% in 5% of salts (up to its discreteness, which makes it conservative).
    customers = pd.DataFrame({"customer_id": np.arange(400)})
    salts = 2000
    rejections = sum(
        assign_customers(customers, design(0.5) | {"strata": []}, salt=f"s{k}", method="hash")
        .report["balance"]["allocation"]["p_value"] < 0.05
        for k in range(salts))
    rate = rejections / salts
    se = np.sqrt(0.05 * 0.95 / salts)
    assert 0.05 - 5 * se <= rate <= 0.05 + 3 * se


@pytest.mark.slow
def test_rerandomization_tightens_balance() -> None:
    # Known truth: the best of K draws has a smaller worst |SMD| than a single draw, on average.
    rng = np.random.default_rng(1)
    n = 200
    customers = pd.DataFrame({"customer_id": np.arange(n), "x1": rng.normal(size=n),
                              "x2": rng.gamma(2.0, 1.0, n)})
    base = design(0.5) | {"strata": []}
    single = [assign_customers(customers, base, salt=f"q{k}").report["balance"]["worst_abs_smd"]
              for k in range(200)]
    best = [assign_customers(customers, base, salt=f"q{k}", rerandomize=10)
            .report["balance"]["worst_abs_smd"] for k in range(200)]
    assert np.mean(best) < 0.5 * np.mean(single)
