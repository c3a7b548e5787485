"""The ``analyze`` pipeline: from a cohort to a results folder, one step after another.

:func:`analyze` validates the cohort for estimation, cross-fits the nuisance models once (the
propensity score, and mu0, mu1, E[Y|x] per outcome, on seeded stratified folds), then runs the
core steps (positivity, balance, average effects by six methods, trimming sensitivity, Manski
bounds and E-values, the assumptions verdict) and any registered extra steps. Everything lands
in one :class:`AnalysisResult`, which :func:`write_results` writes as plain files.

Extension point. Later steps (CATE learners, DR scores, policy values, segments) are
:class:`Step` objects added with :func:`register_step` (or passed as ``steps=``). A step receives
the :class:`AnalysisResult` with ``nuisances`` already fitted, so it reuses the same folds and
cross-fitted predictions instead of refitting, and adds what it produces to ``sections`` (summary
JSON), ``tables`` (parquet files in ``tables/``), ``customer_columns`` (columns of
``customers.parquet``), ``figures`` (PNG makers) and ``warnings``. A step whose ``requires``
returns a reason (for example "the cohort has no segment column") is skipped with that reason as a
warning, never a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rollout.data.contract import Cohort
from rollout.errors import InputError
from rollout.estimation.assumptions import AssumptionsResult, assess_assumptions
from rollout.estimation.ate import (
    EffectEstimate,
    aipw,
    ato_overlap,
    dml_partialling_out,
    effects_frame,
    ipw_hajek,
    methods_disagree,
    naive_difference,
    ols_adjusted,
)
from rollout.estimation.balance import BalanceResult, covariate_balance
from rollout.estimation.crossfit import (
    BOOSTING_PARAMS,
    OUTCOME_LEARNER,
    Nuisances,
    cross_fit_outcomes,
    make_folds,
)
from rollout.estimation.propensity import (
    PositivityResult,
    cross_fit_logistic_reference,
    cross_fit_propensity,
    positivity_diagnostics,
    ps_region,
    window_label,
)
from rollout.estimation.sensitivity import (
    EValue,
    ManskiBounds,
    evalue_continuous,
    manski_bounds,
)
from rollout.estimation.trimming import TrimmingResult, trimming_sensitivity
from rollout.io import atomic_directory, write_json, write_parquet

RESULTS_SCHEMA = "rollout.results/1"
#: Outcome bounds for Manski bounds when none are declared: these quantiles of the outcome.
DEFAULT_BOUND_QUANTILES = (0.01, 0.99)
#: The propensity window whose trimmed AIPW estimate is recommended when positivity fails.
RECOMMENDED_WINDOW = 0.1
RECOMMENDATION_RULE = (
    "if positivity is plausible: AIPW on all customers (ATE); otherwise AIPW among customers with "
    "propensity in [0.1, 0.9] (the ATE of that trimmed population), falling back to the "
    "overlap-weighted ATO when that window leaves too few customers per arm"
)

ProgressCallback = Callable[[str], None]


@dataclass(frozen=True)
class AnalyzeOptions:
    """Settings of one analysis; recorded in the summary so a run can be repeated exactly."""

    seed: int = 0
    folds: int = 5
    clip: float = 0.01
    outcome_bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    bound_quantiles: tuple[float, float] = DEFAULT_BOUND_QUANTILES
    n_jobs: int = 1

    @property
    def min_per_arm(self) -> int:
        """Each arm needs two customers per fold so every training fold sees both arms twice."""
        return 2 * self.folds

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "folds": self.folds,
            "clip": [self.clip, 1 - self.clip],
            "outcome_bounds": {k: list(v) for k, v in sorted(self.outcome_bounds.items())},
            "bound_quantiles": list(self.bound_quantiles),
            "min_per_arm": self.min_per_arm,
            "learner": {"library": "xgboost", **BOOSTING_PARAMS,
                        "outcome_models": OUTCOME_LEARNER},
        }


@dataclass
class AnalysisResult:
    """Everything ``analyze`` produced, in memory; :func:`write_results` writes it to a folder.

    ``nuisances`` holds the cross-fitted predictions that later steps reuse. ``sections``,
    ``tables``, ``customer_columns`` and ``figures`` are where extra steps put their output.
    """

    cohort: Cohort
    options: AnalyzeOptions
    nuisances: Nuisances
    positivity: PositivityResult
    balance: BalanceResult
    effects: list[EffectEstimate]
    trimming: TrimmingResult
    bounds: list[ManskiBounds]
    evalues: list[EValue]
    recommended: list[dict[str, Any]]
    disagreements: dict[str, list[tuple[str, str]]]
    assumptions: AssumptionsResult
    warnings: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    sections: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    customer_columns: dict[str, np.ndarray] = field(default_factory=dict)
    figures: dict[str, Callable[[AnalysisResult], Any]] = field(default_factory=dict)
    #: Extra files written beside summary.json by name (e.g. a fitted model); a step that adds
    #: one records its checksum in ``sections`` so a reader can verify it before using it.
    artifacts: dict[str, bytes] = field(default_factory=dict)

    @property
    def outcomes(self) -> tuple[str, ...]:
        return self.cohort.roles.outcomes

    @property
    def verdict(self) -> str:
        return self.assumptions.verdict

    def effects_table(self) -> pd.DataFrame:
        """The ``ate`` table: one row per outcome and method."""
        return effects_frame(self.effects)

    def customers(self) -> pd.DataFrame:
        """One row per customer: id, treatment, fold, scores, region, outcomes, extra columns."""
        roles = self.cohort.roles
        frame = pd.DataFrame({
            "customer_id": self.cohort.frame[roles.id].to_numpy(),
            "treatment": self.cohort.treatment.astype(np.int64),
            "fold": self.nuisances.folds,
            "ps": self.nuisances.e_hat,
            "ps_logit_reference": self.nuisances.e_reference,
            "ps_region": ps_region(self.nuisances.e_hat).astype(str),
        })
        for name in roles.outcomes:
            frame[name] = self.cohort.outcome(name)
        for name, values in self.customer_columns.items():
            frame[name] = values
        return frame

    def core_tables(self) -> dict[str, pd.DataFrame]:
        """Every table of the core steps, as written to ``tables/``."""
        overlap = pd.DataFrame({
            "window": list(self.positivity.overlap_share),
            "share": list(self.positivity.overlap_share.values()),
            "n": list(self.positivity.overlap_n.values()),
        })
        return {
            "ate": self.effects_table(),
            "trimming": self.trimming.to_pandas(),
            "smd": self.balance.to_pandas(),
            "ps_quantiles": self.positivity.quantiles,
            "overlap": overlap,
            "manski_bounds": pd.DataFrame([b.to_dict() for b in self.bounds]),
            "evalue": pd.DataFrame([e.to_dict() for e in self.evalues]),
            "assumptions": self.assumptions.to_pandas(),
        }

    def summary(self) -> dict[str, Any]:
        """The ``summary.json`` document (schema in docs/results-schema.md)."""
        roles = self.cohort.roles
        positivity = self.positivity.to_dict()
        positivity.update(self.balance.to_dict())
        trimming = self.trimming.table.to_dict(orient="records")
        doc: dict[str, Any] = {
            "schema": RESULTS_SCHEMA,
            "cohort": {
                "path": self.cohort.source,
                "n": self.cohort.n,
                "n_treated": self.cohort.n_treated,
                "n_control": self.cohort.n_control,
                "id": roles.id,
                "treatment": roles.treatment,
                "outcomes": list(roles.outcomes),
                "covariates": list(roles.covariates),
                "segment": roles.segment,
                "index_week": roles.index_week,
            },
            "options": self.options.to_dict(),
            "positivity": positivity,
            "ate": [e.to_dict() for e in self.effects],
            "method_agreement": {
                outcome: {"disagreeing_pairs": [list(p) for p in pairs],
                          "agree": not pairs}
                for outcome, pairs in self.disagreements.items()
            },
            "trimming": trimming,
            "manski_bounds": [b.to_dict() for b in self.bounds],
            "evalue": [e.to_dict() for e in self.evalues],
            "recommended": self.recommended,
            "recommendation_rule": RECOMMENDATION_RULE,
            "assumptions": self.assumptions.table.to_dict(orient="records"),
            "verdict": self.assumptions.to_dict(),
            "warnings": list(self.warnings),
            "skipped": list(self.skipped),
        }
        for key, value in self.sections.items():
            doc[key] = value
        return doc


@dataclass(frozen=True)
class Step:
    """A pluggable analysis step run after the core (see the module docstring)."""

    name: str
    run: Callable[[AnalysisResult], None]
    requires: Callable[[Cohort], str | None] = lambda cohort: None


EXTRA_STEPS: list[Step] = []


def register_step(step: Step) -> Step:
    """Add a step that every later :func:`analyze` call runs after the core steps."""
    if any(s.name == step.name for s in EXTRA_STEPS):
        EXTRA_STEPS[:] = [s for s in EXTRA_STEPS if s.name != step.name]
    EXTRA_STEPS.append(step)
    return step


def validate_for_estimation(cohort: Cohort, options: AnalyzeOptions) -> None:
    """Refuse a cohort the estimators cannot handle, naming the column at fault.

    Beyond the cohort contract: enough customers per arm for the folds, at least one covariate,
    no constant covariate or outcome, no covariate that perfectly separates the arms, declared
    outcome bounds that contain every outcome value.
    """
    src = cohort.source
    roles = cohort.roles
    if options.folds < 2:
        raise InputError(f"--folds must be at least 2, got {options.folds}")
    if not 0 < options.clip < 0.5:
        raise InputError(f"--clip must lie strictly between 0 and 0.5, got {options.clip}")
    need = options.min_per_arm
    for label, count in (("treated", cohort.n_treated), ("control", cohort.n_control)):
        if count < need:
            raise InputError(
                f"too few {label} customers: {count}, need at least {need} per arm "
                f"(2 x {options.folds} folds) to cross-fit the models",
                file=src, column=roles.treatment)
    if not roles.covariates:
        raise InputError("no covariates: name numeric pre-treatment columns with --covariates",
                         file=src)
    t = cohort.treatment
    for name in roles.covariates:
        x = cohort.frame[name].to_numpy(dtype=float)
        if np.all(x == x[0]):
            raise InputError(f"covariate is constant (every value is {x[0]:g}); drop it with "
                             "--covariates", file=src, column=name)
        x1, x0 = x[t == 1], x[t == 0]
        if x1.min() > x0.max() or x0.min() > x1.max():
            side = "above" if x1.min() > x0.max() else "below"
            cut = x0.max() if side == "above" else x0.min()
            raise InputError(
                f"covariate perfectly separates the arms: every treated customer lies {side} "
                f"{cut:g}, the value of the most extreme control. Treatment is determined by it, "
                "so there is no comparable control for any treated customer. Drop it with "
                "--covariates if it is a consequence of targeting, or restrict the cohort to the "
                "range where both arms occur, or run a randomized test",
                file=src, column=name)
    for name in roles.outcomes:
        y = cohort.outcome(name)
        if np.all(y == y[0]):
            raise InputError(f"outcome is constant (every value is {y[0]:g})", file=src,
                             column=name)
        if name in options.outcome_bounds:
            low, high = options.outcome_bounds[name]
            if not low < high:
                raise InputError(f"outcome bounds must satisfy LOW < HIGH, got {low:g},{high:g}",
                                 column=name)
            outside = (y < low) | (y > high)
            if outside.any():
                row = int(np.flatnonzero(outside)[0])
                raise InputError(
                    f"value {y[row]:g} lies outside the declared outcome bounds "
                    f"[{low:g}, {high:g}]; widen --outcome-bounds", file=src, column=name, row=row)
    unknown = set(options.outcome_bounds) - set(roles.outcomes)
    if unknown:
        raise InputError(f"--outcome-bounds names an outcome that is not analyzed: "
                         f"{sorted(unknown)[0]!r}")


def fit_nuisances(cohort: Cohort, options: AnalyzeOptions,
                  progress: ProgressCallback | None = None) -> Nuisances:
    """Cross-fit the propensity scores and every outcome's regressions on shared seeded folds."""
    tick = progress or (lambda message: None)
    X, t = cohort.X, cohort.treatment
    folds = make_folds(t, options.folds, options.seed)
    tick("propensity score (boosted, cross-fitted)")
    e_hat = cross_fit_propensity(X, t, folds, options.seed, options.n_jobs)
    tick("propensity score (logistic reference)")
    e_reference = cross_fit_logistic_reference(X, t, folds)
    outcomes = {}
    for name in cohort.roles.outcomes:
        tick(f"outcome models: {name}")
        outcomes[name] = cross_fit_outcomes(X, t, cohort.outcome(name), folds, options.seed,
                                            options.n_jobs)
    return Nuisances(folds=folds, e_hat=e_hat, e_reference=e_reference, outcomes=outcomes,
                     seed=options.seed)


