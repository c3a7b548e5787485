"""One report from any results folders, designs and evaluations given, in the loop's order.

:func:`build_report` lays the page out for three readers, after the original analysis: the key
numbers and the recommendation first (30 seconds), then each stage with its hero figure and the
caveat beside the number it qualifies (5 minutes), then an appendix with the full tables (30
minutes). A stage not given is shown as "not run" with the command that would produce it.
:func:`write_report` writes the page, its Markdown twin and the twin's figures as one set.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from rollout.estimation.results_folder import ResultsFolder
from rollout.evaluation.evaluate import EvaluationFolder
from rollout.io import output_set, write_bytes, write_text
from rollout.planning.design import Design
from rollout.report import ab_sections, analysis_sections
from rollout.report.format import estimate, interval, number, share
from rollout.report.html import Report, Section


@dataclass(frozen=True)
class Inputs:
    """What a report is made from; any part may be missing."""

    results: ResultsFolder | None = None
    design: Design | None = None
    evaluation: EvaluationFolder | None = None
    files: tuple[Path, ...] = ()


def _results_numbers(results: ResultsFolder) -> list[tuple[str, str, str]]:
    rows = []
    pos = results.section("positivity")
    if pos:
        rows.append(("Propensity AUC", number(pos.get("ps_auc")),
                     "how predictable treatment was (0.5 coin flip, above 0.9 poor overlap)"))
        rows.append(("Customers in overlap", share((pos.get("overlap_share") or {}).get("0.1-0.9")),
                     "share with a propensity in [0.1, 0.9]"))
    outcome = analysis_sections.primary_outcome(results)
    rec = results.recommended(outcome) if outcome else None
    if rec:
        rows.append((f"Effect on {outcome}", f"{estimate(rec['estimate'], rec.get('se'))} "
                     f"{interval(rec['ci_low'], rec['ci_high'], rec.get('se'))}",
                     f"$ per customer, {rec.get('method')}, 95% interval"))
    if results.verdict:
        rows.append(("Verdict", str(results.verdict), "confirmatory, or a hypothesis to test"))
    if results.has_breakeven():
        rows.append(("Breakeven effect", number(results.breakeven().breakeven_cate),
                     "target a customer whose effect exceeds cost / margin"))
    return rows


def key_numbers(inputs: Inputs) -> list[tuple[str, str, str]]:
    """The few numbers a manager reads first, each with what it means."""
    rows = _results_numbers(inputs.results) if inputs.results is not None else []
    if inputs.design is not None:
        d = inputs.design
        rows.append(("Test size", ab_sections.arms_text(d.n_per_arm), f"customers per arm, "
                     f"{len(d.looks)} look(s)"))
        rows.append(("Detectable effect", number(d.mde), f"with power {share(d.power, 0)}"))
    estimand, eff = _tested(inputs)
    if estimand:  # what the decision rests on: the test's estimand with its own inference
        rows.append((f"Tested {estimand.get('test', 'ate')} estimand",
                     f"{estimate(estimand['estimate'], estimand.get('se'))} "
                     f"{interval(estimand['ci_low'], estimand['ci_high'], estimand.get('se'))}",
                     f"{estimand.get('estimand')}, 95% interval"
                     + (f" ({estimand['inference']})" if estimand.get("inference") else "")
                     + "; the recommendation rests on it"))
    if eff:
        rows.append(("Tested effect", f"{estimate(eff['estimate'], eff['se'])} "
                     f"{interval(eff['ci_low'], eff['ci_high'], eff['se'])}",
                     "$ per customer among the tested customers (fixed-sample, unweighted), "
                     "95% interval"))
    return rows


def _tested(inputs: Inputs) -> tuple[dict | None, dict | None]:
    """The test's own estimand and the average effect in the test, from the evaluation."""
    ev = inputs.evaluation
    if ev is None:
        return None, None
    return ev.test_estimand, ev.effect("adjusted") or ev.effect("difference_in_means")


def _after_the_test(inputs: Inputs) -> tuple[str, list[str]]:
    estimand, effect = _tested(inputs)
    record = estimand or effect or {}
    test = (estimand or {}).get("test", "ate")
    if not record:
        return "The evaluation holds no estimate to act on.", []
    shown = interval(record["ci_low"], record["ci_high"], record.get("se"))
    why = [f"the {test} test's 95% interval {shown} "
           f"{'excludes' if record['ci_low'] > 0 else 'includes or lies below'} zero"]
    if test == "ate":
        if record["ci_low"] > 0:
            return ("The randomized test confirms a positive effect: expand the campaign "
                    "following the new target list.", why)
        return "The randomized test does not confirm an effect: do not expand yet.", why
    if effect:
        why.append(f"the average effect in the test is {estimate(effect['estimate'], effect['se'])}"
                   f" {interval(effect['ci_low'], effect['ci_high'], effect['se'])}")
    if record["ci_low"] > 0:
        return (f"The randomized test confirms the targeting ({record.get('estimand')}): roll "
                "out to the model's list.", why)
    return (f"The randomized test does not confirm the targeting ({record.get('estimand')}): "
            "do not target by the model's ranking; decide on the average effect instead.", why)


