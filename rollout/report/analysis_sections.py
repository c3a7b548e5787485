"""The sections of a report that come from a results folder (``rollout analyze``).

Every number is read through the folder's owner (:class:`rollout.estimation.results_folder.
ResultsFolder`), never re-derived; a part the analysis did not produce is a "not run" block with
the command that would produce it. Each section says in words what its numbers mean and puts the
caveat beside the number it qualifies.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rollout.estimation.results_folder import ResultsFolder
from rollout.report.format import estimate, interval, number, share
from rollout.report.html import Report, Section

#: Columns shown in the body; the appendix holds every column of every table.
ATE_COLUMNS = ["outcome", "method", "estimand", "estimate", "se", "ci_low", "ci_high", "n"]
TRIM_COLUMNS = ["outcome", "trim", "estimate", "se", "ci_low", "ci_high", "n"]
CATE_COLUMNS = ["outcome", "model", "flagged", "r_loss", "blp_slope", "blp_se", "blp_p", "auuc",
                "auuc_ci_low", "auuc_ci_high"]
POLICY_COLUMNS = ["policy", "share_targeted", "predicted_profit", "value", "value_ci_low",
                  "value_ci_high", "trivial", "hypothesis"]
SEGMENT_COLUMNS = ["segment", "n", "mean_cate", "ci_low", "ci_high", "action"]
GRID_COLUMNS = ["scenario", "cost", "margin", "breakeven", "share_targeted", "value"]

POLICY_LABELS = {"predicted_profit": "Predicted profit ($/customer)",
                 "value": "Honest profit ($/customer)", "value_ci_low": "95% CI low",
                 "value_ci_high": "95% CI high", "trivial": "Trivial list",
                 "hypothesis": "Hypothesis only"}
SEGMENT_LABELS = {"mean_cate": "DR effect ($/customer)"}
CATE_LABELS = {"blp_se": "BLP slope SE", "blp_p": "BLP p-value", "flagged": "Unstable",
               "auuc_ci_low": "AUUC 95% CI low", "auuc_ci_high": "AUUC 95% CI high"}

ANALYZE = "rollout analyze COHORT -o results"


def _pick(frame: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame | None:
    if frame is None or frame.empty:
        return None
    return frame[[c for c in columns if c in frame.columns]]


def _figure(section: Section, results: ResultsFolder, stem: str, caption: str) -> None:
    """Embed the analysis' figure ``<stem>.png`` when it wrote one (as listed, not guessed)."""
    for path in results.figures():
        if Path(path).stem == stem:
            section.figure(path, caption=caption, alt=caption)
            return


def primary_outcome(results: ResultsFolder) -> str | None:
    outcomes = results.outcomes
    return outcomes[0] if outcomes else None


def positivity(report: Report, results: ResultsFolder) -> None:
    sec = report.section("Positivity: could the campaign have gone either way?")
    pos = results.section("positivity")
    if not pos:
        sec.not_run("the positivity check", ANALYZE)
        return
    auc, ci = pos.get("ps_auc"), pos.get("ps_auc_ci") or [None, None]
    overlap = (pos.get("overlap_share") or {}).get("0.1-0.9")
    sec.text(f"A model predicts who was treated from the covariates with an AUC of "
             f"{number(auc)} [{number(ci[0])}, {number(ci[1])}] (0.5 = a coin flip, 1 = "
             f"perfectly predictable); {share(overlap)} of customers have a propensity in "
             "[0.1, 0.9], the region where treated and untreated customers are alike.")
    if pos.get("violated"):
        sec.caveat("Positivity is violated: effects for the whole population extrapolate "
                   "beyond the data. Read the trimmed and overlap-weighted estimates, and "
                   "confirm with a randomized test.")
    regions = pos.get("region_counts") or {}
    if regions:
        sec.table(pd.DataFrame({"ps_region": list(regions), "n": list(regions.values())}),
                  caption="Customers by propensity region.")
    _figure(sec, results, "ps_histogram", "Propensity score by arm; dashed lines at 0.1 and 0.9.")
    _figure(sec, results, "love_plot", "Covariate balance before and after weighting (|SMD|).")


def average_effect(report: Report, results: ResultsFolder) -> None:
    sec = report.section("The average effect (observational)")
    outcome = primary_outcome(results)
    rec = results.recommended(outcome) if outcome else None
    if rec is None:
        sec.not_run("the average effect", ANALYZE)
        return
    sec.text(f"Recommended estimate of the effect on {outcome}: {rec.get('method')} "
             f"({rec.get('estimand')}), {estimate(rec['estimate'], rec.get('se'))} "
             f"{interval(rec['ci_low'], rec['ci_high'], rec.get('se'))} per customer over "
             f"the outcome window, n = {number(rec.get('n'))}.")
    rule = results.document.get("recommendation_rule")
    if rule:
        sec.caveat(f"Why this estimate: {rule}")
    ate = _pick(results.table("ate"), ATE_COLUMNS)
    if ate is not None:
        sec.table(ate, caption="Average effects by method; each has its own estimand, so they "
                               "need not agree where overlap is poor ($ per customer).")
    trim = _pick(results.table("trimming"), TRIM_COLUMNS)
    if trim is not None:
        sec.table(trim, caption="Trimming sensitivity: each propensity window is its own "
                                "population.")
    _figure(sec, results, "effects_by_method", "Effect by method with 95% intervals.")


