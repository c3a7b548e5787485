"""The CATE stage of ``rollout analyze``: for whom does the campaign work?

:func:`run_cate` receives the core stage's :class:`~rollout.estimation.core.CoreResult` (its folds
and cross-fitted nuisances) and returns a frozen :class:`CateResult`. For every outcome (the first
is primary) the stage fits the chosen CATE models on a seeded 80/20
split, validates each on the held-out customers with doubly robust scores (BLP, AUUC, Qini, all
with standard errors), flags unstable models, and selects one by the out-of-sample R-loss
(:mod:`rollout.estimation.cate.selection`): on every customer, out of fold over five selection
folds, up to 10,000 customers (:mod:`rollout.estimation.cate.fitting`), on the held-out split
above. For the primary outcome it then

- refits the selected model on all customers (on the analysis's cross-fitting folds): its
  predictions are the ``cate`` column of ``customers.parquet``, with ``cate_lower``/``cate_upper``
  where the model has intervals (LinearDML, CausalForestDML; NaN otherwise). Those predictions use
  each customer's own outcome in the fit (a full-data refit, as for the scoring model kept in
  ``model.joblib``); the out-of-sample figures are the held-out ones in ``cate_models``;
- keeps that fitted model as ``model.joblib`` with its SHA-256 in the summary, and LinearDML's
  coefficients as plain JSON;
- runs the refutation tests (placebo treatment, subset stability) on the selected model
  (``validate="all"``: every unflagged model of every outcome; ``"none"``: no refits);
- tabulates CATE by propensity-score region beside each region's own AIPW estimate.

``cate_<model>`` columns hold each model's predictions from its training-split fit (in-sample for
the training customers, out-of-sample for the held-out ones, marked by ``cate_split``), with
``cate_<model>_lower``/``_upper`` (95%) for the models that have intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from rollout.common.display import DisplayMixin
from rollout.common.parallel import FIT_PROCESSES, run_tasks
from rollout.errors import InputError
from rollout.estimation.cate.fitting import (
    SELECTION_CROSSFIT_MAX_N,
    SELECTION_FOLDS,
    TEST_SHARE,
    ModelFit,
    OutcomeData,
    Split,
    assemble_fits,
    fit_all,
    outcome_tasks,
    selection_folds_for,
    split_customers,
    summary_record,
)
from rollout.estimation.cate.learners import (
    CONSTANT_MODELS,
    FOREST_MAX_TREE_SAMPLES,
    FOREST_TREES,
    LEARNERS,
    LearnerFactory,
    check_model_names,
    folds_to_cv,
    forest_tree_samples,
    make_learner,
)
from rollout.estimation.cate.persistence import MODEL_FILE, model_bytes, sha256
from rollout.estimation.cate.refutation import placebo_test, subset_stability
from rollout.estimation.cate.regions import cate_by_region
from rollout.estimation.cate.selection import Selection, peer_outliers, select_model
from rollout.estimation.cate.stacking import (
    STACK_NAME,
    StackedCate,
    StackFit,
    cross_fitted_stack,
    stack_folds,
    stack_weights,
)
from rollout.estimation.cate.validation import (
    blp_test,
    dr_scores,
    r_loss_terms,
    uplift_curve,
    uplift_test,
)
from rollout.estimation.core import CoreResult
from rollout.estimation.propensity import ps_region

VALIDATE_CHOICES = ("selected", "all", "none")
STAGE_NAME = "cate"
#: Placebo permutations and stability splits of the refutation tests (each a full refit).
PLACEBO_PERMUTATIONS = 20
STABILITY_SPLITS = 2
#: Cheaper settings for the refutation refits of slow models (the forest dominates their time).
REFIT_OVERRIDES: dict[str, dict[str, Any]] = {"causal_forest_dml": {"n_estimators": 100}}
#: Processes sharing the refutation refits (results do not depend on it).
REFIT_JOBS = 2
#: Above this many customers the refutation refits (placebo permutations and stability halves,
#: 24 whole fits of the model by default) run on a seeded subsample of this many, stratified by
#: treatment, with the real CATE they are compared with refitted on the same subsample. Both
#: tests ask whether the model finds structure that noise or another half of the data does not;
#: 20,000 customers answer that as well as more (a placebo SD only shrinks with n, which makes
#: the test stricter on the subsample, not looser), and refits of every customer would cost 24
#: times the model's fit at any size. Recorded per model as ``refit_n`` and in ``fit_on``.
REFUTATION_MAX_N = 20_000
PER_CUSTOMER_NOTE = (
    "cate, cate_lower, cate_upper: the selected model refitted on all customers (each customer's "
    "own outcome is in the fit); cate_<model>: each model fitted on the training split "
    "(in-sample for cate_split == 'train', out-of-sample for 'test')"
)


@dataclass(frozen=True)
class CateOptions:
    """What the CATE stage fits and validates (``models``, ``model``, ``validate``, ``tune``).

    ``registry`` maps model names to factories; tests add fake models through it. ``progress``
    receives a message before each fit (the command line shows them on stderr).
    ``fit_processes`` and ``refit_jobs`` are the worker processes sharing the model fits and the
    refutation refits (the numbers do not depend on them); ``refutation_max_n`` is the size
    above which the refits use a seeded subsample (:data:`REFUTATION_MAX_N`).
    """

    models: tuple[str, ...] = tuple(LEARNERS)
    model: str | None = None
    validate: str = "selected"
    tune: int = 0
    placebo_permutations: int = PLACEBO_PERMUTATIONS
    stability_splits: int = STABILITY_SPLITS
    test_share: float = TEST_SHARE
    registry: Mapping[str, LearnerFactory] | None = None
    refit_jobs: int = REFIT_JOBS
    fit_processes: int = FIT_PROCESSES
    refutation_max_n: int = REFUTATION_MAX_N
    stack: bool = True
    selection_folds: int = SELECTION_FOLDS
    selection_max_n: int = SELECTION_CROSSFIT_MAX_N
    progress: Callable[[str], None] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        known = list(self.registry if self.registry is not None else LEARNERS)
        object.__setattr__(self, "models",
                           tuple(check_model_names(self.models, "models", known)))
        if self.model is not None and self.model != STACK_NAME:
            check_model_names([self.model], "model", known)
            if self.model not in self.models:
                raise InputError(f"{self.model!r} is not among the models fitted "
                                 f"({', '.join(self.models)})", argument="model")
        if self.validate not in VALIDATE_CHOICES:
            raise InputError(f"unknown value {self.validate!r}; choose one of "
                             f"{', '.join(VALIDATE_CHOICES)}", argument="validate")
        if self.tune < 0:
            raise InputError(f"must be a number of trials >= 0, got {self.tune}",
                             argument="tune")
        if self.selection_folds < 1:
            raise InputError(f"must be at least 1, got {self.selection_folds}",
                             argument="selection_folds")
        if self.placebo_permutations < 1 or self.stability_splits < 1:
            raise InputError("placebo permutations and stability splits must be at least 1",
                             argument="placebo_permutations")

    def to_dict(self) -> dict[str, Any]:
        return {"models": list(self.models), "model": self.model, "validate": self.validate,
                "tune_trials": self.tune, "placebo_permutations": self.placebo_permutations,
                "stability_splits": self.stability_splits, "test_share": self.test_share,
                "stack": self.stack, "selection_folds": self.selection_folds,
                "selection_max_n": self.selection_max_n,
                "forest_trees": FOREST_TREES, "per_customer": PER_CUSTOMER_NOTE,
                "refit_overrides": {k: dict(v) for k, v in REFIT_OVERRIDES.items()},
                "refutation_max_n": self.refutation_max_n,
                "forest_max_tree_samples": FOREST_MAX_TREE_SAMPLES}


@dataclass
class OutcomeCate(DisplayMixin):
    """Everything the stage computed for one outcome."""

    data: OutcomeData
    split: Split
    fits: list[ModelFit]
    selection: Selection
    tuned: dict[str, dict[str, Any]] = field(default_factory=dict)
    stack: StackFit | None = None

    def fit_of(self, name: str | None) -> ModelFit | None:
        return next((f for f in self.fits if f.model == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.data.name, "selection": self.selection.to_dict(),
                "models": [summary_record(f, self.split) for f in self.fits],
                "tuned": {k: dict(v) for k, v in self.tuned.items()}}

    def to_pandas(self) -> pd.DataFrame:
        """One row per model: its held-out validation (as in ``cate_models``)."""
        return pd.DataFrame([summary_record(f, self.split) for f in self.fits])


def outcome_data(core: CoreResult, outcome: str) -> OutcomeData:
    """The arrays the models of one outcome use, with DR scores from the shared nuisances."""
    cohort, nuis = core.cohort, core.nuisances
    fitted = nuis.outcomes[outcome]
    y, t = cohort.outcome(outcome), cohort.treatment.astype(np.int64)
    clip = core.options.clip
    return OutcomeData(name=outcome, X=cohort.X, t=t, y=y, folds=nuis.folds, e=nuis.e_hat,
                       m=fitted.m, scores=dr_scores(y, t, nuis.e_hat, fitted.mu0, fitted.mu1, clip),
                       clip=clip)


def _tune_models(data: OutcomeData, options: CateOptions, split: Split, seed: int,
                 tick: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    from rollout.estimation.cate.tuning import tune_learner

    tuned = {}
    for name in options.models:
        tick(f"tuning {data.name}: {name}")
        tuned[name] = tune_learner(name, data, split.train, options.tune, seed,
                                   registry=options.registry)
    return tuned


def _residuals(data: OutcomeData) -> tuple[np.ndarray, np.ndarray]:
    """(y - m(x), t - e(x)) from the analysis's cross-fitted nuisances, e clipped as in the
    R-loss."""
    e = np.clip(data.e, data.clip, 1 - data.clip)
    return data.y - data.m, data.t - e


def stack_candidate(data: OutcomeData, fits: list[ModelFit], split: Split,
                    seed: int) -> tuple[ModelFit | None, StackFit | None]:
    """The R-stack of the heterogeneous models that passed the guard, scored like a model.

    The weights are fitted on the members' out-of-fold predictions of the selection rows
    (every customer when the selection is cross-fitted, else the held-out split): all of them
    for the deployed stack, cross-fitted over folds of those rows for the stack's own
    out-of-sample predictions, R-loss and validation, so the stack is judged out of sample like
    every other candidate.
    """
    test, rows = split.test, split.selection_rows
    members = [f for f in fits if not f.flagged and f.cate is not None
               and f.model not in CONSTANT_MODELS and f.out_of_fold(rows) is not None]
    if len(members) < 2:
        return None, None
    r_y, r_t = _residuals(data)
    names = tuple(f.model for f in members)
    oof = np.column_stack([f.out_of_fold(rows) for f in members])
    stack = stack_weights(r_y[rows], r_t[rows], oof, names)
    cate = stack.predict(np.column_stack([f.cate for f in members]))
    stacked_oof = np.full(len(data.y), np.nan)
    stacked_oof[rows] = cross_fitted_stack(r_y[rows], r_t[rows], oof,
                                           stack_folds(data.t[rows], seed))
    cate[test] = stacked_oof[test]
    record = ModelFit(outcome=data.name, model=STACK_NAME, cate=cate,
                      params={f"weight_{k}": round(w, 6) for k, w in
                              zip(stack.names, stack.weights, strict=True)})
    record.fitted = StackedCate(stack, [f.fitted for f in members])
    record.losses = r_loss_terms(data.y[test], data.t[test], data.m[test], data.e[test],
                                 cate[test], clip=data.clip)
    record.oof_cate = stacked_oof
    record.selection_losses = r_loss_terms(data.y[rows], data.t[rows], data.m[rows],
                                           data.e[rows], stacked_oof[rows], clip=data.clip)
    record.blp = blp_test(cate[test], data.scores[test])
    record.uplift = uplift_test(cate[test], data.scores[test])
    return record, stack


def honest_values(data: OutcomeData, fits: list[ModelFit], split: Split
                  ) -> dict[str, np.ndarray]:
    """Each model's doubly robust out-of-sample value terms of treating the customers it
    predicts to gain (out-of-fold CATE > 0) against treating nobody, one per selection row (their
    mean is the value): the selection's tie-break."""
    rows = split.selection_rows
    return {f.model: data.scores[rows] * (oof > 0)
            for f in fits if (oof := f.out_of_fold(rows)) is not None}


