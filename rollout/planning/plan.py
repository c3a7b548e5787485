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
from rollout.planning.design import DESIGN_SCHEMA, TESTS, Design, validate_design
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


def _policy_column(results: AnalysisResults, name: str | None, default: str | None,
                   option: str) -> str | None:
    if name is None:
        return default if default in results.customers.columns else None
    column = name if name.startswith("target_") else f"target_{name}"
    if column not in results.customers.columns:
        raise InputError(f"no policy column {column!r} (policies: "
                         f"{', '.join(results.policy_columns()) or 'none'})",
                         file=results.customers_path, column=column, option=option)
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
                             "policy column", file=results.customers_path, column=column)
        chosen = frame[frame[column].astype(float) == 1]
    if len(chosen) < 4:
        raise InputError(f"the population {population!r} has {len(chosen)} customers; too few "
                         "to design from", file=results.customers_path)
    return chosen


def _fractions(request: DesignRequest) -> np.ndarray:
    if request.information_fractions is not None:
        fractions = check_information_fractions(request.information_fractions)
        if request.looks not in (1, len(fractions)) and request.looks != len(fractions):
            raise InputError(f"--looks {request.looks} but {len(fractions)} information "
                             "fractions", option="--information-fractions")
        return fractions
    if request.looks < 1:
        raise InputError(f"looks must be at least 1, got {request.looks}", option="--looks")
    return np.arange(1, request.looks + 1) / request.looks


def _sizes(n_control_exact: float, ratio_by_arm: dict[str, float], factor: float = 1.0
           ) -> dict[str, int]:
    return {arm: max(2, math.ceil(n_control_exact * ratio * factor - 1e-9))
            for arm, ratio in ratio_by_arm.items()}


