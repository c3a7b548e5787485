"""`rollout assign`: stratified, reproducible arms and phased target lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from rollout import console
from rollout.cli.app import cli, engine_options, handles_input_errors, json_option
from rollout.errors import InputError


def read_design(path: Path) -> Any:
    """Read and validate design.json (the planning package's one loader)."""
    from rollout.planning.design import load_design

    return load_design(path)


@cli.command()
@click.argument("design_path", metavar="DESIGN", type=click.Path(path_type=Path))
@click.argument("customers_path", metavar="CUSTOMERS", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="The assignment table to write (.parquet); the report and the per-role "
                   "CSV lists go beside it.")
@click.option("--salt", default=None,
              help="Key of the hash that draws entrants and arms; default: the design's seed.")
@click.option("--method", type=click.Choice(["complete", "hash"]), default="complete",
              show_default=True,
              help="complete: exact counts per stratum; hash: each arm from the customer's "
                   "hash alone, stable when the list grows, balance approximate.")
@click.option("--rerandomize", type=click.IntRange(min=1), default=1, show_default=True,
              help="Keep the best of K arm salts by worst |SMD| (inference must then "
                   "condition on this rule).")
@click.option("--csv-dir", type=click.Path(path_type=Path), default=None,
              help="Folder for the per-role CSV lists; default: beside the output.")
@json_option
@handles_input_errors
@engine_options
def assign(design_path: Path, customers_path: Path, output: Path, salt: str | None, method: str,
           rerandomize: int, csv_dir: Path | None, as_json: bool, engine: Any) -> None:
    """Stratified, reproducible arms and phased target lists.

    \b
    DESIGN     design.json written by `rollout design`
    CUSTOMERS  customer table (parquet or CSV) with customer_id, the design's
               strata and phase flag columns; or a results folder holding
               customers.parquet

    Every customer gets exactly one role: pilot_target (phase 1), an A/B
    arm (phase 2), or not_in_test. Same inputs and salt, same bytes, on
    either engine (with --engine spark the keyed hash runs on Spark).
    """
    from rollout.io import check_writable
    from rollout.planning.assignment import (
        AssignmentPlan,
        assign_customers,
        output_paths,
        read_customers,
        write_assignment,
    )

    if output.suffix.lower() not in {".parquet", ".pq"}:
        raise InputError("the output must be a .parquet file", file=output)
    check_writable(output)
    check_writable(output.with_name(f"{output.stem}.report.json"))
    check_writable(csv_dir if csv_dir is not None else output.parent, folder=True,
                   inside=True)
    plan = AssignmentPlan.from_design(read_design(design_path))
    with console.progress(enabled=not as_json) as bar:
        task = bar.add_task("reading customers", total=None)
        customers, source = read_customers(customers_path)

        def on_step(name: str) -> None:
            bar.update(task, description=name)

        hasher = None
        if engine.is_spark:
            from rollout.planning.assignment_spark import spark_hasher

            hasher = spark_hasher(source, engine)
        result = assign_customers(customers, plan, salt=salt, method=method,
                                  rerandomize=rerandomize, source=source, on_step=on_step,
                                  hasher=hasher)
        bar.update(task, description="writing")
        paths = write_assignment(result, output, csv_dir)
    for message in result.warnings:
        console.warn(message)
    if as_json:
        console.emit_json({**result.report,
                           "outputs": {k: str(v) for k, v in paths.items()}})
        return
    _render(result.report, output_paths(output, csv_dir, result.roles))


def _render(report: dict[str, Any], paths: dict[str, Path]) -> None:
    arms = report["arms"]
    console.show_table(
        [{"role": role, "customers": n} for role, n in report["roles"].items()],
        title=f"Assignment ({report['method']}, salt {report['arm_salt']!r})",
    )
    strata = []
    for row in report["strata"]:
        shown = {key: row[key] for key in ("stratum", "customers", "pilot", "entered")}
        for arm in arms:
            shown[f"{arm} (target)"] = f"{row[f'n_{arm}']} ({row[f'target_{arm}']:g})"
        strata.append(shown)
    console.show_table(strata, title="Test entrants per stratum and arm, against target")
    balance = report["balance"]
    if balance["smd"]:
        console.show_table(balance["smd"], title="Covariate balance (standardized mean "
                                                 "differences)")
    tests = []
    for name in ("allocation", "arm_by_stratum"):
        test = balance[name]
        if test is not None:
            tests.append({"test": test["test"], "n": test["n"], "p_value": test["p_value"]})
    if tests:
        console.show_table(tests, title="Randomization checks")
    if report["rerandomization"]:
        console.warn(report["rerandomization"]["caveat"])
    console.say("Wrote " + ", ".join(str(p) for p in paths.values()))