def _effects_for_outcome(cohort: Cohort, nuisances: Nuisances, outcome: str,
                         clip: float) -> list[EffectEstimate]:
    y, t, e = cohort.outcome(outcome), cohort.treatment, nuisances.e_hat
    fitted = nuisances.outcomes[outcome]
    return [
        naive_difference(y, t, outcome=outcome),
        ipw_hajek(y, t, e, clip=clip, outcome=outcome),
        aipw(y, t, e, fitted.mu0, fitted.mu1, clip=clip, outcome=outcome),
        ols_adjusted(y, t, cohort.X, outcome=outcome),
        dml_partialling_out(y, t, e, fitted.m, outcome=outcome),
        ato_overlap(y, t, e, fitted.mu0, fitted.mu1, outcome=outcome),
    ]


def _outcome_bounds(cohort: Cohort, options: AnalyzeOptions,
                    outcome: str) -> tuple[float, float, str]:
    if outcome in options.outcome_bounds:
        low, high = options.outcome_bounds[outcome]
        return float(low), float(high), "declared (--outcome-bounds)"
    q_low, q_high = options.bound_quantiles
    low, high = np.quantile(cohort.outcome(outcome), [q_low, q_high])
    return (float(low), float(high),
            f"data quantiles {q_low:g} and {q_high:g} (values outside are clipped into them)")


