"""`rollout simulate`: synthetic data with ground truth, for demos, tests and benchmarks."""

from __future__ import annotations

from rollout.cli import cli, handles_input_errors, not_built


@cli.command()
@handles_input_errors
def simulate() -> None:
    """Synthetic data with ground truth, for demos, tests and benchmarks."""
    not_built("simulate")
