"""Propensity scores and the positivity diagnostics built on them.

Positivity (every customer could have been treated or not) is the assumption observational
campaign data break most often: targeting rules make treatment predictable from the covariates.
This module estimates the propensity score two ways (cross-fitted gradient boosting, and a
logistic-regression reference on standardized covariates), measures how predictable treatment is
(the AUC of the cross-fitted score, with a DeLong 95% interval), and describes overlap: score
quantiles by arm, the share of customers inside symmetric windows, and each customer's region.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from rollout.common.display import DisplayMixin
from rollout.common.stats import z_quantile
from rollout.estimation.crossfit import cross_fit, fit_predict_classifier

#: Symmetric propensity windows [a, 1-a] used for overlap shares and trimming.
WINDOWS: tuple[float, ...] = (0.05, 0.10, 0.15, 0.20)
QUANTILES: tuple[float, ...] = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)
REGIONS: tuple[str, ...] = ("extreme_low", "near_boundary", "overlap", "extreme_high")


def window_label(a: float) -> str:
    """The key of the window [a, 1-a], e.g. ``"0.1-0.9"``.

    >>> window_label(0.05), window_label(0.1)
    ('0.05-0.95', '0.1-0.9')
    """
    return f"{round(a, 4):g}-{round(1 - a, 4):g}"


def cross_fit_propensity(
    X: np.ndarray, treatment: np.ndarray, folds: np.ndarray, seed: int, n_jobs: int = 1
) -> np.ndarray:
    """Cross-fitted P(T=1|x) from gradient-boosted trees (one model per fold, seeded)."""
    return cross_fit(fit_predict_classifier(seed, n_jobs), X, np.asarray(treatment), folds)


def cross_fit_logistic_reference(
    X: np.ndarray, treatment: np.ndarray, folds: np.ndarray
) -> np.ndarray:
    """Cross-fitted P(T=1|x) from a logistic regression on standardized covariates.

    A transparent reference for the boosted score: if the linear model already predicts treatment
    almost perfectly, the violation is not an artefact of a flexible learner. A mild L2 penalty
    (C=1 on standardized covariates) keeps the fit finite when the arms are nearly separable.
    """

    def run(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray) -> np.ndarray:
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
        return model.fit(X_train, y_train).predict_proba(X_test)[:, 1]

    return cross_fit(run, X, np.asarray(treatment), folds)


def ps_region(ps: np.ndarray) -> np.ndarray:
    """Each customer's propensity region.

    ``overlap`` is [0.1, 0.9]; ``near_boundary`` is [0.05, 0.1) or (0.9, 0.95]; ``extreme_low`` is
    below 0.05 and ``extreme_high`` above 0.95.

    >>> ps_region(np.array([0.01, 0.07, 0.5, 0.93, 0.99])).tolist()
    ['extreme_low', 'near_boundary', 'overlap', 'near_boundary', 'extreme_high']
    """
    ps = np.asarray(ps, dtype=float)
    region = np.full(len(ps), "overlap", dtype=object)
    region[(ps < 0.1) | (ps > 0.9)] = "near_boundary"
    region[ps < 0.05] = "extreme_low"
    region[ps > 0.95] = "extreme_high"
    return region


def _midranks(x: np.ndarray) -> np.ndarray:
    return stats.rankdata(x, method="average")


@dataclass(frozen=True)
class AUCResult(DisplayMixin):
    """An AUC with its DeLong standard error and 95% interval (logit-transformed, kept in [0,1])."""

    auc: float
    se: float
    ci_low: float
    ci_high: float
    method: str = "DeLong (logit-transformed interval)"


def auc_delong(labels: np.ndarray, scores: np.ndarray, level: float = 0.95) -> AUCResult:
    """The area under the ROC curve with a DeLong (1988) standard error.

    Uses the midrank formulation of Sun & Xu (2014). The interval is built on the logit scale so it
    stays inside [0, 1] when the AUC is near 1 (the situation positivity diagnostics care about).

    >>> r = auc_delong(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    >>> r.auc
    0.75
    """
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=float)
    pos, neg = scores[labels == 1], scores[labels == 0]
    m, n = len(pos), len(neg)
    tx, ty, tz = _midranks(pos), _midranks(neg), _midranks(np.concatenate([pos, neg]))
    auc = float((tz[:m].sum() - m * (m + 1) / 2) / (m * n))
    v10 = (tz[:m] - tx) / n          # placement of each positive among the negatives
    v01 = 1.0 - (tz[m:] - ty) / m    # placement of each negative among the positives
    s10 = np.var(v10, ddof=1) if m > 1 else 0.0
    s01 = np.var(v01, ddof=1) if n > 1 else 0.0
    se = float(np.sqrt(s10 / m + s01 / n))
    z = z_quantile(level)
    clipped = min(max(auc, 1e-9), 1 - 1e-9)
    logit = np.log(clipped / (1 - clipped))
    se_logit = se / (clipped * (1 - clipped))
    lo, hi = logit - z * se_logit, logit + z * se_logit
    return AUCResult(auc=auc, se=se, ci_low=float(1 / (1 + np.exp(-lo))),
                     ci_high=float(1 / (1 + np.exp(-hi))))


@dataclass(frozen=True)
class PositivityResult(DisplayMixin):
    """How predictable treatment is, and how much the arms overlap."""

    auc: AUCResult
    auc_reference: AUCResult
    quantiles: pd.DataFrame          # columns: quantile, control, treated
    overlap_share: dict[str, float]  # window label -> share of customers inside
    overlap_n: dict[str, int]
    region_counts: dict[str, int]
    n: int

    @property
    def violated(self) -> bool:
        """Positivity is called violated when AUC > 0.9 or under half the customers are in
        [0.1, 0.9]."""
        return self.auc.auc > 0.9 or self.overlap_share[window_label(0.1)] < 0.5

    @property
    def status(self) -> str:
        """``violated``; ``questionable`` (AUC > 0.8 or under 80% in [0.1, 0.9]); or
        ``plausible``."""
        if self.violated:
            return "violated"
        if self.auc.auc > 0.8 or self.overlap_share[window_label(0.1)] < 0.8:
            return "questionable"
        return "plausible"

    def summary(self) -> pd.DataFrame:
        """One row per diagnostic, for a terminal table."""
        rows = [
            {"diagnostic": "PS AUC (boosted, cross-fitted)", "value": self.auc.auc,
             "ci_low": self.auc.ci_low, "ci_high": self.auc.ci_high},
            {"diagnostic": "PS AUC (logistic reference)", "value": self.auc_reference.auc,
             "ci_low": self.auc_reference.ci_low, "ci_high": self.auc_reference.ci_high},
        ]
        for label, share in self.overlap_share.items():
            rows.append({"diagnostic": f"share in [{label.replace('-', ', ')}]", "value": share,
                         "ci_low": float("nan"), "ci_high": float("nan")})
        return pd.DataFrame(rows)

    def to_pandas(self) -> pd.DataFrame:
        return self.summary()

    def to_dict(self) -> dict[str, object]:
        return {
            "ps_auc": self.auc.auc,
            "ps_auc_se": self.auc.se,
            "ps_auc_ci": [self.auc.ci_low, self.auc.ci_high],
            "ps_auc_ci_method": self.auc.method,
            "ps_auc_reference": self.auc_reference.auc,
            "ps_auc_reference_ci": [self.auc_reference.ci_low, self.auc_reference.ci_high],
            "ps_model": "gradient-boosted trees (XGBoost), cross-fitted",
            "ps_reference_model": "logistic regression on standardized covariates, cross-fitted",
            "overlap_share": self.overlap_share,
            "overlap_n": self.overlap_n,
            "region_counts": self.region_counts,
            "ps_quantiles": self.quantiles,
            "status": self.status,
            "violated": self.violated,
            "rule": "violated if PS AUC > 0.9 or share in [0.1, 0.9] < 50%; questionable if "
                    "AUC > 0.8 or share < 80%; otherwise plausible",
            "n": self.n,
        }


def positivity_diagnostics(
    treatment: np.ndarray,
    e_hat: np.ndarray,
    e_reference: np.ndarray,
    windows: Sequence[float] = WINDOWS,
) -> PositivityResult:
    """Overlap diagnostics from cross-fitted propensity scores.

    >>> t = np.array([0, 0, 0, 1, 1, 1]); e = np.array([0.02, 0.3, 0.5, 0.5, 0.7, 0.97])
    >>> d = positivity_diagnostics(t, e, e)
    >>> d.overlap_share["0.1-0.9"], d.region_counts["extreme_high"]
    (0.6666666666666666, 1)
    """
    treatment = np.asarray(treatment)
    e_hat = np.asarray(e_hat, dtype=float)
    quantiles = pd.DataFrame({
        "quantile": list(QUANTILES),
        "control": np.quantile(e_hat[treatment == 0], QUANTILES),
        "treated": np.quantile(e_hat[treatment == 1], QUANTILES),
    })
    share, count = {}, {}
    for a in windows:
        inside = (e_hat >= a) & (e_hat <= 1 - a)
        share[window_label(a)] = float(inside.mean())
        count[window_label(a)] = int(inside.sum())
    regions = pd.Series(ps_region(e_hat)).value_counts()
    return PositivityResult(
        auc=auc_delong(treatment, e_hat),
        auc_reference=auc_delong(treatment, e_reference),
        quantiles=quantiles,
        overlap_share=share,
        overlap_n=count,
        region_counts={r: int(regions.get(r, 0)) for r in REGIONS},
        n=len(e_hat),
    )
