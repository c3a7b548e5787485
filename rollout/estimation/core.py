"""The core stage of ``rollout analyze``: positivity, balance, average effects, their robustness.

:func:`run_core` validates the cohort for estimation, cross-fits the nuisance models once (the
propensity score, and mu0, mu1, E[Y|x] per outcome, on seeded stratified folds), then computes
positivity and balance, the average effect by six methods, the trimming sensitivity, Manski
bounds and E-values, and the assumptions verdict. It returns a frozen :class:`CoreResult`; the
later stages (:mod:`rollout.estimation.cate.stage`, :mod:`rollout.policy.stage`) receive it and
reuse its folds and cross-fitted predictions instead of refitting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rollout.common.display import DisplayMixin
from rollout.common.parallel import FIT_PROCESSES
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
    OutcomeNuisances,
    cross_fit_batch,
    fit_predict_classifier,
    make_folds,
    outcome_specs,
)
from rollout.estimation.propensity import (
    PositivityResult,
    cross_fit_logistic_reference,
    positivity_diagnostics,
    ps_region,
    window_label,
)
from rollout.estimation.sensitivity import (
    EValue,
    ManskiBounds,
    evalue_continuous,
    manski_bounds,
    within_arm_sd,
)
from rollout.estimation.trimming import TrimmingResult, trimming_sensitivity

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


def _quiet(message: str) -> None:
    """A progress callback that shows nothing."""


@dataclass(frozen=True)
class AnalyzeOptions:
    """Settings of one analysis; recorded in the summary so a run can be repeated exactly."""

    seed: int = 0
    folds: int = 5
    clip: float = 0.01
    outcome_bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    bound_quantiles: tuple[float, float] = DEFAULT_BOUND_QUANTILES
    n_jobs: int = 1
    #: Worker processes sharing the independent nuisance fits (the numbers do not depend on it).
    processes: int = FIT_PROCESSES

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


@dataclass(frozen=True)
class OutcomeEffects(DisplayMixin):
    """The core numbers of one outcome: effects by method, trimming, bounds, the recommendation."""

    outcome: str
    effects: tuple[EffectEstimate, ...]
    disagreeing: tuple[tuple[str, str], ...]
    trimming: pd.DataFrame
    bounds: ManskiBounds
    recommended: dict[str, Any]
    evalue: EValue


@dataclass(frozen=True, eq=False)
class CoreResult(DisplayMixin):
    """What the core stage computed; ``nuisances`` are the cross-fitted models later stages reuse.

    ``summary()`` is the recommended estimate of each outcome; ``to_pandas()`` every average
    effect by method; ``to_dict()`` the core keys of ``summary.json``.
    """

    cohort: Cohort
    options: AnalyzeOptions
    nuisances: Nuisances
    positivity: PositivityResult
    balance: BalanceResult
    effects: tuple[EffectEstimate, ...]
    trimming: TrimmingResult
    bounds: tuple[ManskiBounds, ...]
    evalues: tuple[EValue, ...]
    recommended: tuple[dict[str, Any], ...]
    disagreements: Mapping[str, list[tuple[str, str]]]
    assumptions: AssumptionsResult
    warnings: tuple[str, ...] = ()

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
        """One row per customer: id, treatment, fold, scores, region, outcomes."""
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
        return frame

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table of the core stage, as written to ``tables/``."""
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

    def cohort_record(self) -> dict[str, Any]:
        """The ``cohort`` key of ``summary.json``."""
        roles = self.cohort.roles
        return {
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
        }

    def to_dict(self) -> dict[str, Any]:
        """The core keys of ``summary.json`` (schema in docs/results-schema.md)."""
        positivity = self.positivity.to_dict()
        positivity.update(self.balance.to_dict())
        return {
            "cohort": self.cohort_record(),
            "options": self.options.to_dict(),
            "positivity": positivity,
            "ate": [e.to_dict() for e in self.effects],
            "method_agreement": {
                outcome: {"disagreeing_pairs": [list(p) for p in pairs],
                          "agree": not pairs}
                for outcome, pairs in self.disagreements.items()
            },
            "trimming": self.trimming.table.to_dict(orient="records"),
            "manski_bounds": [b.to_dict() for b in self.bounds],
            "evalue": [e.to_dict() for e in self.evalues],
            "recommended": list(self.recommended),
            "recommendation_rule": RECOMMENDATION_RULE,
            "assumptions": self.assumptions.table.to_dict(orient="records"),
            "verdict": self.assumptions.to_dict(),
        }

    def to_pandas(self) -> pd.DataFrame:
        return self.effects_table()

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.recommended))


