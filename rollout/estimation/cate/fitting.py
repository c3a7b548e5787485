"""Fit every CATE model on a seeded 80/20 split and evaluate it on the held-out customers.

For one outcome: the customers are split 80/20, stratified by treatment and seeded; each model is
fitted on the training 80% (the double machine learning models residualize on the analysis's own
cross-fitting folds, restricted to the training customers), predicts every customer, and is
scored on the held-out 20% only: R-loss, BLP and AUUC/Qini on doubly robust scores built from the
analysis's cross-fitted nuisances. A model whose fit fails is recorded with the error instead of
stopping the analysis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from rollout.common.display import DisplayMixin
from rollout.common.parallel import run_tasks
from rollout.estimation.cate.learners import CateModel, LearnerFactory, folds_to_cv, make_learner
from rollout.estimation.cate.selection import instability_reason
from rollout.estimation.cate.validation import (
    BLPFit,
    UpliftResult,
    blp_test,
    r_loss_terms,
    uplift_test,
)

TEST_SHARE = 0.2


@dataclass(frozen=True)
class Split:
    """Row indices of the training and held-out customers (both sorted)."""

    train: np.ndarray
    test: np.ndarray


def split_customers(t: np.ndarray, seed: int, test_share: float = TEST_SHARE) -> Split:
    """A seeded split stratified by treatment.

    >>> s = split_customers(np.array([0, 1] * 50), seed=0)
    >>> len(s.train), len(s.test)
    (80, 20)
    """
    rows = np.arange(len(t))
    train, test = train_test_split(rows, test_size=test_share, stratify=np.asarray(t),
                                   random_state=seed)
    return Split(train=np.sort(train), test=np.sort(test))


@dataclass
class ModelFit(DisplayMixin):
    """One model fitted on the training split for one outcome, and its held-out figures."""

    outcome: str
    model: str
    cate: np.ndarray | None = None  # every customer (in-sample for the training rows)
    losses: np.ndarray | None = None  # per held-out customer R-loss terms
    blp: BLPFit | None = None
    uplift: UpliftResult | None = None
    flag_reason: str | None = None
    error: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    fitted: CateModel | None = None

    @property
    def flagged(self) -> bool:
        return self.flag_reason is not None

    def to_dict(self) -> dict[str, Any]:
        """The fit's held-out figures in plain values (not the arrays or the fitted model)."""
        return {"outcome": self.outcome, "model": self.model, "flagged": self.flagged,
                "flag_reason": self.flag_reason, "error": self.error,
                "mean": None if self.cate is None else float(np.mean(self.cate)),
                "r_loss": None if self.losses is None else float(np.mean(self.losses)),
                "blp": None if self.blp is None else self.blp.to_dict(),
                "uplift": None if self.uplift is None else self.uplift.to_dict(),
                "params": dict(self.params)}


@dataclass(frozen=True)
class OutcomeData:
    """What the models of one outcome are fitted and scored with, aligned with the cohort."""

    name: str
    X: np.ndarray
    t: np.ndarray
    y: np.ndarray
    folds: np.ndarray
    e: np.ndarray
    m: np.ndarray
    scores: np.ndarray  # doubly robust scores from the cross-fitted nuisances
    clip: float

    @property
    def outcome_sd(self) -> float:
        return float(np.std(self.y, ddof=1))


