"""What ``rollout design`` is asked, and every input it resolves before sizing.

A :class:`DesignRequest` holds the options; :func:`check_request` refuses the ones that are wrong
on their own; :func:`resolve_inputs` reads the results folder (if any) and fixes cost, margin,
the outcome's SD and the R^2 of variance reduction; :func:`resolve_target` fixes the test's
estimand and the MDE it is powered for (given, the breakeven CATE, the overlap-region estimate
or the model's prediction). :func:`rollout.planning.plan.plan_design` sizes the test from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rollout.errors import InputError
from rollout.planning.design import TESTS
from rollout.planning.estimands import (
    POLICY_VS_POLICY,
    RANDOMIZATION_CHOICES,
    TREAT_CONTROL,
    Estimand,
    ate_estimand,
    cate_decile_edges,
    cate_deciles,
    heterogeneity_estimand,
    policy_estimand,
    policy_expected_difference,
    policy_randomization_comparison,
    predicted_contrast,
    randomization_reason,
    treat_control_estimand,
)
from rollout.planning.phases import DEFAULT_CAMPAIGN_WEEKS, DEFAULT_OUTCOME_WEEKS
from rollout.planning.power import parse_allocation
from rollout.planning.results import AnalysisResults, load_results
from rollout.planning.score import DEPLOYED, ScoreChoice, apply_score, choose_score
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
    current: str | None = None
    #: How the policy test randomizes: ``auto`` (the smaller variance), ``policy_vs_policy`` or
    #: ``treat_control`` (:func:`rollout.planning.estimands.policy_randomization_comparison`).
    policy_randomization: str = "auto"
    responder_share: float | None = None
    #: The ranking the test validates: ``None``/``deployed`` (the deployed CATE), a model whose
    #: predictions the results keep (``cate_<model>``) or ``hypothesis`` (the model the
    #: targeting gate declined); :mod:`rollout.planning.score`.
    score: str | None = None
    #: At most this many customers labelled randomize_in_test enrolled (None: all of them).
    randomize_cap: int | None = None
    pilot: str | None = None
    expansion: str | None = None
    campaign_weeks: int = DEFAULT_CAMPAIGN_WEEKS
    outcome_weeks: int = DEFAULT_OUTCOME_WEEKS
    seed: int = 0
    cv_folds: int = 5
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Notes:
    """What the planning decided along the way: warnings (in order) and ``details`` entries."""

    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Inputs:
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
    #: The ranking the test validates when it is not the deployed CATE.
    score: ScoreChoice | None = None


@dataclass(frozen=True)
class Target:
    """What the test estimates and the effect it is powered for."""

    estimand: Estimand
    policy_column: str | None
    expected_effect: float | None
    expected_source: str
    mde: float | None
    mde_source: str


def policy_column(results: AnalysisResults, name: str | None, default: str | None,
                   argument: str) -> str | None:
    if name is None:
        return default if default in results.customers.columns else None
    column = name if name.startswith("target_") else f"target_{name}"
    if column not in results.customers.columns:
        raise InputError(f"no policy column {column!r} (policies: "
                         f"{', '.join(results.policy_columns()) or 'none'})",
                         file=results.customers_path, column=column, argument=argument)
    return column


def column_name(policy: str | None) -> str | None:
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
    if request.policy_randomization not in RANDOMIZATION_CHOICES:
        raise InputError(f"policy_randomization must be one of "
                         f"{', '.join(RANDOMIZATION_CHOICES)}, got "
                         f"{request.policy_randomization!r}", argument="policy_randomization")
    if request.policy_randomization != "auto" and request.test != "policy":
        raise InputError(f"policy_randomization {request.policy_randomization!r} applies to the "
                         f"policy test only, not the {request.test} test",
                         argument="policy_randomization")


def check_request(request: DesignRequest) -> None:
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


def _read_results(request: DesignRequest, notes: Notes
                  ) -> tuple[AnalysisResults | None, pd.DataFrame | None, ScoreChoice | None]:
    if request.results is None:
        if request.population != "all":
            raise InputError("population needs a results folder", argument="population")
        if request.score not in (None, DEPLOYED):
            raise InputError("score names a model of a results folder", argument="score")
        return None, None, None
    results = load_results(request.results, request.outcome, request.covariates,
                           need_covariates=request.variance_reduction and request.r2 is None)
    results, score = _score(request, results)
    population = _population(results, request.population)
    notes.details["population"] = {"name": request.population, "customers": len(population),
                                   "customers_in_results": len(results.customers)}
    return results, population, score


def _score(request: DesignRequest, results: AnalysisResults
           ) -> tuple[AnalysisResults, ScoreChoice | None]:
    """The results with the ranking asked for by ``request.score`` in place of the deployed
    CATE (:func:`rollout.planning.score.apply_score`), and that choice."""
    if request.score in (None, DEPLOYED):
        return results, None
    cost, margin = _cost_and_margin(request, results)
    breakeven = cost / margin if cost is not None and margin else None
    choice = choose_score(request.score, results.customers, results.summary, results.outcome,
                          breakeven, source=results.customers_path)
    return replace(results, customers=apply_score(results.customers, choice,
                                                  results.customers_path)), choice


def _cost_and_margin(request: DesignRequest, results: AnalysisResults | None
                     ) -> tuple[float | None, float | None]:
    """The options win, else the analysis' breakeven record."""
    if (request.cost is None and results is not None
            and isinstance(results.summary.get("breakeven"), dict)):
        record = results.breakeven()
        return record["cost"], record["margin"]
    return request.cost, request.margin