def out_of_fold_slopes(data: OutcomeData, fits: list[ModelFit], split: Split
                       ) -> dict[str, float]:
    """Each model's BLP fitted on its out-of-fold predictions over the selection rows (kept as
    ``oof_blp``), and its one-sided slope p-value: step 4 of the selection rule."""
    rows = split.selection_rows
    out = {}
    for fit in fits:
        if (oof := fit.out_of_fold(rows)) is not None:
            fit.oof_blp = blp_test(oof, data.scores[rows])
            out[fit.model] = float(fit.oof_blp.p_value)
    return out


def _prepare(core: CoreResult, outcome: str, options: CateOptions,
             tick: Callable[[str], None]) -> tuple[OutcomeData, Split, dict[str, dict[str, Any]]]:
    """One outcome's arrays, its seeded split and its tuned parameters (empty without tuning)."""
    seed = core.options.seed
    data = outcome_data(core, outcome)
    folds = selection_folds_for(len(data.t), options.selection_folds, options.selection_max_n)
    split = split_customers(data.t, seed, options.test_share, folds)
    tuned = _tune_models(data, options, split, seed, tick) if options.tune else {}
    return data, split, tuned


def _select(data: OutcomeData, split: Split, tuned: dict[str, dict[str, Any]],
            fits: list[ModelFit], options: CateOptions, seed: int) -> OutcomeCate:
    """Flag peer outliers, stack, and select among the fitted models of one outcome."""
    spreads = {f.model: float(np.std(f.cate, ddof=1)) for f in fits
               if not f.flagged and f.cate is not None and f.model not in CONSTANT_MODELS}
    for name, reason in peer_outliers(spreads).items():
        next(f for f in fits if f.model == name).flag_reason = reason
    stacked, stack = stack_candidate(data, fits, split, seed) if options.stack else (None, None)
    if stacked is not None:
        fits.append(stacked)
    losses = {f.model: f.selection_losses for f in fits if f.selection_losses is not None}
    flags = {f.model: f.flag_reason for f in fits}
    order = [*options.models, *([STACK_NAME] if stacked is not None else [])]
    slopes = out_of_fold_slopes(data, fits, split)  # also keeps each fit's oof_blp
    selection = select_model(data.name, losses, flags, override=options.model, order=order,
                             values=honest_values(data, fits, split), seed=seed,
                             calibration_p=slopes, folds=split.selection)
    return OutcomeCate(data=data, split=split, fits=fits, selection=selection, tuned=tuned,
                       stack=stack)


