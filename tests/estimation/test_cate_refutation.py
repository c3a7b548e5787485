"""Placebo and subset-stability tests: pass for a model that finds real heterogeneity, fail for
one that reports the same spread whatever the treatment, or that changes with the sample."""

from __future__ import annotations

import numpy as np

from rollout.estimation.cate.learners import make_learner
from rollout.estimation.cate.refutation import placebo_test, subset_stability
from rollout.estimation.crossfit import make_folds


class LinearTLearner:
    """OLS per arm: cheap, and unbiased for a linear CATE."""

    name = "ols_t"

    def fit(self, X, t, y, cv=None):
        Z = np.column_stack([np.ones(len(X)), X])
        self.b1 = np.linalg.lstsq(Z[t == 1], y[t == 1], rcond=None)[0]
        self.b0 = np.linalg.lstsq(Z[t == 0], y[t == 0], rcond=None)[0]
        return self

    def effect(self, X):
        return np.column_stack([np.ones(len(X)), X]) @ (self.b1 - self.b0)

    def effect_interval(self, X):
        return None


class TreatmentBlind(LinearTLearner):
    """Reports a spread that does not depend on the treatment at all (a spurious pattern)."""

    def effect(self, X):
        return X[:, 0] * 3.0


class Unstable(LinearTLearner):
    """Predictions driven by the sample it was fitted on, not by the customers."""

    def fit(self, X, t, y, cv=None):
        self.key = int(abs(y.sum()) * 1000) % 2**32
        return self

    def effect(self, X):
        return np.random.default_rng(self.key).normal(size=len(X))


def _world(seed: int = 0, n: int = 1500):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    t = rng.binomial(1, 1 / (1 + np.exp(-0.5 * X[:, 1])))
    y = X[:, 1] + t * (1 + 2 * X[:, 0]) + rng.normal(size=n)
    return X, t, y


def test_real_heterogeneity_passes_placebo_and_stability() -> None:
    X, t, y = _world()
    folds = make_folds(t, 5, 0)
    real = LinearTLearner().fit(X, t, y).effect(X)
    placebo = placebo_test(lambda s: LinearTLearner(), X, t, y, folds, real, seed=1,
                           n_permutations=20)
    assert placebo.n_permutations == 20 and len(placebo.placebo_sds) == 20
    assert placebo.ratio < 0.5 and placebo.passed
    stability = subset_stability(lambda s: LinearTLearner(), X, t, y, n_folds=5, seed=1,
                                 n_splits=3)
    assert stability.correlation > 0.9 and stability.passed
    assert len(stability.correlations) == 3


def test_a_treatment_blind_pattern_fails_the_placebo() -> None:
    X, t, y = _world()
    folds = make_folds(t, 5, 0)
    real = TreatmentBlind().fit(X, t, y).effect(X)
    placebo = placebo_test(lambda s: TreatmentBlind(), X, t, y, folds, real, seed=1,
                           n_permutations=20)
    assert placebo.ratio > 0.99 and not placebo.passed


def test_sample_driven_predictions_fail_stability() -> None:
    X, t, y = _world()
    stability = subset_stability(lambda s: Unstable(), X, t, y, n_folds=5, seed=2, n_splits=3)
    assert not stability.passed and abs(stability.correlation) < 0.3


def test_refutation_refits_are_seeded() -> None:
    X, t, y = _world(n=300)
    folds = make_folds(t, 5, 0)
    real = make_learner("s_learner", seed=0).fit(X, t, y).effect(X)

    def run():
        return placebo_test(lambda s: make_learner("s_learner", seed=s), X, t, y, folds, real,
                            seed=4, n_permutations=3).placebo_sds

    assert run() == run()