def _recommend(positivity: PositivityResult, effects: list[EffectEstimate],
               trimming: TrimmingResult, outcome: str, min_per_arm: int) -> dict[str, Any]:
    by_method = {e.method: e for e in effects if e.outcome == outcome}
    if positivity.status == "plausible":
        chosen = by_method["aipw"]
        return {"outcome": outcome, "method": "aipw", "trim": "none",
                "estimand": chosen.estimand, "estimate": chosen.estimate, "se": chosen.se,
                "ci_low": chosen.ci_low, "ci_high": chosen.ci_high, "n": chosen.n}
    row = trimming.row(outcome, window_label(RECOMMENDED_WINDOW))
    if min(int(row["n_treated"]), int(row["n_control"])) >= min_per_arm:
        return {"outcome": outcome, "method": "aipw", "trim": row["trim"],
                "estimand": row["estimand"], "estimate": row["estimate"], "se": row["se"],
                "ci_low": row["ci_low"], "ci_high": row["ci_high"], "n": row["n"]}
    chosen = by_method["ato"]
    return {"outcome": outcome, "method": "ato", "trim": "none", "estimand": chosen.estimand,
            "estimate": chosen.estimate, "se": chosen.se, "ci_low": chosen.ci_low,
            "ci_high": chosen.ci_high, "n": chosen.n}