def fit_outcome(core: CoreResult, outcome: str, options: CateOptions,
                tick: Callable[[str], None]) -> OutcomeCate:
    """Fit, stack, score and select the CATE models of one outcome."""
    seed = core.options.seed
    data, split, tuned = _prepare(core, outcome, options, tick)
    fits = fit_all(data, options.models, split, seed, core.options.n_jobs, tuned,
                   options.registry, tick, options.fit_processes)
    return _select(data, split, tuned, fits, options, seed)


def fit_outcomes(core: CoreResult, options: CateOptions,
                 tick: Callable[[str], None]) -> list[OutcomeCate]:
    """:func:`fit_outcome` for every outcome, the models of all outcomes fitted as one batch of
    independent tasks (shared by ``options.fit_processes`` worker processes; the same numbers as
    fitting them one after another)."""
    seed, n_jobs = core.options.seed, core.options.n_jobs
    prepared = [_prepare(core, outcome, options, tick) for outcome in core.outcomes]
    tasks, labels, sizes = [], [], []
    for data, split, tuned in prepared:
        more, named = outcome_tasks(data, options.models, split, seed, n_jobs, tuned,
                                    options.registry)
        tasks += more
        labels += named
        sizes.append(len(more))
    processes = options.fit_processes if options.registry is None else 1
    results = run_tasks(tasks, processes, lambda i: tick(labels[i]))
    out, start = [], 0
    for (data, split, tuned), size in zip(prepared, sizes, strict=True):
        fits = assemble_fits(data, split, results[start:start + size], len(options.models))
        out.append(_select(data, split, tuned, fits, options, seed))
        start += size
    return out


