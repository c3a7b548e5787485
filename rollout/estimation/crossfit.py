"""Seeded folds and cross-fitted nuisance predictions, shared by every estimator downstream.

Doubly robust and double machine learning estimators need predictions of the propensity score
e(x) = P(T=1|x) and of the outcome regressions mu0(x), mu1(x), m(x) = E[Y|x] that were *not*
fitted on the customer they are evaluated on (cross-fitting), otherwise overfitting leaks into the
effect estimate and its standard error. The folds are stratified by treatment and seeded, and
the predictions are kept in a :class:`Nuisances` object so that later steps (CATE learners, DR
scores, policy values) reuse exactly the same folds and predictions instead of refitting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import StratifiedKFold
from xgboost import XGBClassifier, XGBRegressor

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


def boosted_regressor(seed: int, n_jobs: int = 1) -> XGBRegressor:
    """The outcome learner: gradient-boosted trees with fixed hyperparameters."""
    return XGBRegressor(**BOOSTING_PARAMS, random_state=seed, n_jobs=n_jobs)


FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""``fit_predict(X_train, y_train, X_test) -> predictions on X_test``."""


def cross_fit(
    fit_predict: FitPredict,
    X: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    train_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Out-of-fold predictions: each fold is predicted by a model fitted on the other folds.

    ``train_mask`` restricts which customers a model is fitted on (for example only the treated,
    for mu1) while every customer still gets a prediction.

    >>> X = np.arange(10.0).reshape(-1, 1); y = 2 * X[:, 0]
    >>> mean_model = lambda Xtr, ytr, Xte: np.full(len(Xte), ytr.mean())
    >>> cross_fit(mean_model, X, y, folds=np.array([0, 1] * 5))[:2].tolist()
    [10.0, 8.0]
    """
    out = np.empty(len(y), dtype=float)
    usable = np.ones(len(y), dtype=bool) if train_mask is None else np.asarray(train_mask, bool)
    for k in np.unique(folds):
        test = folds == k
        train = ~test & usable
        out[test] = fit_predict(X[train], y[train], X[test])
    return out


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
class OutcomeNuisances:
    """Cross-fitted outcome regressions for one outcome.

    ``mu0``/``mu1`` are E[Y|x, T=0/1] (each fitted on its own arm of the training folds), ``m`` is
    E[Y|x] fitted on both arms (the DML partialling-out regression).
    """

    mu0: np.ndarray
    mu1: np.ndarray
    m: np.ndarray


@dataclass(frozen=True)
class Nuisances:
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


def cross_fit_outcomes(
    X: np.ndarray,
    treatment: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    seed: int,
    n_jobs: int = 1,
) -> OutcomeNuisances:
    """Cross-fit mu0, mu1 and m for one outcome with the boosted regressor."""
    learner = fit_predict_regressor(seed, n_jobs)
    treatment = np.asarray(treatment)
    return OutcomeNuisances(
        mu0=cross_fit(learner, X, y, folds, train_mask=treatment == 0),
        mu1=cross_fit(learner, X, y, folds, train_mask=treatment == 1),
        m=cross_fit(learner, X, y, folds),
    )
