"""Assembling a :class:`~rollout.planning.design.Design` from plain numbers or a results folder.

This is the Python API behind ``rollout design``: it resolves every input (SD, MDE, R^2, cost
and margin; from options or from the analysis), sizes the chosen test, adds group-sequential
looks, strata and the staged rollout, and returns the validated design with everything it
decided recorded in ``details`` (where each number came from, warnings, per-segment sizes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from rollout import __version__
from rollout.errors import InputError
from rollout.planning.design import TESTS, Design, Look, Phase, StratumSize, parse_phases
from rollout.planning.estimands import (
    Estimand,
    ate_estimand,
    heterogeneity_estimand,
    policy_estimand,
    policy_expected_difference,
    predicted_contrast,
)
from rollout.planning.phases import DEFAULT_CAMPAIGN_WEEKS, DEFAULT_OUTCOME_WEEKS, build_phases
from rollout.planning.power import FixedSizing, arm_names, solve_fixed
from rollout.planning.results import AnalysisResults, load_results
from rollout.planning.sequential import (
    SequentialDesign,
    SpendingPlan,
    check_information_fractions,
    crossing_probabilities,
    sequential_design,
)
from rollout.planning.strata import (
    DEFAULT_STRATA,
    check_strata_columns,
    per_segment_tests,
    small_stratum_threshold,
    stratum_sizes,
)
from rollout.planning.variance_reduction import cross_validated_r2

MDE_FROM = ("breakeven", "overlap", "predicted")
CATE_VALIDATION = {
    "ate": "estimates the average effect in the enrolled population; it does not test the "
           "CATE model's ranking (use --test heterogeneity, which enrols customers across the "
           "whole range of predicted CATE)",
    "policy": "tests whether targeting by the CATE policy beats current practice in profit; a "
              "validation of the policy, not of the CATE values",
    "heterogeneity": "validates the CATE model: enrols customers across the whole range of "
                     "predicted CATE, not only the targeted ones, and is sized for the arm x "
                     "predicted-responder interaction",
}
DEFAULT_POWER = 0.8
MAX_POWER = 1 - 1e-9  # design.json keeps power inside (0, 1)


@dataclass
class DesignRequest:
    """Everything ``rollout design`` can be asked; ``None`` means "derive it or use a default"."""

    results: str | Path | None = None
    test: str = "ate"
    outcome: str | None = None
    outcome_type: str | None = None
    sd: float | None = None
    baseline: float | None = None
    mde: float | None = None
    mde_from: str | None = None
    n: float | None = None
    power: float | None = None
    alpha: float = 0.05
    sided: int = 2
    allocation: str | None = None
    arms: int = 1
    multiplicity: str = "dunnett"
    distribution: str = "t"
    r2: float | None = None
    variance_reduction: bool = True
    covariates: list[str] | None = None
    cost: float | None = None
    margin: float | None = None
    strata: list[str] | None = None
    per_segment: bool = False
    looks: int = 1
    information_fractions: list[float] | None = None
    spending: str = "obf"
    futility: str = "beta"
    population: str = "all"
    policy: str | None = None
    responder_share: float | None = None
    pilot: str | None = None
    expansion: str | None = None
    campaign_weeks: int = DEFAULT_CAMPAIGN_WEEKS
    outcome_weeks: int = DEFAULT_OUTCOME_WEEKS
    seed: int = 0
    cv_folds: int = 5
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Notes:
    """What the planning decided along the way: warnings (in order) and ``details`` entries."""

    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Inputs:
    """The resolved inputs: the results and population (if any), cost, margin and the outcome."""

    results: AnalysisResults | None
    population: pd.DataFrame | None
    cost: float | None
    margin: float | None
    outcome: str | None
    outcome_type: str
    sd: float
    baseline: float | None
    r2: float | None


@dataclass(frozen=True)
class _Target:
    """What the test estimates and the effect it is powered for."""

    estimand: Estimand
    policy_column: str | None
    expected_effect: float | None
    expected_source: str
    mde: float | None
    mde_source: str


@dataclass(frozen=True)
class _Sized:
    """The solved size: the fixed sizing, the sequential boundaries and the arm sizes."""

    sizing: FixedSizing
    sequential: SequentialDesign | None
    inflation: float
    mde: float
    mde_source: str
    power: float
    sizing_sd: float | None
    arms: tuple[str, ...]
    n_per_arm: dict[str, int]
    n_unadjusted: dict[str, int]


def _policy_column(results: AnalysisResults, name: str | None, default: str | None,
                   argument: str) -> str | None:
    if name is None:
        return default if default in results.customers.columns else None
    column = name if name.startswith("target_") else f"target_{name}"
    if column not in results.customers.columns:
        raise InputError(f"no policy column {column!r} (policies: "
                         f"{', '.join(results.policy_columns()) or 'none'})",
                         file=results.customers_path, column=column, argument=argument)
    return column


def _column_name(policy: str | None) -> str | None:
    if policy is None:
        return None
    return policy if policy.startswith("target_") else f"target_{policy}"


def _population(results: AnalysisResults, population: str) -> pd.DataFrame:
    frame = results.customers
    if population == "all":
        return frame
    if population == "overlap":
        chosen = frame[frame["ps_region"] == "overlap"]
    else:
        column = population if population.startswith("target_") else f"target_{population}"
        if column not in frame.columns:
            raise InputError("population must be 'all', 'overlap' or a policy name; no such "
                             "policy column", file=results.customers_path, column=column,
                             argument="population")
        chosen = frame[frame[column].astype(float) == 1]
    if len(chosen) < 4:
        raise InputError(f"the population {population!r} has {len(chosen)} customers; too few "
                         "to design from", file=results.customers_path, argument="population")
    return chosen


def _fractions(request: DesignRequest) -> np.ndarray:
    if request.information_fractions is not None:
        fractions = check_information_fractions(request.information_fractions)
        if request.looks not in (1, len(fractions)):
            raise InputError(f"looks is {request.looks} but {len(fractions)} information "
                             "fractions are given", argument="information_fractions")
        return fractions
    if request.looks < 1:
        raise InputError(f"looks must be at least 1, got {request.looks}", argument="looks")
    return np.arange(1, request.looks + 1) / request.looks


def _sizes(n_control_exact: float, ratio_by_arm: dict[str, float], factor: float = 1.0
           ) -> dict[str, int]:
    return {arm: max(2, math.ceil(n_control_exact * ratio * factor - 1e-9))
            for arm, ratio in ratio_by_arm.items()}


def _check_ranges(request: DesignRequest) -> None:
    """Options that are wrong on their own, before anything is read."""
    if request.test not in TESTS:
        raise InputError(f"test must be one of {', '.join(TESTS)}, got {request.test!r}",
                         argument="test")
    if request.sided not in (1, 2):
        raise InputError(f"sided must be 1 or 2, got {request.sided}", argument="sided")
    if not 0 < request.alpha < 0.5:
        raise InputError(f"alpha must be in (0, 0.5), got {request.alpha:g}", argument="alpha")
    if request.power is not None and not 0 < request.power < 1:
        raise InputError(f"power must be in (0, 1), got {request.power:g}", argument="power")
    if request.mde is not None and not request.mde > 0:
        raise InputError(f"the MDE must be positive, got {request.mde:g}", argument="mde")
    if request.sd is not None and not request.sd > 0:
        raise InputError(f"the outcome SD must be positive, got {request.sd:g}", argument="sd")


def _check_request(request: DesignRequest) -> None:
    """Options that are wrong on their own or together, before anything is read."""
    _check_ranges(request)
    if request.mde is not None and request.mde_from is not None:
        raise InputError("give either mde or mde_from, not both", argument="mde_from")
    if request.mde_from is not None and request.mde_from not in MDE_FROM:
        raise InputError(f"mde_from must be one of {', '.join(MDE_FROM)}", argument="mde_from")
    if (request.cost is None) != (request.margin is None):
        raise InputError("give cost and margin together",
                         argument="margin" if request.margin is None else "cost")
    if request.margin is not None and not 0 < request.margin <= 1:
        raise InputError(f"margin must be in (0, 1], got {request.margin:g}", argument="margin")
    if request.cost is not None and request.cost < 0:
        raise InputError(f"cost must be non-negative, got {request.cost:g}", argument="cost")
    if request.n is not None and request.mde is not None and request.power is not None:
        raise InputError("n, mde and power all given: leave one out to be solved for",
                         argument="n")


def _read_results(request: DesignRequest, notes: _Notes
                  ) -> tuple[AnalysisResults | None, pd.DataFrame | None]:
    if request.results is None:
        if request.population != "all":
            raise InputError("population needs a results folder", argument="population")
        return None, None
    results = load_results(request.results, request.outcome, request.covariates,
                           need_covariates=request.variance_reduction and request.r2 is None)
    population = _population(results, request.population)
    notes.details["population"] = {"name": request.population, "customers": len(population),
                                   "customers_in_results": len(results.customers)}
    return results, population


def _cost_and_margin(request: DesignRequest, results: AnalysisResults | None
                     ) -> tuple[float | None, float | None]:
    """The options win, else the analysis' breakeven record."""
    if (request.cost is None and results is not None
            and isinstance(results.summary.get("breakeven"), dict)):
        record = results.breakeven()
        return record["cost"], record["margin"]
    return request.cost, request.margin


