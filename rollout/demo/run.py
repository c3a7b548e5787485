"""The demo pipeline: each stage calls the same API its command calls and writes its files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from rollout.analysis import analyze, write_results
from rollout.common.display import DisplayMixin
from rollout.data import build_cohort
from rollout.data.contract import Cohort
from rollout.errors import InputError
from rollout.estimation.results_folder import ResultsFolder
from rollout.evaluation.evaluate import evaluate, write_evaluation
from rollout.evaluation.interim import interim_decision
from rollout.evaluation.returned import load_returned
from rollout.io import atomic_directory, read_table, write_json, write_parquet
from rollout.planning.assignment import Assignment, assign_customers, write_assignment
from rollout.planning.design import Design, save_design
from rollout.planning.enrolment import RANDOMIZE_IN_TEST, weighted_mean
from rollout.planning.plan import DesignRequest, plan_design
from rollout.planning.score import HYPOTHESIS, ScoreChoice, apply_score, declined_model
from rollout.simulation import load_scenario, simulate_returns, simulate_world
from rollout.simulation.returns import ABReturns

#: The demo's test: three looks, O'Brien-Fleming efficacy, non-binding futility.
DEMO_LOOKS = 3
#: The demo's test: the one that validates the targeting, not only the average effect.
DEMO_TEST = "heterogeneity"
WHY = {
    "heterogeneity": "validates the targeting: randomizes customers across the whole "
                     "predicted-CATE range and is powered for the responder contrast; it also "
                     "gives the ATE and the calibration slope of the observational CATE",
    "ate": "no CATE model in the results: only the average effect can be tested",
    "ate_constant": "the analysis deployed one effect for everyone (no model beat the average "
                    "on held-out customers), so there is no ranking to validate: the test "
                    "confirms the average effect the campaign decision rests on",
    "hypothesis": "the analysis deployed one effect for everyone because heterogeneity was not "
                  "shown, so its lists are hypotheses: the test validates the ranking it "
                  "declined ({model}, the lowest out-of-sample R-loss), enrolling customers across "
                  "its whole predicted-CATE range; it is powered for that ranking's responder "
                  "contrast and also gives the ATE and the ranking's calibration slope",
}
STAGES = ("cohort", "analyze", "design", "assign", "simulate", "interim", "evaluate", "report")


@dataclass
class DemoResult(DisplayMixin):
    """Where the demo wrote its files and the headline of each stage."""

    folder: Path
    headline: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"folder": str(self.folder), **self.headline}

    def to_pandas(self) -> pd.DataFrame:
        """The headline numbers, one column per dotted key (``evaluation.ci_low``, ...)."""
        return pd.json_normalize(self.headline, sep=".")


def world_file() -> Path:
    """The bundled scenario of the demo's A/B return."""
    return Path(str(resources.files("rollout.demo").joinpath("ab_world.toml")))


def _first_look_sample(returns: pd.DataFrame, fraction: float, seed: int) -> pd.DataFrame:
    """The customers whose outcomes are in at the first look: a random share of each arm."""
    rng = np.random.default_rng([seed, 1])
    keep = np.zeros(len(returns), dtype=bool)
    for _, idx in returns.groupby("arm", sort=True).indices.items():
        chosen = rng.choice(idx, size=round(len(idx) * fraction), replace=False)
        keep[chosen] = True
    return returns[keep].reset_index(drop=True)


