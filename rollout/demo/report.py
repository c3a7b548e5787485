"""``report.html`` of the demo: the loop's report, plus what only the demo knows.

The page is the one ``rollout report`` writes for the demo's results folder, design and
evaluation (:mod:`rollout.report.build`), with three additions that come from the demo run
itself: the study cohort's attrition, the assignment and the interim look, and the truth of the
simulated A/B return (the demo knows the effect it planted; a real test does not).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from rollout.io import read_table
from rollout.report import Report
from rollout.report.build import build_report as build_loop_report
from rollout.report.format import number
from rollout.report.html import Section
from rollout.report.inputs import load_inputs

TITLE = "rollout demo: from campaign history to a validated, staged rollout"


def _insert(report: Report, before: str, section: Section) -> None:
    """Put ``section`` before the section titled ``before`` (at the end when there is none)."""
    report.sections.remove(section)
    titles = [s.title for s in report.sections]
    report.sections.insert(titles.index(before) if before in titles else len(titles), section)


def _truth(report: Report, headline: dict[str, Any]) -> None:
    truth = headline.get("truth", {}).get("true_ate_tested")
    ev = headline.get("evaluation", {})
    if truth is None or "adjusted_estimate" not in ev:
        return
    covers = "covers" if ev.get("covers_truth") else "misses"
    report.sections[0].caveat(
        f"This A/B return is simulated from a world with a known effect: the true average "
        f"effect in the tested customers is {number(truth)}, and the test's 95% interval "
        f"{covers} it. A real test has no such check; that is why it is randomized.")


def _cohort(report: Report, folder: Path) -> None:
    sec = report.section("The study cohort")
    path = folder / "cohort.attrition.parquet"
    if path.exists():
        sec.table(read_table(path), caption="Attrition: customers at each step of the design, "
                                            "by arm.")
    _insert(report, report.sections[1].title, sec)


def _assignment_and_interim(report: Report, headline: dict[str, Any]) -> None:
    sec = report.section("Assignment and the interim look")
    counts = headline.get("assignment") or {}
    if counts:
        sec.table(pd.DataFrame({"arm": list(counts), "n": list(counts.values())}),
                  caption="Customers by role: the pilot list, the two test arms, and those "
                          "left out of the test.")
    interim = headline.get("interim") or {}
    if interim:
        sec.text(f"First look at information fraction {number(interim.get('information_fraction'))}"
                 f": z = {number(interim.get('z'))}, decision {interim.get('decision')}."
                 + (" The futility boundary is non-binding: a real test would usually stop "
                    "here; the demo runs on to the last look so the evaluation can be shown."
                    if interim.get("decision") == "stop_futility" else ""))
    _insert(report, "The evaluated test", sec)


def _evaluated_test(report: Report) -> Section:
    """The loop report's "The evaluated test" section (added at the end when it has none)."""
    titles = [s.title for s in report.sections]
    return (report.sections[titles.index("The evaluated test")] if "The evaluated test" in titles
            else report.section("The evaluated test"))


def _calibration_slope(report: Report, headline: dict[str, Any]) -> None:
    """What the test could say about the ranking: the calibration slope's planned power, the
    slope the simulated world implies, the observed slope and what it confirmed."""
    slope = headline.get("calibration_slope")
    if not slope or (slope.get("design_se") is None and not slope.get("note")):
        return
    sec = _evaluated_test(report)
    if slope.get("design_se") is None:
        sec.text(f"Calibration slope: not tested, {slope['note']}.")
        return
    ranking = slope.get("score", "deployed")
    ranked = ("the deployed CATE" if ranking == "deployed"
              else f"the declined model {ranking}'s predicted CATE")
    verdict = slope.get("verdict_power") or {}
    sec.text(
        f"Calibration slope (the experimental effect regressed on {ranked}; 1 = "
        f"calibrated): the design expected an SE of {number(slope['design_se'])}, power "
        f"{number(slope['power_at_slope_1'])} at a slope of 1, and 80% power from a slope of "
        f"{number(slope['slope_detectable_80'])}. The simulated world implies a slope of "
        f"{number(slope['world_slope'])}, at which the power to show a slope above 0 was "
        f"{number(slope['power_at_world_slope'])} and the power to reject a calibrated slope "
        f"of 1 was {number(slope.get('power_reject_calibrated_at_world_slope'))}. Observed: "
        f"{number(slope['slope'])} (SE {number(slope['slope_se'])}); the test "
        f"{slope['confirmed']}.")
    if verdict.get("verdict"):
        sec.text(f"The verdict this world calls for is that {verdict['verdict']}; the test "
                 f"had power {number(verdict.get('power'))} for it.")
    world, planned = slope.get("outcome_sd_returns"), slope.get("outcome_sd_design")
    if world and planned and slope["slope_se"] > 1.25 * slope["design_se"]:
        sec.text(f"The observed SE is larger than planned: the design measured the outcome's "
                 f"noise on the analysis data (SD {number(planned)}), and the simulated "
                 f"world's outcomes are noisier (SD {number(world)}, lognormal noise that grows "
                 "with spend). A real test's SE is as noisy as its returns.")


def _test_choice(report: Report, headline: dict[str, Any]) -> None:
    """Which test the demo ran, on which ranking, and why."""
    design = headline.get("design") or {}
    if not design.get("why"):
        return
    sec = _evaluated_test(report)
    ranking = design.get("score", "deployed")
    sec.text(f"The demo ran the {design.get('test')} test"
             + ("" if ranking == "deployed" else f" of the {ranking} ranking")
             + f". Why: {design['why']}.")


def build_report(folder: Path, headline: dict[str, Any]) -> Report:
    """Assemble the report from the files the demo wrote into ``folder``."""
    parts = [folder / name for name in ("results", "design.json", "evaluation")
             if (folder / name).exists()]
    report = build_loop_report(load_inputs(parts), title=TITLE, command="rollout demo")
    _truth(report, headline)
    _cohort(report, folder)
    _assignment_and_interim(report, headline)
    _test_choice(report, headline)
    _calibration_slope(report, headline)
    return report
