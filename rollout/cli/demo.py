"""`rollout demo`: run the whole loop on the embedded Complete Journey data."""

from __future__ import annotations

from rollout.cli import cli, handles_input_errors, not_built


@cli.command()
@handles_input_errors
def demo() -> None:
    """Run the whole loop on the embedded Complete Journey data."""
    not_built("demo")