def fit_and_score(data: OutcomeData, name: str, split: Split, seed: int, n_jobs: int = 1,
                  params: Mapping[str, Any] | None = None,
                  registry: Mapping[str, LearnerFactory] | None = None) -> ModelFit:
    """Fit ``name`` on the training split, predict everyone, score on the held-out split."""
    record = ModelFit(outcome=data.name, model=name, params=dict(params or {}))
    train, test = split.train, split.test
    try:
        model = make_learner(name, seed=seed, n_jobs=n_jobs, params=params, registry=registry)
        cv = folds_to_cv(data.folds[train])
        model.fit(data.X[train], data.t[train], data.y[train], cv)
        cate = np.asarray(model.effect(data.X), dtype=float)
    except Exception as exc:  # one failing model must not stop the others
        record.error = f"{type(exc).__name__}: {exc}"
        record.flag_reason = f"fit failed ({record.error})"
        return record
    record.cate, record.fitted = cate, model
    record.flag_reason = instability_reason(cate, data.outcome_sd)
    if not np.all(np.isfinite(cate[test])):
        record.losses = np.full(len(test), np.inf)
        return record
    record.losses = r_loss_terms(data.y[test], data.t[test], data.m[test], data.e[test],
                                 cate[test], clip=data.clip)
    record.blp = blp_test(cate[test], data.scores[test])
    record.uplift = uplift_test(cate[test], data.scores[test])
    return record


def fit_tasks(data: OutcomeData, names: Sequence[str], split: Split, seed: int,
              n_jobs: int = 1, params: Mapping[str, Mapping[str, Any]] | None = None,
              registry: Mapping[str, LearnerFactory] | None = None
              ) -> list[Callable[[], ModelFit]]:
    """One :func:`fit_and_score` call per named model, ready to run anywhere (picklable)."""
    return [partial(fit_and_score, data, name, split, seed, n_jobs, (params or {}).get(name),
                    registry) for name in names]


def fit_all(data: OutcomeData, names: Sequence[str], split: Split, seed: int, n_jobs: int = 1,
            params: Mapping[str, Mapping[str, Any]] | None = None,
            registry: Mapping[str, LearnerFactory] | None = None,
            progress: Any = None, processes: int = 1) -> list[ModelFit]:
    """:func:`fit_and_score` for every named model, in order; in ``processes`` worker processes
    when more than one (the fits are independent and seeded, so the results are the same).
    Models from a custom ``registry`` are fitted in this process (they may not pickle)."""
    tasks = fit_tasks(data, names, split, seed, n_jobs, params, registry)
    tick = (lambda i: progress(f"CATE {data.name}: {names[i]}")) if progress else None
    return run_tasks(tasks, processes if registry is None else 1, tick)


def summary_record(fit: ModelFit, split: Split) -> dict[str, Any]:
    """The ``cate_models`` record of one fit: distribution, flags, R-loss and validation."""
    out: dict[str, Any] = {"outcome": fit.outcome, "model": fit.model, "flagged": fit.flagged,
                           "flag_reason": fit.flag_reason, "error": fit.error}
    nan = float("nan")
    if fit.cate is not None:
        for label, rows in (("", slice(None)), ("test_", split.test)):
            values = fit.cate[rows]
            finite = np.isfinite(values)
            out[f"{label}mean"] = float(np.mean(values)) if finite.all() else nan
            out[f"{label}sd"] = float(np.std(values, ddof=1)) if finite.all() else nan
            out[f"{label}share_positive"] = float(np.mean(values > 0))
    else:
        for label in ("", "test_"):
            out.update({f"{label}mean": nan, f"{label}sd": nan, f"{label}share_positive": nan})
    out["r_loss"] = float(np.mean(fit.losses)) if fit.losses is not None else nan
    out["n_test"] = len(split.test)
    blp = fit.blp.to_dict() if fit.blp else {}
    out.update({"blp_ate": blp.get("ate", nan), "blp_ate_se": blp.get("ate_se", nan),
                "blp_slope": blp.get("slope", nan), "blp_se": blp.get("slope_se", nan),
                "blp_p": blp.get("p_value", nan)})
    uplift = fit.uplift.to_dict() if fit.uplift else {}
    for key in ("auuc", "auuc_se", "auuc_ci_low", "auuc_ci_high", "qini", "qini_se",
                "qini_ci_low", "qini_ci_high"):
        out[key] = uplift.get(key, nan)
    return out