def plan_design(request: DesignRequest) -> Design:
    """Size, stratify and stage an A/B test; returns a validated :class:`Design`.

    >>> design = plan_design(DesignRequest(sd=180, mde=34, distribution="z"))
    >>> design.n_per_arm, design.mde_source
    ({'treatment': 440, 'control': 440}, 'given')
    """
    if request.test not in TESTS:
        raise InputError(f"test must be one of {', '.join(TESTS)}, got {request.test!r}",
                         option="--test")
    if request.sided not in (1, 2):
        raise InputError(f"sided must be 1 or 2, got {request.sided}", option="--sided")
    if not 0 < request.alpha < 0.5:
        raise InputError(f"alpha must be in (0, 0.5), got {request.alpha:g}", option="--alpha")
    if request.power is not None and not 0 < request.power < 1:
        raise InputError(f"power must be in (0, 1), got {request.power:g}", option="--power")
    if request.mde is not None and not request.mde > 0:
        raise InputError(f"the MDE must be positive, got {request.mde:g}", option="--mde")
    if request.sd is not None and not request.sd > 0:
        raise InputError(f"the outcome SD must be positive, got {request.sd:g}", option="--sd")
    if request.mde is not None and request.mde_from is not None:
        raise InputError("give either --mde or --mde-from, not both", option="--mde-from")
    if request.mde_from is not None and request.mde_from not in MDE_FROM:
        raise InputError(f"--mde-from must be one of {', '.join(MDE_FROM)}",
                         option="--mde-from")
    if (request.cost is None) != (request.margin is None):
        raise InputError("give --cost and --margin together", option="--cost/--margin")
    if request.margin is not None and not 0 < request.margin <= 1:
        raise InputError(f"margin must be in (0, 1], got {request.margin:g}", option="--margin")
    if request.cost is not None and request.cost < 0:
        raise InputError(f"cost must be non-negative, got {request.cost:g}", option="--cost")
    if request.n is not None and request.mde is not None and request.power is not None:
        raise InputError("--n, --mde and --power all given: leave one out to be solved for",
                         option="--n/--mde/--power")
    fractions = _fractions(request)
    if fractions.size > 1 and request.arms > 1:
        raise InputError("group-sequential looks are supported with one treatment arm",
                         option="--looks")
    warnings: list[str] = []
    details: dict[str, Any] = {}

    results = (load_results(request.results, request.outcome, request.covariates,
                            need_covariates=request.variance_reduction and request.r2 is None)
               if request.results is not None else None)
    population: pd.DataFrame | None = None
    if results is not None:
        population = _population(results, request.population)
        details["population"] = {"name": request.population, "customers": len(population),
                                 "customers_in_results": len(results.customers)}
    elif request.population != "all":
        raise InputError("--population needs a results folder", option="--population")

    # cost and margin: options win, else the analysis' breakeven record
    cost, margin = request.cost, request.margin
    if cost is None and results is not None and isinstance(results.summary.get("breakeven"),
                                                           dict):
        record = results.breakeven()
        cost, margin = record["cost"], record["margin"]

    # the outcome: SD, type and baseline
    outcome = request.outcome if results is None else results.outcome
    outcome_type = request.outcome_type
    y = None
    if population is not None:
        y = population[results.outcome].to_numpy(dtype=float)  # type: ignore[union-attr]
        if outcome_type is None:
            outcome_type = "binary" if np.isin(y, (0.0, 1.0)).all() else "continuous"
    outcome_type = outcome_type or ("binary" if request.baseline is not None
                                    and request.sd is None else "continuous")
    sd = request.sd
    baseline = request.baseline
    sd_source = "given"
    if y is not None:
        control = population["treatment"].to_numpy() == 0  # type: ignore[index]
        details["baseline_mean"] = float(y[control].mean()) if control.any() else float(y.mean())
        if baseline is None and outcome_type == "binary":
            baseline = details["baseline_mean"]
        if sd is None:
            sd = float(np.std(y, ddof=1))
            sd_source = (f"SD of {results.outcome} over the population "  # type: ignore[union-attr]
                         f"{request.population!r} of the cohort")
    if outcome_type == "binary":
        if baseline is None:
            raise InputError("a binary outcome needs --baseline (the control rate)",
                             option="--baseline")
        if sd is None:
            sd = math.sqrt(baseline * (1 - baseline))
            sd_source = "sqrt(baseline (1 - baseline))"
    if sd is None:
        raise InputError("give the outcome SD (--sd) or a results folder to take it from",
                         option="--sd")
    if not sd > 0:
        raise InputError("the outcome has no variation (SD 0)", column=outcome)

    # variance reduction
    r2 = request.r2
    r2_source = "given" if r2 is not None else None
    if r2 is not None and not 0 <= r2 < 1:
        raise InputError(f"R^2 must be in [0, 1), got {r2:g}", option="--r2")
    if (r2 is None and request.variance_reduction and population is not None
            and results is not None and results.covariates and outcome_type == "continuous"):
        estimate = cross_validated_r2(
            y, population[results.covariates].to_numpy(dtype=float),
            population["treatment"].to_numpy(dtype=float), results.covariates,
            folds=request.cv_folds, seed=request.seed)
        r2, r2_source = estimate.r2, estimate.method
        details["r2_estimate"] = estimate.to_dict()
    if outcome_type == "binary" and r2 is not None:
        warnings.append("R^2 is not applied to a binary outcome; sizes are unadjusted")
        r2, r2_source = None, None
    details["r2_source"] = r2_source

    # the estimand and its MDE
    n_treatment_arms = request.arms
    if request.test != "ate" and n_treatment_arms > 1:
        raise InputError("several treatment arms are supported for the ate test only",
                         option="--arms")
    policy_column = None
    estimand: Estimand
    expected_effect: float | None = None
    expected_source = "none"
    predicted: float | None = None
    predicted_source = ""
    if request.test == "ate":
        estimand = ate_estimand(sd, r2 or 0.0)
        if results is not None and population is not None:
            if request.population == "all":
                expected_effect, expected_source = results.observational_ate()
            if expected_effect is None and "cate" in population.columns:
                expected_effect = float(population["cate"].mean())
                expected_source = f"mean CATE over the population {request.population!r}"
            if request.population.startswith("target") or request.population not in (
                    "all", "overlap"):
                warnings.append("this test enrols only customers a policy targets: it "
                                "estimates their effect but cannot validate the CATE model; "
                                "use --test heterogeneity to enrol the whole range of "
                                "predicted CATE")
    elif request.test == "policy":
        if results is None or population is None:
            raise InputError("the policy test needs a results folder (the CATE policy and "
                             "current practice)", option="RESULTS")
        if cost is None or margin is None:
            raise InputError("the policy test compares profit: give --cost and --margin or a "
                             "results folder with a breakeven record", option="--cost/--margin")
        results.require_cate("the policy test")
        policy_column = _policy_column(results, request.policy, "target_breakeven", "--policy")
        if policy_column is None:
            raise InputError("no target_breakeven column; name the CATE policy with --policy",
                             file=results.customers_path, option="--policy")
        a = population[policy_column].to_numpy(dtype=float)
        b = population["treatment"].to_numpy(dtype=float)
        estimand = policy_estimand(sd, margin, cost, a, b, population["cate"].to_numpy(),
                                   r2 or 0.0)
        predicted = policy_expected_difference(population["cate"].to_numpy(), a, b, margin, cost)
        predicted_source = (f"model-predicted profit difference per customer, {policy_column} "
                            "vs current practice (treatment)")
        expected_effect, expected_source = predicted, predicted_source
    else:
        share = request.responder_share
        if results is not None and population is not None:
            results.require_cate("the heterogeneity test")
            policy_column = _policy_column(results, request.policy, "target_breakeven",
                                           "--policy")
            if policy_column is None:
                raise InputError("no target_breakeven column; name the responder policy with "
                                 "--policy", file=results.customers_path, option="--policy")
            responder = population[policy_column].to_numpy(dtype=float) == 1
            share = float(responder.mean())
            predicted = predicted_contrast(population["cate"].to_numpy(), responder)
            predicted_source = (f"model-predicted CATE contrast, {policy_column} responders "
                                "minus non-responders")
            expected_effect, expected_source = results.observational_ate()
        if share is None:
            raise InputError("the heterogeneity test needs the share of predicted responders: "
                             "--responder-share or a results folder", option="--responder-share")
        estimand = heterogeneity_estimand(sd, share, r2 or 0.0)
    details["estimand"] = estimand.to_dict()
    details["cate_validation"] = CATE_VALIDATION[request.test]

    mde, mde_source = request.mde, "given" if request.mde is not None else ""
    if (mde is None and request.n is None) or request.mde_from is not None:
        choice = request.mde_from
        if choice is None:
            if request.test in ("policy", "heterogeneity") and predicted is not None:
                choice = "predicted"
            elif cost is not None and margin is not None:
                choice = "breakeven"
            elif results is not None:
                choice = "overlap"
            else:
                raise InputError("give --mde (or --n to solve for the MDE), --cost and "
                                 "--margin for the breakeven CATE, or a results folder",
                                 option="--mde")
        if choice == "breakeven":
            if cost is None or margin is None:
                raise InputError("the breakeven MDE needs --cost and --margin or a results "
                                 "folder with a breakeven record", option="--mde-from")
            mde = cost / margin
            mde_source = f"breakeven CATE = cost / margin = {cost:g} / {margin:g}"
            if request.test == "policy":
                raise InputError("the policy test's MDE is a profit difference; use --mde or "
                                 "--mde-from predicted", option="--mde-from")
        elif choice == "overlap":
            if results is None:
                raise InputError("--mde-from overlap needs a results folder",
                                 option="--mde-from")
            mde, where = results.overlap_effect()
            mde_source = f"observational estimate in the overlap region ({where})"
        else:
            if predicted is None:
                raise InputError("--mde-from predicted needs a results folder and --test "
                                 "policy or heterogeneity", option="--mde-from")
            mde, mde_source = predicted, predicted_source
        if not mde > 0:
            raise InputError(f"the MDE from {choice} is {mde:.4g}, not positive: there is no "
                             "positive effect to power the test for; give --mde",
                             option="--mde")

    power = request.power
    if power is None and (request.n is None or mde is None):
        power = DEFAULT_POWER

    common = dict(alpha=request.alpha, sided=request.sided, allocation=request.allocation,
                  n_treatment_arms=n_treatment_arms, multiplicity=request.multiplicity,
                  outcome_type=outcome_type, distribution=request.distribution,
                  baseline=baseline)
    sizing_sd = estimand.sd_effective if outcome_type == "continuous" else None
    unadjusted_sd = (_unadjusted_sd(request.test, estimand, sd, margin, cost, r2)
                     if outcome_type == "continuous" else None)
    if outcome_type == "binary" and request.test != "ate":
        raise InputError("binary outcomes are supported for the ate test", option="--test")

    sequential: SequentialDesign | None = None
    inflation = 1.0
    if fractions.size == 1:
        sizing = solve_fixed(sd=sizing_sd, mde=mde, n=request.n, power=power, **common)
    elif request.n is None:
        sizing = solve_fixed(sd=sizing_sd, mde=mde, n=None, power=power, **common)
        sequential = sequential_design(fractions, request.alpha, sizing.power, request.sided,
                                       request.spending, request.futility)
        inflation = sequential.max_inflation
    elif power is not None:
        sequential = sequential_design(fractions, request.alpha, power, request.sided,
                                       request.spending, request.futility)
        inflation = sequential.max_inflation
        sizing = solve_fixed(sd=sizing_sd, mde=None, n=request.n / inflation, power=power,
                             **common)
    else:
        sequential = sequential_design(fractions, request.alpha, DEFAULT_POWER, request.sided,
                                       request.spending, "none")
        fixed = solve_fixed(sd=sizing_sd, mde=mde, n=request.n, power=None,
                            **{**common, "distribution": "z"})
        drift = float(stats.norm.isf(request.alpha / request.sided)
                      + stats.norm.ppf(min(fixed.power, MAX_POWER)))
        lower = sequential.harm_z
        achieved = float(crossing_probabilities(fractions, lower, sequential.efficacy_z,
                                                drift)[1].sum())
        sizing = replace(fixed, power=achieved, solved_for="power")
        inflation = sequential.max_inflation  # reported; the given n is the maximum
        sequential = replace(sequential, power=achieved, drift=drift,
                             power_if_futility_ignored=achieved,
                             power_if_futility_followed=achieved)
        warnings.append("power solved with the efficacy and harm boundaries only (no futility "
                        "boundary: beta spending needs a target power)")
    mde = sizing.mde
    power = sizing.power
    if power > MAX_POWER:
        warnings.append(f"power is {power:.10f}: n is far more than this MDE needs; recorded as "
                        f"{MAX_POWER}")
        power = MAX_POWER
    if request.mde_from is None and request.mde is None and request.n is not None:
        mde_source = "solved for (n and power given)"

    arms = arm_names(n_treatment_arms)
    ratio_by_arm = {arm: sizing.allocation[arm] / sizing.allocation["control"] for arm in arms}
    if request.n is None:
        n_per_arm = (dict(sizing.n_per_arm) if sequential is None
                     else _sizes(sizing.n_control_exact, ratio_by_arm, inflation))
    elif sequential is not None and inflation > 1:  # the given n is the maximum
        n_per_arm = {arm: max(2, round(request.n * ratio)) for arm, ratio in ratio_by_arm.items()}
    else:
        n_per_arm = dict(sizing.n_per_arm)

    if r2 and outcome_type == "continuous":
        unadjusted = solve_fixed(sd=unadjusted_sd, mde=mde, n=None, power=power, **common)
        n_unadjusted = _sizes(unadjusted.n_control_exact, ratio_by_arm, inflation)
    else:
        n_unadjusted = dict(n_per_arm)

    looks = _looks(fractions, n_per_arm, sequential, sizing, sizing_sd, baseline,
                   request.sided)
    spending_record: dict[str, Any] = (sequential.spending_record() if sequential is not None
                                       else {"efficacy": "none", "futility": "none",
                                             "harm": "efficacy boundary mirrored",
                                             "method": "single analysis"})

    # strata
    strata: list[str]
    strata_sizes = None
    n_total = int(sum(n_per_arm.values()))
    if results is not None and population is not None:
        if request.strata is not None:
            strata = list(request.strata)
        else:
            # assignment reads customers.parquet itself: default to the columns it carries
            strata = [c for c in DEFAULT_STRATA if c in results.written_columns]
            absent = [c for c in DEFAULT_STRATA if c not in results.written_columns]
            if absent:
                warnings.append(f"{', '.join(absent)} not in customers.parquet, so not a default "
                                "stratum; name it with --strata if the customer file given to "
                                "assignment carries it")
            if request.test == "heterogeneity" and policy_column is not None:
                strata.append(policy_column)
        check_strata_columns(population, strata, str(results.customers_path))
        strata_sizes = stratum_sizes(population, strata, n_total, sizing.allocation)
        small = [r for r in strata_sizes if r["too_small"]]
        if small:
            warnings.append(
                f"{len(small)} of {len(strata_sizes)} strata expect fewer than "
                f"{small_stratum_threshold(len(arms))} customers per arm; merge them or drop a "
                "stratum column")
        if n_total > len(population):
            warnings.append(f"the design needs {n_total} customers but the population in the "
                            f"results has {len(population)}: run the test on a larger customer "
                            "base, raise the MDE, or accept less power")
    else:
        strata = list(request.strata or [])
    if request.per_segment:
        if population is None or "segment" not in population.columns:
            raise InputError("--per-segment needs a results folder with a 'segment' column",
                             option="--per-segment")
        details["per_segment"] = per_segment_tests(
            population, "segment", results.outcome, mde, request.alpha,  # type: ignore[union-attr]
            power, request.sided, sizing.allocation, r2)

    # phases
    pilot_column = expansion_column = None
    if results is None:  # columns the customer file will carry; checked at assignment
        pilot_column = _column_name(request.pilot)
        expansion_column = _column_name(request.expansion)
    else:
        pilot_column = _policy_column(results, request.pilot, "target_conservative", "--pilot")
        expansion_column = _policy_column(results, request.expansion,
                                          policy_column or "target_breakeven", "--expansion")
    if expected_effect is None:
        expected_effect, expected_source = mde, "the MDE (no estimate available)"
    if request.campaign_weeks < 1 or request.outcome_weeks < 1:
        raise InputError("campaign and outcome weeks must be at least 1",
                         option="--campaign-weeks/--outcome-weeks")
    phases = build_phases(
        customers=population if population is not None else None,
        pilot_column=pilot_column, expansion_column=expansion_column, n_per_arm=n_per_arm,
        strata=strata, cost=cost, margin=margin, expected_effect=expected_effect,
        expected_effect_source=expected_source, effect_is_profit=request.test == "policy",
        campaign_weeks=request.campaign_weeks, outcome_weeks=request.outcome_weeks)

    if request.test == "policy":
        phases[1]["arm_policies"] = {
            "treatment": f"{policy_column}: target the customers this policy selects",
            "control": "current practice: target the customers targeted today (treatment)"}
    details.update({
        "outcome_type": outcome_type,
        "distribution": sizing.distribution,
        "multiplicity": sizing.multiplicity,
        "comparison_alpha": sizing.comparison_alpha,
        "critical_value": sizing.critical_value,
        "baseline": baseline,
        "sd_source": sd_source,
        "sd_effective": sizing_sd,
        "solved_for": sizing.solved_for,
        "n_per_arm_fixed": dict(sizing.n_per_arm),
        "ancova": "n with R^2 = n without x (1 - R^2), exactly for a z test with known R^2",
        "warnings": warnings,
        "results": None if results is None else str(results.path),
    })
    document = {
        "schema": DESIGN_SCHEMA,
        "test": request.test,
        "outcome": outcome,
        "arms": arms,
        "allocation": sizing.allocation,
        "n_per_arm": n_per_arm,
        "n_total": n_total,
        "alpha": request.alpha,
        "power": float(power),
        "sided": request.sided,
        "mde": float(mde),
        "mde_source": mde_source,
        "sd": float(sd),
        "r2": None if r2 is None else float(r2),
        "n_per_arm_unadjusted": n_unadjusted,
        "strata": strata,
        "strata_sizes": strata_sizes,
        "looks": looks,
        "spending": spending_record,
        "max_inflation": float(inflation),
        "phases": phases,
        "cost": cost,
        "margin": margin,
        "seed": int(request.seed),
        "created_by": f"rollout {__version__}",
        "details": details,
    }
    validate_design(document)
    return Design(**document)


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