def validate_for_estimation(cohort: Cohort, options: AnalyzeOptions) -> None:
    """Refuse a cohort the estimators cannot handle, naming the column at fault.

    Beyond the cohort contract: enough customers per arm for the folds, at least one covariate,
    no constant covariate or outcome, no covariate that perfectly separates the arms, declared
    outcome bounds that contain every outcome value.
    """
    src = cohort.source
    roles = cohort.roles
    if options.folds < 2:
        raise InputError(f"must be at least 2, got {options.folds}", argument="folds")
    if not 0 < options.clip < 0.5:
        raise InputError(f"must lie strictly between 0 and 0.5, got {options.clip}",
                         argument="clip")
    need = options.min_per_arm
    for label, count in (("treated", cohort.n_treated), ("control", cohort.n_control)):
        if count < need:
            raise InputError(
                f"too few {label} customers: {count}, need at least {need} per arm "
                f"(2 x {options.folds} folds) to cross-fit the models",
                file=src, column=roles.treatment)
    if not roles.covariates:
        raise InputError("no covariates: name numeric pre-treatment columns as covariates",
                         file=src, argument="covariates")
    t = cohort.treatment
    for name in roles.covariates:
        x = cohort.frame[name].to_numpy(dtype=float)
        if np.all(x == x[0]):
            raise InputError(f"covariate is constant (every value is {x[0]:g}); drop it from the "
                             "covariates", file=src, column=name)
        x1, x0 = x[t == 1], x[t == 0]
        if x1.min() > x0.max() or x0.min() > x1.max():
            side = "above" if x1.min() > x0.max() else "below"
            cut = x0.max() if side == "above" else x0.min()
            raise InputError(
                f"covariate perfectly separates the arms: every treated customer lies {side} "
                f"{cut:g}, the value of the most extreme control. Treatment is determined by it, "
                "so there is no comparable control for any treated customer. Drop it from the "
                "covariates if it is a consequence of targeting, or restrict the cohort to the "
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
                                 column=name, argument="outcome_bounds")
            outside = (y < low) | (y > high)
            if outside.any():
                row = int(np.flatnonzero(outside)[0])
                raise InputError(
                    f"value {y[row]:g} lies outside the declared outcome bounds "
                    f"[{low:g}, {high:g}]; widen the declared outcome bounds", file=src,
                    column=name, row=row, argument="outcome_bounds")
    unknown = set(options.outcome_bounds) - set(roles.outcomes)
    if unknown:
        raise InputError(f"names an outcome that is not analyzed: {sorted(unknown)[0]!r}",
                         argument="outcome_bounds")



def fit_nuisances(cohort: Cohort, options: AnalyzeOptions,
                  progress: ProgressCallback | None = None) -> Nuisances:
    """Cross-fit the propensity scores and every outcome's regressions on shared seeded folds."""
    tick = progress or _quiet
    X, t = cohort.X, cohort.treatment
    folds = make_folds(t, options.folds, options.seed)
    tick("propensity score (boosted, cross-fitted) and outcome models")
    specs = [(fit_predict_classifier(options.seed, options.n_jobs), X, np.asarray(t), None)]
    for name in cohort.roles.outcomes:
        specs += outcome_specs(X, t, cohort.outcome(name), options.seed, options.n_jobs)
    e_hat, *fitted = cross_fit_batch(specs, folds, options.processes)
    outcomes = {name: OutcomeNuisances(*fitted[3 * i:3 * i + 3])
                for i, name in enumerate(cohort.roles.outcomes)}
    tick("propensity score (logistic reference)")
    e_reference = cross_fit_logistic_reference(X, t, folds)
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