def _criteria(fit: ModelFit | None, split: Split) -> dict[str, Any]:
    """The original analysis's criteria of a model, shown beside the rule's choice."""
    if fit is None:
        return {}
    rec = summary_record(fit, split)
    return {k: rec[k] for k in ("r_loss", "test_mean", "test_sd", "test_share_positive",
                                "blp_slope", "blp_p", "auuc", "qini")}


def make_stacked(stack: StackFit, registry: Mapping[str, LearnerFactory] | None, n_jobs: int,
                 params: Mapping[str, Mapping[str, Any]], seed: int) -> StackedCate:
    """A fresh stack of one configuration: unfitted learners, the stack's fixed weights."""
    models = [make_learner(name, seed=seed, n_jobs=n_jobs, params=params.get(name),
                           registry=registry) for name in stack.names]
    return StackedCate(stack, models)


def model_maker(oc: OutcomeCate, name: str, options: CateOptions, n_jobs: int,
                refit: bool = False) -> tuple[Callable[[int], Any], dict[str, Any]]:
    """``make(seed)``: a fresh model of one configuration (picklable for parallel refits), and
    the parameters it uses. ``refit`` applies :data:`REFIT_OVERRIDES` (the cheaper refutation
    configuration) to the model, or to each learner of a stack."""
    if name == STACK_NAME and oc.stack is not None:
        params = {member: {**oc.tuned.get(member, {}),
                           **(REFIT_OVERRIDES.get(member, {}) if refit else {})}
                  for member in oc.stack.names}
        used = {f"{m}.{k}": v for m, p in params.items() for k, v in p.items()}
        return partial(make_stacked, oc.stack, options.registry, n_jobs, params), used
    params = {**oc.tuned.get(name, {}), **(REFIT_OVERRIDES.get(name, {}) if refit else {})}
    return partial(make_learner, name, n_jobs=n_jobs, params=params,
                   registry=options.registry), params


def _uses_overrides(oc: OutcomeCate, name: str) -> bool:
    members = oc.stack.names if name == STACK_NAME and oc.stack is not None else (name,)
    return any(member in REFIT_OVERRIDES for member in members)


def refutation_rows(t: np.ndarray, seed: int, max_n: int = REFUTATION_MAX_N) -> np.ndarray:
    """The customers the refutation refits use: everyone up to ``max_n``, otherwise a seeded
    subsample of ``max_n`` stratified by treatment (sorted row indices).

    >>> len(refutation_rows(np.array([0, 1] * 10), seed=0, max_n=8))
    8
    """
    rows = np.arange(len(t))
    if len(t) <= max_n:
        return rows
    kept, _ = train_test_split(rows, train_size=max_n, stratify=np.asarray(t),
                               random_state=seed)
    return np.sort(kept)


