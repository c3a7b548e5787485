"""Optional hyperparameter tuning of the CATE models by the R-loss (Optuna TPE).

Default analyses never tune: the fixed hyperparameters of :mod:`rollout.estimation.cate.learners`
are modest on purpose. With ``--tune N`` each model gets ``N`` trials of Optuna's seeded TPE
sampler over a small search space. A trial fits the model on the training customers outside one
of their cross-fitting folds and scores it on that fold by the R-loss with the analysis's
cross-fitted m(x) and e(x) (a causal loss: no true effects needed). The held-out 20% used for
selection and validation is never seen by tuning. Optuna is an optional extra
(``pip install 'rollout[tune]'``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from rollout.errors import InputError
from rollout.estimation.cate.learners import LearnerFactory, folds_to_cv, make_learner
from rollout.estimation.cate.validation import r_loss_terms

if TYPE_CHECKING:
    from rollout.estimation.cate.fitting import OutcomeData


def require_optuna() -> Any:
    """The optuna module, or an :class:`InputError` saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise InputError("tuning needs the optional package optuna: pip install "
                         "'rollout[tune]' (or pip install optuna), or do not tune",
                         argument="tune") from None
    return optuna


#: Models with a search space; any other model (e.g. a user's own) keeps its settings.
TUNABLE = ("s_learner", "t_learner", "x_learner", "linear_dml", "causal_forest_dml",
           "nonparam_dml", "dr_learner")


def _boosting_space(trial: Any, prefix: str = "") -> dict[str, Any]:
    return {
        f"{prefix}max_depth": trial.suggest_int(f"{prefix}max_depth", 1, 5),
        f"{prefix}learning_rate": trial.suggest_float(f"{prefix}learning_rate", 0.01, 0.3,
                                                      log=True),
        f"{prefix}n_estimators": trial.suggest_int(f"{prefix}n_estimators", 50, 400, step=50),
        f"{prefix}min_child_weight": trial.suggest_float(f"{prefix}min_child_weight", 1.0, 50.0,
                                                         log=True),
    }


def search_space(name: str, trial: Any) -> dict[str, Any]:
    """The hyperparameters a trial proposes for model ``name``."""
    if name in ("s_learner", "t_learner", "linear_dml"):
        return _boosting_space(trial)
    if name in ("x_learner", "nonparam_dml", "dr_learner"):
        return {**_boosting_space(trial), **_boosting_space(trial, "final_")}
    if name == "causal_forest_dml":
        return {
            "min_samples_leaf": trial.suggest_int("min_samples_leaf", 5, 60, log=True),
            "max_depth": trial.suggest_categorical("max_depth", [4, 8, 12]),
            "max_samples": trial.suggest_float("max_samples", 0.2, 0.5),
        }
    return {}


def tune_learner(name: str, data: OutcomeData, train: np.ndarray, n_trials: int, seed: int,
                 registry: Mapping[str, LearnerFactory] | None = None) -> dict[str, Any]:
    """Best hyperparameters of ``name`` after ``n_trials`` TPE trials (empty if none to tune)."""
    optuna = require_optuna()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folds = data.folds[train]
    holdout_fold = int(np.min(folds))
    fit_rows, score_rows = train[folds != holdout_fold], train[folds == holdout_fold]
    cv = folds_to_cv(data.folds[fit_rows])

    def objective(trial: Any) -> float:
        params = search_space(name, trial)
        model = make_learner(name, seed=seed, params=params, registry=registry)
        model.fit(data.X[fit_rows], data.t[fit_rows], data.y[fit_rows], cv)
        tau = model.effect(data.X[score_rows])
        if not np.all(np.isfinite(tau)):
            return float("inf")
        return float(np.mean(r_loss_terms(data.y[score_rows], data.t[score_rows],
                                          data.m[score_rows], data.e[score_rows], tau,
                                          clip=data.clip)))

    if name not in TUNABLE:
        return {}
    sampler = optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.optimize(objective, n_trials=n_trials, show_progress_bar=False)
    return dict(study.best_params)
