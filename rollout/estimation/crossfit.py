"""Seeded folds and cross-fitted nuisance predictions, shared by every estimator downstream.

Doubly robust and double machine learning estimators need predictions of the propensity score
e(x) = P(T=1|x) and of the outcome regressions mu0(x), mu1(x), m(x) = E[Y|x] that were *not*
fitted on the customer they are evaluated on (cross-fitting), otherwise overfitting leaks into the
effect estimate and its standard error. The folds are stratified by treatment and seeded, and
the predictions are kept in a :class:`Nuisances` object so that later stages (CATE learners, DR
scores, policy values) reuse exactly the same folds and predictions instead of refitting.

The learners differ by nuisance. The propensity score is boosted trees with shallow, fixed
hyperparameters (deeper trees overfitted it and made the DML interval under-cover). The outcome
regressions mu0/mu1 are least squares on the covariates plus the same boosted trees fitted to its
residuals: spend is steep and skewed in the covariates, and shallow trees alone flatten it in the
upper tail, exactly where the propensity is most extreme, so the product of the two nuisance
errors biased the doubly robust ATE and policy values upwards (about 0.6-1.1 SE on the
``good_overlap`` world; benchmarks/README.md has the before/after numbers). The linear part
carries the trend, the trees whatever is not linear.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import StratifiedKFold
from xgboost import XGBClassifier, XGBRegressor

from rollout.common.display import DisplayMixin
from rollout.common.parallel import run_tasks

#: Modest, fixed hyperparameters: shallow trees, a small learning rate and a large minimum leaf
#: weight give smooth, reasonably calibrated predictions on a few thousand customers without tuning
#: (tuning inside cross-fitting would need nested folds). In the coverage simulations deeper trees
#: (depth 3, leaf weight 5) overfitted the propensity score and the DML interval under-covered.
BOOSTING_PARAMS: dict[str, float | int | str] = {
    "n_estimators": 150,
    "max_depth": 2,
    "learning_rate": 0.05,
    "min_child_weight": 20,
    "subsample": 1.0,
    "reg_lambda": 1.0,
    "tree_method": "hist",
}


def make_folds(treatment: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Assign every customer to one of ``n_folds`` folds, stratified by treatment and seeded.

    >>> folds = make_folds(np.array([0, 1] * 10), n_folds=5, seed=0)
    >>> sorted(np.bincount(folds).tolist())
    [4, 4, 4, 4, 4]
    """
    treatment = np.asarray(treatment)
    folds = np.empty(len(treatment), dtype=np.int64)
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for k, (_, test) in enumerate(splitter.split(np.zeros(len(treatment)), treatment)):
        folds[test] = k
    return folds


def boosted_classifier(seed: int, n_jobs: int = 1) -> XGBClassifier:
    """The propensity learner: gradient-boosted trees with fixed hyperparameters."""
    return XGBClassifier(**BOOSTING_PARAMS, random_state=seed, n_jobs=n_jobs,
                         eval_metric="logloss")


class LinearBoostRegressor(RegressorMixin, BaseEstimator):
    """Least squares on the covariates, then boosted trees on its residuals (one estimator).

    The same idea as the outcome regressions of the core stage, in the scikit-learn form the CATE
    learners and econml take (``clone``-able, ``sample_weight`` passed to both parts). Trees alone
    are flat beyond the customers they saw, and spend is steep in the covariates; the linear part
    carries the trend into the tails and the trees fit what is not linear. The linear part is
    ridge-regularised on standardized covariates (``alpha``) so that nearly collinear shares do
    not give it wild coefficients.

    >>> rng = np.random.default_rng(0); X = rng.normal(size=(500, 2))
    >>> model = LinearBoostRegressor(random_state=0).fit(X, 5 * X[:, 0])
    >>> round(float(model.predict(np.array([[4.0, 0.0]]))[0]), 1)  # beyond the data: linear
    20.0
    """

    def __init__(self, n_estimators: int = 150, max_depth: int = 2, learning_rate: float = 0.05,
                 min_child_weight: float = 20, subsample: float = 1.0, reg_lambda: float = 1.0,
                 tree_method: str = "hist", alpha: float = 1.0, random_state: int = 0,
                 n_jobs: int = 1) -> None:
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.reg_lambda = reg_lambda
        self.tree_method = tree_method
        self.alpha = alpha
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: np.ndarray, y: np.ndarray,
            sample_weight: np.ndarray | None = None) -> LinearBoostRegressor:
        X, y = np.asarray(X, float), np.asarray(y, float).ravel()
        self.center_ = X.mean(axis=0)
        self.scale_ = X.std(axis=0)
        self.scale_[self.scale_ == 0] = 1.0
        Z = (X - self.center_) / self.scale_
        self.linear_ = Ridge(alpha=self.alpha).fit(Z, y, sample_weight=sample_weight)
        residual = y - self.linear_.predict(Z)
        self.trees_ = XGBRegressor(
            n_estimators=self.n_estimators, max_depth=self.max_depth,
            learning_rate=self.learning_rate, min_child_weight=self.min_child_weight,
            subsample=self.subsample, reg_lambda=self.reg_lambda, tree_method=self.tree_method,
            random_state=self.random_state, n_jobs=self.n_jobs,
        ).fit(X, residual, sample_weight=sample_weight)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, float)
        Z = (X - self.center_) / self.scale_
        return self.linear_.predict(Z) + self.trees_.predict(X)


