"""`rollout evaluate`: post-test analysis and re-estimation."""

from __future__ import annotations

from rollout.cli import cli, handles_input_errors, not_built


@cli.command()
@handles_input_errors
def evaluate() -> None:
    """Post-test analysis and re-estimation."""
    not_built("evaluate")
