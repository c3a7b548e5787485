"""The ``rollout`` command line: parse options, call the Python API, render the result.

No statistics live here. Every command follows the same conventions: a rich table on a terminal,
``--json`` for one JSON document on stdout, ``--seed`` where anything is random, exit status 0 on
success and 2 on bad input or usage with a message naming the file, column and row at fault, and
nothing half-written.

Start-up is cheap: each command module declares its options at import time but imports the
analysis stack (numpy, pandas, scipy, the model libraries) only inside the command function,
so ``rollout --help``, ``rollout CMD --help`` and usage errors answer at once.
"""

# Each command lives in its own module under rollout/cli/ and registers itself on `cli`.
from rollout.cli import (
    analyze,
    assign,
    cohort,
    demo,
    design,
    evaluate,
    interim,
    report,
    score,
    simulate,
)
from rollout.cli.app import (
    EXIT_BAD_INPUT,
    OPTION_FOR_ARGUMENT,
    as_cli_error,
    cli,
    force_option,
    handles_input_errors,
    json_option,
    main,
    option_for,
    seed_option,
)

__all__ = [
    "EXIT_BAD_INPUT",
    "OPTION_FOR_ARGUMENT",
    "analyze",
    "as_cli_error",
    "assign",
    "cli",
    "cohort",
    "demo",
    "design",
    "evaluate",
    "force_option",
    "handles_input_errors",
    "interim",
    "json_option",
    "main",
    "option_for",
    "report",
    "score",
    "seed_option",
    "simulate",
]