def heterogeneity(report: Report, results: ResultsFolder) -> None:
    sec = report.section("Heterogeneous effects and their validation")
    models = _pick(results.table("cate_models"), CATE_COLUMNS)
    if models is None:
        sec.not_run("CATE models", ANALYZE)
        return
    for record in results.records("cate_selection"):
        sec.text(f"Selected for {record.get('outcome')}: {record.get('selected')} "
                 f"({record.get('reason') or record.get('rule')}).")
    sec.table(models, labels=CATE_LABELS,
              caption="CATE models scored on held-out customers: a BLP slope near 1 with a "
                      "small p-value means the ranking carries real heterogeneity.")
    for warning in results.warnings:
        if warning.startswith("CATE"):
            sec.caveat(warning)
    _figure(sec, results, "cate_uplift", "Uplift (AUUC) and Qini curves on held-out customers.")


def policies(report: Report, results: ResultsFolder) -> None:
    sec = report.section("Whom to target: predicted beside honest profit")
    table = _pick(results.table("policies"), POLICY_COLUMNS)
    if table is None:
        sec.not_run("targeting policies (they need a cost or margin)",
                    "rollout analyze COHORT -o results --cost 2.5 --margin 0.3")
        return
    if results.has_breakeven():
        be = results.breakeven()
        sec.text(f"Target a customer when margin x CATE > cost: cost {number(be.cost)} / "
                 f"margin {number(be.margin)} = a breakeven effect of "
                 f"{number(be.breakeven_cate)} per customer.")
        _cost_parts(sec, results)
    _gate_and_identification(sec, results)
    sec.text("Predicted profit is what the model believes; the honest profit is a doubly robust "
             "estimate on customers the model never saw, with its 95% interval. Act on the "
             "honest column.")
    sec.table(table, labels=POLICY_LABELS, caption="Profit per customer over the window, "
                                                    "against targeting nobody.")
    _figure(sec, results, "policy_profit_curves", "Profit by share targeted.")


def _cost_parts(sec: Section, results: ResultsFolder) -> None:
    """Each part of the campaign cost with its interval, the assumption beside the number."""
    for part in results.section("breakeven").get("cost_parts") or []:
        low, high = part.get("ci_low"), part.get("ci_high")
        shown = (f"{estimate(part['cost'], part.get('se'))} {interval(low, high, part.get('se'))}"
                 if low is not None and high is not None else number(part.get("cost")))
        text = (f"Cost part '{part.get('part')}': {shown} per targeted household "
                f"({part.get('how')}).")
        (sec.caveat if part.get("assumed") else sec.text)(text)


def _gate_and_identification(sec: Section, results: ResultsFolder) -> None:
    gate = results.section("targeting_gate")
    if gate:
        text = f"Targeting gate: {gate.get('status')}. {gate.get('recommendation', '')}"
        (sec.warning if gate.get("lists_are_hypotheses") else sec.text)(text)
    identification = results.section("policy_identification")
    if identification:
        sec.caveat(f"Honest values are identified for "
                   f"{share(identification.get('identified_share'))} of customers (propensity "
                   f"in [0.1, 0.9]); the others are labelled randomize_in_test: the test, not "
                   "the history, must say what they are worth.")


def segments(report: Report, results: ResultsFolder) -> None:
    sec = report.section("Segments")
    table = _pick(results.table("segments"), SEGMENT_COLUMNS)
    if table is None:
        sec.not_run("segments", "rollout analyze COHORT -o results --segments 4")
        return
    sec.table(table, labels=SEGMENT_LABELS, caption="Each segment's doubly robust effect and "
                                                    "the action it suggests.")
    _figure(sec, results, "segment_cate", "Effect by segment.")


def breakeven_grid(report: Report, results: ResultsFolder) -> None:
    sec = report.section("Breakeven grid: how the list moves with cost and margin")
    table = _pick(results.table("breakeven_grid"), GRID_COLUMNS)
    if table is None:
        sec.not_run("the breakeven grid", "rollout analyze COHORT -o results --cost 2.5 "
                                          "--margin 0.3")
        return
    sec.table(table, labels={"value": "Honest profit ($/customer)"},
              caption="Each scenario's breakeven, list size and honest profit.")
    _figure(sec, results, "breakeven_grid", "Share targeted across cost and margin.")


def appendix(report: Report, results: ResultsFolder) -> None:
    sec = report.section("Appendix: the analysis' full tables", appendix=True)
    for name in ("assumptions", "ate", "trimming", "manski_bounds", "evalue", "smd",
                 "cate_models", "cate_by_region", "policies", "policy_differences", "segments"):
        table = results.table(name)
        if table is not None and not table.empty:
            sec.table(table, caption=f"tables/{name}.parquet", max_rows=40)


SECTIONS = (positivity, average_effect, heterogeneity, policies, segments, breakeven_grid)
