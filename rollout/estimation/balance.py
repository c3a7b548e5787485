"""Covariate balance: standardized mean differences before and after propensity weighting.

An SMD compares the arms' means of one covariate in units of its spread, so covariates on
different scales can be judged against one threshold (|SMD| < 0.1 is the usual "balanced"). The
denominator is the *unweighted* pooled standard deviation sqrt((s1² + s0²) / 2) in both columns
(Austin 2009), so a change between "before" and "after" is a change in the means only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rollout.common.display import DisplayMixin

BALANCE_THRESHOLD = 0.1
SMD_DENOMINATOR = "pooled SD, unweighted: sqrt((var_treated + var_control) / 2), ddof=1"


def ipw_weights(treatment: np.ndarray, e: np.ndarray) -> np.ndarray:
    """ATE inverse-probability weights 1/e for the treated and 1/(1-e) for controls."""
    treatment = np.asarray(treatment)
    return np.where(treatment == 1, 1.0 / e, 1.0 / (1.0 - e))


def standardized_mean_difference(
    x: np.ndarray, treatment: np.ndarray, weights: np.ndarray | None = None
) -> float:
    """(weighted mean treated - weighted mean control) / unweighted pooled SD.

    >>> standardized_mean_difference(np.array([0., 2., 1., 3.]), np.array([0, 0, 1, 1]))
    0.7071067811865475
    """
    x = np.asarray(x, dtype=float)
    treatment = np.asarray(treatment)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    t1, t0 = treatment == 1, treatment == 0
    mean1 = np.sum(w[t1] * x[t1]) / np.sum(w[t1])
    mean0 = np.sum(w[t0] * x[t0]) / np.sum(w[t0])
    pooled = np.sqrt((np.var(x[t1], ddof=1) + np.var(x[t0], ddof=1)) / 2)
    return float((mean1 - mean0) / pooled) if pooled > 0 else float("nan")


@dataclass(frozen=True)
class BalanceResult(DisplayMixin):
    """SMD of every covariate before and after IPW (ATE) weighting."""

    table: pd.DataFrame  # covariate, smd_unweighted, smd_weighted
    threshold: float = BALANCE_THRESHOLD
    weighting: str = "IPW (ATE) weights from the clipped cross-fitted propensity score"

    @property
    def n_covariates(self) -> int:
        return len(self.table)

    @property
    def n_balanced_before(self) -> int:
        return int((self.table["smd_unweighted"].abs() < self.threshold).sum())

    @property
    def n_balanced_after(self) -> int:
        return int((self.table["smd_weighted"].abs() < self.threshold).sum())

    def worst(self, column: str = "smd_unweighted") -> tuple[str, float]:
        """The covariate with the largest |SMD| in ``column``, and that SMD."""
        idx = self.table[column].abs().idxmax()
        return str(self.table.loc[idx, "covariate"]), float(self.table.loc[idx, column])

    def summary(self) -> pd.DataFrame:
        return self.table.copy()

    def to_pandas(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, object]:
        worst_before, smd_before = self.worst("smd_unweighted")
        worst_after, smd_after = self.worst("smd_weighted")
        return {
            "smd": self.table,
            "smd_denominator": SMD_DENOMINATOR,
            "smd_weighting": self.weighting,
            "balance_threshold": self.threshold,
            "n_covariates": self.n_covariates,
            "n_balanced_before": self.n_balanced_before,
            "n_balanced_after": self.n_balanced_after,
            "worst_before": {"covariate": worst_before, "smd": smd_before},
            "worst_after": {"covariate": worst_after, "smd": smd_after},
        }


def covariate_balance(
    X: np.ndarray,
    treatment: np.ndarray,
    e: np.ndarray,
    names: Sequence[str],
) -> BalanceResult:
    """SMDs of every covariate, unweighted and IPW-weighted with propensity ``e`` (pre-clipped).

    >>> X = np.array([[0.], [2.], [1.], [3.]]); t = np.array([0, 0, 1, 1])
    >>> covariate_balance(X, t, np.full(4, 0.5), ["x0"]).n_balanced_before
    0
    """
    weights = ipw_weights(treatment, e)
    rows = [
        {
            "covariate": str(name),
            "smd_unweighted": standardized_mean_difference(X[:, j], treatment),
            "smd_weighted": standardized_mean_difference(X[:, j], treatment, weights),
        }
        for j, name in enumerate(names)
    ]
    return BalanceResult(table=pd.DataFrame(rows))