def _outcome_sd(request: DesignRequest, results: AnalysisResults | None,
                population: pd.DataFrame | None, notes: _Notes
                ) -> tuple[str, float, float | None]:
    """The outcome's type, SD and baseline (control) rate, given or from the population."""
    outcome_type = request.outcome_type
    sd, baseline, sd_source = request.sd, request.baseline, "given"
    if population is not None:
        assert results is not None
        y = population[results.outcome].to_numpy(dtype=float)
        if outcome_type is None:
            outcome_type = "binary" if np.isin(y, (0.0, 1.0)).all() else "continuous"
        control = population["treatment"].to_numpy() == 0
        notes.details["baseline_mean"] = (float(y[control].mean()) if control.any()
                                          else float(y.mean()))
        if baseline is None and outcome_type == "binary":
            baseline = notes.details["baseline_mean"]
        if sd is None:
            sd = float(np.std(y, ddof=1))
            sd_source = (f"SD of {results.outcome} over the population "
                         f"{request.population!r} of the cohort")
    outcome_type = outcome_type or ("binary" if request.baseline is not None
                                    and request.sd is None else "continuous")
    if outcome_type == "binary":
        if baseline is None:
            raise InputError("a binary outcome needs the control rate (baseline)",
                             argument="baseline")
        if sd is None:
            sd = math.sqrt(baseline * (1 - baseline))
            sd_source = "sqrt(baseline (1 - baseline))"
    if sd is None:
        raise InputError("give the outcome SD (sd) or a results folder to take it from",
                         argument="sd")
    if not sd > 0:
        raise InputError("the outcome has no variation (SD 0)",
                         column=request.outcome if results is None else results.outcome)
    notes.details["sd_source"] = sd_source
    return outcome_type, sd, baseline


