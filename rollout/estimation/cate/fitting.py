"""Fit every CATE model on a seeded 80/20 split and evaluate it on the held-out customers.

For one outcome: the customers are split 80/20, stratified by treatment and seeded; each model is
fitted on the training 80% (the double machine learning models residualize on the analysis's own
cross-fitting folds, restricted to the training customers), predicts every customer, and is
scored on the held-out 20% only: R-loss, BLP and AUUC/Qini on doubly robust scores built from the
analysis's cross-fitted nuisances. A model whose fit fails is recorded with the error instead of
stopping the analysis.

**Selection folds.** On a small cohort the held-out 20% is a few hundred customers, and their
R-loss cannot tell a good learner from a poor one (on a 1,000-customer Nie-Wager world the
losses of models whose true errors differ by half were within 0.002 of each other on 200
customers). Up to :data:`SELECTION_CROSSFIT_MAX_N` customers the selection therefore scores
every model out of fold on *all* customers: the held-out split is selection fold 0, the training
customers are cut into :data:`SELECTION_FOLDS` - 1 more folds (stratified by treatment, seeded),
and each model is refitted once per extra fold on the customers outside it. Every customer then
has a prediction from a fit that never saw them, five times the customers the single split
scores. The held-out split's fit stays the one validated (BLP, Qini) and kept as ``cate_<model>``;
the extra fits only feed the selection's R-loss, its honest-value tie-break and the R-stack.

>>> s = split_customers(np.array([0, 1] * 50), seed=0, selection_folds=5)
>>> np.bincount(s.selection).tolist(), bool(np.all(s.selection[s.test] == 0))
([20, 20, 20, 20, 20], True)
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
#: Selection folds (the held-out split is one of them) when the selection is cross-fitted.
SELECTION_FOLDS = 5
#: Up to this many customers the selection scores every model out of fold on all customers;
#: above it the held-out 20% (2,000 customers or more) is scored alone, as the extra fits would
#: cost four times the models' fits where the single split already separates them (at 20,000
#: customers the cross-fitted analysis took 6.4 minutes on 2 cores).
SELECTION_CROSSFIT_MAX_N = 10_000


@dataclass(frozen=True)
class Split:
    """Row indices of the training and held-out customers (both sorted), and the selection
    fold of every customer (0 = the held-out split) when the selection is cross-fitted."""

    train: np.ndarray
    test: np.ndarray
    selection: np.ndarray | None = None

    @property
    def selection_rows(self) -> np.ndarray:
        """The customers the selection scores: everyone when cross-fitted, else the held-out."""
        return self.test if self.selection is None else np.arange(len(self.selection))

    @property
    def n_selection_folds(self) -> int:
        return 1 if self.selection is None else int(self.selection.max()) + 1


def selection_folds_for(n: int, folds: int = SELECTION_FOLDS,
                        max_n: int = SELECTION_CROSSFIT_MAX_N) -> int:
    """The selection folds used for ``n`` customers: ``folds`` up to ``max_n``, else 1.

    >>> selection_folds_for(2_400), selection_folds_for(20_000)
    (5, 1)
    """
    return folds if n <= max_n else 1


def split_customers(t: np.ndarray, seed: int, test_share: float = TEST_SHARE,
                    selection_folds: int = 1) -> Split:
    """A seeded split stratified by treatment; with ``selection_folds`` > 1 the training
    customers are also cut into that many minus one selection folds (see the module docstring).

    >>> s = split_customers(np.array([0, 1] * 50), seed=0)
    >>> len(s.train), len(s.test), s.selection is None
    (80, 20, True)
    """
    from rollout.estimation.crossfit import make_folds

    t = np.asarray(t)
    rows = np.arange(len(t))
    train, test = train_test_split(rows, test_size=test_share, stratify=t, random_state=seed)
    train, test = np.sort(train), np.sort(test)
    labels = None
    if selection_folds > 1:
        labels = np.zeros(len(t), dtype=np.int64)
        labels[train] = 1 + make_folds(t[train], selection_folds - 1, seed)
    return Split(train=train, test=test, selection=labels)


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
    #: Every customer's out-of-fold prediction (NaN outside the selection rows): the held-out
    #: split's from this fit, the others from the selection folds' refits.
    oof_cate: np.ndarray | None = None
    #: Per-customer R-loss terms over the selection rows (what the selection compares).
    selection_losses: np.ndarray | None = None
    #: BLP of the DR scores on the out-of-fold predictions over the selection rows.
    oof_blp: BLPFit | None = None

    @property
    def flagged(self) -> bool:
        return self.flag_reason is not None

    def out_of_fold(self, rows: np.ndarray) -> np.ndarray | None:
        """The out-of-fold predictions of ``rows``, or None when there are none or some are
        not finite (the model cannot be scored there)."""
        if self.oof_cate is None:
            return None
        values = self.oof_cate[rows]
        return values if np.all(np.isfinite(values)) else None

    def to_dict(self) -> dict[str, Any]:
        """The fit's held-out figures in plain values (not the arrays or the fitted model)."""
        return {"outcome": self.outcome, "model": self.model, "flagged": self.flagged,
                "flag_reason": self.flag_reason, "error": self.error,
                "mean": None if self.cate is None else float(np.mean(self.cate)),
                "r_loss": None if self.losses is None else float(np.mean(self.losses)),
                "r_loss_selection": (None if self.selection_losses is None
                                     else float(np.mean(self.selection_losses))),
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


def fold_predictions(data: OutcomeData, name: str, split: Split, fold: int, seed: int,
                     n_jobs: int = 1, params: Mapping[str, Any] | None = None,
                     registry: Mapping[str, LearnerFactory] | None = None) -> np.ndarray:
    """``name`` fitted on the customers outside selection fold ``fold``, predicting the fold's
    customers (NaN when the fit fails: the model then cannot be selected)."""
    assert split.selection is not None
    inside = split.selection == fold
    train, test = np.flatnonzero(~inside), np.flatnonzero(inside)
    try:
        model = make_learner(name, seed=seed, n_jobs=n_jobs, params=params, registry=registry)
        model.fit(data.X[train], data.t[train], data.y[train], folds_to_cv(data.folds[train]))
        return np.asarray(model.effect(data.X[test]), dtype=float)
    except Exception:  # the held-out fit records the error when there is one
        return np.full(len(test), np.nan)


def fold_tasks(data: OutcomeData, names: Sequence[str], split: Split, seed: int,
               n_jobs: int = 1, params: Mapping[str, Mapping[str, Any]] | None = None,
               registry: Mapping[str, LearnerFactory] | None = None
               ) -> list[Callable[[], np.ndarray]]:
    """One :func:`fold_predictions` call per model and extra selection fold (models outer)."""
    return [partial(fold_predictions, data, name, split, fold, seed, n_jobs,
                    (params or {}).get(name), registry)
            for name in names for fold in range(1, split.n_selection_folds)]


def attach_out_of_fold(data: OutcomeData, fit: ModelFit, split: Split,
                       folds: Sequence[np.ndarray]) -> ModelFit:
    """Set ``fit``'s out-of-fold predictions and selection R-loss terms from its held-out
    predictions and ``folds`` (the predictions of selection folds 1, 2, ..., in order)."""
    if fit.cate is None:
        return fit
    oof = np.full(len(data.y), np.nan)
    oof[split.test] = fit.cate[split.test]
    for k, values in enumerate(folds, start=1):
        oof[split.selection == k] = values
    rows = split.selection_rows
    fit.oof_cate = oof
    if not np.all(np.isfinite(oof[rows])):
        fit.selection_losses = np.full(len(rows), np.inf)
        if fit.flag_reason is None:
            bad = int(np.sum(~np.isfinite(oof[rows])))
            fit.flag_reason = (f"{bad} out-of-fold predictions of the selection folds are not "
                               "finite (a fold's fit failed or diverged)")
        return fit
    fit.selection_losses = r_loss_terms(data.y[rows], data.t[rows], data.m[rows], data.e[rows],
                                        oof[rows], clip=data.clip)
    return fit


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
    tasks, labels = outcome_tasks(data, names, split, seed, n_jobs, params, registry)
    tick = (lambda i: progress(labels[i])) if progress else None
    results = run_tasks(tasks, processes if registry is None else 1, tick)
    return assemble_fits(data, split, results, len(names))


def outcome_tasks(data: OutcomeData, names: Sequence[str], split: Split, seed: int,
                  n_jobs: int = 1, params: Mapping[str, Mapping[str, Any]] | None = None,
                  registry: Mapping[str, LearnerFactory] | None = None
                  ) -> tuple[list[Callable[[], Any]], list[str]]:
    """Every fit of one outcome's models, with a progress label each: the held-out split's fits
    (:func:`fit_tasks`), then the selection folds' (:func:`fold_tasks`), the order
    :func:`assemble_fits` reads them in."""
    tasks = [*fit_tasks(data, names, split, seed, n_jobs, params, registry),
             *fold_tasks(data, names, split, seed, n_jobs, params, registry)]
    labels = [f"CATE {data.name}: {name}" for name in names]
    labels += [f"CATE {data.name}: {name}, selection fold {k}" for name in names
               for k in range(1, split.n_selection_folds)]
    return tasks, labels


def assemble_fits(data: OutcomeData, split: Split, results: Sequence[Any],
                  n_models: int) -> list[ModelFit]:
    """The models' fits (the first ``n_models`` results) with their out-of-fold predictions
    attached (the fold results that follow, models outer)."""
    fits, folds = list(results[:n_models]), results[n_models:]
    per = split.n_selection_folds - 1
    for i, fit in enumerate(fits):
        attach_out_of_fold(data, fit, split, folds[i * per:(i + 1) * per])
    return fits


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
    out["r_loss_selection"] = (float(np.mean(fit.selection_losses))
                               if fit.selection_losses is not None else nan)
    out["n_selection"] = len(split.selection_rows)
    oof = fit.oof_blp.to_dict() if fit.oof_blp else {}
    out.update({"blp_oof_slope": oof.get("slope", nan), "blp_oof_se": oof.get("slope_se", nan),
                "blp_oof_p": oof.get("p_value", nan)})
    blp = fit.blp.to_dict() if fit.blp else {}
    out.update({"blp_ate": blp.get("ate", nan), "blp_ate_se": blp.get("ate_se", nan),
                "blp_slope": blp.get("slope", nan), "blp_se": blp.get("slope_se", nan),
                "blp_p": blp.get("p_value", nan)})
    uplift = fit.uplift.to_dict() if fit.uplift else {}
    for key in ("auuc", "auuc_se", "auuc_ci_low", "auuc_ci_high", "qini", "qini_se",
                "qini_ci_low", "qini_ci_high"):
        out[key] = uplift.get(key, nan)
    return out
