"""Balance of an assignment: covariate SMDs, arm-by-stratum independence, counts against target.

A randomized assignment is balanced in expectation; these numbers show how balanced this one is,
so an unlucky draw (or a broken pipeline) is seen before the campaign goes out. All functions are
vectorized over customers: the per-arm sums come from ``np.bincount``, so checking ten million
customers or re-checking many candidate assignments stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats


def standardized_mean_differences(
    covariates: np.ndarray,
    names: Sequence[str],
    arm_index: np.ndarray,
    arms: Sequence[str],
    reference: str,
) -> list[dict[str, Any]]:
    """SMD of each covariate for each arm against ``reference``: mean gap over pooled SD.

    ``SMD = (mean_arm - mean_ref) / sqrt((var_arm + var_ref) / 2)`` with sample variances
    (``ddof=1``); missing values are left out covariate by covariate. A covariate that is constant
    in both arms has SMD 0; one with too few values in an arm has SMD ``None``.

    >>> x = np.array([[1.0], [2.0], [3.0], [4.0]])
    >>> rows = standardized_mean_differences(x, ["x"], np.array([0, 0, 1, 1]),
    ...                                      ["treatment", "control"], "control")
    >>> round(rows[0]["smd"], 4)  # (1.5 - 3.5) / sqrt((0.5 + 0.5) / 2)
    -2.8284
    """
    covariates = np.asarray(covariates, dtype=np.float64)
    n_arms = len(arms)
    ref = list(arms).index(reference)
    rows: list[dict[str, Any]] = []
    for j, name in enumerate(names):
        column = covariates[:, j]
        finite = np.isfinite(column)
        values = column[finite]
        groups = arm_index[finite]
        center = values.mean() if len(values) else 0.0
        centered = values - center
        count = np.bincount(groups, minlength=n_arms).astype(np.float64)
        total = np.bincount(groups, weights=centered, minlength=n_arms)
        total_sq = np.bincount(groups, weights=centered * centered, minlength=n_arms)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / count
            var = np.maximum(total_sq - count * mean * mean, 0.0) / (count - 1)
        for a, arm in enumerate(arms):
            if a == ref:
                continue
            rows.append({"covariate": name, "arm": arm, "reference": reference,
                         "smd": _smd(mean[a], mean[ref], var[a], var[ref],
                                     min(count[a], count[ref]))})
    return rows


def _smd(mean_a: float, mean_b: float, var_a: float, var_b: float, n_min: float) -> float | None:
    if n_min < 2:
        return None
    pooled = np.sqrt((var_a + var_b) / 2.0)
    gap = mean_a - mean_b
    if pooled <= 1e-12 * max(1.0, abs(mean_a), abs(mean_b)):
        return 0.0 if abs(gap) <= 1e-12 * max(1.0, abs(mean_a)) else None
    return float(gap / pooled)


def worst_abs_smd(rows: Sequence[dict[str, Any]]) -> float | None:
    """The largest |SMD| among ``rows`` (``None`` when no covariate could be compared).

    >>> worst_abs_smd([{"smd": 0.1}, {"smd": -0.3}, {"smd": None}])
    0.3
    """
    values = [abs(r["smd"]) for r in rows if r["smd"] is not None]
    return max(values) if values else None


def arm_by_stratum_test(counts: np.ndarray) -> dict[str, Any] | None:
    """Pearson chi-square test of independence of arm and stratum (no continuity correction).

    ``counts`` is strata by arms. Strata without customers are dropped; with fewer than two strata
    or arms left there is nothing to test and ``None`` is returned.

    >>> round(arm_by_stratum_test(np.array([[10, 10], [20, 20]]))["p_value"], 6)
    1.0
    """
    table = np.asarray(counts, dtype=np.float64)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if table.shape[0] < 2 or table.shape[1] < 2:
        return None
    result = stats.chi2_contingency(table, correction=False)
    return {"test": "Pearson chi-square, arm by stratum", "statistic": float(result.statistic),
            "df": int(result.dof), "p_value": float(result.pvalue), "n": int(table.sum())}


def allocation_test(counts: Sequence[int], shares: Sequence[float]) -> dict[str, Any] | None:
    """Do the arm counts fit the design's allocation? Exact binomial for two arms, else chi-square.

    Under ``complete`` randomization the counts match by construction and the p-value is near 1;
    under ``hash`` assignment this says how far chance has moved them.

    >>> round(allocation_test([50, 50], [0.5, 0.5])["p_value"], 6)
    1.0
    """
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    if n == 0:
        return None
    if len(counts) == 2:
        result = stats.binomtest(int(counts[0]), n, float(shares[0]))
        return {"test": "exact binomial, first arm against its allocation",
                "statistic": int(counts[0]), "p_value": float(result.pvalue), "n": n}
    expected = n * np.asarray(shares, dtype=np.float64)
    result = stats.chisquare(counts, expected)
    return {"test": "chi-square goodness of fit against the allocation",
            "statistic": float(result.statistic), "p_value": float(result.pvalue), "n": n}
