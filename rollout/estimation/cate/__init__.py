"""Heterogeneous effects (CATE): eight models and their R-stack, held-out validation, a rule.

See :mod:`rollout.estimation.cate.stage` for what ``rollout analyze`` does with them, and the
modules for each idea: ``learners`` (one interface over the eight models, a constant among
them), ``stacking`` (the R-stack), ``validation`` (DR scores, BLP, AUUC/Qini, R-loss),
``selection`` (instability guard, R-loss, ties split by the honest policy value), ``regions``
(CATE by propensity region), ``refutation`` (placebo and subset stability), ``tuning`` (optional
Optuna), ``persistence`` (the checksummed model file).
"""

from __future__ import annotations

from rollout.estimation.cate.learners import LEARNERS, CateModel, make_learner
from rollout.estimation.cate.persistence import load_cate_model, score_customers
from rollout.estimation.cate.stage import CateColumns, CateOptions, CateResult, run_cate

__all__ = [
    "LEARNERS",
    "CateColumns",
    "CateModel",
    "CateOptions",
    "CateResult",
    "load_cate_model",
    "make_learner",
    "run_cate",
    "score_customers",
]
