"""`rollout score`: the deployed CATE model and the policies' lists for a current customer base."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from rollout import console
from rollout.cli.app import cli, engine_options, handles_input_errors, json_option
from rollout.errors import InputError


@cli.command()
@click.argument("results", metavar="RESULTS", type=click.Path(path_type=Path))
@click.argument("customers", metavar="CUSTOMERS", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="The scored table to write (.parquet); its summary goes beside it as "
                   "NAME.summary.json.")
@json_option
@handles_input_errors
@engine_options
def score(results: Path, customers: Path, output: Path, engine: Any, as_json: bool) -> None:
    """Score a customer table with the analysis's deployed CATE model.

    \b
    RESULTS    results folder written by `rollout analyze` (its model.joblib
               is loaded only when its SHA-256 matches the recorded one)
    CUSTOMERS  customer table (parquet or CSV) with customer_id and the
               covariates the analysis recorded

    Writes per customer cate (and cate_lower/cate_upper when the model has
    intervals), one target_<policy> flag per policy that is a rule on a
    customer's own values, and outside_fitted_range with the covariates that
    lie outside the range the model was fitted on. Same inputs, same bytes, on
    either engine.
    """
    from rollout.io import check_writable
    from rollout.scoring import score_table, summary_path_for

    if output.suffix.lower() not in {".parquet", ".pq"}:
        raise InputError("the output must be a .parquet file", file=output)
    check_writable(output)
    check_writable(summary_path_for(output))
    with console.progress(enabled=not as_json) as bar:
        task = bar.add_task("reading the model", total=None)
        result = score_table(results, customers, output, engine=engine,
                             on_step=lambda name: bar.update(task, description=name))
    for message in result.document["warnings"]:
        console.warn(message)
    if as_json:
        console.emit_json({**result.document, "outputs": {
            "table": str(result.output), "summary": str(result.summary_path)}})
        return
    _render(result.document, result.output, result.summary_path)


def _render(document: dict[str, Any], output: Path, summary: Path) -> None:
    model = document["model"]
    n = max(document["customers"], 1)
    console.show_table(
        [{"flag": flag, "customers": count, "share": count / n}
         for flag, count in document["flags"].items()],
        title=f"{document['customers']} customers scored by {model['model']} "
              f"({document['engine']['engine']})")
    outside = document["outside_fitted_range"]
    if outside["by_covariate"]:
        console.show_table([{"covariate": c, "customers outside": k}
                            for c, k in outside["by_covariate"].items()],
                           title="Outside the covariate range the model was fitted on")
    skipped = document["policies_not_scored"]
    by_reason: dict[str, list[str]] = {}
    for policy, why in skipped.items():
        by_reason.setdefault(why, []).append(policy)
    for why, policies in by_reason.items():
        console.say(f"Not scored: {', '.join(policies)}: {why}")
    console.say(f"Wrote {output}, {summary}")