def boosted_regressor(seed: int, n_jobs: int = 1) -> XGBRegressor:
    """The outcome learner: gradient-boosted trees with fixed hyperparameters."""
    return XGBRegressor(**BOOSTING_PARAMS, random_state=seed, n_jobs=n_jobs)


FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""``fit_predict(X_train, y_train, X_test) -> predictions on X_test``."""


#: One cross-fitted prediction to make: ``(fit_predict, X, y, train_mask or None)``.
CrossFitSpec = tuple[FitPredict, np.ndarray, np.ndarray, "np.ndarray | None"]


def _fit_fold(fit_predict: FitPredict, X: np.ndarray, y: np.ndarray, train: np.ndarray,
              test: np.ndarray) -> np.ndarray:
    return fit_predict(X[train], y[train], X[test])


def cross_fit_batch(specs: list[CrossFitSpec], folds: np.ndarray,
                    processes: int = 1) -> list[np.ndarray]:
    """:func:`cross_fit` of several predictions on the same folds, every (prediction, fold) fit
    an independent task shared by ``processes`` worker processes (the same numbers as one
    process: each fit is seeded by its own learner)."""
    tasks, where = [], []
    for i, (fit_predict, X, y, train_mask) in enumerate(specs):
        usable = np.ones(len(y), dtype=bool) if train_mask is None else np.asarray(train_mask,
                                                                                  bool)
        for k in np.unique(folds):
            test = folds == k
            tasks.append(partial(_fit_fold, fit_predict, X, y, ~test & usable, test))
            where.append((i, test))
    out = [np.empty(len(spec[2]), dtype=float) for spec in specs]
    for (i, test), values in zip(where, run_tasks(tasks, processes), strict=True):
        out[i][test] = values
    return out


def cross_fit(
    fit_predict: FitPredict,
    X: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    train_mask: np.ndarray | None = None,
    processes: int = 1,
) -> np.ndarray:
    """Out-of-fold predictions: each fold is predicted by a model fitted on the other folds.

    ``train_mask`` restricts which customers a model is fitted on (for example only the treated,
    for mu1) while every customer still gets a prediction.

    >>> X = np.arange(10.0).reshape(-1, 1); y = 2 * X[:, 0]
    >>> mean_model = lambda Xtr, ytr, Xte: np.full(len(Xte), ytr.mean())
    >>> cross_fit(mean_model, X, y, folds=np.array([0, 1] * 5))[:2].tolist()
    [10.0, 8.0]
    """
    return cross_fit_batch([(fit_predict, X, y, train_mask)], folds, processes)[0]


#: How the outcome regressions mu0/mu1 are fitted, as recorded in the analysis options.
OUTCOME_LEARNER = ("mu0, mu1: least squares on the covariates, then the boosted trees on its "
                   "residuals; m (DML): the boosted trees")


def fit_predict_linear_plus_boosted(seed: int, n_jobs: int = 1) -> FitPredict:
    """A ``fit_predict`` for outcomes: least squares on the covariates, then boosted residuals.

    The linear part carries the smooth, possibly steep trend of spend in the covariates (including
    its upper tail, where shallow trees plateau); the boosted trees add what is not linear. The
    linear part extrapolates beyond the training covariates on purpose: clipping the test
    covariates to the training range brought back half the bias on ``good_overlap`` (spend is
    skewed, and a test fold's heaviest customers often lie beyond the other folds' range).

    >>> X = np.linspace(0, 10, 200).reshape(-1, 1); y = 3 * X[:, 0]
    >>> learner = fit_predict_linear_plus_boosted(seed=0)
    >>> [round(float(v), 6) for v in learner(X, y, np.array([[4.0], [20.0]]))]
    [12.0, 60.0]
    """

    def run(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray) -> np.ndarray:
        linear = LinearRegression().fit(X_train, y_train)
        residual = y_train - linear.predict(X_train)
        trees = boosted_regressor(seed, n_jobs).fit(X_train, residual)
        return (linear.predict(X_test) + trees.predict(X_test)).astype(float)

    return run


def fit_predict_classifier(seed: int, n_jobs: int = 1) -> FitPredict:
    """A ``fit_predict`` returning P(y=1) from the boosted classifier."""

    def run(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray) -> np.ndarray:
        model = boosted_classifier(seed, n_jobs).fit(X_train, y_train)
        return model.predict_proba(X_test)[:, 1]

    return run


def fit_predict_regressor(seed: int, n_jobs: int = 1) -> FitPredict:
    """A ``fit_predict`` returning predictions from the boosted regressor."""

    def run(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray) -> np.ndarray:
        model = boosted_regressor(seed, n_jobs).fit(X_train, y_train)
        return model.predict(X_test).astype(float)

    return run


@dataclass(frozen=True)
class OutcomeNuisances(DisplayMixin):
    """Cross-fitted outcome regressions for one outcome.

    ``mu0``/``mu1`` are E[Y|x, T=0/1] (each fitted on its own arm of the training folds), ``m`` is
    E[Y|x] fitted on both arms (the DML partialling-out regression).
    """

    mu0: np.ndarray
    mu1: np.ndarray
    m: np.ndarray

    def to_pandas(self) -> pd.DataFrame:
        """One row per customer: mu0, mu1, m."""
        return pd.DataFrame({"mu0": self.mu0, "mu1": self.mu1, "m": self.m})

    def summary(self) -> pd.DataFrame:
        return self.to_pandas().describe().T.reset_index(names="prediction")


@dataclass(frozen=True)
class Nuisances(DisplayMixin):
    """Everything estimated once per cohort and reused by every effect estimator.

    Arrays are aligned with the cohort's rows. ``e_hat`` is the cross-fitted boosted propensity
    score, unclipped (estimators clip it themselves and report how much); ``e_reference`` is the
    cross-fitted logistic-regression reference.
    """

    folds: np.ndarray
    e_hat: np.ndarray
    e_reference: np.ndarray
    outcomes: Mapping[str, OutcomeNuisances] = field(default_factory=dict)
    seed: int = 0

    @property
    def n_folds(self) -> int:
        return int(self.folds.max()) + 1

    def to_dict(self) -> dict[str, Any]:
        """What was fitted, in plain values (the per-customer arrays are in :meth:`to_pandas`)."""
        return {"n": len(self.folds), "folds": self.n_folds, "seed": self.seed,
                "outcomes": list(self.outcomes)}

    def to_pandas(self) -> pd.DataFrame:
        """One row per customer: fold, propensity scores, and each outcome's regressions."""
        frame = pd.DataFrame({"fold": self.folds, "e_hat": self.e_hat,
                              "e_reference": self.e_reference})
        for name, fitted in self.outcomes.items():
            for column, values in (("mu0", fitted.mu0), ("mu1", fitted.mu1), ("m", fitted.m)):
                frame[f"{column}_{name}"] = values
        return frame

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()]).assign(outcomes=", ".join(self.outcomes))