def _r2(request: DesignRequest, results: AnalysisResults | None,
        population: pd.DataFrame | None, outcome_type: str, notes: _Notes) -> float | None:
    """The R^2 of variance reduction: given, cross-validated on the population, or none."""
    r2 = request.r2
    r2_source = "given" if r2 is not None else None
    if r2 is not None and not 0 <= r2 < 1:
        raise InputError(f"R^2 must be in [0, 1), got {r2:g}", argument="r2")
    if (r2 is None and request.variance_reduction and population is not None
            and results is not None and results.covariates and outcome_type == "continuous"):
        estimate = cross_validated_r2(
            population[results.outcome].to_numpy(dtype=float),
            population[results.covariates].to_numpy(dtype=float),
            population["treatment"].to_numpy(dtype=float), results.covariates,
            folds=request.cv_folds, seed=request.seed)
        r2, r2_source = estimate.r2, estimate.method
        notes.details["r2_estimate"] = estimate.to_dict()
    if outcome_type == "binary" and r2 is not None:
        notes.warnings.append("R^2 is not applied to a binary outcome; sizes are unadjusted")
        r2, r2_source = None, None
    notes.details["r2_source"] = r2_source
    return r2


def _resolve_inputs(request: DesignRequest, notes: _Notes) -> _Inputs:
    results, population = _read_results(request, notes)
    cost, margin = _cost_and_margin(request, results)
    outcome_type, sd, baseline = _outcome_sd(request, results, population, notes)
    return _Inputs(results=results, population=population, cost=cost, margin=margin,
                   outcome=request.outcome if results is None else results.outcome,
                   outcome_type=outcome_type, sd=sd, baseline=baseline,
                   r2=_r2(request, results, population, outcome_type, notes))