def _looks(fractions: np.ndarray, n_per_arm: dict[str, int], sequential: SequentialDesign | None,
           sizing: FixedSizing, sizing_sd: float | None, baseline: float | None,
           sided: int) -> list[dict[str, Any]]:
    if sizing_sd is None:  # binary: the SD of a difference under the null, at the baseline
        assert baseline is not None
        sizing_sd = math.sqrt(baseline * (1 - baseline))
    treatment_arms = [a for a in n_per_arm if a != "control"]
    records = []
    for k, t in enumerate(fractions):
        at_look = {arm: max(1, math.ceil(n * t - 1e-9)) for arm, n in n_per_arm.items()}
        if k == fractions.size - 1:
            at_look = dict(n_per_arm)
        se = sizing_sd * math.sqrt(1 / at_look[treatment_arms[0]] + 1 / at_look["control"])
        if sequential is None:
            efficacy, futility = sizing.critical_value, None
            spent = sizing.alpha
        else:
            efficacy = sequential.efficacy_z[k]
            futility = sequential.futility_z[k]
            spent = sequential.alpha_spent[k]
        harm = -efficacy
        records.append({
            "look": k + 1,
            "information_fraction": float(t),
            "n_per_arm": at_look,
            "efficacy_z": float(efficacy),
            "futility_z": None if futility is None else float(futility),
            "harm_z": float(harm),
            "alpha_spent": float(spent),
            "efficacy_effect": float(efficacy * se),
            "futility_effect": None if futility is None else float(futility * se),
            "harm_effect": float(harm * se),
        })
    del sided
    return records