def refute(oc: OutcomeCate, name: str, real_cate: np.ndarray, options: CateOptions,
           seed: int, n_jobs: int, tick: Callable[[str], None]) -> dict[str, Any]:
    """Placebo and subset-stability tests of one model on the customers of one outcome.

    Models listed in :data:`REFIT_OVERRIDES` (or stacks holding one) are refitted in a cheaper
    configuration (fewer forest trees); the real CATE the placebo compares with is then refitted
    in that same configuration, so the ratio compares like with like. Above
    :data:`REFUTATION_MAX_N` customers every refit, and that real fit, run on the same seeded
    subsample (:func:`refutation_rows`; ``refit_n`` and ``fit_on`` say so). A stack is refitted
    with its weights held fixed (the learners refitted, not the weights).
    """
    data = oc.data
    jobs = options.refit_jobs if options.registry is None else 1
    make, refit_params = model_maker(oc, name, options, n_jobs, refit=True)
    rows = refutation_rows(data.t, seed, options.refutation_max_n)
    subsample = len(rows) < len(data.t)
    X, t, y, folds = ((data.X[rows], data.t[rows], data.y[rows], data.folds[rows]) if subsample
                      else (data.X, data.t, data.y, data.folds))  # a copy changes the last bits
    if _uses_overrides(oc, name) or subsample:
        tick(f"{name}: real fit in the refit configuration")
        real_cate = np.asarray(make(seed).fit(X, t, y, folds_to_cv(folds)).effect(X),
                               dtype=float)
    n_folds = int(data.folds.max()) + 1
    placebo = placebo_test(make, X, t, y, folds, real_cate, seed,
                           options.placebo_permutations,
                           progress=lambda m: tick(f"{name} {m}"), n_jobs=jobs)
    stability = subset_stability(make, X, t, y, n_folds, seed,
                                 options.stability_splits, progress=lambda m: tick(f"{name} {m}"),
                                 n_jobs=jobs)
    fit_on = (f"a seeded subsample of {len(rows)} of the {len(data.t)} customers, stratified by "
              f"treatment (refits above {options.refutation_max_n} customers)" if subsample
              else "all customers")
    return {"outcome": data.name, "model": name, **placebo.to_dict(), **stability.to_dict(),
            "refits": placebo.n_permutations + 2 * stability.n_splits,
            "refit_params": ",".join(f"{k}={v}" for k, v in sorted(refit_params.items()))
            or None,
            "fit_on": fit_on, "refit_n": len(rows)}


@dataclass(frozen=True, eq=False)
class CateColumns(DisplayMixin):
    """The per-customer CATE the later stages read, by meaning rather than by column name.

    ``cate``, ``lower``, ``upper``: the selected model of the primary outcome refitted on every
    customer (what is deployed; NaN when no model was selected, and the bounds NaN where the
    model has no interval). ``honest`` and ``honest_lower``: the same model fitted on the
    training split only, out of sample on the customers where ``is_test`` (None without them).
    """

    cate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    model: str | None = None
    honest: np.ndarray | None = None
    honest_lower: np.ndarray | None = None
    is_test: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "n": len(self.cate),
                "n_test": None if self.is_test is None else int(np.sum(self.is_test)),
                "has_interval": bool(np.isfinite(self.lower).any()),
                "has_honest": self.honest is not None}

    def to_pandas(self) -> pd.DataFrame:
        """One row per customer: the deployed CATE, its bounds, the out-of-sample CATE."""
        frame = pd.DataFrame({"cate": self.cate, "cate_lower": self.lower,
                              "cate_upper": self.upper})
        if self.honest is not None:
            frame["honest"] = self.honest
        if self.is_test is not None:
            frame["is_test"] = self.is_test
        return frame

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


@dataclass(frozen=True, eq=False)
class CateResult(DisplayMixin):
    """What the CATE stage computed; ``summary()`` is the table of models with their validation.

    ``columns`` is what the policy stage reads; ``sections``, ``tables``, ``customer_columns`` and
    ``model_file`` are what the results folder writes (keys of ``summary.json``, ``tables/``,
    columns of ``customers.parquet``, ``model.joblib``).
    """

    options: CateOptions
    outcomes: tuple[OutcomeCate, ...]
    columns: CateColumns
    model_record: dict[str, Any] | None
    model_file: bytes | None
    sections: Mapping[str, Any]
    tables: Mapping[str, pd.DataFrame]
    customer_columns: Mapping[str, np.ndarray]
    warnings: tuple[str, ...] = ()

    @property
    def selected(self) -> str | None:
        """The selected model of the primary outcome (None when every model was flagged)."""
        return self.outcomes[0].selection.selected

    def figures(self) -> dict[str, Callable[[], Any]]:
        """Figure makers of this stage (file name -> maker of a matplotlib ``Figure``)."""
        from rollout.estimation.cate.figures import cate_figures

        return cate_figures(self.outcomes)

    def artifacts(self) -> dict[str, bytes]:
        return {MODEL_FILE: self.model_file} if self.model_file is not None else {}

    def to_dict(self) -> dict[str, Any]:
        """The keys of ``summary.json`` this stage writes."""
        return dict(self.sections)

    def to_pandas(self) -> pd.DataFrame:
        return self.tables["cate_models"]


