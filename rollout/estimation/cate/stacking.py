"""R-stacking (Nie and Wager 2021): one CATE from several, weighted by the causal loss.

When no single learner is clearly best, a combination usually beats each of them. The stack is

    tau(x) = c + sum_k a_k tau_k(x),   a_k >= 0,   sum_k a_k <= 1,

with ``c`` and ``a`` minimising the R-loss sum(((y - m) - (t - e) tau(x))^2) over the held-out
customers, given the learners' out-of-sample predictions there: a least-squares problem in the
columns (t - e), (t - e) tau_k(x), solved exactly under its linear constraints (SLSQP). The free
intercept is also the stack's level calibration: if the learners are all shifted by a constant,
``c`` takes it back. Non-negative weights keep the ranking of customers a blend of the learners'
rankings (a negative weight would turn a learner's ranking upside down on the strength of a
noisy held-out fit). Weights summing to at most 1 make the stack a blend of the learners and of
a constant, so it can shrink a noisy spread towards the average but never amplify it: on the
embedded data, unconstrained weights of 2.5 and 8.8 with an intercept of -208 fitted the noise of
616 held-out customers and predicted worse out of fold than any single learner.

The weights are fitted on the held-out customers, so the stack's own held-out R-loss must not
reuse them: :func:`cross_fitted_stack` fits the weights on all held-out folds but one and predicts
the remaining fold, which gives honest held-out predictions to select and validate the stack
with, like every other model. The deployed stack (:class:`StackedCate`) uses the weights fitted on
every held-out customer.

>>> rng = np.random.default_rng(0); n = 4000
>>> e = np.full(n, 0.5); t = rng.binomial(1, e); tau = rng.normal(size=n)
>>> r_y = (t - e) * (1.0 + tau) + rng.normal(size=n)
>>> fit = stack_weights(r_y, t - e, np.column_stack([tau, rng.normal(size=n)]))
>>> round(fit.intercept, 1), [round(a, 1) for a in fit.weights]
(1.0, [1.0, 0.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from rollout.common.display import DisplayMixin

#: Held-out folds of the cross-fitted stack weights.
STACK_FOLDS = 5
STACK_NAME = "stacked"


@dataclass(frozen=True)
class StackFit(DisplayMixin):
    """The stack's intercept and non-negative weights (one per learner, in order)."""

    names: tuple[str, ...]
    intercept: float
    weights: tuple[float, ...]

    def predict(self, predictions: np.ndarray) -> np.ndarray:
        """c + P a for a matrix of learner predictions (one column per learner)."""
        return self.intercept + np.asarray(predictions, float) @ np.asarray(self.weights)

    def to_dict(self) -> dict[str, Any]:
        return {"intercept": self.intercept,
                "weights": dict(zip(self.names, self.weights, strict=True))}


def stack_weights(r_y: np.ndarray, r_t: np.ndarray, predictions: np.ndarray,
                  names: Sequence[str] | None = None) -> StackFit:
    """The R-loss-minimising intercept and weights (see the module docstring)."""
    predictions = np.asarray(predictions, float)
    k = predictions.shape[1]
    r_t, r_y = np.asarray(r_t, float), np.asarray(r_y, float)
    design = np.column_stack([r_t, r_t[:, None] * predictions])
    scale = float(np.mean(r_y ** 2)) or 1.0
    gram, cross = design.T @ design / len(r_y) / scale, design.T @ r_y / len(r_y) / scale

    def loss(coef: np.ndarray) -> float:
        return float(coef @ gram @ coef - 2 * cross @ coef)

    def gradient(coef: np.ndarray) -> np.ndarray:
        return 2 * (gram @ coef - cross)

    start = np.r_[float(np.sum(r_t * r_y) / np.sum(r_t ** 2)), np.zeros(k)]
    solution = minimize(loss, start, jac=gradient, method="SLSQP",
                        bounds=[(None, None)] + [(0.0, 1.0)] * k,
                        constraints=[{"type": "ineq", "fun": lambda c: 1.0 - np.sum(c[1:]),
                                      "jac": lambda c: np.r_[0.0, -np.ones(k)]}],
                        options={"ftol": 1e-12, "maxiter": 500})
    coef = solution.x
    names = tuple(names) if names is not None else tuple(f"m{i}" for i in range(k))
    weights = np.clip(coef[1:], 0.0, 1.0)
    weights[weights < 1e-9] = 0.0
    return StackFit(names, float(coef[0]), tuple(float(a) for a in weights))


def stack_folds(t: np.ndarray, seed: int, n_folds: int = STACK_FOLDS) -> np.ndarray:
    """Seeded fold labels of the held-out customers, balanced within each arm."""
    rng = np.random.default_rng(seed)
    t = np.asarray(t)
    folds = np.empty(len(t), dtype=np.int64)
    for arm in np.unique(t):
        rows = np.flatnonzero(t == arm)
        folds[rows[rng.permutation(len(rows))]] = np.arange(len(rows)) % n_folds
    return folds


def cross_fitted_stack(r_y: np.ndarray, r_t: np.ndarray, predictions: np.ndarray,
                       folds: np.ndarray) -> np.ndarray:
    """Each held-out customer's stack prediction with weights fitted on the other folds."""
    out = np.empty(len(r_y))
    for k in np.unique(folds):
        train, test = folds != k, folds == k
        fit = stack_weights(r_y[train], r_t[train], predictions[train])
        out[test] = fit.predict(predictions[test])
    return out


class StackedCate:
    """The deployed stack: fitted learners and the weights that combine them.

    Answers the same ``effect``/``effect_interval`` calls as every CATE model, so scoring new
    customers needs nothing stack-specific. Learners with weight 0 are dropped.
    """

    name = STACK_NAME

    def __init__(self, fit: StackFit, models: Sequence[Any]) -> None:
        keep = [i for i, a in enumerate(fit.weights) if a > 0]
        self.names = tuple(fit.names[i] for i in keep)
        self.weights = tuple(fit.weights[i] for i in keep)
        self.intercept = fit.intercept
        self.models = [models[i] for i in keep]

    def fit(self, X: np.ndarray, t: np.ndarray, y: np.ndarray, cv: Any = None) -> StackedCate:
        """Refit every learner of the stack on new data, keeping the weights."""
        for model in self.models:
            model.fit(X, t, y, cv)
        return self

    def effect(self, X: np.ndarray) -> np.ndarray:
        total = np.full(len(X), self.intercept, dtype=float)
        for weight, model in zip(self.weights, self.models, strict=True):
            total += weight * np.asarray(model.effect(X), dtype=float)
        return total

    def effect_interval(self, X: np.ndarray) -> None:
        return None

    def structure(self, covariates: Sequence[str]) -> dict[str, Any]:
        return {"form": "cate = intercept + sum(weight * learner cate)",
                "intercept": self.intercept,
                "weights": dict(zip(self.names, self.weights, strict=True))}