def analyze(
    cohort: Cohort,
    *,
    seed: int = 0,
    folds: int = 5,
    clip: float = 0.01,
    outcome_bounds: Mapping[str, tuple[float, float]] | None = None,
    n_jobs: int = 1,
    steps: Sequence[Step] | None = None,
    progress: ProgressCallback | None = None,
) -> AnalysisResult:
    """Run the estimation core on a cohort and return every result in memory.

    ``outcome_bounds`` declares [LOW, HIGH] per outcome for the Manski bounds (otherwise the 1st
    and 99th percentiles of the outcome are used and said so). ``steps`` defaults to the
    registered extra steps. Raises :class:`InputError` when the cohort cannot be analyzed.

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0); x = rng.normal(size=200)
    >>> t = rng.binomial(1, 1 / (1 + np.exp(-x))); y = x + t + rng.normal(size=200)
    >>> frame = pd.DataFrame({"customer_id": range(200), "treatment": t, "y": y, "x0": x})
    >>> result = analyze(Cohort.from_frame(frame, outcomes=["y"]), seed=1, steps=[])
    >>> sorted({e.method for e in result.effects})
    ['aipw', 'ato', 'dml', 'ipw', 'naive', 'ols']
    """
    options = AnalyzeOptions(seed=seed, folds=folds, clip=clip,
                             outcome_bounds=dict(outcome_bounds or {}), n_jobs=n_jobs)
    validate_for_estimation(cohort, options)
    tick = progress or (lambda message: None)
    nuisances = fit_nuisances(cohort, options, tick)
    t = cohort.treatment
    tick("positivity and balance")
    positivity = positivity_diagnostics(t, nuisances.e_hat, nuisances.e_reference)
    e_clipped = np.clip(nuisances.e_hat, clip, 1 - clip)
    balance = covariate_balance(cohort.X, t, e_clipped, cohort.roles.covariates)

    warnings: list[str] = []
    effects: list[EffectEstimate] = []
    trimming_tables, bounds, evalues, recommended = [], [], [], []
    disagreements: dict[str, list[tuple[str, str]]] = {}
    for outcome in cohort.roles.outcomes:
        tick(f"effects: {outcome}")
        estimates = _effects_for_outcome(cohort, nuisances, outcome, clip)
        effects.extend(estimates)
        pairs = methods_disagree(estimates)
        disagreements[outcome] = pairs
        if pairs:
            warnings.append(
                f"{outcome}: the adjusted methods disagree beyond their 95% intervals "
                f"({', '.join(f'{a} vs {b}' for a, b in pairs)}). They target different "
                "estimands and extrapolate differently where overlap is poor: rely on the "
                "overlap-population estimates (ato, dml, aipw trimmed to [0.1, 0.9]) and confirm "
                "with a randomized test (rollout design) before acting on any one number.")
        fitted = nuisances.outcomes[outcome]
        trimmed = trimming_sensitivity(cohort.outcome(outcome), t, nuisances.e_hat, fitted.mu0,
                                       fitted.mu1, outcome=outcome, clip=clip,
                                       min_per_arm=options.min_per_arm)
        trimming_tables.append(trimmed.table)
        low, high, source = _outcome_bounds(cohort, options, outcome)
        bound = manski_bounds(cohort.outcome(outcome), t, low, high, outcome=outcome,
                              bounds_source=source)
        bounds.append(bound)
        rec = _recommend(positivity, estimates, trimmed, outcome, options.min_per_arm)
        recommended.append(rec)
        y_sd = float(np.std(cohort.outcome(outcome), ddof=1))
        evalues.append(evalue_continuous(rec["estimate"], rec["ci_low"], rec["ci_high"], y_sd,
                                         outcome=outcome, method=f"{rec['method']} "
                                         f"(trim {rec['trim']})", estimand=rec["estimand"]))
    trimming = TrimmingResult(table=pd.concat(trimming_tables, ignore_index=True))

    n_clipped = int(np.sum(e_clipped != nuisances.e_hat))
    if n_clipped:
        warnings.append(f"{n_clipped} propensity scores were clipped into [{clip:g}, "
                        f"{1 - clip:g}] for ipw, aipw and the weighted balance; the ipw and aipw "
                        "rows lean on those customers' extrapolated outcomes")
    if positivity.violated:
        warnings.append(
            f"positivity is violated: PS AUC {positivity.auc.auc:.3f}, "
            f"{positivity.overlap_share[window_label(0.1)]:.1%} of customers in [0.1, 0.9]. "
            "Treatment is largely predictable from the covariates, so full-population effects "
            "are extrapolations; read the trimmed and overlap-weighted rows, and treat the "
            "results as hypotheses for a randomized test.")
    assumptions = assess_assumptions(
        positivity.status, positivity.auc.auc, positivity.overlap_share[window_label(0.1)],
        balance.n_covariates - balance.n_balanced_after, balance.n_covariates, disagreements,
        {e.outcome: e.evalue_ci for e in evalues})

    result = AnalysisResult(
        cohort=cohort, options=options, nuisances=nuisances, positivity=positivity,
        balance=balance, effects=effects, trimming=trimming, bounds=bounds, evalues=evalues,
        recommended=recommended, disagreements=disagreements, assumptions=assumptions,
        warnings=warnings)
    for step in EXTRA_STEPS if steps is None else steps:
        reason = step.requires(cohort)
        if reason:
            result.skipped.append({"step": step.name, "reason": reason})
            result.warnings.append(f"skipped {step.name}: {reason}")
            continue
        tick(step.name)
        step.run(result)
    return result


