"""`rollout cohort`: build the study cohort from transaction history."""

from __future__ import annotations

from rollout.cli import cli, handles_input_errors, not_built


@cli.command()
@handles_input_errors
def cohort() -> None:
    """Build the study cohort from transaction history."""
    not_built("cohort")
