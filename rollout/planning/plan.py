"""Assembling a :class:`~rollout.planning.design.Design` from plain numbers or a results folder.

This is the Python API behind ``rollout design``: it checks the request and resolves every input
(:mod:`rollout.planning.request`: SD, MDE, R^2, cost and margin, from options or from the
analysis), sizes the chosen test, adds group-sequential looks, strata and the staged rollout,
and returns the typed design with everything it decided recorded in ``details`` (where each
number came from, warnings, per-segment sizes).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from rollout import __version__
from rollout.errors import InputError
from rollout.planning.design import Design, Look, Phase, StratumSize, parse_phases
from rollout.planning.enrolment import (
    RANDOMIZE_IN_TEST,
    finish_enrolment,
    inclusion_probabilities,
    plan_enrolment,
)
from rollout.planning.estimands import (
    CATE_DECILE,
    TREAT_CONTROL,
    TREAT_CONTROL_STRATA,
    Estimand,
    calibration_slope_se,
    cate_deciles,
    heterogeneity_estimand,
    policy_estimand,
    treat_control_estimand,
)
from rollout.planning.phases import build_phases
from rollout.planning.power import FixedSizing, arm_names, solve_fixed
from rollout.planning.request import (
    DesignRequest,
    Inputs,
    Notes,
    Target,
    check_request,
    column_name,
    policy_column,
    resolve_inputs,
    resolve_target,
)
from rollout.planning.results import AnalysisResults
from rollout.planning.sequential import (
    SequentialDesign,
    SpendingPlan,
    check_information_fractions,
    crossing_probabilities,
    sequential_design,
)
from rollout.planning.strata import (
    DEFAULT_STRATA,
    MERGE_RULE,
    check_strata_columns,
    expected_strata,
    merge_small_strata,
    per_segment_tests,
    small_stratum_threshold,
)

__all__ = ["DesignRequest", "plan_design"]

DEFAULT_POWER = 0.8
MAX_POWER = 1 - 1e-9  # design.json keeps power inside (0, 1)


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
    #: Kish's design effect of the enrolment's weights (1: every customer equally likely).
    design_effect: float = 1.0
    #: The enrolment record (``details.enrolment``), or None without labelled customers.
    enrolment: dict[str, Any] | None = None


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


def _solve(request: DesignRequest, fractions: np.ndarray, sizing_sd: float | None,
           mde: float | None, power: float | None, common: dict[str, Any], notes: Notes
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
                 mde: float | None, common: dict[str, Any], notes: Notes
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


def _size(request: DesignRequest, inputs: Inputs, target: Target, fractions: np.ndarray,
          notes: Notes) -> _Sized:
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


def _treat_control(target: Target) -> bool:
    """Whether the policy test randomizes treatment and control across the ranking."""
    return target.estimand.quantities.get("policy_randomization") == TREAT_CONTROL


def _eligible(request: DesignRequest, inputs: Inputs) -> np.ndarray | None:
    """The population's customers the test may enrol: everyone under a policy or
    heterogeneity test, the customers outside the pilot under an ate test."""
    population, results = inputs.population, inputs.results
    if population is None or results is None:
        return None
    eligible = np.ones(len(population), dtype=bool)
    pilot = _pilot_column(request, inputs)
    if request.test == "ate" and pilot is not None and pilot in population:
        eligible = population[pilot].to_numpy() != 1
    return eligible


#: Expected customers per arm, at the first look, in each cell of a weighted estimate's power
#: group (its responders and its non-responders, say). A cell's variance is estimated from its
#: own customers: with the 4 per arm that suffice for an ordinary stratum, a cell came out
#: empty in one arm in about one draw in ten, and cells of about 20 customers gave a
#: heterogeneity test whose standard error at half the data was below the full data's
#: (information fraction 2.42, then 1.59), which a sequential record must refuse.
WEIGHTED_CELL_MIN_PER_ARM = 10


def _power_group_minimum(request: DesignRequest, inputs: Inputs, target: Target,
                         sized: _Sized, eligible: np.ndarray, labelled: np.ndarray,
                         first_fraction: float) -> int:
    """The fewest customers of the power group that give each cell of the weighted estimate
    (the group's responders and non-responders, or its customers on whom the policies
    disagree) :data:`WEIGHTED_CELL_MIN_PER_ARM` expected customers per arm at the first
    look."""
    population = inputs.population
    assert population is not None
    share = 1.0
    if request.test == "heterogeneity" and target.policy_column is not None:
        r = population[target.policy_column].to_numpy(dtype=float)[eligible][~labelled] == 1
        share = min(r.mean(), 1 - r.mean()) if r.size else 1.0
    elif request.test == "policy" and target.policy_column is not None \
            and not _treat_control(target):
        current = target.estimand.quantities.get("current_column", "treatment")
        part = population[eligible][~labelled]
        share = float((part[target.policy_column] != part[current]).mean()) if len(part) else 1
    n_arms = len(sized.n_per_arm)
    smallest_arm = min(sized.sizing.allocation.values())
    if share <= 0:
        return 2
    floor = max(WEIGHTED_CELL_MIN_PER_ARM, small_stratum_threshold(n_arms))
    return math.ceil(floor / (share * smallest_arm * first_fraction))


def _enrol(request: DesignRequest, inputs: Inputs, target: Target, sized: _Sized,
           notes: Notes, first_fraction: float = 1.0) -> _Sized:
    """Size for the customers the analysis labels ``randomize_in_test``
    (:mod:`rollout.planning.enrolment`): all of them (or ``randomize_cap``) enter for
    identification, the others for power, and the arms hold both."""
    population, eligible = inputs.population, _eligible(request, inputs)
    if population is None or eligible is None or RANDOMIZE_IN_TEST not in population:
        return sized
    labelled = population[RANDOMIZE_IN_TEST].to_numpy(dtype=float)[eligible] == 1
    responder = None
    if request.test == "heterogeneity" and target.policy_column is not None:
        responder = population[target.policy_column].to_numpy(dtype=float)[eligible] == 1
    n_power = int(sum(sized.n_per_arm.values()))
    cap = request.randomize_cap
    fewest = math.ceil(small_stratum_threshold(len(sized.n_per_arm))
                       / (min(sized.sizing.allocation.values()) * first_fraction))
    if 0 < labelled.sum() < fewest:  # too few to estimate their own group: the common rate
        cap = 0
        notes.warnings.append(
            f"only {int(labelled.sum())} customers are labelled {RANDOMIZE_IN_TEST}, too few "
            f"to estimate their group on its own (fewer than {fewest}): they enter at the "
            "same rate as everyone")
    record = plan_enrolment(labelled, n_power, cap, responder,
                            _power_group_minimum(request, inputs, target, sized, eligible,
                                                 labelled, first_fraction))
    if record is None:
        return sized
    n = sum(g["enrolled"] for g in record["groups"])
    shares = {arm: n_arm / n_power for arm, n_arm in sized.n_per_arm.items()}
    n_per_arm = {arm: max(2, math.ceil(n * share - 1e-9)) for arm, share in shares.items()}
    record = finish_enrolment(record, int(sum(n_per_arm.values())))
    record["power"] = _power_at(sized, record["n_effective"] / n_power)
    if record["n_effective"] < n_power * (1 - 1e-9):
        notes.warnings.append(
            f"with every customer enrolled the weighted estimate has the precision of "
            f"{record['n_effective']:.0f} customers, short of the {n_power} the power target "
            f"needs: power about {record['power']:.2f}; cap the labelled customers "
            "(randomize_cap) or raise the MDE")
    return replace(sized, n_per_arm=n_per_arm, enrolment=record,
                   design_effect=float(record["design_effect"]))


def _power_at(sized: _Sized, ratio: float) -> float:
    """The power at ``ratio`` times the information the design was sized for (normal
    approximation: the expected z scales with the square root of the information)."""
    critical = float(sized.sizing.critical_value)
    drift = critical + float(stats.norm.ppf(min(sized.power, MAX_POWER)))
    return float(stats.norm.sf(critical - drift * math.sqrt(ratio)))


def _default_strata(request: DesignRequest, results: AnalysisResults, target: Target,
                    notes: Notes) -> list[str]:
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
    if _treat_control(target):  # propensity region x predicted-CATE decile
        strata = [c for c in TREAT_CONTROL_STRATA if c != CATE_DECILE]
    return strata


def _strata(request: DesignRequest, inputs: Inputs, target: Target, sized: _Sized,
            notes: Notes) -> tuple[list[str], list[dict[str, Any]] | None]:
    """Stratum columns and, with a results folder, the expected customers per stratum, the
    strata too small to split merged into their neighbours (``details.strata_merged``)."""
    results, population = inputs.results, inputs.population
    if results is None or population is None:
        return list(request.strata or []), None
    strata = _default_strata(request, results, target, notes)
    if request.test == "heterogeneity" and target.policy_column is not None \
            and target.policy_column not in strata:  # assignment randomizes within them
        strata.append(target.policy_column)
    if _treat_control(target):  # the variance assumed these deciles; assign cuts them alike
        if CATE_DECILE not in strata:
            strata.append(CATE_DECILE)
        population = population.assign(**{CATE_DECILE: cate_deciles(
            population["cate"].to_numpy(dtype=float),
            target.estimand.quantities["cate_decile_edges"])})
    weighted = sized.enrolment is not None and sized.enrolment["weighted"]
    if weighted and RANDOMIZE_IN_TEST not in strata:
        strata.append(RANDOMIZE_IN_TEST)
    check_strata_columns(population, strata, str(results.customers_path))
    n_total = int(sum(sized.n_per_arm.values()))
    eligible = _eligible(request, inputs)
    assert eligible is not None
    frame = population[eligible]
    inclusion = _inclusion(sized, frame, n_total)
    sizes = expected_strata(frame, strata, inclusion, sized.sizing.allocation)
    protected = [c for c in (target.policy_column if request.test == "heterogeneity"
                             else None, RANDOMIZE_IN_TEST if weighted else None) if c]
    threshold = small_stratum_threshold(len(sized.n_per_arm))
    merges = merge_small_strata([r["label"] for r in sizes], sizes,
                                [min(r["expected_per_arm"].values()) for r in sizes],
                                strata, protected, threshold)
    if merges:
        before = len(sizes)
        sizes = expected_strata(frame, strata, inclusion, sized.sizing.allocation, merges)
        notes.details["strata_merged"] = {
            "rule": MERGE_RULE.format(threshold=threshold,
                                      protected=", ".join(protected) or "nothing"),
            "merged": merges, "strata_before": before,
            "strata_after": len(sizes)}
        notes.warnings.append(f"{len(merges)} strata expected to hold fewer than {threshold} "
                              f"customers per arm are merged into {len(set(merges.values()))}"
                              " (details.strata_merged names them)")
    small = [r for r in sizes if r["too_small"]]
    if small:
        notes.warnings.append(
            f"{len(small)} of {len(sizes)} strata expect fewer than {threshold} customers per "
            "arm and have no neighbour to merge with; drop a stratum column")
    if n_total > int(eligible.sum()):
        notes.warnings.append(f"the design needs {n_total} customers but the population in the "
                              f"results has {int(eligible.sum())}: run the test on a larger "
                              "customer base, raise the MDE, or accept less power")
    return strata, sizes


def _inclusion(sized: _Sized, frame: pd.DataFrame, n_total: int) -> np.ndarray:
    """Each eligible customer's chance to enter the test."""
    if sized.enrolment is not None:
        labelled = frame[RANDOMIZE_IN_TEST].to_numpy(dtype=float) == 1
        return inclusion_probabilities(sized.enrolment, labelled)
    return np.full(len(frame), min(1.0, n_total / max(len(frame), 1)))