def run_demo(output: str | Path, seed: int = 0,
             progress: Callable[[str], None] | None = None) -> DemoResult:
    """Run every stage into ``output`` (replaced atomically) and return the headline numbers."""
    from rollout.demo.report import build_report
    from rollout.report.build import write_report

    tick = progress or (lambda stage: None)
    output = Path(output)
    headline: dict[str, Any] = {"seed": seed}
    with atomic_directory(output) as tmp:
        tick("cohort")
        cohort = _cohort_stage(tmp, headline)

        tick("analyze")
        result = analyze(cohort, seed=seed)
        results = write_results(result, tmp / "results")
        headline["analysis"] = {"verdict": result.verdict}

        tick("design")
        design = _design_stage(tmp, seed, headline)

        tick("assign")
        customers = results.customers()
        assignment = assign_customers(customers, design, salt=f"demo-{seed}",
                                      source=results.customers_path)
        write_assignment(assignment, tmp / "assignment.parquet", csv_dir=tmp / "lists")
        headline["assignment"] = assignment.table["arm"].value_counts().sort_index().to_dict()

        tick("simulate")
        returns = _simulate_stage(tmp, assignment, seed, headline)
        truth = returns.to_dict()

        tick("interim")
        _interim_stage(tmp, design, returns, seed, headline)

        tick("evaluate")
        _evaluate_stage(tmp, design, has_cate="cate" in customers.columns, truth=truth,
                        seed=seed, headline=headline, assignment=assignment, returns=returns)

        tick("report")
        write_report(build_report(tmp, headline), tmp / "report.html")
        write_json(tmp / "demo.json", headline)
    return DemoResult(folder=output, headline=headline)


def _cohort_stage(tmp: Path, headline: dict[str, Any]) -> Cohort:
    """The embedded data's cohort, written as ``cohort.parquet``."""
    build = build_cohort("completejourney")
    build.save(tmp / "cohort.parquet")
    cohort = build.cohort
    cohort.source = "cohort.parquet"  # recorded relative: the folder is moved into place
    headline["cohort"] = {"n": cohort.n, "n_treated": cohort.n_treated,
                          "n_control": cohort.n_control}
    return cohort


def _design_stage(tmp: Path, seed: int, headline: dict[str, Any]) -> Design:
    """The demo's test, written as ``design.json``, and what one sized at breakeven would be."""
    # The test that can validate the targeting: a heterogeneity test enrols customers across
    # the whole range of predicted CATE (pilot customers drawn at the same rate) and is
    # powered for the predicted responders-minus-non-responders contrast; it also identifies
    # the ATE and the calibration slope. Without a CATE (the analysis could not fit one), the
    # ATE test powered for the overlap-region effect is what remains.
    customers = read_table(tmp / "results" / "customers.parquet")
    has_cate_model = "cate" in customers.columns
    ranked = has_cate_model and customers["target_breakeven"].nunique() > 1 \
        if "target_breakeven" in customers.columns else False
    folder = ResultsFolder.open(tmp / "results")
    declined = (None if ranked or not has_cate_model
                else declined_model(folder.document, folder.outcomes[0]))
    test = DEMO_TEST if ranked or declined else "ate"
    design = plan_design(DesignRequest(results=tmp / "results", test=test, looks=DEMO_LOOKS,
                                       seed=seed, score=HYPOTHESIS if declined else None,
                                       mde_from=None if test != "ate" else "overlap"))
    # recorded relative to design.json: the folder is assembled elsewhere and moved
    design.details["results"] = "results"
    save_design(tmp / "design.json", design)
    validation = design.details.get("validation") or {}
    why = ("hypothesis" if declined else design.test if ranked or not has_cate_model
           else "ate_constant")
    headline["design"] = {"n_per_arm": design.n_per_arm, "mde": design.mde,
                          "mde_source": design.mde_source, "test": design.test,
                          "score": declined or "deployed",
                          "why": WHY[why].format(model=declined),
                          "calibration_slope_power": (validation.get("calibration_slope")
                                                      or {}).get("power_at_slope_1")}
    try:
        at_breakeven = plan_design(DesignRequest(results=tmp / "results", looks=DEMO_LOOKS,
                                                 seed=seed, mde_from="breakeven"))
        headline["design"]["at_breakeven"] = {"mde": at_breakeven.mde,
                                              "n_per_arm": at_breakeven.n_per_arm}
    except InputError as exc:  # no cost in the results: nothing to compare with
        headline["design"]["at_breakeven"] = {"unavailable": str(exc)}
    return design


