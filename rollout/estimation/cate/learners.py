"""Eight CATE models behind one interface: a constant, S-, T-, X-, DR-learner and three DML models.

The constant (``average_effect``: one overlap-weighted effect for everyone) is a candidate like
the others, so a model is deployed only when it predicts better than no heterogeneity at all.

Every model answers the same three calls: ``fit(X, t, y, cv)``, ``effect(X)`` (the predicted
conditional average treatment effect tau(x) per row) and ``effect_interval(X)`` (a 95% interval
per row, or ``None`` when the model has no inference). ``cv`` is a list of (train, test) index
pairs: the analysis passes the same seeded folds the nuisance models were cross-fitted on, so the
double machine learning models residualize on exactly those folds.

The meta-learners use the package's boosted trees (XGBoost, modest fixed hyperparameters, seeded,
see :mod:`rollout.estimation.crossfit`); the econml models get the same boosted regressor and
classifier as nuisance models. Hyperparameters can be overridden per model (``params``), which is
how tuning (:mod:`rollout.estimation.cate.tuning`) plugs in. A parameter reaches only the part it
names: plain boosting keys (``max_depth``) set the boosted parts of the meta-learners and the
nuisances of LinearDML, DR-learner and NonParamDML; ``final_``-prefixed keys their final models;
the causal forest's own keys (``max_depth``, ``n_estimators``...) set the forest only, and its
nuisances read ``nuisance_``-prefixed keys, so a forest tuned to depth 12 (or refitted with 100
trees) does not hand depth 12 to its outcome and propensity models.

>>> rng = np.random.default_rng(0); X = rng.normal(size=(400, 3)); t = rng.binomial(1, 0.5, 400)
>>> y = X[:, 0] + t * (1 + X[:, 1]) + rng.normal(size=400)
>>> model = make_learner("t_learner", seed=0).fit(X, t, y)
>>> model.effect(X[:2]).shape
(2,)
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from xgboost import XGBClassifier

from rollout.errors import InputError
from rollout.estimation.crossfit import BOOSTING_PARAMS, LinearBoostRegressor

CrossValidation = Sequence[tuple[np.ndarray, np.ndarray]]

#: Trees of the causal forest: enough for smooth predictions and intervals on a few thousand
#: customers while keeping the default analysis fast (a multiple of the forest's subforest size 4).
FOREST_TREES = 200
#: Minimum customers per forest leaf: larger leaves give a less noisy CATE on small cohorts.
FOREST_MIN_LEAF = 10
#: Share of the customers each forest tree draws (half of them to split, half to estimate).
FOREST_SAMPLE_SHARE = 0.45
#: Most customers one forest tree draws: 0.45 x 20,000. Below 20,000 fitted customers the share
#: above decides and nothing changes; above, each tree draws this many, so a tree costs the same
#: at any size instead of growing as n log n (the uncapped forest was the slowest CATE fit at
#: 10,000 customers already). A smaller share per tree as n grows is what the forest's
#: asymptotics ask for (Wager and Athey 2018). Recorded in ``cate_settings``
#: (``forest_tree_samples``).
FOREST_MAX_TREE_SAMPLES = 9_000


def forest_tree_samples(n: int, share: float = FOREST_SAMPLE_SHARE) -> int:
    """Customers each forest tree draws when fitted on ``n``: the share, capped.

    >>> forest_tree_samples(10_000), forest_tree_samples(160_000)
    (4500, 9000)
    """
    return int(min(share * n, FOREST_MAX_TREE_SAMPLES))


class CateModel(Protocol):
    """What every CATE model offers once fitted."""

    name: str

    def fit(self, X: np.ndarray, t: np.ndarray, y: np.ndarray,
            cv: CrossValidation | None = None) -> CateModel: ...

    def effect(self, X: np.ndarray) -> np.ndarray: ...

    def effect_interval(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None: ...


def default_cv(t: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Seeded folds stratified by treatment, as (train, test) pairs, when none are given."""
    from rollout.estimation.crossfit import make_folds

    folds = make_folds(t, n_folds, seed)
    return folds_to_cv(folds)