def _per_segment(request: DesignRequest, inputs: Inputs, target: Target, sized: _Sized,
                 notes: Notes) -> None:
    if not request.per_segment:
        return
    population = inputs.population
    if population is None or "segment" not in population.columns:
        raise InputError("per_segment needs a results folder with a 'segment' column",
                         argument="per_segment")
    notes.details["per_segment"] = per_segment_tests(
        population, "segment", inputs.outcome, sized.mde, request.alpha,  # type: ignore[arg-type]
        sized.power, request.sided, sized.sizing.allocation, inputs.r2,
        sd_effective=_segment_sd(request, inputs, target), inflation=sized.inflation)


def _segment_sd(request: DesignRequest, inputs: Inputs, target: Target
                ) -> Callable[[pd.DataFrame, float], float]:
    """A segment's effective SD on the test's own scale, from its outcome SD and its customers
    (their responder share, or their policies' disagreement and predicted gains)."""
    r2 = inputs.r2 or 0.0
    if request.test == "heterogeneity" and target.policy_column is not None:
        column = target.policy_column
        return lambda group, sd: heterogeneity_estimand(
            sd, float(group[column].mean()), r2).sd_effective
    if _treat_control(target) and target.policy_column is not None:
        q = target.estimand.quantities
        policy, current = target.policy_column, q["current_column"]
        return lambda group, sd: treat_control_estimand(
            sd, q["outcome_mean"], inputs.margin or 0.0, inputs.cost or 0.0,
            group[policy].to_numpy(), group[current].to_numpy(), group["cate"].to_numpy(),
            group["ps_region"].astype(str).to_numpy() + "|" + cate_deciles(
                group["cate"].to_numpy(dtype=float), q["cate_decile_edges"]).astype(str),
            q["share_treated"]).sd_effective
    if request.test == "policy" and target.policy_column is not None:
        current = target.estimand.quantities.get("current_column", "treatment")
        column = target.policy_column
        return lambda group, sd: policy_estimand(
            sd, inputs.margin or 0.0, inputs.cost or 0.0, group[column].to_numpy(),
            group[current].to_numpy(), group["cate"].to_numpy(), r2).sd_effective
    return lambda group, sd: sd * math.sqrt(1 - r2)


