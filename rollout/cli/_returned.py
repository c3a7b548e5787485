"""Options shared by the commands that read returned A/B data (`interim`, `evaluate`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rollout.evaluation.returned import ReturnedData
    from rollout.planning.design import Design


def returned_data_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """DESIGN and DATA arguments and the options that say how to read the data."""
    options = [
        click.argument("design_path", metavar="DESIGN", type=click.Path()),
        click.argument("data_path", metavar="DATA", type=click.Path()),
        click.option("--outcome", default=None,
                     help="Outcome column (default: the design's outcome)."),
        click.option("--covariates", default=None,
                     help="Comma-separated pre-period covariates for adjustment (default: every "
                          "numeric column other than id, arm and outcomes)."),
        click.option("--other-outcomes", default="",
                     help="Comma-separated post-treatment columns that must not be covariates."),
        click.option("--join", "joins", multiple=True, type=click.Path(),
                     help="A file (cohort, assignment) to join by customer_id; repeatable."),
        click.option("--treatment-arm", default=None,
                     help="Which treatment arm to compare with control (several-arm designs)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def read_returned(design_path: str, data_path: str, outcome: str | None,
                  covariates: str | None, other_outcomes: str, joins: tuple[str, ...],
                  treatment_arm: str | None) -> tuple[Design, ReturnedData]:
    """Load the design and the returned data as the options say; rows outside the test (an
    assignment's ``pilot_target`` and ``not_in_test``) are counted in a warning."""
    from rollout.evaluation.returned import load_returned
    from rollout.planning.design import load_design

    design = load_design(design_path)
    names = [c.strip() for c in covariates.split(",") if c.strip()] if covariates else None
    others = [c.strip() for c in other_outcomes.split(",") if c.strip()]
    data = load_returned(data_path, design, outcome=outcome, covariates=names, join=joins,
                         treatment_arm=treatment_arm, other_outcomes=others)
    if data.left_out:
        from rollout import console

        console.warn(f"{data_path}: left out rows outside the test: " + ", ".join(
            f"{n} {arm!r}" for arm, n in data.left_out.items()))
    return design, data
