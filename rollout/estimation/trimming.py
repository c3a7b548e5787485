"""Trimming sensitivity: the doubly robust effect after dropping customers with extreme scores.

Dropping customers whose propensity lies outside [a, 1-a] removes the ones whose effect can only
be extrapolated, but it also changes the question: each row estimates the average effect *in the
trimmed population* (customers whose score lies in the window), a different estimand per window.
The nuisance predictions are the cross-fitted ones from the full cohort (not refitted per window)
so that the rows differ only in who is averaged over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rollout.common.display import DisplayMixin
from rollout.common.stats import Z_975, aipw_scores
from rollout.estimation.ate import clip_scores
from rollout.estimation.propensity import WINDOWS, window_label

NONE = "none"


def trimmed_estimand(trim: str) -> str:
    """The estimand of a trimming row, in words.

    >>> trimmed_estimand("0.1-0.9")
    'ATE among customers with propensity in [0.1, 0.9]'
    """
    if trim == NONE:
        return "ATE (all customers, clipped scores)"
    low, high = trim.split("-")
    return f"ATE among customers with propensity in [{low}, {high}]"


@dataclass(frozen=True)
class TrimmingResult(DisplayMixin):
    """AIPW estimate, SE and interval for no trimming and each propensity window."""

    table: pd.DataFrame  # outcome, trim, n, n_treated, n_control, estimate, se, ci_low, ...

    def summary(self) -> pd.DataFrame:
        return self.table[["outcome", "trim", "n", "estimate", "se", "ci_low", "ci_high"]].copy()

    def to_pandas(self) -> pd.DataFrame:
        return self.table.copy()

    def row(self, outcome: str, trim: str) -> dict[str, object]:
        match = self.table[(self.table["outcome"] == outcome) & (self.table["trim"] == trim)]
        return match.iloc[0].to_dict()


def trimming_sensitivity(
    y: np.ndarray,
    treatment: np.ndarray,
    e: np.ndarray,
    mu0: np.ndarray,
    mu1: np.ndarray,
    outcome: str = "y",
    windows: Sequence[float] = WINDOWS,
    clip: float = 0.01,
    min_per_arm: int = 2,
) -> TrimmingResult:
    """AIPW in the full cohort (scores clipped at ``clip``) and within each window [a, 1-a].

    A window that leaves fewer than ``min_per_arm`` customers in an arm gets a row with NaN
    estimates rather than a number that means nothing.

    >>> t = np.array([0, 1] * 4); y = np.arange(8.0); e = np.linspace(0.02, 0.98, 8)
    >>> res = trimming_sensitivity(y, t, e, np.zeros(8), np.ones(8), windows=[0.1])
    >>> res.table["n"].tolist()
    [8, 6]
    """
    y = np.asarray(y, dtype=float)
    treatment = np.asarray(treatment)
    e = np.asarray(e, dtype=float)
    rows = []
    masks = [(NONE, np.ones(len(y), dtype=bool))]
    masks += [(window_label(a), (e >= a) & (e <= 1 - a)) for a in windows]
    for trim, keep in masks:
        n1, n0 = int(np.sum(treatment[keep] == 1)), int(np.sum(treatment[keep] == 0))
        row: dict[str, object] = {"outcome": outcome, "trim": trim, "n": int(keep.sum()),
                                  "n_treated": n1, "n_control": n0,
                                  "estimand": trimmed_estimand(trim),
                                  "se_type": "influence function (cross-fitted, not refitted)"}
        if min(n1, n0) < min_per_arm:
            row.update(estimate=np.nan, se=np.nan, ci_low=np.nan, ci_high=np.nan)
        else:
            e_kept, _ = clip_scores(e[keep], clip)
            scores = aipw_scores(y[keep], treatment[keep], e_kept,
                                 np.asarray(mu0, float)[keep], np.asarray(mu1, float)[keep])
            estimate = float(scores.mean())
            se = float(np.sqrt(np.mean((scores - estimate) ** 2) / len(scores)))
            row.update(estimate=estimate, se=se, ci_low=estimate - Z_975 * se,
                       ci_high=estimate + Z_975 * se)
        rows.append(row)
    return TrimmingResult(table=pd.DataFrame(rows))