#: The default pilot list is used only while it holds at most this share of the customers: a
#: pilot is a small first phase, not the campaign.
MAX_PILOT_SHARE = 0.5


def _default_pilot(request: DesignRequest, inputs: Inputs) -> tuple[str | None, float | None]:
    """The pilot's list from the results (the one named, else ``target_conservative``) and,
    for the default list, the share of customers on it (None when not measured)."""
    results, population = inputs.results, inputs.population
    if results is None:
        return column_name(request.pilot), None
    column = policy_column(results, request.pilot, "target_conservative", "pilot")
    if request.pilot is not None or column is None or population is None \
            or column not in population.columns:
        return column, None
    return column, float((population[column].to_numpy(dtype=float) == 1).mean())


def _pilot_column(request: DesignRequest, inputs: Inputs) -> str | None:
    """The pilot's list: the one named, else ``target_conservative`` unless it holds more than
    :data:`MAX_PILOT_SHARE` of the customers (a constant CATE whose lower bound clears the
    breakeven puts everyone on it, and a pilot of everyone leaves nobody to test)."""
    column, share = _default_pilot(request, inputs)
    return column if share is None or share <= MAX_PILOT_SHARE else None


def _pilot_note(request: DesignRequest, inputs: Inputs, notes: Notes) -> None:
    """Say so when the default pilot list was too large to be a pilot."""
    column, share = _default_pilot(request, inputs)
    if share is None or share <= MAX_PILOT_SHARE:
        return
    notes.warnings.append(
        f"no pilot: the {column} list holds {share:.0%} of the customers (more than "
        f"{MAX_PILOT_SHARE:.0%}: not a pilot but the campaign); every customer stays available "
        "to the test (name a list with --pilot to keep one)")