def write_results(result: AnalysisResult, folder: str | Path, figures: bool = True) -> Path:
    """Write the results folder atomically: summary.json, customers.parquet, tables/, figures/.

    The folder is assembled under a temporary name and renamed into place only when complete;
    the same result gives the same bytes.
    """
    folder = Path(folder)
    with atomic_directory(folder) as tmp:
        tables = {**result.core_tables(), **result.tables}
        (tmp / "tables").mkdir()
        for name, table in sorted(tables.items()):
            write_parquet(tmp / "tables" / f"{name}.parquet", table)
        write_parquet(tmp / "customers.parquet", result.customers())
        figure_names: list[str] = []
        if figures:
            from rollout.estimation.figures import write_figures

            figure_names = write_figures(result, tmp / "figures")
        for name, data in sorted(result.artifacts.items()):
            (tmp / name).write_bytes(data)
        summary = result.summary()
        summary["files"] = {
            "summary": "summary.json",
            "customers": "customers.parquet",
            "tables": {name: f"tables/{name}.parquet" for name in sorted(tables)},
            "figures": [f"figures/{name}" for name in figure_names],
            "artifacts": sorted(result.artifacts),
        }
        write_json(tmp / "summary.json", summary)
    return folder


# Extra steps shipped with the package, registered in the order they run.
from rollout.estimation.cate.step import cate_step  # noqa: E402  (needs Step, defined above)

register_step(cate_step())

from rollout.policy.step import policy_step  # noqa: E402  (runs after the CATE step: reads cate)

register_step(policy_step())
