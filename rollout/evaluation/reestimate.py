"""Re-estimating whom to target from the randomized test itself.

On experimental data the assignment probability is known, so the doubly robust (DR) learner of
Kennedy (2023) needs no propensity model: cross-fitted outcome models per arm give pseudo-outcomes

    Gamma = mu1(X) - mu0(X) + T (Y - mu1(X)) / p - (1 - T) (Y - mu0(X)) / (1 - p),

unbiased for tau(X) whatever the outcome models, and a second-stage regression of Gamma on X
estimates the CATE. Predictions for the test's own customers are cross-fitted (no customer's
prediction uses its own outcome), so the new policy's value on the test is honest; a model fitted on
all test data scores customers outside the test for the phase-3 list.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold
from xgboost import XGBRegressor

from rollout.common.display import DisplayMixin
from rollout.common.stats import aipw_scores
from rollout.errors import InputError


def _regressor(seed: int, *, final: bool = False) -> XGBRegressor:
    """Shallow, shrunk boosted trees: the final stage fits noisy pseudo-outcomes."""
    return XGBRegressor(
        n_estimators=150 if final else 200,
        max_depth=2 if final else 3,
        learning_rate=0.05,
        subsample=0.8,
        min_child_weight=20 if final else 5,
        reg_lambda=5.0,
        random_state=seed,
        n_jobs=1,
        tree_method="hist",
    )


@dataclass
class Reestimate(DisplayMixin):
    """Cross-fitted CATE on the test, DR scores, and a final model for scoring others."""

    cate: np.ndarray
    dr_scores: np.ndarray
    final_model: XGBRegressor
    covariates: list[str]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """CATE for customers outside the test, from the model fitted on all test data."""
        missing = [c for c in self.covariates if c not in frame.columns]
        if missing:
            raise InputError(f"missing covariates {missing} needed to score customers",
                             column=missing[0])
        return self.final_model.predict(frame[self.covariates].to_numpy(dtype=float))

    def to_dict(self) -> dict:
        """The CATE and DR scores per tested customer and the covariates (not the model)."""
        return {"cate": self.cate.tolist(), "dr_scores": self.dr_scores.tolist(),
                "covariates": list(self.covariates)}

    def to_pandas(self) -> pd.DataFrame:
        """One row per tested customer: the cross-fitted CATE and the DR score."""
        return pd.DataFrame({"cate": self.cate, "dr_scores": self.dr_scores})

    def summary(self) -> pd.DataFrame:
        """The spread of the re-estimated CATE."""
        return pd.DataFrame([{"n": len(self.cate), "cate_mean": float(np.mean(self.cate)),
                              "cate_sd": float(np.std(self.cate, ddof=1)),
                              "covariates": len(self.covariates)}])


def dr_learner(X: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray | float,
               covariates: list[str], folds: int = 5, seed: int = 0) -> Reestimate:
    """Fit a DR-learner with known assignment probabilities ``p``; see the module docstring."""
    X, y, t = np.asarray(X, float), np.asarray(y, float), np.asarray(t, int)
    n = len(y)
    p = np.broadcast_to(np.asarray(p, float), (n,))
    if np.any((p <= 0) | (p >= 1)):
        raise InputError("assignment probabilities must lie strictly between 0 and 1")
    if min((t == 1).sum(), (t == 0).sum()) < 2 * folds:
        raise InputError(f"need at least {2 * folds} customers per arm to cross-fit", column="arm")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    splits = list(splitter.split(X, t))
    mu0, mu1 = np.empty(n), np.empty(n)
    for k, (train, test) in enumerate(splits):
        for arm, target in ((0, mu0), (1, mu1)):
            idx = train[t[train] == arm]
            target[test] = _regressor(seed + k).fit(X[idx], y[idx]).predict(X[test])
    gamma = aipw_scores(y, t, p, mu0, mu1)
    cate = np.empty(n)
    for k, (train, test) in enumerate(splits):
        cate[test] = _regressor(seed + 100 + k, final=True).fit(X[train], gamma[train]).predict(
            X[test])
    final = _regressor(seed + 1000, final=True).fit(X, gamma)
    return Reestimate(cate=cate, dr_scores=gamma, final_model=final, covariates=list(covariates))
