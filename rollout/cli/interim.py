"""`rollout interim`: the decision at an interim look."""

from __future__ import annotations

from rollout.cli import cli, handles_input_errors, not_built


@cli.command()
@handles_input_errors
def interim() -> None:
    """The decision at an interim look."""
    not_built("interim")
