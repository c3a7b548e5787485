"""`rollout assign`: stratified, reproducible arms and phased target lists."""

from __future__ import annotations

from rollout.cli import cli, handles_input_errors, not_built


@cli.command()
@handles_input_errors
def assign() -> None:
    """Stratified, reproducible arms and phased target lists."""
    not_built("assign")
