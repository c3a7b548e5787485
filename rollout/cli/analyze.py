"""`rollout analyze`: estimation core: positivity, ATE, CATE, validation, segments, policies."""

from __future__ import annotations

from rollout.cli import cli, handles_input_errors, not_built


@cli.command()
@handles_input_errors
def analyze() -> None:
    """Estimation core: positivity, ATE, CATE, validation, segments, policies."""
    not_built("analyze")
