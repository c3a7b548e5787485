"""``report.html`` of the demo: every stage's own files, read back and laid out for a person."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from rollout.estimation.cate.figures import CATE_FIGURES
from rollout.estimation.figures import CORE_FIGURES
from rollout.estimation.results_folder import ResultsFolder
from rollout.policy.figures import PROFIT_FIGURES, SEGMENT_FIGURES
from rollout.report import Report, Section


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def _records(value: Any) -> pd.DataFrame | None:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return pd.DataFrame(value)
    return None


def _figures(section: Section, folder: Path, prefixes: tuple[str, ...] = ("",)) -> None:
    if folder.is_dir():
        for png in sorted(folder.glob("*.png")):
            if png.stem.startswith(prefixes):
                section.figure(png, caption=png.stem.replace("_", " "))


def _results_figures(section: Section, results: ResultsFolder | None,
                     names: Iterable[str]) -> None:
    """The analysis' figures among ``names``, in the order the analysis listed them."""
    wanted = set(names)
    for png in results.figures() if results is not None else []:
        if png.name in wanted:
            section.figure(png, caption=png.stem.replace("_", " "))


def _results(folder: Path) -> ResultsFolder | None:
    return ResultsFolder.open(folder) if folder.is_dir() else None


def _pick(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame[[c for c in columns if c in frame.columns]]


def _summary_section(report: Report, headline: dict[str, Any], design: dict[str, Any],
                     interim: dict[str, Any]) -> None:
    """Summary."""
    top = report.section("Summary")
    ev = headline.get("evaluation", {})
    top.verdict(
        f"Observational analysis: {headline.get('analysis', {}).get('verdict', '?')}. "
        f"The A/B test: {design.get('n_per_arm', {})} per arm at most, "
        f"{len(design.get('looks', []))} looks. First look: {interim.get('decision', '?')}. "
        f"Completed test, adjusted effect {ev.get('adjusted_estimate', float('nan')):.1f} "
        f"[{ev.get('ci_low', float('nan')):.1f}, {ev.get('ci_high', float('nan')):.1f}] against "
        f"a true {headline.get('truth', {}).get('true_ate_tested', float('nan')):.1f} in the "
        f"tested customers.")
    top.text("Each number below comes from the files in this folder: cohort.parquet, results/, "
             "design.json, assignment.parquet, returns.parquet, interim_look1.json and "
             "evaluation/. Every estimate carries its standard error and a 95% interval.")



def _cohort_section(report: Report, folder: Path) -> None:
    """1. The study cohort."""
    sec = report.section("1. The study cohort")
    attrition = pd.read_parquet(folder / "cohort.attrition.parquet") \
        if (folder / "cohort.attrition.parquet").exists() else None
    if attrition is not None:
        sec.table(attrition, caption="Attrition: customers at each step of the design, by arm.")



def _observational_section(report: Report, results: ResultsFolder | None) -> None:
    """2. Positivity and the average effect (observational)."""
    sec = report.section("2. Positivity and the average effect (observational)")
    positivity = results.section("positivity") if results else {}
    if positivity:
        sec.text(f"Propensity-score AUC {positivity.get('ps_auc', float('nan')):.3f}; share of "
                 f"customers with a propensity in [0.1, 0.9]: "
                 f"{positivity.get('overlap_share', {}).get('0.1-0.9', float('nan')):.1%}.")
    for key, caption in (("ate", "Average effects by method, each with its estimand."),
                         ("trimming", "Trimming sensitivity: each window is its own estimand.")):
        frame = _records(results.records(key) if results else None)
        if frame is not None:
            sec.table(_pick(frame, ["outcome", "method", "trim", "estimand", "estimate", "se",
                                    "ci_low", "ci_high", "n"]), caption=caption)
    for warning in (results.warnings if results else [])[:8]:
        sec.warning(str(warning))
    _results_figures(sec, results, CORE_FIGURES)



def _cate_section(report: Report, results: ResultsFolder | None) -> None:
    """3. Heterogeneous effects (CATE models)."""
    sec = report.section("3. Heterogeneous effects (CATE models)")
    models = _records(results.records("cate_models") if results else None)
    if models is not None:
        sec.table(_pick(models, ["outcome", "model", "mean", "sd", "share_positive", "r_loss",
                                 "blp_slope", "blp_p", "qini", "qini_ci_low", "qini_ci_high",
                                 "flagged", "selected"]),
                  caption="Validation on held-out customers with doubly robust scores.")
        for record in results.records("cate_selection") if results else []:
            sec.text(f"{record.get('outcome')}: {record.get('reason')}")
        regions = _records(results.records("cate_by_region") if results else None)
        if regions is not None:
            sec.table(regions, caption="CATE by propensity-score region: where effects are "
                                       "extrapolated.")
    _results_figures(sec, results, CATE_FIGURES)



def _policies_section(report: Report, results: ResultsFolder | None) -> None:
    """4. Targeting policies: predicted and honest value."""
    sec = report.section("4. Targeting policies: predicted and honest value")
    breakeven = results.section("breakeven") if results else {}
    if breakeven:
        sec.text(f"Cost per targeted customer {breakeven.get('cost', float('nan')):.2f} "
                 f"({breakeven.get('cost_method')}): {breakeven.get('cost_explanation', '')} "
                 f"Margin {breakeven.get('margin')}; breakeven CATE "
                 f"{breakeven.get('breakeven_cate', float('nan')):.2f}.")
        for part in breakeven.get("cost_parts") or []:
            interval = (f" (95% CI {part['ci_low']:.2f} to {part['ci_high']:.2f})"
                        if part.get("ci_low") is not None else "")
            sec.text(f"Cost part {part['part']}: {part['cost']:.2f}{interval}: {part['how']}")
    gate = results.section("targeting_gate") if results else {}
    if gate:
        sec.text(f"Targeting gate: {gate.get('status')}. {gate.get('recommendation', '')}")
    identification = results.section("policy_identification") if results else {}
    if identification:
        sec.text(f"Values are identified for {identification.get('identified_share', 0):.1%} of "
                 "customers (propensity in [0.1, 0.9]); the others are labelled "
                 "randomize_in_test.")
    policies = _records(results.records("policies") if results else None)
    if policies is not None:
        sec.table(_pick(policies, ["policy", "n_targeted", "share_targeted", "predicted_profit",
                                   "value", "value_ci_low", "value_ci_high", "trivial",
                                   "hypothesis"]),
                  caption="Predicted profit is the model's own view; value is the cross-fitted "
                          "doubly robust estimate on held-out customers inside the identified "
                          "propensity window, with a 95% CI.")
    _results_figures(sec, results, PROFIT_FIGURES)



def _segments_section(report: Report, results: ResultsFolder | None) -> None:
    """5. Segments."""
    sec = report.section("5. Segments")
    segments = _records(results.records("segments") if results else None)
    if segments is not None:
        sec.table(segments)
    _results_figures(sec, results, SEGMENT_FIGURES)



def _design_section(report: Report, design: dict[str, Any], headline: dict[str, Any]) -> None:
    """6. The A/B design."""
    sec = report.section("6. The A/B design")
    if design:
        sec.text(f"Test '{design.get('test')}' on {design.get('outcome')}: n per arm "
                 f"{design.get('n_per_arm')}, MDE {design.get('mde', float('nan')):.2f} "
                 f"({design.get('mde_source')}), SD {design.get('sd', float('nan')):.1f}, "
                 f"R^2 from pre-period covariates {design.get('r2')}, alpha "
                 f"{design.get('alpha')}, power {design.get('power')}.")
        breakeven = headline.get("design", {}).get("at_breakeven", {})
        if "mde" in breakeven:
            sec.text(f"Powered instead for the smallest effect that pays (the breakeven CATE, "
                     f"{breakeven['mde']:.2f}), the same test would need "
                     f"{breakeven['n_per_arm']} per arm.")
        looks = _records(design.get("looks"))
        if looks is not None:
            looks = looks.assign(n_per_arm=looks["n_per_arm"].map(
                lambda v: ", ".join(f"{k} {n:,}" for k, n in v.items())
                if isinstance(v, dict) else v))
            sec.table(_pick(looks, ["information_fraction", "n_per_arm", "efficacy_z",
                                    "futility_z", "harm_z", "alpha_spent", "efficacy_effect",
                                    "futility_effect", "harm_effect"]),
                      caption="Looks and boundaries (z scale and effect scale).")
        phases = _records(design.get("phases"))
        if phases is not None:
            sec.table(_pick(phases, ["phase", "name", "role", "n", "select_column",
                                     "predicted_profit", "rule", "description"]),
                      caption="The staged rollout plan (predicted profit is the model's own "
                              "view; the A/B test is what checks it).")



def _assignment_section(report: Report, headline: dict[str, Any]) -> None:
    """7. Assignment."""
    sec = report.section("7. Assignment")
    counts = pd.Series(headline.get("assignment", {}), name="customers").rename_axis("role")
    sec.table(counts.reset_index(), caption="Every customer has exactly one role.")



def _interim_section(report: Report, interim: dict[str, Any]) -> None:
    """8. Interim look 1."""
    sec = report.section("8. Interim look 1")
    if interim:
        sec.verdict(f"{interim['decision']}: {interim['reason']}")
        sec.table(pd.DataFrame([{k: interim[k] for k in (
            "z", "estimate", "se", "information_fraction", "efficacy_z", "futility_z", "harm_z")}]))



def _evaluation_section(report: Report, folder: Path, evaluation: dict[str, Any]) -> None:
    """9. Evaluation of the completed test."""
    sec = report.section("9. Evaluation of the completed test")
    frame = _records(evaluation.get("effect"))
    if frame is not None:
        sec.table(_pick(frame, ["method", "estimand", "estimate", "se", "ci_low", "ci_high", "n",
                                "se_type"]))
    srm = evaluation.get("srm", {})
    if srm:
        sec.text(srm.get("message", ""))
    calibration = evaluation.get("calibration")
    if calibration:
        sec.verdict(f"Calibration of the observational CATE: {calibration['verdict']} — "
                    f"{calibration['reason']}")
    re = evaluation.get("reestimation", {})
    if re:
        sec.text(f"Re-estimated on the test ({re.get('method')}): {re.get('n_targeted')} of "
                 f"{re.get('n_scored')} customers targeted by the rule {re.get('rule')}.")
    for warning in evaluation.get("warnings", []):
        sec.warning(str(warning))
    _figures(sec, folder / "evaluation" / "figures")


def build_report(folder: Path, headline: dict[str, Any]) -> Report:
    """Assemble the report from the files the demo wrote into ``folder``.

    The analysis' results are read through their owner (:class:`ResultsFolder`); the design,
    interim and evaluation files are read as their own plain JSON documents.
    """
    results = _results(folder / "results")
    design = _json(folder / "design.json")
    interim = _json(folder / "interim_look1.json")
    evaluation = _json(folder / "evaluation" / "summary.json")
    report = Report(
        "rollout demo: from campaign history to a validated, staged rollout",
        subtitle="The embedded Complete Journey data (campaign type A), and an A/B test whose "
                 "return is simulated on the same customers from a world with a known effect.")
    _summary_section(report, headline, design, interim)
    _cohort_section(report, folder)
    _observational_section(report, results)
    _cate_section(report, results)
    _policies_section(report, results)
    _segments_section(report, results)
    _design_section(report, design, headline)
    _assignment_section(report, headline)
    _interim_section(report, interim)
    _evaluation_section(report, folder, evaluation)
    return report