def _phases(request: DesignRequest, inputs: Inputs, target: Target, sized: _Sized,
            strata: list[str], notes: Notes) -> tuple[Phase, ...]:
    """The pilot, the A/B test and the expansion, with their selection columns."""
    results = inputs.results
    pilot_column = _pilot_column(request, inputs)
    _pilot_note(request, inputs, notes)
    if results is None:  # columns the customer file will carry; checked at assignment
        expansion_column = column_name(request.expansion)
    else:
        expansion_column = policy_column(results, request.expansion,
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
    if _treat_control(target):
        current = target.estimand.quantities.get("current_column", "treatment")
        records[1]["arm_policies"] = {
            "treatment": "campaign: every customer of this arm is targeted (treat/control "
                         "across the whole ranking)",
            "control": "no campaign: no customer of this arm is targeted; the CATE policy "
                       f"({target.policy_column}) and current practice ({current!r}) are "
                       "compared on both arms at evaluation (Imai & Li 2021)"}
    elif request.test == "policy":
        current = target.estimand.quantities.get("current_column", "treatment")
        records[1]["arm_policies"] = {
            "treatment": f"{target.policy_column}: target the customers this policy selects",
            "control": f"current practice: target the customers column {current!r} flags "
                       f"({target.estimand.quantities.get('current_source', '')})"}
    _test_profit(records[1], request, inputs, target, sized)
    if request.test in ("policy", "heterogeneity") and records[0].get("n") is not None \
            and inputs.population is not None:
        rate = min(1.0, sum(sized.n_per_arm.values()) / len(inputs.population))
        records[0]["n"] = round(records[0]["n"] * (1 - rate))
        records[0]["description"] = (
            "target the customers the analysis is most sure of while the A/B test runs; the "
            "test draws its entrants from every customer at the same rate, so it keeps a "
            "randomized share of the pilot's own customers and spans the whole predicted-CATE "
            "range (n: pilot customers expected outside the test)")
    return parse_phases(records, source=None)


def _test_profit(record: dict[str, Any], request: DesignRequest, inputs: Inputs, target: Target,
                 sized: _Sized) -> None:
    """The A/B phase's expected profit from the model's per-customer gains (margin x CATE -
    cost), apart from what the control arm forgoes (its customers whom treating would pay)."""
    population = inputs.population
    if (population is None or "cate" not in population.columns or inputs.cost is None
            or inputs.margin is None):
        return
    gain = inputs.margin * population["cate"].to_numpy(dtype=float) - inputs.cost
    n_control = sized.n_per_arm["control"]
    n_treated = sum(n for arm, n in sized.n_per_arm.items() if arm != "control")
    if request.test == "policy" and not _treat_control(target):
        q = target.estimand.quantities
        a = population[target.policy_column].to_numpy(dtype=float)
        b = population[q.get("current_column", "treatment")].to_numpy(dtype=float)
        expected = n_treated * float(np.mean(a * gain)) + n_control * float(np.mean(b * gain))
        forgone = n_control * max(0.0, float(np.mean((a - b) * gain)))
        basis = ("model-predicted: each arm's rule applied to its customers, sum of margin x "
                 "CATE - cost over those treated; control_opportunity_cost: the control arm's "
                 "predicted shortfall against the CATE policy")
    else:
        expected = n_treated * float(np.mean(gain))
        forgone = n_control * float(np.mean(np.maximum(gain, 0.0)))
        basis = ("model-predicted: treated arm's customers x mean(margin x CATE - cost); "
                 "control_opportunity_cost: control customers x mean(max(0, margin x CATE - "
                 "cost)), the profit forgone on the control customers whom treating would pay")
    record["expected_profit"] = expected
    record["control_opportunity_cost"] = forgone
    record["profit_basis"] = basis


def _validation(request: DesignRequest, inputs: Inputs, sized: _Sized, strata: list[str],
                pilot_column: str | None) -> dict[str, Any] | None:
    """What the test can say about the CATE ranking: the predicted-CATE range it enrols, the
    number randomized per arm in each predicted-CATE decile (each customer counted by their
    chance to enter), and the power for the calibration slope (:func:`_calibration_slope`)."""
    population, eligible = inputs.population, _eligible(request, inputs)
    if population is None or eligible is None or "cate" not in population.columns:
        return None
    if not eligible.any():
        return None
    cate = population["cate"].to_numpy(dtype=float)
    n_total = sum(sized.n_per_arm.values())
    inclusion = np.zeros(len(cate))
    inclusion[eligible] = _inclusion(sized, population[eligible], n_total)
    edges = np.quantile(cate, np.linspace(0, 1, 11))
    decile = np.clip(np.searchsorted(edges, cate, side="right") - 1, 0, 9)
    rows = []
    for k in range(10):
        in_k = decile == k
        share = float(inclusion[in_k].sum() / inclusion.sum())
        rows.append({"decile": k + 1, "cate_low": float(edges[k]), "cate_high": float(edges[k + 1]),
                     "population": int(in_k.sum()),
                     "expected_per_arm": {arm: n * share for arm, n in sized.n_per_arm.items()}})
    covered = cate[inclusion > 0]
    return {
        "enrols": ("every customer (pilot customers included)"
                   if request.test != "ate" else "customers outside the pilot")
                  + ("; the customers labelled randomize_in_test first"
                     if sized.enrolment is not None else ", at the same rate"),
        "cate_range_covered": [float(covered.min()), float(covered.max())],
        "cate_range_population": [float(cate.min()), float(cate.max())],
        "share_of_population_deciles_enrolled": float(np.mean(
            [r["expected_per_arm"]["control"] >= 1 for r in rows])),
        "per_decile": rows,
        "calibration_slope": _calibration_slope(inputs, sized, eligible, inclusion[eligible]),
        "strata": list(strata),
        "weighting": ("every stratum has the same assignment probability (the allocation); "
                      "the enrolment groups' inclusion probabilities differ, and the test's "
                      "estimate weights them back to the population (details.enrolment)"
                      if sized.enrolment is not None and sized.enrolment["weighted"] else
                      "every stratum has the same assignment probability (the allocation), "
                      "so estimates need no weights"),
    }


def _slope_residual(inputs: Inputs, eligible: np.ndarray) -> np.ndarray:
    """The analysis outcome's residual after what evaluate's BLP regression holds: the
    covariates, the (historical) arm and the arm x centred predicted CATE, by least squares."""
    population, results = inputs.population, inputs.results
    assert population is not None and results is not None
    part = population[eligible]
    y = part[results.outcome].to_numpy(dtype=float)
    t = part["treatment"].to_numpy(dtype=float) if "treatment" in part else np.zeros(len(y))
    s = part["cate"].to_numpy(dtype=float)
    covariates = [c for c in results.covariates if c in part.columns]
    X = np.column_stack([np.ones(len(y)), t, t * (s - s.mean()),
                         part[covariates].to_numpy(dtype=float) if covariates
                         else np.empty((len(y), 0))])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    return y - X @ coef


def _calibration_slope(inputs: Inputs, sized: _Sized, eligible: np.ndarray,
                       inclusion: np.ndarray) -> dict[str, Any]:
    """The calibration slope's SE from the design (:func:`calibration_slope_se`: n, the
    residual outcome SD, the predicted CATE's spread among the enrolled, the allocation and the
    heavy-tail factor), the power at a calibrated slope of 1 and the slope it detects at 80%."""
    population = inputs.population
    assert population is not None
    w = sized.sizing.allocation.get("control", 0.5)
    n_total = sum(sized.n_per_arm.values())
    cate = population["cate"].to_numpy(dtype=float)[eligible]
    if float(np.std(cate)) <= 1e-9 * (1.0 + float(np.abs(cate).mean())):
        return {"se": None, "power_at_slope_1": None, "slope_detectable_80": None,
                "test": "BLP slope > 0, one-sided 5%",
                "note": "the predicted CATE is one effect for everyone (a constant model was "
                        "deployed): there is no ranking whose calibration slope a test could "
                        "estimate"}
    out = calibration_slope_se(cate,
                               _slope_residual(inputs, eligible), n_total, w, inclusion)
    se = out["se"]
    z = float(stats.norm.isf(0.05))
    finite = math.isfinite(se) and se > 0
    return out | {
        "power_at_slope_1": float(stats.norm.sf(z - 1.0 / se)) if finite else 0.0,
        "slope_detectable_80": float((z + stats.norm.ppf(0.8)) * se) if finite else None,
        "test": "BLP slope > 0, one-sided 5%",
        "formula": "SE^2 = E[(S - Sbar)^2 e^2] / (N p (1 - p) Var(S)^2) over the enrolled "
                   "(S the predicted CATE, e the outcome's residual after the covariates, the "
                   "arm and the arm x S, from the analysis's data); kappa = E[S_c^2 e^2] / "
                   "(E[S_c^2] E[e^2]) is the heavy-tail factor over the textbook "
                   "2 sigma_e / (sd(S) sqrt(N)) of a 1:1 test"}


def _sizing_details(inputs: Inputs, sized: _Sized, notes: Notes) -> dict[str, Any]:
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
    check_request(request)
    fractions = _fractions(request)
    if fractions.size > 1 and request.arms > 1:
        raise InputError("group-sequential looks are supported with one treatment arm",
                         argument="looks")
    notes = Notes()
    inputs = resolve_inputs(request, notes)
    target = resolve_target(request, inputs, notes)
    sized = _enrol(request, inputs, target, _size(request, inputs, target, fractions, notes),
                   notes, float(fractions[0]))
    if sized.enrolment is not None:
        notes.details["enrolment"] = sized.enrolment
    strata, strata_sizes = _strata(request, inputs, target, sized, notes)
    _per_segment(request, inputs, target, sized, notes)
    phases = _phases(request, inputs, target, sized, strata, notes)
    validation = _validation(request, inputs, sized, strata,
                             phases[0].select_column if phases else None)
    if validation is not None:
        notes.details["validation"] = validation
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
        details=_sizing_details(inputs, sized, notes),
        policy_randomization=target.estimand.quantities.get("policy_randomization"))


def _unadjusted_sd(test: str, estimand: Estimand, sd: float, margin: float | None,
                   cost: float | None, r2: float | None) -> float:
    if not r2:
        return estimand.sd_effective
    if test == "policy" and estimand.quantities.get("policy_randomization") == TREAT_CONTROL:
        return estimand.sd_effective  # the treat/control estimate is not adjusted
    if test == "policy":
        q = estimand.quantities
        spread = (q["profit_spread_policy_disagreeing"]
                  + q["profit_spread_current_disagreeing"]) / 2
        return math.sqrt(q["share_disagree"] * ((margin or 0.0) ** 2 * sd**2 + spread))
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
        se = sizing_sd * math.sqrt(sized.design_effect * (1 / at_look[treatment_arms[0]]
                                                           + 1 / at_look["control"]))
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

