"""`rollout interim`: the decision at an interim look."""

from __future__ import annotations

import click

from rollout import console
from rollout.cli._returned import read_returned, returned_data_options
from rollout.cli.app import cli, handles_input_errors, json_option
from rollout.errors import InputError


def parse_fractions(text: str | None) -> list[float] | None:
    """``--previous-fractions``: comma-separated numbers, or ``None``."""
    if not text:
        return None
    try:
        return [float(v) for v in text.split(",")]
    except ValueError as exc:
        raise InputError(f"not a list of numbers: {text!r}",
                         option="--previous-fractions") from exc


@cli.command()
@returned_data_options
@click.option("--look", type=int, required=True, help="Which look this is (1 = first).")
@click.option("--previous-fractions", default=None,
              help="Comma-separated information fractions actually reached at earlier looks.")
@click.option("--record", "record", type=click.Path(), default=None,
              help="Looks record (JSON): earlier looks' information fractions are read from it "
                   "and this look is written into it, for the next look and for evaluate.")
@click.option("--srm-threshold", type=float, default=0.001, show_default=True,
              help="p-value below which the arm sizes are flagged as mismatched.")
@json_option
@handles_input_errors
def interim(design_path: str, data_path: str, outcome: str | None, covariates: str | None,
            other_outcomes: str, joins: tuple[str, ...], treatment_arm: str | None, look: int,
            previous_fractions: str | None, record: str | None, srm_threshold: float,
            as_json: bool) -> None:
    """The decision at an interim look: continue, or stop for efficacy, harm or futility.

    \b
    Example:
      rollout interim design.json returns_look1.parquet --look 1 --join cohort.parquet
    """
    from rollout.evaluation.interim import interim_decision, record_look, recorded_fractions

    with console.progress(enabled=not as_json) as bar:
        task = bar.add_task("reading the returned data", total=2)
        design, data = read_returned(design_path, data_path, outcome, covariates,
                                     other_outcomes, joins, treatment_arm)
        previous = parse_fractions(previous_fractions)
        if previous is None and record is not None:
            previous = recorded_fractions(record, look)
        bar.update(task, completed=1, description=f"look {look}: estimate and boundaries")
        result = interim_decision(design, data, look, previous_fractions=previous,
                                  srm_threshold=srm_threshold)
        bar.update(task, completed=2)
    if record is not None:
        record_look(record, result)
    if as_json:
        console.emit_json(result.to_dict())
        return
    for warning in result.warnings:
        console.warn(warning)
    console.show_table([
        {"quantity": "decision", "value": result.decision},
        {"quantity": "z", "value": result.z},
        {"quantity": f"estimate ({result.method})", "value": result.estimate},
        {"quantity": "SE", "value": result.se},
        {"quantity": "test", "value": f"{result.test}: {result.estimand}"},
        {"quantity": "information fraction", "value": result.information_fraction},
        {"quantity": "sample fraction", "value": result.sample_fraction},
        {"quantity": "efficacy boundary (z)", "value": result.efficacy_z},
        {"quantity": "futility boundary (z, non-binding)",
         "value": "—" if result.futility_z is None else result.futility_z},
        {"quantity": "harm boundary (z)", "value": result.harm_z},
        {"quantity": "conditional power, design effect",
         "value": result.conditional_power["design_effect"]},
        {"quantity": "conditional power, current trend",
         "value": result.conditional_power["current_trend"]},
        {"quantity": "SRM p-value", "value": result.srm["p_value"]},
    ], title=f"Interim look {result.look} of {result.n_looks}")
    console.say(result.reason)
