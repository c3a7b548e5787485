"""`rollout design`: a/B design: n per arm, MDE, power, strata, looks and boundaries, phases."""

from __future__ import annotations

from rollout.cli import cli, handles_input_errors, not_built


@cli.command()
@handles_input_errors
def design() -> None:
    """A/B design: n per arm, MDE, power, strata, looks and boundaries, phases."""
    not_built("design")