def recommendation(inputs: Inputs) -> tuple[str, list[str]]:
    """What to do next, in plain words, and the reasons for it."""
    if inputs.evaluation is not None:
        return _after_the_test(inputs)
    reasons = []
    if inputs.results is not None:
        reasons = [str(r) for r in inputs.results.section("verdict").get("reasons") or []]
        gate = inputs.results.section("targeting_gate")
        if gate.get("lists_are_hypotheses"):
            fallback = (gate.get("fallback") or {}).get("decision")
            reasons.append("the model's heterogeneity is not shown, so its target lists are "
                           "hypotheses" + (f"; what the data support: {fallback}"
                                           if fallback else ""))
    if inputs.design is not None:
        d = inputs.design
        return (f"Run the {d.test} test as designed: {ab_sections.arms_text(d.n_per_arm)} "
                f"customers, {len(d.looks)} look(s), then evaluate.", reasons)
    if inputs.results is not None and inputs.results.verdict == "confirmatory":
        return ("The observational evidence is strong enough to act on; a randomized test "
                "would still measure the effect without assumptions.", reasons)
    if inputs.results is not None:
        return ("Do not roll out on this analysis alone: treat its targeting as a hypothesis "
                "and confirm it with a randomized test (rollout design).", reasons)
    return ("Nothing to recommend yet: give a results folder, a design or an evaluation.", [])


def _summary(report: Report, inputs: Inputs) -> None:
    sec: Section = report.section("Summary: key numbers and what to do next")
    text, reasons = recommendation(inputs)
    sec.verdict(text)
    for reason in reasons:
        sec.caveat(f"Because {reason}.")
    rows = key_numbers(inputs)
    if rows:
        sec.key_numbers(rows)


def _provenance(inputs: Inputs, command: str | None) -> list[tuple[str, str]]:
    from rollout import __version__

    made = [("rollout", __version__)]
    if command:
        made.append(("command", command))
    if inputs.results is not None:
        made.append(("analysis seed", str(inputs.results.options.get("seed"))))
    if inputs.design is not None:
        made.append(("design seed", str(inputs.design.seed)))
    for path in inputs.files:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        made.append((f"sha256 of {Path(path).name}", digest))
    return made


def build_report(inputs: Inputs, title: str | None = None, command: str | None = None) -> Report:
    """The whole page for ``inputs``: summary, each stage (or "not run"), appendix."""
    report = Report(title or "rollout report: from campaign history to a validated rollout",
                    subtitle="Every number below is read from the files given; every estimate "
                             "carries a 95% interval.",
                    provenance=_provenance(inputs, command))
    _summary(report, inputs)
    if inputs.results is not None:
        for section in analysis_sections.SECTIONS:
            section(report, inputs.results)
    else:
        report.section("The observational analysis").not_run(
            "the observational analysis", analysis_sections.ANALYZE)
    ab_sections.design_section(report, inputs.design)
    ab_sections.evaluation_section(report, inputs.evaluation)
    if inputs.results is not None:
        analysis_sections.appendix(report, inputs.results)
    return report


def write_report(report: Report, path: str | Path) -> Path:
    """Write ``path`` (HTML), its Markdown twin (``.md``) and the twin's figures, as one set."""
    path = Path(path)
    folder = f"{path.stem}_files"
    markdown, files = report.markdown(folder)
    with output_set(path):
        for name, data in sorted(files.items()):
            write_bytes(path.parent / folder / name, data)
        write_text(path.with_suffix(".md"), markdown)
        report.write(path)
    return path


#: The page each folder-writing command leaves in its output (with ``report.md`` beside it).
REPORT_NAME = "report.html"


def report_for(results: ResultsFolder | None = None, design: Design | None = None,
               evaluation: EvaluationFolder | None = None,
               command: str | None = None) -> Report:
    """The report of one command's output and the inputs it was made from."""
    files = []
    if results is not None:
        files.append(results.summary_path)
    if evaluation is not None:
        files.append(evaluation.summary_path)
    return build_report(Inputs(results=results, design=design, evaluation=evaluation,
                               files=tuple(files)), command=command)