def _model_records(per_outcome: list[OutcomeCate]
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[pd.DataFrame],
                              list[str]]:
    """Per model: its validation record and held-out uplift curve; per outcome: the selection."""
    records, selections, curves, warnings = [], [], [], []
    for oc in per_outcome:
        for fit in oc.fits:
            rec = summary_record(fit, oc.split)
            rec["selected"] = fit.model == oc.selection.selected
            rec["tuned_params"] = oc.tuned.get(fit.model) or None
            records.append(rec)
            if fit.cate is not None and np.all(np.isfinite(fit.cate)):
                curve = uplift_curve(fit.cate[oc.split.test], oc.data.scores[oc.split.test])
                curves.append(pd.DataFrame({"outcome": oc.data.name, "model": fit.model,
                                            **curve}))
        sel = oc.selection.to_dict()
        sel["selected_criteria"] = _criteria(oc.fit_of(oc.selection.selected), oc.split)
        sel["runner_up_criteria"] = _criteria(oc.fit_of(oc.selection.runner_up), oc.split)
        selections.append(sel)
        if oc.selection.selected is None:
            warnings.append(f"CATE {oc.data.name}: {oc.selection.reason}")
        for fit in oc.fits:
            if fit.flagged:
                warnings.append(f"CATE {oc.data.name}: {fit.model} flagged and never "
                                f"selected: {fit.flag_reason}")
    return records, selections, curves, warnings


#: The all-customer refit is deployed only while its CATE stays close to the validated fit's:
#: an SD at most this many times the validated SD ...
MAX_REFIT_SD_RATIO = 2.0
#: ... and a correlation with the validated predictions of at least this much.
MIN_REFIT_CORRELATION = 0.5


def refit_divergence(refit: np.ndarray, validated: np.ndarray) -> str | None:
    """Why an all-customer refit has moved too far from the validated fit, or None.

    >>> refit_divergence(np.array([1.0, 2.0, 3.0]), np.array([1.1, 2.1, 2.9])) is None
    True
    >>> refit_divergence(np.array([0.0, 9.0, 0.0]), np.array([1.0, 2.0, 3.0]))[:18]
    'its CATE SD 4.24 i'
    """
    sd_refit, sd_valid = float(np.std(refit)), float(np.std(validated))
    tiny = 1e-9 * (1.0 + float(np.abs(validated).mean()))
    if sd_valid <= tiny or sd_refit <= tiny:  # a constant has no spread to diverge in
        return None
    if sd_refit > MAX_REFIT_SD_RATIO * sd_valid:
        return (f"its CATE SD {sd_refit:.3g} is more than {MAX_REFIT_SD_RATIO:g} times the "
                f"validated fit's ({sd_valid:.3g})")
    correlation = float(np.corrcoef(refit, validated)[0, 1])
    if correlation < MIN_REFIT_CORRELATION:
        return (f"its CATE correlates {correlation:.2f} with the validated fit's (needs >= "
                f"{MIN_REFIT_CORRELATION:g})")
    return None


def _deployed(primary: OutcomeCate, options: CateOptions, core: CoreResult,
              tick: Callable[[str], None]) -> tuple[Any, str, np.ndarray]:
    """The model to deploy, where it was fitted, and its CATE for every customer: the selected
    model refitted on all customers, or its validated training-split fit when the refit
    diverges from it (said in ``fit_on``)."""
    chosen = primary.selection.selected
    data = primary.data
    tick(f"CATE {data.name}: refit {chosen} on all customers")
    make, _ = model_maker(primary, chosen, options, core.options.n_jobs)
    final = make(core.options.seed)
    final.fit(data.X, data.t, data.y, folds_to_cv(data.folds))
    refit = np.asarray(final.effect(data.X), dtype=float)
    validated = primary.fit_of(chosen)
    if validated is None or validated.fitted is None:
        return final, "all customers", refit
    kept = np.asarray(validated.fitted.effect(data.X), float)
    reason = refit_divergence(refit, kept)
    if reason is None:
        return final, "all customers", refit
    return validated.fitted, (f"training split (the all-customer refit was not deployed: "
                              f"{reason})"), kept


def _refit_selected(primary: OutcomeCate, options: CateOptions, core: CoreResult,
                    tick: Callable[[str], None]
                    ) -> tuple[dict[str, np.ndarray], bytes | None, dict[str, Any] | None]:
    """The deployed model (see :func:`_deployed`): its CATE columns, model file and record."""
    nan = np.full(core.cohort.n, np.nan)
    customer = {"cate": nan.copy(), "cate_lower": nan.copy(), "cate_upper": nan.copy()}
    chosen = primary.selection.selected
    if chosen is None:
        return customer, None, None
    final, fit_on, customer["cate"] = _deployed(primary, options, core, tick)
    X = primary.data.X
    interval = final.effect_interval(X)
    if interval is not None:
        customer["cate_lower"], customer["cate_upper"] = interval
    blob = model_bytes(final)
    covariates = list(core.cohort.roles.covariates)
    structure = final.structure(covariates) if hasattr(final, "structure") else None
    record = {"file": MODEL_FILE, "sha256": sha256(blob), "model": chosen,
              "outcome": primary.data.name, "covariates": covariates,
              "fit_on": fit_on, "params": primary.tuned.get(chosen) or None,
              "structure": structure,
              "covariate_range": fitted_range(primary.data.X, covariates),
              "loader": "rollout.estimation.cate.persistence.load_cate_model"}
    return customer, blob, record