@dataclass(frozen=True)
class _Expectation:
    """An estimand with the effects the analysis expects and predicts for it."""

    estimand: Estimand
    policy_column: str | None = None
    expected: float | None = None
    expected_source: str = "none"
    predicted: float | None = None
    predicted_source: str = ""


def _ate_expectation(request: DesignRequest, inputs: _Inputs, notes: _Notes) -> _Expectation:
    estimand = ate_estimand(inputs.sd, inputs.r2 or 0.0)
    results, population = inputs.results, inputs.population
    if results is None or population is None:
        return _Expectation(estimand)
    expected, source = None, "none"
    if request.population == "all":
        expected, source = results.observational_ate()
    if expected is None and "cate" in population.columns:
        expected = float(population["cate"].mean())
        source = f"mean CATE over the population {request.population!r}"
    if request.population not in ("all", "overlap"):
        notes.warnings.append("this test enrols only customers a policy targets: it "
                              "estimates their effect but cannot validate the CATE model; "
                              "use --test heterogeneity to enrol the whole range of "
                              "predicted CATE")
    return _Expectation(estimand, expected=expected, expected_source=source)


def _cate_policy(request: DesignRequest, results: AnalysisResults, what: str) -> str:
    """The CATE policy's column (``target_breakeven`` unless named) for the policy or
    heterogeneity test; ``what`` says what the policy is for in the message."""
    results.require_cate(f"the {request.test} test")
    column = _policy_column(results, request.policy, "target_breakeven", "policy")
    if column is None:
        raise InputError(f"no target_breakeven column; name the {what} policy",
                         file=results.customers_path, argument="policy")
    return column


def _policy_expectation(request: DesignRequest, inputs: _Inputs) -> _Expectation:
    results, population = inputs.results, inputs.population
    if results is None or population is None:
        raise InputError("the policy test needs a results folder (the CATE policy and current "
                         "practice)", argument="test")
    cost, margin = inputs.cost, inputs.margin
    if cost is None or margin is None:
        raise InputError("the policy test compares profit: give cost and margin or a results "
                         "folder with a breakeven record", argument="cost")
    column = _cate_policy(request, results, "CATE")
    a = population[column].to_numpy(dtype=float)
    b = population["treatment"].to_numpy(dtype=float)
    cate = population["cate"].to_numpy()
    estimand = policy_estimand(inputs.sd, margin, cost, a, b, cate, inputs.r2 or 0.0)
    predicted = policy_expected_difference(cate, a, b, margin, cost)
    source = (f"model-predicted profit difference per customer, {column} vs current practice "
              "(treatment)")
    return _Expectation(estimand, column, predicted, source, predicted, source)


def _heterogeneity_expectation(request: DesignRequest, inputs: _Inputs) -> _Expectation:
    results, population = inputs.results, inputs.population
    share = request.responder_share
    column = predicted = expected = None
    predicted_source, expected_source = "", "none"
    if results is not None and population is not None:
        column = _cate_policy(request, results, "responder")
        responder = population[column].to_numpy(dtype=float) == 1
        share = float(responder.mean())
        predicted = predicted_contrast(population["cate"].to_numpy(), responder)
        predicted_source = (f"model-predicted CATE contrast, {column} responders minus "
                            "non-responders")
        expected, expected_source = results.observational_ate()
    if share is None:
        raise InputError("the heterogeneity test needs the share of predicted responders: "
                         "responder_share or a results folder", argument="responder_share")
    return _Expectation(heterogeneity_estimand(inputs.sd, share, inputs.r2 or 0.0), column,
                        expected, expected_source, predicted, predicted_source)


def _expectation(request: DesignRequest, inputs: _Inputs, notes: _Notes) -> _Expectation:
    if request.test != "ate" and request.arms > 1:
        raise InputError("several treatment arms are supported for the ate test only",
                         argument="arms")
    if request.test == "ate":
        return _ate_expectation(request, inputs, notes)
    if request.test == "policy":
        return _policy_expectation(request, inputs)
    return _heterogeneity_expectation(request, inputs)