def _simulate_stage(tmp: Path, assignment: Assignment, seed: int,
                    headline: dict[str, Any]) -> ABReturns:
    """The A/B return of the assigned customers in the demo's world, with its truth."""
    scenario = load_scenario(world_file(), cohort=tmp / "cohort.parquet")
    world = simulate_world(scenario, seed=seed)
    returns = simulate_returns(scenario, assignment.table[["customer_id", "arm"]],
                               seed=seed, world=world)
    write_parquet(tmp / "returns.parquet", returns.data, metadata=returns.metadata())
    write_parquet(tmp / "returns_truth.parquet", returns.truth)
    headline["truth"] = {"true_ate_tested": returns.to_dict()["true_ate"]}
    return returns


def _interim_stage(tmp: Path, design: Design, returns: ABReturns, seed: int,
                   headline: dict[str, Any]) -> None:
    """The decision at the first look, on the share of customers whose outcomes are in."""
    first = float(design.looks[0].information_fraction)
    look_data = _first_look_sample(returns.data, first, seed)
    write_parquet(tmp / "returns_look1.parquet", look_data, metadata=returns.metadata())
    data_look1 = load_returned(tmp / "returns_look1.parquet", design,
                               join=[tmp / "assignment.parquet"])
    decision = interim_decision(design, data_look1, look=1)
    write_json(tmp / "interim_look1.json", decision.to_dict())
    headline["interim"] = {"decision": decision.decision, "z": decision.z,
                           "information_fraction": decision.information_fraction}


def _true_contrast(design: Design, assignment: Assignment, returns: ABReturns) -> float | None:
    """The responder contrast of the tested customers' true effects, each enrolment group
    weighted by its population as the test's estimate weights it."""
    columns = ["customer_id", "responder"] + (
        [RANDOMIZE_IN_TEST] if RANDOMIZE_IN_TEST in assignment.table.columns else [])
    tested = returns.truth.merge(assignment.table[columns], on="customer_id")
    r = tested["responder"].to_numpy() == 1
    if not (r.any() and (~r).any()):
        return None
    cate = tested["true_cate"].to_numpy()
    record = design.details.get("enrolment")
    group = (tested[RANDOMIZE_IN_TEST].to_numpy() if RANDOMIZE_IN_TEST in tested
             else np.zeros(len(tested), dtype=int))
    means = []
    for side in (True, False):
        counts = None
        if record is not None:
            counts = {int(g["value"]): int(g["population_responders"] if side
                                           else g["population"] - g["population_responders"])
                      for g in record["groups"]}
        m = r == side
        means.append(weighted_mean(cate[m], group[m], record, counts))
    return float(means[0] - means[1])


