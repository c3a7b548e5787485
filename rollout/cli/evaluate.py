"""`rollout evaluate`: post-test analysis and re-estimation."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from rollout import console
from rollout.cli._returned import read_returned, returned_data_options
from rollout.cli.app import (
    EXIT_BAD_INPUT,
    cli,
    force_option,
    handles_input_errors,
    json_option,
    seed_option,
)


@cli.command()
@returned_data_options
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Folder for summary.json, tables, figures and the phase-3 target list.")
@click.option("--results", type=click.Path(), default=None,
              help="Observational results folder: calibrate its CATE and policy on the test.")
@click.option("--customers", type=click.Path(), default=None,
              help="Further customers (with the same covariates) to score for the phase-3 list.")
@click.option("--look", "stopped_at_look", type=int, default=None,
              help="The look at which the test stopped (default: the last); stage-wise "
                   "adjusted inference is reported whenever the design has several looks.")
@click.option("--previous-fractions", default=None,
              help="Comma-separated information fractions actually reached at earlier looks.")
@click.option("--record", "record", type=click.Path(), default=None,
              help="Looks record written by `interim --record`: the earlier looks' fractions.")
@click.option("--groups", type=int, default=5, show_default=True,
              help="Quantile groups of predicted CATE for the calibration table.")
@click.option("--strict-srm", is_flag=True,
              help="Exit with status 2 (writing nothing) when the arm sizes mismatch the design.")
@click.option("--srm-threshold", type=float, default=0.001, show_default=True)
@click.option("--no-report", "no_report", is_flag=True,
              help="Do not write OUTPUT/report.html and report.md.")
@seed_option
@force_option
@json_option
@handles_input_errors
def evaluate(design_path: str, data_path: str, outcome: str | None, covariates: str | None,
             other_outcomes: str, joins: tuple[str, ...], treatment_arm: str | None,
             output: str, results: str | None, customers: str | None,
             stopped_at_look: int | None, previous_fractions: str | None,
             record: str | None, groups: int, strict_srm: bool, srm_threshold: float,
             no_report: bool, seed: int, force: bool, as_json: bool) -> None:
    """Post-test analysis: SRM, the effect three ways, profit, calibration of the old model,
    re-estimated CATE and the phase-3 target list.

    \b
    Example:
      rollout evaluate design.json returns.parquet --join cohort.parquet \\
          --results results/ -o evaluation/
    """
    from rollout.io import check_output_folder

    check_output_folder(output, "evaluate", force=force,
                        inputs=[design_path, data_path, *joins, results, customers])
    from rollout.cli.interim import parse_fractions
    from rollout.evaluation.evaluate import evaluate as run_evaluation
    from rollout.evaluation.evaluate import write_evaluation
    from rollout.io import read_table

    with console.progress(enabled=not as_json) as bar:
        task = bar.add_task("reading the returned data", total=3)
        design, data = read_returned(design_path, data_path, outcome, covariates,
                                     other_outcomes, joins, treatment_arm)
        more = read_table(customers) if customers else None
        bar.update(task, completed=1, description="estimating, calibrating, re-estimating")
        result = run_evaluation(design, data, results=results, customers=more,
                                n_groups=groups, seed=seed, srm_threshold=srm_threshold,
                                stopped_at_look=stopped_at_look,
                                previous_fractions=parse_fractions(previous_fractions),
                                looks_record=record)
        bar.update(task, completed=2, description="writing the evaluation")
        if strict_srm and result.srm.flag:
            console.error(result.srm.message() + " (--strict-srm: nothing written)")
            sys.exit(EXIT_BAD_INPUT)
        write_evaluation(result, output,
                         finish=None if no_report else _reporter(design, results))
        bar.update(task, completed=3)
    if as_json:
        console.emit_json(result.to_dict())
        return
    for warning in result.warnings:
        console.warn(warning)
    head = result.headline
    # the estimand and the inference are sentences: printed as such, the table keeps numbers
    console.show_table([head], title=f"The test's estimand ({result.test}): {head['estimand']}",
                       columns=["estimate", "ci_low", "ci_high", "p_value", "significant"])
    console.say(f"inference: {head['inference']}")
    if result.covariates:
        console.show_table(result.covariates, title="Covariates of the adjusted estimate",
                           columns=["covariate", "smd", "source"])
    console.show_table([e.to_dict() for e in result.effects],
                       title="Outcome difference between the arms" if result.test == "policy"
                       else "Average effect of the campaign (ATE)",
                       columns=["method", "estimate", "se", "ci_low", "ci_high", "n",
                                "se_type"])
    if result.profit and result.test != "policy":
        console.show_table([result.profit], title="Profit per targeted customer",
                           columns=["profit", "ci_low", "ci_high", "roi", "breakeven_effect"])
    if result.calibration:
        c = result.calibration
        ranking = str(c.get("score") or "")
        of = f" ({ranking.split(' (')[0]})" if ranking and not ranking.startswith("the deployed") \
            else ""
        console.say(f"Calibration of the observational CATE{of}: {c['verdict']}"
                             f" — {c['reason']}")
    r = result.reestimation
    console.say(f"Phase-3 list: {r['n_targeted']:,} of {r['n_scored']:,} customers "
                         f"({r['rule']}); written to {output}/targets.parquet")


def _reporter(design: Any, results: str | None) -> Any:
    """Writes the evaluation's report into its folder before the folder lands."""
    from rollout.estimation.results_folder import ResultsFolder
    from rollout.evaluation.evaluate import read_evaluation
    from rollout.report.build import REPORT_NAME, report_for, write_report

    folder = ResultsFolder.open(results) if results is not None else None

    def finish(path: Path) -> None:
        write_report(report_for(results=folder, design=design,
                                evaluation=read_evaluation(path), command="rollout evaluate"),
                     path / REPORT_NAME)

    return finish