def recommend(positivity: PositivityResult, effects: list[EffectEstimate],
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




def _disagreement_warning(outcome: str, pairs: list[tuple[str, str]]) -> str:
    return (f"{outcome}: the adjusted methods disagree beyond their 95% intervals "
            f"({', '.join(f'{a} vs {b}' for a, b in pairs)}). They target different "
            "estimands and extrapolate differently where overlap is poor: rely on the "
            "overlap-population estimates (ato, dml, aipw trimmed to [0.1, 0.9]) and confirm "
            "with a randomized test (rollout design) before acting on any one number.")


def _evalue_sd(cohort: Cohort, e_hat: np.ndarray, outcome: str, rec: dict[str, Any]) -> float:
    """The within-arm SD of the outcome over the recommended estimate's population."""
    keep = None
    if rec["trim"] != "none":
        a = float(str(rec["trim"]).split("-")[0])
        keep = (e_hat >= a) & (e_hat <= 1 - a)
    return within_arm_sd(cohort.outcome(outcome), cohort.treatment, keep)


def outcome_effects(cohort: Cohort, nuisances: Nuisances, options: AnalyzeOptions,
                    positivity: PositivityResult, outcome: str) -> OutcomeEffects:
    """Effects by method, trimming, Manski bounds, the recommended estimate and its E-value."""
    t = cohort.treatment
    estimates = _effects_for_outcome(cohort, nuisances, outcome, options.clip)
    pairs = methods_disagree(estimates)
    fitted = nuisances.outcomes[outcome]
    trimmed = trimming_sensitivity(cohort.outcome(outcome), t, nuisances.e_hat, fitted.mu0,
                                   fitted.mu1, outcome=outcome, clip=options.clip,
                                   min_per_arm=options.min_per_arm)
    low, high, source = _outcome_bounds(cohort, options, outcome)
    bound = manski_bounds(cohort.outcome(outcome), t, low, high, outcome=outcome,
                          bounds_source=source)
    rec = recommend(positivity, estimates, trimmed, outcome, options.min_per_arm)
    y_sd = _evalue_sd(cohort, nuisances.e_hat, outcome, rec)
    evalue = evalue_continuous(rec["estimate"], rec["ci_low"], rec["ci_high"], y_sd,
                               outcome=outcome, method=f"{rec['method']} "
                               f"(trim {rec['trim']})", estimand=rec["estimand"])
    return OutcomeEffects(outcome=outcome, effects=tuple(estimates), disagreeing=tuple(pairs),
                          trimming=trimmed.table, bounds=bound, recommended=rec, evalue=evalue)


def _overlap_warnings(positivity: PositivityResult, e_hat: np.ndarray, e_clipped: np.ndarray,
                      clip: float) -> list[str]:
    warnings = []
    n_clipped = int(np.sum(e_clipped != e_hat))
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
    return warnings


def run_core(cohort: Cohort, options: AnalyzeOptions | None = None,
             progress: ProgressCallback | None = None) -> CoreResult:
    """The core stage: validate, cross-fit the nuisances, then every core estimate.

    Raises :class:`InputError` when the cohort cannot be analyzed.
    """
    options = options or AnalyzeOptions()
    validate_for_estimation(cohort, options)
    tick = progress or _quiet
    nuisances = fit_nuisances(cohort, options, tick)
    t, clip = cohort.treatment, options.clip
    tick("positivity and balance")
    positivity = positivity_diagnostics(t, nuisances.e_hat, nuisances.e_reference)
    e_clipped = np.clip(nuisances.e_hat, clip, 1 - clip)
    balance = covariate_balance(cohort.X, t, e_clipped, cohort.roles.covariates)

    warnings: list[str] = []
    per_outcome = []
    for outcome in cohort.roles.outcomes:
        tick(f"effects: {outcome}")
        one = outcome_effects(cohort, nuisances, options, positivity, outcome)
        if one.disagreeing:
            warnings.append(_disagreement_warning(outcome, list(one.disagreeing)))
        per_outcome.append(one)
    warnings += _overlap_warnings(positivity, nuisances.e_hat, e_clipped, clip)
    disagreements = {o.outcome: list(o.disagreeing) for o in per_outcome}
    evalues = tuple(o.evalue for o in per_outcome)
    assumptions = assess_assumptions(
        positivity.status, positivity.auc.auc, positivity.overlap_share[window_label(0.1)],
        balance.n_covariates - balance.n_balanced_after, balance.n_covariates, disagreements,
        {e.outcome: e.evalue_ci for e in evalues})
    return CoreResult(
        cohort=cohort, options=options, nuisances=nuisances, positivity=positivity,
        balance=balance, effects=tuple(e for o in per_outcome for e in o.effects),
        trimming=TrimmingResult(table=pd.concat([o.trimming for o in per_outcome],
                                                ignore_index=True)),
        bounds=tuple(o.bounds for o in per_outcome), evalues=evalues,
        recommended=tuple(o.recommended for o in per_outcome), disagreements=disagreements,
        assumptions=assumptions, warnings=tuple(warnings))