def _mde_choice(request: DesignRequest, inputs: _Inputs, expectation: _Expectation) -> str:
    if request.mde_from is not None:
        return request.mde_from
    if request.test in ("policy", "heterogeneity") and expectation.predicted is not None:
        return "predicted"
    if inputs.cost is not None and inputs.margin is not None:
        return "breakeven"
    if inputs.results is not None:
        return "overlap"
    raise InputError("give mde (or n to solve for the MDE), cost and margin for the breakeven "
                     "CATE, or a results folder", argument="mde")


def _derived_mde(request: DesignRequest, inputs: _Inputs, expectation: _Expectation
                 ) -> tuple[float, str]:
    """The MDE from the breakeven CATE, the overlap-region estimate or the model's prediction."""
    choice = _mde_choice(request, inputs, expectation)
    cost, margin = inputs.cost, inputs.margin
    if choice == "breakeven":
        if cost is None or margin is None:
            raise InputError("the breakeven MDE needs cost and margin or a results folder with "
                             "a breakeven record", argument="mde_from")
        if request.test == "policy":
            raise InputError("the policy test's MDE is a profit difference; give mde or take "
                             "it from the prediction", argument="mde_from")
        mde, source = cost / margin, f"breakeven CATE = cost / margin = {cost:g} / {margin:g}"
    elif choice == "overlap":
        if inputs.results is None:
            raise InputError("the MDE from the overlap region needs a results folder",
                             argument="mde_from")
        mde, where = inputs.results.overlap_effect()
        source = f"observational estimate in the overlap region ({where})"
    else:
        if expectation.predicted is None:
            raise InputError("the predicted MDE needs a results folder and the policy or "
                             "heterogeneity test", argument="mde_from")
        mde, source = expectation.predicted, expectation.predicted_source
    if not mde > 0:
        raise InputError(f"the MDE from {choice} is {mde:.4g}, not positive: there is no "
                         "positive effect to power the test for; give mde", argument="mde")
    return mde, source


def _target(request: DesignRequest, inputs: _Inputs, notes: _Notes) -> _Target:
    expectation = _expectation(request, inputs, notes)
    notes.details["estimand"] = expectation.estimand.to_dict()
    notes.details["cate_validation"] = CATE_VALIDATION[request.test]
    mde, mde_source = request.mde, "given" if request.mde is not None else ""
    if (mde is None and request.n is None) or request.mde_from is not None:
        mde, mde_source = _derived_mde(request, inputs, expectation)
    return _Target(estimand=expectation.estimand, policy_column=expectation.policy_column,
                   expected_effect=expectation.expected,
                   expected_source=expectation.expected_source, mde=mde, mde_source=mde_source)


def _solve(request: DesignRequest, fractions: np.ndarray, sizing_sd: float | None,
           mde: float | None, power: float | None, common: dict[str, Any], notes: _Notes
           ) -> tuple[FixedSizing, SequentialDesign | None, float]:
    """The fixed sizing and, with several looks, the sequential design and its inflation."""
    if fractions.size == 1:
        return solve_fixed(sd=sizing_sd, mde=mde, n=request.n, power=power, **common), None, 1.0
    if request.n is None:
        sizing = solve_fixed(sd=sizing_sd, mde=mde, n=None, power=power, **common)
        sequential = sequential_design(fractions, request.alpha, sizing.power, request.sided,
                                       request.spending, request.futility)
        return sizing, sequential, sequential.max_inflation
    if power is not None:
        sequential = sequential_design(fractions, request.alpha, power, request.sided,
                                       request.spending, request.futility)
        inflation = sequential.max_inflation
        sizing = solve_fixed(sd=sizing_sd, mde=None, n=request.n / inflation, power=power,
                             **common)
        return sizing, sequential, inflation
    return _solve_power(request, fractions, sizing_sd, mde, common, notes)