def folds_to_cv(folds: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fold labels (one per row) as the (train, test) index pairs econml accepts for ``cv``.

    >>> [(a.tolist(), b.tolist()) for a, b in folds_to_cv(np.array([0, 1, 0, 1]))]
    [([1, 3], [0, 2]), ([0, 2], [1, 3])]
    """
    folds = np.asarray(folds)
    return [(np.flatnonzero(folds != k), np.flatnonzero(folds == k)) for k in np.unique(folds)]


@dataclass
class LearnerSettings:
    """Seed, threads and hyperparameter overrides shared by a model's parts."""

    seed: int = 0
    n_jobs: int = 1
    params: Mapping[str, Any] = field(default_factory=dict)

    def boosting(self, prefix: str = "") -> dict[str, Any]:
        """The boosted-tree parameters, with overrides named ``<prefix>max_depth`` etc."""
        out: dict[str, Any] = dict(BOOSTING_PARAMS)
        for key in BOOSTING_PARAMS:
            if prefix + key in self.params:
                out[key] = self.params[prefix + key]
        return out

    def regressor(self, prefix: str = "") -> LinearBoostRegressor:
        """Least squares plus boosted residuals (trees alone are flat in the tails of spend)."""
        return LinearBoostRegressor(**self.boosting(prefix), random_state=self.seed,
                                    n_jobs=self.n_jobs)

    def classifier(self, prefix: str = "") -> XGBClassifier:
        return XGBClassifier(**self.boosting(prefix), random_state=self.seed, n_jobs=self.n_jobs,
                             eval_metric="logloss")


class _Learner(ABC):
    """Shared plumbing: a name, settings, and no interval unless a model provides one."""

    name = "learner"

    def __init__(self, settings: LearnerSettings) -> None:
        self.settings = settings

    @abstractmethod
    def fit(self, X: np.ndarray, t: np.ndarray, y: np.ndarray,
            cv: CrossValidation | None = None) -> _Learner:
        """Fit on customers ``X`` with treatment ``t`` and outcome ``y`` (folds ``cv``)."""

    @abstractmethod
    def effect(self, X: np.ndarray) -> np.ndarray:
        """The CATE of each customer in ``X``."""

    def effect_interval(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        return None


def _cross_fitted_residuals(settings: LearnerSettings, X: np.ndarray, t: np.ndarray,
                            y: np.ndarray, cv: CrossValidation, clip: float
                            ) -> tuple[np.ndarray, np.ndarray]:
    """(y - m(x), t - e(x)) with m and e boosted and cross-fitted on the folds ``cv``."""
    m, e = np.empty(len(y)), np.empty(len(y))
    for train, test in cv:
        m[test] = settings.regressor().fit(X[train], y[train]).predict(X[test])
        e[test] = settings.classifier().fit(X[train], t[train]).predict_proba(X[test])[:, 1]
    return y - m, t - np.clip(e, clip, 1 - clip)


class AverageEffect(_Learner):
    """One effect for every customer: the overlap-weighted average, tau(x) = c.

    c minimises the R-loss over constants, c = sum (t - e)(y - m) / sum (t - e)^2 with m and e
    cross-fitted on the given folds: the effect on the population where both arms are observed
    (weights e(1 - e)), which is what a CATE model's level can be checked against. The interval
    is the sandwich (influence-function) interval of c, the same for every customer. It is the
    benchmark every heterogeneous model must beat to be deployed.
    """

    name = "average_effect"
    #: Propensities are clipped to [CLIP, 1 - CLIP] in the residuals (as in the R-loss).
    CLIP = 0.01

    def fit(self, X: np.ndarray, t: np.ndarray, y: np.ndarray,
            cv: CrossValidation | None = None) -> AverageEffect:
        t, y = np.asarray(t, float), np.asarray(y, float)
        cv = list(cv) if cv is not None else default_cv(t.astype(int), 5, self.settings.seed)
        r_y, r_t = _cross_fitted_residuals(self.settings, X, t, y, cv, self.CLIP)
        weight = float(np.sum(r_t ** 2))
        self.effect_ = float(np.sum(r_t * r_y) / weight)
        influence = r_t * (r_y - self.effect_ * r_t) / (weight / len(y))
        self.se_ = float(np.std(influence, ddof=1) / np.sqrt(len(y)))
        return self

    def effect(self, X: np.ndarray) -> np.ndarray:
        return np.full(len(X), self.effect_, dtype=float)

    def effect_interval(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from rollout.common.stats import Z_975

        half = Z_975 * self.se_
        return (np.full(len(X), self.effect_ - half), np.full(len(X), self.effect_ + half))


class SLearner(_Learner):
    """One boosted model of y on (x, t); tau(x) = f(x, 1) - f(x, 0).

    Shrinks effects towards zero when the trees rarely split on t (regularization bias).
    """

    name = "s_learner"

    def fit(self, X: np.ndarray, t: np.ndarray, y: np.ndarray,
            cv: CrossValidation | None = None) -> SLearner:
        self.model_ = self.settings.regressor().fit(np.column_stack([X, t]), y)
        return self

    def effect(self, X: np.ndarray) -> np.ndarray:
        ones, zeros = np.ones(len(X)), np.zeros(len(X))
        f1 = self.model_.predict(np.column_stack([X, ones]))
        f0 = self.model_.predict(np.column_stack([X, zeros]))
        return (f1 - f0).astype(float)


class TLearner(_Learner):
    """Separate boosted models per arm; tau(x) = mu1(x) - mu0(x)."""

    name = "t_learner"

    def fit(self, X: np.ndarray, t: np.ndarray, y: np.ndarray,
            cv: CrossValidation | None = None) -> TLearner:
        t = np.asarray(t)
        self.mu0_ = self.settings.regressor().fit(X[t == 0], y[t == 0])
        self.mu1_ = self.settings.regressor().fit(X[t == 1], y[t == 1])
        return self

    def effect(self, X: np.ndarray) -> np.ndarray:
        return (self.mu1_.predict(X) - self.mu0_.predict(X)).astype(float)


class XLearner(_Learner):
    """Kunzel et al. (2019): impute each arm's effects, model them, blend by the propensity.

    D1 = y - mu0(x) on the treated, D0 = mu1(x) - y on the controls; tau1, tau0 are boosted models
    of D1, D0, and tau(x) = e(x) tau0(x) + (1 - e(x)) tau1(x) with e a boosted propensity model.
    """

    name = "x_learner"

    def fit(self, X: np.ndarray, t: np.ndarray, y: np.ndarray,
            cv: CrossValidation | None = None) -> XLearner:
        t = np.asarray(t)
        s = self.settings
        mu0 = s.regressor().fit(X[t == 0], y[t == 0])
        mu1 = s.regressor().fit(X[t == 1], y[t == 1])
        d1 = y[t == 1] - mu0.predict(X[t == 1])
        d0 = mu1.predict(X[t == 0]) - y[t == 0]
        self.tau1_ = s.regressor("final_").fit(X[t == 1], d1)
        self.tau0_ = s.regressor("final_").fit(X[t == 0], d0)
        self.propensity_ = s.classifier().fit(X, t)
        return self

    def effect(self, X: np.ndarray) -> np.ndarray:
        e = self.propensity_.predict_proba(X)[:, 1]
        return (e * self.tau0_.predict(X) + (1 - e) * self.tau1_.predict(X)).astype(float)


class _EconMLLearner(_Learner):
    """An econml DML estimator fitted with the package's boosted nuisance models and folds."""

    @abstractmethod
    def _estimator(self, cv: CrossValidation) -> Any:
        """The unfitted econml estimator, wired to the package's nuisance models and folds."""

    def fit(self, X: np.ndarray, t: np.ndarray, y: np.ndarray,
            cv: CrossValidation | None = None) -> _EconMLLearner:
        cv = list(cv) if cv is not None else default_cv(t, 5, self.settings.seed)
        self.estimator_ = self._estimator(cv)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.estimator_.fit(np.asarray(y, float), np.asarray(t, int), X=X)
        return self

    def effect(self, X: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(self.estimator_.effect(X), dtype=float).ravel()


class LinearDMLLearner(_EconMLLearner):
    """econml LinearDML: tau(x) = theta' [1, x], fitted on cross-fitted residuals, with OLS CIs."""

    name = "linear_dml"

    def _estimator(self, cv: CrossValidation) -> Any:
        from econml.dml import LinearDML

        s = self.settings
        return LinearDML(model_y=s.regressor(), model_t=s.classifier(), discrete_treatment=True,
                         cv=cv, random_state=s.seed)

    def effect_interval(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            low, high = self.estimator_.effect_interval(X, alpha=0.05)
        return np.asarray(low, float).ravel(), np.asarray(high, float).ravel()

    def structure(self, covariates: Sequence[str]) -> dict[str, Any]:
        """The fitted linear CATE as plain numbers: tau(x) = intercept + sum coef_j x_j."""
        est = self.estimator_
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            coef = np.asarray(est.coef_, float).ravel()
            low, high = (np.asarray(a, float).ravel() for a in est.coef__interval(alpha=0.05))
            intercept = float(np.ravel(est.intercept_)[0])
            i_low, i_high = (float(np.ravel(a)[0]) for a in est.intercept__interval(alpha=0.05))
        return {
            "form": "cate = intercept + sum(coefficient * covariate)",
            "intercept": intercept, "intercept_ci": [i_low, i_high],
            "coefficients": [{"covariate": c, "coefficient": float(b), "ci_low": float(lo),
                              "ci_high": float(hi)}
                             for c, b, lo, hi in zip(covariates, coef, low, high, strict=True)],
        }


class CausalForestLearner(_EconMLLearner):
    """econml CausalForestDML: an honest generalized random forest on the DML residuals."""

    name = "causal_forest_dml"

    def _estimator(self, cv: CrossValidation) -> Any:
        from econml.dml import CausalForestDML

        s = self.settings
        return CausalForestDML(
            model_y=s.regressor("nuisance_"), model_t=s.classifier("nuisance_"),
            discrete_treatment=True, cv=cv,
            n_estimators=int(s.params.get("n_estimators", FOREST_TREES)),
            min_samples_leaf=int(s.params.get("min_samples_leaf", FOREST_MIN_LEAF)),
            max_depth=s.params.get("max_depth"),
            max_samples=self._max_samples(sum(len(test) for _, test in cv)),
            random_state=s.seed, n_jobs=s.n_jobs)

    def _max_samples(self, n: int) -> float:
        """The share of customers per tree: the given share, or the cap's share above
        :data:`FOREST_MAX_TREE_SAMPLES` customers per tree."""
        share = float(self.settings.params.get("max_samples", FOREST_SAMPLE_SHARE))
        if "max_samples" in self.settings.params or share * n <= FOREST_MAX_TREE_SAMPLES:
            return share
        return FOREST_MAX_TREE_SAMPLES / n

    def effect_interval(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            low, high = self.estimator_.effect_interval(X, alpha=0.05)
        return np.asarray(low, float).ravel(), np.asarray(high, float).ravel()


class NonParamDMLLearner(_EconMLLearner):
    """econml NonParamDML: a boosted final model of the pseudo-outcome, weighted by (t - e)^2."""

    name = "nonparam_dml"

    def _estimator(self, cv: CrossValidation) -> Any:
        from econml.dml import NonParamDML

        s = self.settings
        return NonParamDML(model_y=s.regressor(), model_t=s.classifier(),
                           model_final=s.regressor("final_"), discrete_treatment=True, cv=cv,
                           random_state=s.seed)


class DRLearnerModel(_EconMLLearner):
    """econml DRLearner (Kennedy 2023): a boosted model of the doubly robust pseudo-outcome.

    The pseudo-outcome mu1 - mu0 + t (y - mu1) / e - (1 - t)(y - mu0) / (1 - e) has the CATE as
    its conditional mean whatever the overlap weights, so unlike the R-learner family it targets
    tau(x) and not its overlap-weighted projection; propensities are clipped to
    [:data:`MIN_PROPENSITY`, 1 - MIN_PROPENSITY] to bound the pseudo-outcome's variance.
    """

    name = "dr_learner"
    MIN_PROPENSITY = 0.02

    def _estimator(self, cv: CrossValidation) -> Any:
        from econml.dr import DRLearner

        s = self.settings
        return DRLearner(model_propensity=s.classifier(), model_regression=s.regressor(),
                         model_final=s.regressor("final_"), discrete_outcome=False, cv=cv,
                         min_propensity=self.MIN_PROPENSITY, random_state=s.seed)


LearnerFactory = Callable[[LearnerSettings], CateModel]

#: The eight models, in the order tables list them (the constant first: the benchmark).
LEARNERS: dict[str, LearnerFactory] = {
    "average_effect": AverageEffect,
    "s_learner": SLearner,
    "t_learner": TLearner,
    "x_learner": XLearner,
    "linear_dml": LinearDMLLearner,
    "causal_forest_dml": CausalForestLearner,
    "nonparam_dml": NonParamDMLLearner,
    "dr_learner": DRLearnerModel,
}
#: Models that predict one effect for everyone (no heterogeneity to validate or refute).
CONSTANT_MODELS = ("average_effect",)


def check_model_names(names: Sequence[str], argument: str = "models",
                      known: Sequence[str] | None = None) -> list[str]:
    """Refuse unknown model names, listing the known ones; returns the names without repeats.

    >>> check_model_names(["t_learner", "t_learner", "s_learner"])
    ['t_learner', 's_learner']
    """
    known = list(known if known is not None else LEARNERS)
    out: list[str] = []
    for name in names:
        if name not in known:
            raise InputError(f"unknown model {name!r}; known models: {', '.join(known)}",
                             argument=argument)
        if name not in out:
            out.append(name)
    if not out:
        raise InputError(f"no model named; known models: {', '.join(known)}",
                         argument=argument)
    return out


def make_learner(name: str, seed: int = 0, n_jobs: int = 1,
                 params: Mapping[str, Any] | None = None,
                 registry: Mapping[str, LearnerFactory] | None = None) -> CateModel:
    """A fresh, unfitted model by name."""
    registry = LEARNERS if registry is None else registry
    check_model_names([name], argument="model", known=list(registry))
    return registry[name](LearnerSettings(seed=seed, n_jobs=n_jobs, params=dict(params or {})))