def fitted_range(X: np.ndarray, covariates: list[str]) -> dict[str, list[float]]:
    """Each covariate's [min, max] over the customers the model was fitted on.

    Recorded with the model so that scoring new customers can say who lies outside the data the
    model learned from: a tree model extrapolates flat, a linear one without bound, and neither
    has seen such a customer.

    >>> fitted_range(np.array([[1.0, 5.0], [3.0, 4.0]]), ["a", "b"])
    {'a': [1.0, 3.0], 'b': [4.0, 5.0]}
    """
    X = np.asarray(X, dtype=float)
    return {name: [float(np.nanmin(X[:, j])), float(np.nanmax(X[:, j]))]
            for j, name in enumerate(covariates)}


def _refutation_failures(refutation: list[dict[str, Any]]) -> list[str]:
    warnings = []
    for rec in refutation:
        failed = [test for test, key in (("placebo", "placebo_pass"),
                                         ("subset stability", "stability_pass")) if not rec[key]]
        if failed:
            warnings.append(
                f"CATE {rec['outcome']}: {rec['model']} fails the {' and the '.join(failed)} "
                f"test{'s' if len(failed) > 1 else ''} (placebo ratio {rec['placebo_ratio']:.3g}, "
                f"needs < {rec['placebo_threshold']:g}; stability correlation "
                f"{rec['stability_correlation']:.3g}, needs > {rec['stability_threshold']:g}): "
                "treat the per-customer effects as hypotheses for a randomized test, not as "
                "targeting facts")
    return warnings


def _refutations(per_outcome: list[OutcomeCate], selected_cate: np.ndarray,
                 options: CateOptions, core: CoreResult,
                 tick: Callable[[str], None]) -> list[dict[str, Any]]:
    """Placebo and stability tests of the models ``options.validate`` names (a constant
    claims no heterogeneity, so there is nothing to refute)."""
    seed, n_jobs = core.options.seed, core.options.n_jobs
    primary = per_outcome[0]
    chosen = primary.selection.selected
    plan: list[tuple[OutcomeCate, str]] = []
    if options.validate == "selected" and chosen is not None:
        plan = [(primary, chosen)]
    elif options.validate == "all":
        plan = [(oc, f.model) for oc in per_outcome for f in oc.fits if not f.flagged]
    refutation = []
    for oc, name in plan:
        if name in CONSTANT_MODELS:
            continue
        if oc is primary and name == chosen:
            real = selected_cate
        else:
            tick(f"CATE {oc.data.name}: refit {name} on all customers")
            make, _ = model_maker(oc, name, options, n_jobs)
            other = make(seed).fit(oc.data.X, oc.data.t, oc.data.y, folds_to_cv(oc.data.folds))
            real = np.asarray(other.effect(oc.data.X), dtype=float)
        refutation.append(refute(oc, name, real, options, seed, n_jobs, tick))
    return refutation


def level_check(core: CoreResult, primary: OutcomeCate, cate: np.ndarray) -> dict[str, Any]:
    """The deployed CATE's overlap-weighted mean against the ATO estimate and its interval.

    The overlap (ATO) estimand is E[e(1-e) tau(x)] / E[e(1-e)]; a CATE whose e(1-e)-weighted
    mean falls outside the ATO's 95% interval has the wrong level, whatever its ranking.
    """
    ato = next((est for est in core.effects
                if est.outcome == primary.data.name and est.method == "ato"), None)
    if ato is None or not np.all(np.isfinite(cate)):
        return {"outcome": primary.data.name, "checked": False}
    e = np.clip(primary.data.e, primary.data.clip, 1 - primary.data.clip)
    weights = e * (1 - e)
    level = float(np.sum(weights * cate) / np.sum(weights))
    within = bool(ato.ci_low <= level <= ato.ci_high)
    return {"outcome": primary.data.name, "checked": True, "model": primary.selection.selected,
            "overlap_weighted_mean_cate": level, "ato": ato.estimate, "ato_ci_low": ato.ci_low,
            "ato_ci_high": ato.ci_high, "within": within}


def _regions_table(per_outcome: list[OutcomeCate], selected_cate: np.ndarray,
                   e_hat: np.ndarray) -> pd.DataFrame:
    """CATE by propensity region beside each region's own AIPW estimate, per outcome."""
    regions = ps_region(e_hat).astype(str)
    nan = np.full(len(e_hat), np.nan)
    tables = []
    for oc in per_outcome:
        if oc is per_outcome[0]:
            cate = selected_cate
        else:
            fit = oc.fit_of(oc.selection.selected)
            cate = fit.cate if fit is not None and fit.cate is not None else nan
        if oc.selection.selected is None:
            continue
        table = cate_by_region(cate, oc.data.scores, regions, oc.data.t)
        table.insert(0, "model", oc.selection.selected)
        table.insert(0, "outcome", oc.data.name)
        tables.append(table)
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def _model_columns(primary: OutcomeCate, n: int) -> dict[str, np.ndarray]:
    """``cate_<model>`` (training-split fits, with intervals where the model has them) and
    ``cate_split``."""
    nan = np.full(n, np.nan)
    customer: dict[str, np.ndarray] = {}
    for fit in primary.fits:
        customer[f"cate_{fit.model}"] = fit.cate if fit.cate is not None else nan.copy()
        interval = fit.fitted.effect_interval(primary.data.X) if fit.fitted is not None else None
        if interval is not None:
            customer[f"cate_{fit.model}_lower"], customer[f"cate_{fit.model}_upper"] = interval
    split_label = np.full(n, "train", dtype=object)
    split_label[primary.split.test] = "test"
    customer["cate_split"] = split_label
    return customer