def _solve_power(request: DesignRequest, fractions: np.ndarray, sizing_sd: float | None,
                 mde: float | None, common: dict[str, Any], notes: _Notes
                 ) -> tuple[FixedSizing, SequentialDesign, float]:
    """n and the MDE given with several looks: the power of the efficacy and harm boundaries."""
    sequential = sequential_design(fractions, request.alpha, DEFAULT_POWER, request.sided,
                                   request.spending, "none")
    fixed = solve_fixed(sd=sizing_sd, mde=mde, n=request.n, power=None,
                        **{**common, "distribution": "z"})
    drift = float(stats.norm.isf(request.alpha / request.sided)
                  + stats.norm.ppf(min(fixed.power, MAX_POWER)))
    achieved = float(crossing_probabilities(fractions, sequential.harm_z, sequential.efficacy_z,
                                            drift)[1].sum())
    sizing = replace(fixed, power=achieved, solved_for="power")
    inflation = sequential.max_inflation  # reported; the given n is the maximum
    sequential = replace(sequential, power=achieved, drift=drift,
                         power_if_futility_ignored=achieved, power_if_futility_followed=achieved)
    notes.warnings.append("power solved with the efficacy and harm boundaries only (no futility "
                          "boundary: beta spending needs a target power)")
    return sizing, sequential, inflation


def _arm_sizes(request: DesignRequest, sizing: FixedSizing, sequential: SequentialDesign | None,
               inflation: float, ratio_by_arm: dict[str, float]) -> dict[str, int]:
    if request.n is None:
        return (dict(sizing.n_per_arm) if sequential is None
                else _sizes(sizing.n_control_exact, ratio_by_arm, inflation))
    if sequential is not None and inflation > 1:  # the given n is the maximum
        return {arm: max(2, round(request.n * ratio)) for arm, ratio in ratio_by_arm.items()}
    return dict(sizing.n_per_arm)


def _size(request: DesignRequest, inputs: _Inputs, target: _Target, fractions: np.ndarray,
          notes: _Notes) -> _Sized:
    """Solve for the missing one of n, MDE and power; inflate for the looks."""
    continuous = inputs.outcome_type == "continuous"
    if not continuous and request.test != "ate":
        raise InputError("binary outcomes are supported for the ate test", argument="test")
    power = request.power
    if power is None and (request.n is None or target.mde is None):
        power = DEFAULT_POWER
    common = dict(alpha=request.alpha, sided=request.sided, allocation=request.allocation,
                  n_treatment_arms=request.arms, multiplicity=request.multiplicity,
                  outcome_type=inputs.outcome_type, distribution=request.distribution,
                  baseline=inputs.baseline)
    sizing_sd = target.estimand.sd_effective if continuous else None
    sizing, sequential, inflation = _solve(request, fractions, sizing_sd, target.mde, power,
                                           common, notes)
    power = sizing.power
    if power > MAX_POWER:
        notes.warnings.append(f"power is {power:.10f}: n is far more than this MDE needs; "
                              f"recorded as {MAX_POWER}")
        power = MAX_POWER
    mde_source = target.mde_source
    if request.mde_from is None and request.mde is None and request.n is not None:
        mde_source = "solved for (n and power given)"
    arms = arm_names(request.arms)
    ratio_by_arm = {arm: sizing.allocation[arm] / sizing.allocation["control"] for arm in arms}
    n_per_arm = _arm_sizes(request, sizing, sequential, inflation, ratio_by_arm)
    n_unadjusted = dict(n_per_arm)
    if inputs.r2 and continuous:
        unadjusted_sd = _unadjusted_sd(request.test, target.estimand, inputs.sd, inputs.margin,
                                       inputs.cost, inputs.r2)
        unadjusted = solve_fixed(sd=unadjusted_sd, mde=sizing.mde, n=None, power=power,
                                 **common)
        n_unadjusted = _sizes(unadjusted.n_control_exact, ratio_by_arm, inflation)
    return _Sized(sizing=sizing, sequential=sequential, inflation=inflation, mde=sizing.mde,
                  mde_source=mde_source, power=power, sizing_sd=sizing_sd,
                  arms=tuple(arms), n_per_arm=n_per_arm, n_unadjusted=n_unadjusted)


def _default_strata(request: DesignRequest, results: AnalysisResults, target: _Target,
                    notes: _Notes) -> list[str]:
    if request.strata is not None:
        return list(request.strata)
    # assignment reads customers.parquet itself: default to the columns it carries
    strata = [c for c in DEFAULT_STRATA if c in results.written_columns]
    absent = [c for c in DEFAULT_STRATA if c not in results.written_columns]
    if absent:
        notes.warnings.append(f"{', '.join(absent)} not in customers.parquet, so not a default "
                              "stratum; name it with --strata if the customer file given to "
                              "assignment carries it")
    if request.test == "heterogeneity" and target.policy_column is not None:
        strata.append(target.policy_column)
    return strata


