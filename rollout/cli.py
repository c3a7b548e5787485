"""The ``rollout`` command line: parse options, call the Python API, render the result.

No statistics live here. Every command follows the same conventions: a rich table on a terminal,
``--json`` for one JSON document on stdout, ``--seed`` where anything is random, exit status 0 on
success and 2 on bad input or usage with a message naming the file, column and row at fault, and
nothing half-written.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from rollout import __version__, console
from rollout.errors import InputError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_BAD_INPUT = 2


def handles_input_errors(func: F) -> F:
    """Turn :class:`InputError` into a clear message on stderr and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            console.error(str(exc))
            sys.exit(EXIT_BAD_INPUT)

    return wrapper  # type: ignore[return-value]


json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print one JSON document on stdout instead of tables.")
seed_option = click.option("--seed", type=int, default=0, show_default=True,
                           help="Seed for everything random; same seed, same output.")


def not_built(name: str) -> None:
    console.error(f"'rollout {name}' is not built yet in this version")
    sys.exit(EXIT_BAD_INPUT)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rollout")
def cli() -> None:
    """From campaign history to a validated, staged rollout.

    \b
    The loop:
      cohort   -> build the study table from transaction history
      analyze  -> positivity, average and heterogeneous effects, policies
      design   -> size a stratified, sequential A/B test
      assign   -> reproducible stratified arms and phased target lists
      interim  -> the decision at an interim look
      evaluate -> post-test analysis and re-estimation
      simulate -> worlds with known truth
      demo     -> the whole loop on the embedded data
    """


@cli.command()
@click.option("-o", "--output", "output", type=click.Path(), default="rollout-demo",
              show_default=True, help="Folder to write the demo's outputs into.")
@seed_option
@json_option
@handles_input_errors
def demo(output: str, seed: int, as_json: bool) -> None:
    """Run the whole loop on the embedded Complete Journey data."""
    not_built("demo")


@cli.command()
@handles_input_errors
def cohort() -> None:
    """Build the study cohort from transaction history."""
    not_built("cohort")


@cli.command()
@handles_input_errors
def analyze() -> None:
    """Estimation core: positivity, ATE, CATE, validation, segments, policies."""
    not_built("analyze")


@cli.command()
@handles_input_errors
def design() -> None:
    """A/B design: n per arm, MDE, power, strata, looks and boundaries, phases."""
    not_built("design")


@cli.command()
@handles_input_errors
def assign() -> None:
    """Stratified, reproducible arms and phased target lists."""
    not_built("assign")


@cli.command()
@handles_input_errors
def interim() -> None:
    """The decision at an interim look."""
    not_built("interim")


@cli.command()
@handles_input_errors
def evaluate() -> None:
    """Post-test analysis and re-estimation."""
    not_built("evaluate")


@cli.command()
@handles_input_errors
def simulate() -> None:
    """Synthetic data with ground truth, for demos, tests and benchmarks."""
    not_built("simulate")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="rollout")


if __name__ == "__main__":
    main()