def _cell(value: Any) -> Any:
    """A table cell: lists and mappings as ``a=0.5,b=0.2`` text."""
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in value.items()) or None
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or None
    return value


def _tables(records: list[dict[str, Any]], selections: list[dict[str, Any]],
            regions: pd.DataFrame, refutation: list[dict[str, Any]],
            curves: list[pd.DataFrame]) -> dict[str, pd.DataFrame]:
    models_table = pd.DataFrame(records)
    models_table["tuned_params"] = models_table["tuned_params"].map(
        lambda p: None if not p else ",".join(f"{k}={v}" for k, v in sorted(p.items())))
    selection_table = pd.DataFrame([{k: _cell(v) for k, v in s.items()
                                     if not k.endswith("_criteria")} for s in selections])
    return {"cate_models": models_table, "cate_selection": selection_table,
            "cate_by_region": regions,
            "refutation": pd.DataFrame(refutation).drop(
                columns=["placebo_sds", "stability_correlations"], errors="ignore"),
            "cate_uplift_curves": pd.concat(curves, ignore_index=True)
            if curves else pd.DataFrame()}


def _handover(customer: Mapping[str, np.ndarray], chosen: str | None,
              split: Split) -> CateColumns:
    is_test = np.zeros(len(customer["cate"]), dtype=bool)
    is_test[split.test] = True
    return CateColumns(
        cate=customer["cate"], lower=customer["cate_lower"], upper=customer["cate_upper"],
        model=chosen, honest=customer.get(f"cate_{chosen}") if chosen else None,
        honest_lower=customer.get(f"cate_{chosen}_lower") if chosen else None, is_test=is_test)


def _forest_samples(primary: OutcomeCate, n: int) -> dict[str, int]:
    """Customers each causal-forest tree draws, for the training-split fits and the
    all-customer refit (capped at :data:`FOREST_MAX_TREE_SAMPLES`)."""
    return {"training_split": forest_tree_samples(len(primary.split.train)),
            "all_customers": forest_tree_samples(n)}


def run_cate(core: CoreResult, options: CateOptions | None = None,
             progress: Callable[[str], None] | None = None) -> CateResult:
    """The CATE stage on the core stage's result (see the module docstring)."""
    options = options or CateOptions()
    tick = progress or options.progress or (lambda message: None)
    per_outcome = fit_outcomes(core, options, tick)
    records, selections, curves, warnings = _model_records(per_outcome)
    primary = per_outcome[0]
    customer, blob, model_record = _refit_selected(primary, options, core, tick)
    refutation = _refutations(per_outcome, customer["cate"], options, core, tick)
    warnings += _refutation_failures(refutation)
    level = level_check(core, primary, customer["cate"])
    if level["checked"] and not level["within"]:
        warnings.append(
            f"CATE {primary.data.name}: the deployed CATE's overlap-weighted mean "
            f"{level['overlap_weighted_mean_cate']:.4g} lies outside the ATO estimate's 95% "
            f"interval [{level['ato_ci_low']:.4g}, {level['ato_ci_high']:.4g}]: its level is "
            "off; read the per-customer effects as a ranking, and the ATO for the size")
    regions = _regions_table(per_outcome, customer["cate"], core.nuisances.e_hat)
    customer.update(_model_columns(primary, core.cohort.n))
    sections = {
        "cate_settings": {**options.to_dict(),
                          "selection_folds_used": primary.split.n_selection_folds,
                          "n_selection": len(primary.split.selection_rows),
                          "forest_tree_samples": _forest_samples(primary, core.cohort.n)},
        "cate_models": records,
        "cate_selection": selections,
        "cate_by_region": regions.to_dict(orient="records"),
        "refutation": refutation,
        "cate_model": model_record,
        "cate_level": level,
        "cate_stack": [{"outcome": oc.data.name, **oc.stack.to_dict()} for oc in per_outcome
                       if oc.stack is not None],
    }
    return CateResult(
        options=options, outcomes=tuple(per_outcome),
        columns=_handover(customer, primary.selection.selected, primary.split),
        model_record=model_record, model_file=blob, sections=sections,
        tables=_tables(records, selections, regions, refutation, curves),
        customer_columns=customer, warnings=tuple(warnings))