def cross_fit_outcomes(
    X: np.ndarray,
    treatment: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    seed: int,
    n_jobs: int = 1,
    processes: int = 1,
) -> OutcomeNuisances:
    """Cross-fit mu0, mu1 and m for one outcome.

    mu0 and mu1 use least squares plus boosted residuals (see the module docstring); m, the
    partialling-out regression of DML only, keeps the boosted trees: with the linear-plus-trees
    m, DML's mean z against the overlap-weighted effect moved from about -0.04 to -0.18 on two
    simulated worlds, because a closer m exposes the attenuation that propensity-score error
    causes in its denominator, sum (T - e_hat)^2.
    """
    mu0, mu1, m = cross_fit_batch(outcome_specs(X, treatment, y, seed, n_jobs), folds,
                                  processes)
    return OutcomeNuisances(mu0=mu0, mu1=mu1, m=m)


def outcome_specs(X: np.ndarray, treatment: np.ndarray, y: np.ndarray, seed: int,
                  n_jobs: int = 1) -> list[CrossFitSpec]:
    """What :func:`cross_fit_outcomes` cross-fits: mu0, mu1 and m, in that order."""
    outcome_learner = fit_predict_linear_plus_boosted(seed, n_jobs)
    treatment = np.asarray(treatment)
    return [(outcome_learner, X, y, treatment == 0), (outcome_learner, X, y, treatment == 1),
            (fit_predict_regressor(seed, n_jobs), X, y, None)]
