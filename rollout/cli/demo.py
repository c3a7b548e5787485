"""`rollout demo`: run the whole loop on the embedded Complete Journey data."""

from __future__ import annotations

import re

import click

from rollout import console
from rollout.cli.app import cli, force_option, handles_input_errors, json_option, seed_option


@cli.command()
@click.option("-o", "--output", default="rollout-demo", show_default=True, type=click.Path(),
              help="Folder to write every stage's files and report.html into (replaced whole; "
                   "an existing folder that is not a previous demo needs --force).")
@seed_option
@force_option
@json_option
@handles_input_errors
def demo(output: str, seed: int, force: bool, as_json: bool) -> None:
    """Run the whole loop on the embedded Complete Journey data and a simulated A/B return."""
    from rollout.io import check_output_folder

    check_output_folder(output, "demo", force=force)
    from rollout.demo import run_demo
    from rollout.demo.run import STAGES

    with console.progress() as bar:
        task = bar.add_task("demo", total=len(STAGES))

        def tick(stage: str) -> None:
            bar.update(task, description=stage, completed=STAGES.index(stage))

        result = run_demo(output, seed=seed, progress=tick)
    if as_json:
        console.emit_json(result.headline | {"folder": str(result.folder)})
        return
    h = result.headline
    console.show_table([
        {"stage": "cohort", "result": f"{h['cohort']['n']:,} customers "
                                      f"({h['cohort']['n_treated']:,} treated)"},
        {"stage": "analyze", "result": h["analysis"]["verdict"]},
        {"stage": "design", "result": ", ".join(f"{n:,} {arm}" for arm, n in
                                                h["design"]["n_per_arm"].items())
                                      + f"; MDE {h['design']['mde']:.1f} "
                                        f"({h['design']['mde_source']})"},
        {"stage": "assign", "result": ", ".join(f"{k} {v:,}" for k, v in h["assignment"].items())},
        {"stage": "interim (look 1)", "result": h["interim"]["decision"]
         + (" (non-binding; the demo runs on to the last look to show the evaluation)"
            if h["interim"]["decision"] == "stop_futility" else "")},
        *_evaluation_rows(h),
    ], title="rollout demo")
    console.say(f"Open {result.folder}/report.html")


def _short(text: str) -> str:
    """An inference label without its reference: the terminal line stays one line."""
    return re.sub(r" \([^)]*\)", "", text)


def _evaluation_rows(h: dict) -> list[dict[str, str]]:
    """Evaluate's lines: the test's own estimand first (what the recommendation rests on),
    then the average effect against the simulated truth, then the calibration verdict."""
    ev, test = h["evaluation"], h.get("evaluation_test") or {}
    rows = []
    if test.get("estimate") is not None:
        rows.append({"stage": f"evaluate ({test['test']} test)",
                     "result": f"{test['estimand']}: {test['estimate']:.2f} "
                               f"[{test['ci_low']:.2f}, {test['ci_high']:.2f}]"
                               + (f", {_short(test['inference'])}" if test.get("inference")
                                  else "")})
    rows.append({"stage": "evaluate (average effect)",
                 "result": f"{ev['adjusted_estimate']:.1f} [{ev['ci_low']:.1f}, "
                           f"{ev['ci_high']:.1f}] vs true {h['truth']['true_ate_tested']:.1f}"})
    if ev.get("calibration"):
        slope = h.get("calibration_slope") or {}
        verdict = slope.get("verdict_power") or {}
        ranking = (h.get("design") or {}).get("score", "deployed")
        text = str(ev["calibration"]) + ("" if ranking == "deployed" else f" ({ranking} ranking)")
        if verdict.get("power") is not None:
            text += f"; in this world {verdict['verdict']}, power {verdict['power']:.2f}"
        rows.append({"stage": "calibration", "result": text})
    return rows