def _outcome_sd(request: DesignRequest, results: AnalysisResults | None,
                population: pd.DataFrame | None, notes: Notes
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
        population: pd.DataFrame | None, outcome_type: str, notes: Notes) -> float | None:
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
        notes.details["covariates"] = list(results.covariates)
    elif r2 is not None:
        notes.details["covariates"] = list(request.covariates) if request.covariates else None
        if r2 > 0 and not request.covariates:
            notes.warnings.append(
                f"sized with R^2 = {r2:g} but no covariates named: the analysis adjusts only "
                "for covariates named at evaluation (--covariates); name the pre-period "
                "columns this R^2 comes from with --covariates so the design records them")
    if outcome_type == "binary" and r2 is not None:
        notes.warnings.append("R^2 is not applied to a binary outcome; sizes are unadjusted")
        r2, r2_source = None, None
    notes.details["r2_source"] = r2_source
    return r2


def resolve_inputs(request: DesignRequest, notes: Notes) -> Inputs:
    results, population, score = _read_results(request, notes)
    if score is not None:
        notes.details["score"] = score.to_dict()
    cost, margin = _cost_and_margin(request, results)
    outcome_type, sd, baseline = _outcome_sd(request, results, population, notes)
    return Inputs(results=results, population=population, cost=cost, margin=margin,
                   outcome=request.outcome if results is None else results.outcome,
                   outcome_type=outcome_type, sd=sd, baseline=baseline,
                   r2=_r2(request, results, population, outcome_type, notes), score=score)


@dataclass(frozen=True)
class _Expectation:
    """An estimand with the effects the analysis expects and predicts for it."""

    estimand: Estimand
    policy_column: str | None = None
    expected: float | None = None
    expected_source: str = "none"
    predicted: float | None = None
    predicted_source: str = ""


def _ate_expectation(request: DesignRequest, inputs: Inputs, notes: Notes) -> _Expectation:
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


def _cate_policy(request: DesignRequest, inputs: Inputs, what: str) -> str:
    """The CATE policy's column (``target_breakeven``, or the scored model's responder list,
    unless named) for the policy or heterogeneity test; ``what`` says what the policy is for in
    the message."""
    results = inputs.results
    assert results is not None
    results.require_cate(f"the {request.test} test")
    default = ("target_breakeven" if inputs.score is None
               else inputs.score.responder_column)
    column = policy_column(results, request.policy, default, "policy")
    if column is None:
        raise InputError(f"no {default} column; name the {what} policy",
                         file=results.customers_path, argument="policy")
    return column


def _current_practice(request: DesignRequest, population: pd.DataFrame) -> tuple[str, str]:
    """The column holding current practice: the retailer's planned list when named, else the
    historical treatment flag (and the design says so)."""
    if request.current is None:
        return "treatment", ("the historical treatment flag (no planned list given: pass "
                             "--current with the column of the retailer's planned list)")
    if request.current not in population.columns:
        raise InputError(f"no column {request.current!r} for current practice in the "
                         "results' customers", argument="current")
    values = population[request.current]
    if not values.isin([0, 1]).all():
        raise InputError(f"current practice {request.current!r} must be 0/1 for every "
                         "customer", argument="current")
    return request.current, f"the retailer's planned list (column {request.current!r})"


def _policy_expectation(request: DesignRequest, inputs: Inputs, notes: Notes) -> _Expectation:
    results, population = inputs.results, inputs.population
    if results is None or population is None:
        raise InputError("the policy test needs a results folder (the CATE policy and current "
                         "practice)", argument="test")
    cost, margin = inputs.cost, inputs.margin
    if cost is None or margin is None:
        raise InputError("the policy test compares profit: give cost and margin or a results "
                         "folder with a breakeven record", argument="cost")
    column = _cate_policy(request, inputs, "CATE")
    current, current_source = _current_practice(request, population)
    a = population[column].to_numpy(dtype=float)
    b = population[current].to_numpy(dtype=float)
    cate = population["cate"].to_numpy(dtype=float)
    estimand = _policy_randomization(request, inputs, notes, a, b, cate)
    estimand = replace(estimand, quantities={
        **estimand.quantities, "policy_column": column, "current_column": current,
        "current_source": current_source})
    predicted = policy_expected_difference(cate, a, b, margin, cost)
    source = (f"model-predicted profit difference per customer, {column} vs current practice "
              f"({current})")
    return _Expectation(estimand, column, predicted, source, predicted, source)