def _strata(request: DesignRequest, inputs: _Inputs, target: _Target, sized: _Sized,
            notes: _Notes) -> tuple[list[str], list[dict[str, Any]] | None]:
    """Stratum columns and, with a results folder, the expected customers per stratum."""
    results, population = inputs.results, inputs.population
    if results is None or population is None:
        return list(request.strata or []), None
    strata = _default_strata(request, results, target, notes)
    check_strata_columns(population, strata, str(results.customers_path))
    n_total = int(sum(sized.n_per_arm.values()))
    sizes = stratum_sizes(population, strata, n_total, sized.sizing.allocation)
    small = [r for r in sizes if r["too_small"]]
    if small:
        notes.warnings.append(
            f"{len(small)} of {len(sizes)} strata expect fewer than "
            f"{small_stratum_threshold(len(sized.n_per_arm))} customers per arm; merge them or "
            "drop a stratum column")
    if n_total > len(population):
        notes.warnings.append(f"the design needs {n_total} customers but the population in the "
                              f"results has {len(population)}: run the test on a larger "
                              "customer base, raise the MDE, or accept less power")
    return strata, sizes


def _per_segment(request: DesignRequest, inputs: _Inputs, sized: _Sized, notes: _Notes) -> None:
    if not request.per_segment:
        return
    population = inputs.population
    if population is None or "segment" not in population.columns:
        raise InputError("per_segment needs a results folder with a 'segment' column",
                         argument="per_segment")
    notes.details["per_segment"] = per_segment_tests(
        population, "segment", inputs.outcome, sized.mde, request.alpha,  # type: ignore[arg-type]
        sized.power, request.sided, sized.sizing.allocation, inputs.r2)


def _phases(request: DesignRequest, inputs: _Inputs, target: _Target, sized: _Sized,
            strata: list[str]) -> tuple[Phase, ...]:
    """The pilot, the A/B test and the expansion, with their selection columns."""
    results = inputs.results
    if results is None:  # columns the customer file will carry; checked at assignment
        pilot_column = _column_name(request.pilot)
        expansion_column = _column_name(request.expansion)
    else:
        pilot_column = _policy_column(results, request.pilot, "target_conservative", "pilot")
        expansion_column = _policy_column(results, request.expansion,
                                          target.policy_column or "target_breakeven",
                                          "expansion")
    expected, source = target.expected_effect, target.expected_source
    if expected is None:
        expected, source = sized.mde, "the MDE (no estimate available)"
    if request.campaign_weeks < 1 or request.outcome_weeks < 1:
        raise InputError("campaign and outcome weeks must be at least 1",
                         argument="campaign_weeks" if request.campaign_weeks < 1
                         else "outcome_weeks")
    records = build_phases(
        customers=inputs.population, pilot_column=pilot_column,
        expansion_column=expansion_column, n_per_arm=sized.n_per_arm, strata=strata,
        cost=inputs.cost, margin=inputs.margin, expected_effect=expected,
        expected_effect_source=source, effect_is_profit=request.test == "policy",
        campaign_weeks=request.campaign_weeks, outcome_weeks=request.outcome_weeks)
    if request.test == "policy":
        records[1]["arm_policies"] = {
            "treatment": f"{target.policy_column}: target the customers this policy selects",
            "control": "current practice: target the customers targeted today (treatment)"}
    return parse_phases(records, source=None)


def _sizing_details(inputs: _Inputs, sized: _Sized, notes: _Notes) -> dict[str, Any]:
    sizing = sized.sizing
    return notes.details | {
        "outcome_type": inputs.outcome_type,
        "distribution": sizing.distribution,
        "multiplicity": sizing.multiplicity,
        "comparison_alpha": sizing.comparison_alpha,
        "critical_value": sizing.critical_value,
        "baseline": inputs.baseline,
        "sd_effective": sized.sizing_sd,
        "solved_for": sizing.solved_for,
        "n_per_arm_fixed": dict(sizing.n_per_arm),
        "ancova": "n with R^2 = n without x (1 - R^2), exactly for a z test with known R^2",
        "warnings": notes.warnings,
        "results": None if inputs.results is None else str(inputs.results.path),
    }


