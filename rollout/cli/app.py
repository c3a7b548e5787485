"""The command group, its shared options and the one error path every command goes through.

Command modules import from here (not from the package ``rollout.cli``, which imports them) so
that the imports of the command line form no circle.
"""


from __future__ import annotations

import contextlib
import functools
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from rollout import __version__, console
from rollout.common.engines import DEFAULT_DRIVER_MEMORY, ENGINES
from rollout.errors import InputError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_BAD_INPUT = 2

#: Library keyword arguments whose command-line option is not simply ``--`` + the name with
#: dashes (``n_per_arm`` -> ``--n``). The one place where the API's names meet the CLI's.
OPTION_FOR_ARGUMENT: dict[str, str] = {
    "n_groups": "--groups",  # evaluate
    "stopped_at_look": "--look",  # evaluate
    "outcomes": "--outcome",  # analyze (Cohort.from_frame, load_cohort)
    "k": "--segments",  # analyze (the number of behavioural segments)
    "base_cost": "--cost",  # analyze (the breakeven grid around the campaign's cost)
    "base_margin": "--margin",  # analyze (... and its margin)
}


def option_for(argument: str) -> str:
    """The command-line option that sets a library ``argument``.

    >>> option_for("folds"), option_for("information_fractions")
    ('--folds', '--information-fractions')
    """
    return OPTION_FOR_ARGUMENT.get(argument, "--" + argument.replace("_", "-"))


def as_cli_error(exc: InputError) -> InputError:
    """The same error, with a library argument named as the option a command-line user typed."""
    if exc.argument is None:
        return exc
    return InputError(exc.message, file=exc.file, column=exc.column, row=exc.row,
                      option=option_for(exc.argument))


def handles_input_errors(func: F) -> F:
    """Turn :class:`InputError` into a clear message on stderr and exit status 2.

    An operating-system error that reaches here (a file that cannot be read or written) is an
    input error too: :func:`rollout.io.os_error` words it, naming the file.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            console.error(str(as_cli_error(exc)))
            sys.exit(EXIT_BAD_INPUT)
        except OSError as exc:
            from rollout.io import os_error

            action = "read" if exc.filename and Path(exc.filename).exists() else "write"
            console.error(str(os_error(exc, action=action)))
            sys.exit(EXIT_BAD_INPUT)

    return wrapper  # type: ignore[return-value]


json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print one JSON document on stdout instead of tables.")
force_option = click.option(
    "--force", is_flag=True,
    help="Replace the output folder even when it is not a previous output of this command "
         "(a folder holding an input of the run, or the current folder, is never replaced).")


#: The library's engine names and local driver heap (a module of constants only, so that
#: `--help` imports no data stack; tests/test_startup.py checks they match).
ENGINE_CHOICES = ENGINES
SPARK_DRIVER_MEMORY = DEFAULT_DRIVER_MEMORY


def engine_options(func: F) -> F:
    """``--engine``, ``--spark-master``, ``--spark-driver-memory`` and ``--spark-conf``; the
    command receives one ``engine`` keyword holding :class:`rollout.common.engine.EngineSettings`.

    Put it below ``@handles_input_errors`` so that a Spark option given with the DuckDB engine
    is reported like any other bad input (exit status 2 naming the option).
    """

    @functools.wraps(func)
    def wrapper(*args: Any, engine: str, spark_master: str | None,
                spark_driver_memory: str | None, spark_conf: tuple[str, ...],
                **kwargs: Any) -> Any:
        from rollout.common.engine import EngineSettings

        conf = {}
        for item in spark_conf:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise InputError(f"expected KEY=VALUE, got {item!r}", option="--spark-conf")
            conf[key.strip()] = value.strip()
        settings = EngineSettings(engine, spark_master, spark_driver_memory, conf)
        return func(*args, engine=settings, **kwargs)

    options = [
        click.option("--engine", type=click.Choice(ENGINE_CHOICES), default="duckdb",
                     show_default=True,
                     help="Where the work runs: DuckDB in this process, or Spark."),
        click.option("--spark-master", default=None,
                     help="Spark master URL (default local[*]: local mode on this machine)."),
        click.option("--spark-driver-memory", default=None,
                     help=f"Spark driver heap (default {SPARK_DRIVER_MEMORY} in local mode, "
                          "the cluster's own setting otherwise)."),
        click.option("--spark-conf", multiple=True, metavar="KEY=VALUE",
                     help="Extra Spark configuration, repeatable (applied last)."),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


seed_option = click.option("--seed", type=int, default=0, show_default=True,
                           help="Seed for everything random; same seed, same output.")


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
      score    -> the deployed CATE model and policy lists for current customers
      interim  -> the decision at an interim look
      evaluate -> post-test analysis and re-estimation
      simulate -> worlds with known truth
      demo     -> the whole loop on the embedded data
    """


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Console-script entry point; a termination signal cleans up like Ctrl-C does."""
    with contextlib.suppress(ValueError):  # signals can only be set from the main thread
        signal.signal(signal.SIGTERM, _interrupt)
    cli(prog_name="rollout")