def _policy_randomization(request: DesignRequest, inputs: Inputs, notes: Notes,
                          a: np.ndarray, b: np.ndarray, cate: np.ndarray) -> Estimand:
    """The policy test's estimand under the randomization asked for, or (``auto``) the one
    with the smaller variance; both variances and the reason are recorded
    (``quantities.randomization_comparison``)."""
    population = inputs.population
    assert population is not None and inputs.margin is not None and inputs.cost is not None
    edges = cate_decile_edges(cate)
    region = (population["ps_region"].astype(str).to_numpy() if "ps_region" in population
              else np.zeros(len(cate), dtype=int).astype(str))
    strata = np.char.add(np.char.add(region.astype(str), "|"),
                         cate_deciles(cate, edges).astype(str))
    mean = float(notes.details.get("baseline_mean", 0.0))
    share = parse_allocation(request.allocation, 1)["treatment"]
    comparison = policy_randomization_comparison(inputs.sd, inputs.margin, inputs.cost, a, b,
                                                 cate, strata, inputs.r2 or 0.0, mean, share)
    chosen = (comparison["smaller"] if request.policy_randomization == "auto"
              else request.policy_randomization)
    comparison = comparison | {
        "asked": request.policy_randomization, "chosen": chosen,
        "reason": randomization_reason(
            chosen, comparison["smaller"], comparison["variance_per_customer_policy_vs_policy"],
            comparison["variance_per_customer_treat_control"])}
    if chosen == POLICY_VS_POLICY:
        estimand = policy_estimand(inputs.sd, inputs.margin, inputs.cost, a, b, cate,
                                   inputs.r2 or 0.0)
        extra: dict[str, Any] = {}
    else:
        estimand = treat_control_estimand(inputs.sd, mean, inputs.margin, inputs.cost, a, b,
                                          cate, strata, share)
        extra = {"cate_decile_edges": edges}
    assert chosen in (POLICY_VS_POLICY, TREAT_CONTROL)
    return replace(estimand, quantities={**estimand.quantities, **extra,
                                         "policy_randomization": chosen,
                                         "randomization_comparison": comparison})


def _heterogeneity_expectation(request: DesignRequest, inputs: Inputs) -> _Expectation:
    results, population = inputs.results, inputs.population
    share = request.responder_share
    column = predicted = expected = None
    predicted_source, expected_source = "", "none"
    if results is not None and population is not None:
        column = _cate_policy(request, inputs, "responder")
        responder = population[column].to_numpy(dtype=float) == 1
        share = float(responder.mean())
        if share in (0.0, 1.0):
            raise InputError(
                f"every customer is {'on' if share else 'off'} the {column} list (the deployed "
                "CATE puts them all on one side, as a constant effect does): there are no "
                "predicted responders and non-responders to compare; test the ranking the "
                "analysis declined (score 'hypothesis', or a model name), use the ate test, "
                "or name another list", file=results.customers_path, argument="policy")
        predicted = predicted_contrast(population["cate"].to_numpy(), responder)
        predicted_source = (f"model-predicted CATE contrast, {column} responders minus "
                            "non-responders")
        expected, expected_source = results.observational_ate()
    if share is None:
        raise InputError("the heterogeneity test needs the share of predicted responders: "
                         "responder_share or a results folder", argument="responder_share")
    estimand = heterogeneity_estimand(inputs.sd, share, inputs.r2 or 0.0)
    if column is not None:
        estimand = replace(estimand, quantities={**estimand.quantities,
                                                 "responder_column": column})
    return _Expectation(estimand, column, expected, expected_source, predicted,
                        predicted_source)


def _expectation(request: DesignRequest, inputs: Inputs, notes: Notes) -> _Expectation:
    if request.test != "ate" and request.arms > 1:
        raise InputError("several treatment arms are supported for the ate test only",
                         argument="arms")
    if request.test == "ate":
        return _ate_expectation(request, inputs, notes)
    if request.test == "policy":
        return _policy_expectation(request, inputs, notes)
    return _heterogeneity_expectation(request, inputs)


def _mde_choice(request: DesignRequest, inputs: Inputs, expectation: _Expectation) -> str:
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


def _derived_mde(request: DesignRequest, inputs: Inputs, expectation: _Expectation
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


def resolve_target(request: DesignRequest, inputs: Inputs, notes: Notes) -> Target:
    expectation = _expectation(request, inputs, notes)
    notes.details["estimand"] = expectation.estimand.to_dict()
    notes.details["cate_validation"] = CATE_VALIDATION[request.test]
    mde, mde_source = request.mde, "given" if request.mde is not None else ""
    if (mde is None and request.n is None) or request.mde_from is not None:
        mde, mde_source = _derived_mde(request, inputs, expectation)
    return Target(estimand=expectation.estimand, policy_column=expectation.policy_column,
                   expected_effect=expectation.expected,
                   expected_source=expectation.expected_source, mde=mde, mde_source=mde_source)