def _slope_headline(tmp: Path, design: Design, calibration: dict[str, Any],
                    returns: ABReturns) -> dict[str, Any]:
    """The calibration slope: the design's SE and power, the slope the demo's world implies
    (the true effects regressed on the predicted CATE over the tested customers) and the power
    at it, the observed slope, and what the test could and could not confirm."""
    planned = (design.details.get("validation") or {}).get("calibration_slope") or {}
    if planned.get("se") is None:  # a constant CATE: no ranking, no slope to speak of
        return {"design_se": None, "note": planned.get("note")}
    blp = calibration["blp"]
    if blp.get("slope") is None:  # the evaluated score has no spread
        return {"design_se": planned.get("se"), "note": calibration.get("reason")}
    score = ScoreChoice.of_details(design.details)
    scores = apply_score(read_table(tmp / "results" / "customers.parquet"), score)
    tested = returns.truth.merge(scores[["customer_id", "cate"]], on="customer_id")
    s, tau = tested["cate"].to_numpy(dtype=float), tested["true_cate"].to_numpy(dtype=float)
    world = float(np.cov(tau, s)[0, 1] / np.var(s, ddof=1))
    se = planned.get("se")
    power = (float(stats.norm.sf(stats.norm.isf(0.05) - world / se)) if se else None)
    # the power to reject a calibrated slope of 1 (two-sided 5%) when the world's slope holds
    power_reject_1 = (float(stats.norm.sf(stats.norm.isf(0.025) - abs(world - 1.0) / se)
                            + stats.norm.cdf(-stats.norm.isf(0.025) - abs(world - 1.0) / se))
                      if se else None)
    shown = blp["p_value_slope_zero"] < 0.05
    calibrated = blp["p_value_slope_one"] >= 0.05
    confirmed = (("confirmed that the ranking carries information (slope > 0, one-sided 5%)"
                  if shown else "could not show that the ranking carries information (slope "
                                "> 0 not significant)")
                 + ("; it could not reject a calibrated slope of 1" if calibrated
                    else "; it rejects a calibrated slope of 1"))
    return {"design_se": se, "power_at_slope_1": planned.get("power_at_slope_1"),
            "slope_detectable_80": planned.get("slope_detectable_80"),
            "score": score.model if score is not None else "deployed",
            "world_slope": world, "power_at_world_slope": power,
            "power_reject_calibrated_at_world_slope": power_reject_1,
            "verdict_power": _verdict_power(world, power, power_reject_1),
            "slope": blp["slope"],
            "slope_se": blp["slope_se"], "confirmed": confirmed,
            "outcome_sd_design": design.sd,
            "outcome_sd_returns": float(returns.data[design.outcome or ""].std(ddof=1))
            if design.outcome in returns.data else None}


def _verdict_power(world: float, power_positive: float | None,
                   power_reject_1: float | None) -> dict[str, Any]:
    """The power behind the calibration verdict the world calls for: to show a slope above 0
    when the world's ranking is informative (slope at least 0.5), else to reject a calibrated
    slope of 1 (the verdict that the ranking is not what it claims)."""
    if world >= 0.5:
        return {"verdict": "the ranking carries information (slope > 0)",
                "power": power_positive}
    return {"verdict": "the ranking is not calibrated (slope 1 rejected)", "power": power_reject_1}


def _evaluate_stage(tmp: Path, design: Design, *, has_cate: bool, truth: dict[str, Any],
                    seed: int, headline: dict[str, Any], assignment: Assignment,
                    returns: ABReturns) -> None:
    """The evaluation of the whole return, written as ``evaluation/``."""
    data = load_returned(tmp / "returns.parquet", design, join=[tmp / "assignment.parquet"])
    evaluation = evaluate(design, data, results=tmp / "results" if has_cate else None,
                          seed=seed)
    write_evaluation(evaluation, tmp / "evaluation")
    primary = next((e for e in evaluation.effects if e.method == "adjusted"),
                   evaluation.effects[0])
    head = evaluation.headline
    headline["evaluation_test"] = {
        "test": head["test"], "estimand": head["estimand"], "estimate": head["estimate"],
        "ci_low": head["ci_low"], "ci_high": head["ci_high"],
        "significant": head["significant"], "inference": head["inference"]}
    if design.test == "heterogeneity" and "responder" in assignment.table.columns:
        headline["evaluation_test"]["true_contrast_tested"] = _true_contrast(
            design, assignment, returns)
    if evaluation.calibration is not None:
        headline["calibration_slope"] = _slope_headline(tmp, design, evaluation.calibration,
                                                        returns)
    headline["evaluation"] = {
        "adjusted_estimate": primary.estimate, "ci_low": primary.ci_low,
        "ci_high": primary.ci_high,
        "covers_truth": primary.ci_low <= truth["true_ate"] <= primary.ci_high,
        "calibration": (evaluation.calibration or {}).get("verdict"),
    }