def plan_design(request: DesignRequest) -> Design:
    """Size, stratify and stage an A/B test; returns a validated :class:`Design`.

    The phases, in order: check the request, resolve the inputs (results folder, cost and
    margin, the outcome's SD, R^2), fix the estimand and its MDE, size the test (fixed or
    sequential), then strata, per-segment sizes and the staged rollout.

    >>> design = plan_design(DesignRequest(sd=180, mde=34, distribution="z"))
    >>> design.n_per_arm, design.mde_source
    ({'treatment': 440, 'control': 440}, 'given')
    """
    _check_request(request)
    fractions = _fractions(request)
    if fractions.size > 1 and request.arms > 1:
        raise InputError("group-sequential looks are supported with one treatment arm",
                         argument="looks")
    notes = _Notes()
    inputs = _resolve_inputs(request, notes)
    target = _target(request, inputs, notes)
    sized = _size(request, inputs, target, fractions, notes)
    strata, strata_sizes = _strata(request, inputs, target, sized, notes)
    _per_segment(request, inputs, sized, notes)
    phases = _phases(request, inputs, target, sized, strata)
    return Design(
        test=request.test, outcome=inputs.outcome, arms=sized.arms,
        allocation=sized.sizing.allocation, n_per_arm=sized.n_per_arm,
        n_total=int(sum(sized.n_per_arm.values())), alpha=request.alpha,
        power=float(sized.power), sided=request.sided, mde=float(sized.mde),
        mde_source=sized.mde_source, sd=float(inputs.sd),
        r2=None if inputs.r2 is None else float(inputs.r2),
        n_per_arm_unadjusted=sized.n_unadjusted, strata=tuple(strata),
        strata_sizes=(None if strata_sizes is None else
                      tuple(StratumSize.from_record(r, tuple(strata), i, None)
                            for i, r in enumerate(strata_sizes))),
        looks=_looks(fractions, sized, inputs.baseline),
        spending=(sized.sequential.spending_plan() if sized.sequential is not None
                  else SpendingPlan()),
        max_inflation=float(sized.inflation), phases=phases, cost=inputs.cost,
        margin=inputs.margin, seed=int(request.seed), created_by=f"rollout {__version__}",
        details=_sizing_details(inputs, sized, notes))


def _unadjusted_sd(test: str, estimand: Estimand, sd: float, margin: float | None,
                   cost: float | None, r2: float | None) -> float:
    if not r2:
        return estimand.sd_effective
    if test == "policy":
        q = estimand.quantities
        spread = (q["profit_spread_policy"] + q["profit_spread_current"]) / 2
        return math.sqrt((margin or 0.0) ** 2 * sd**2 + spread)
    if test == "heterogeneity":
        return heterogeneity_estimand(sd, estimand.quantities["share_responders"]).sd_effective
    return sd


def _looks(fractions: np.ndarray, sized: _Sized, baseline: float | None) -> tuple[Look, ...]:
    sizing_sd, sequential, sizing = sized.sizing_sd, sized.sequential, sized.sizing
    n_per_arm = sized.n_per_arm
    if sizing_sd is None:  # binary: the SD of a difference under the null, at the baseline
        assert baseline is not None
        sizing_sd = math.sqrt(baseline * (1 - baseline))
    treatment_arms = [a for a in n_per_arm if a != "control"]
    looks = []
    for k, t in enumerate(fractions):
        at_look = {arm: max(1, math.ceil(n * t - 1e-9)) for arm, n in n_per_arm.items()}
        if k == fractions.size - 1:
            at_look = dict(n_per_arm)
        se = sizing_sd * math.sqrt(1 / at_look[treatment_arms[0]] + 1 / at_look["control"])
        if sequential is None:
            efficacy, futility, spent = sizing.critical_value, None, sizing.alpha
        else:
            efficacy = sequential.efficacy_z[k]
            futility = sequential.futility_z[k]
            spent = sequential.alpha_spent[k]
        harm = -efficacy
        looks.append(Look(
            look=k + 1, information_fraction=float(t), n_per_arm=at_look,
            efficacy_z=float(efficacy), futility_z=None if futility is None else float(futility),
            harm_z=float(harm), alpha_spent=float(spent), efficacy_effect=float(efficacy * se),
            futility_effect=None if futility is None else float(futility * se),
            harm_effect=float(harm * se)))
    return tuple(looks)
