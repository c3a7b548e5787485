"""How much of the outcome's variance pre-period covariates remove, measured out of sample.

An A/B test analysed by ANCOVA (regression of the outcome on the arm and pre-period covariates;
CUPED is the one-covariate case) has the variance of a test analysed by a difference in means
with ``sigma^2`` replaced by ``sigma^2 (1 - R^2)``, where ``R^2`` is the share of within-arm
outcome variance the covariates explain. With ``R^2`` known, the sample size is exactly
``n (1 - R^2)``; estimating the slopes costs one degree of freedom per covariate, negligible at
A/B sizes.

The ``R^2`` is estimated on the historical cohort, pooled over both arms with an arm indicator
in every model (common slopes, as the ANCOVA will be fitted), by K-fold cross-validation of
ordinary least squares::

    R^2_cv = 1 - SSE_cv(y ~ arm + X) / SSE_cv(y ~ arm)

so an over-fitted covariate set is not rewarded: a covariate that predicts nothing out of
sample lowers ``R^2_cv``. Negative estimates are reported as 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rollout.common.display import DisplayMixin
from rollout.errors import InputError

MAX_R2 = 0.95


@dataclass(frozen=True)
class R2Estimate(DisplayMixin):
    """A cross-validated R^2 and how it was obtained."""

    r2: float
    r2_raw: float
    n: int
    covariates: list[str]
    folds: int
    method: str

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _sse_cv(y: np.ndarray, design: np.ndarray, fold_of: np.ndarray, folds: int) -> float:
    total = 0.0
    for fold in range(folds):
        test = fold_of == fold
        train = ~test
        coef, *_ = np.linalg.lstsq(design[train], y[train], rcond=None)
        residual = y[test] - design[test] @ coef
        total += float(residual @ residual)
    return total


def cross_validated_r2(y: np.ndarray, covariates: np.ndarray, arm: np.ndarray | None = None,
                       covariate_names: list[str] | None = None, folds: int = 5,
                       seed: int = 0) -> R2Estimate:
    """Out-of-sample share of within-arm outcome variance explained by ``covariates``.

    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=(4000, 1))
    >>> y = x[:, 0] + rng.normal(size=4000)          # true R^2 = 0.5
    >>> round(cross_validated_r2(y, x).r2, 1)
    0.5
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(covariates, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    n = y.size
    if n < 4 * folds:
        raise InputError(f"too few customers ({n}) to cross-validate R^2 in {folds} folds")
    arm = np.zeros(n) if arm is None else np.asarray(arm, dtype=float)
    base = np.column_stack([np.ones(n), arm]) if np.ptp(arm) > 0 else np.ones((n, 1))
    full = np.column_stack([base, x])
    rng = np.random.default_rng(seed)
    fold_of = rng.permutation(np.arange(n) % folds)
    sse_base = _sse_cv(y, base, fold_of, folds)
    sse_full = _sse_cv(y, full, fold_of, folds)
    raw = 1.0 - sse_full / sse_base if sse_base > 0 else 0.0
    return R2Estimate(
        r2=float(min(max(raw, 0.0), MAX_R2)),
        r2_raw=float(raw),
        n=int(n),
        covariates=list(covariate_names or [f"x{i}" for i in range(x.shape[1])]),
        folds=folds,
        method=(f"{folds}-fold cross-validated OLS, pooled over arms with an arm indicator: "
                "1 - SSE(y ~ arm + X) / SSE(y ~ arm)"),
    )
