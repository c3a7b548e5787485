"""The command line answers at once: `--help`, `CMD --help` and usage errors import none of the
analysis stack, and take well under a second of CPU (see benchmarks/startup.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "pandas", "scipy", "sklearn", "statsmodels", "econml", "xgboost",
         "matplotlib", "duckdb", "pyarrow")
COMMANDS = ("cohort", "analyze", "design", "assign", "score", "interim", "evaluate",
            "simulate", "demo")

PROBE = """
import json, resource, sys
from rollout.cli import cli
try:
    cli(sys.argv[1:], prog_name="rollout")
except SystemExit as exc:
    code = exc.code
usage = resource.getrusage(resource.RUSAGE_SELF)
heavy = [m for m in {heavy!r} if m in sys.modules]
print(json.dumps({{"code": code, "heavy": heavy, "cpu": usage.ru_utime + usage.ru_stime}}),
      file=sys.stderr)
"""


def _run(*args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    return json.loads(done.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [("--help",), ("--version",),
                                  *((name, "--help") for name in COMMANDS),
                                  ("analyze", "--no-such-option"), ("design", "--sd", "x"),
                                  ("no-such-command",)],
                         ids=lambda a: " ".join(a))
def test_help_and_usage_errors_import_no_analysis_stack(args: tuple[str, ...]) -> None:
    report = _run(*args)
    assert report["code"] in (0, 2)
    assert report["heavy"] == [], f"`rollout {' '.join(args)}` imported {report['heavy']}"
    assert report["cpu"] < 1.0, report


def test_cohort_defaults_match_the_library() -> None:
    from rollout.cli import cohort as command
    from rollout.data.cohort_design import DEFAULT_SALT
    from rollout.data.sources import EMBEDDED, NAMED_SOURCES

    assert (command.DEFAULT_SALT, command.EMBEDDED, command.NAMED_SOURCES) == \
        (DEFAULT_SALT, EMBEDDED, NAMED_SOURCES)


def test_engine_option_defaults_match_the_library() -> None:
    from rollout.cli import app
    from rollout.common.engine import DEFAULT_DRIVER_MEMORY, DEFAULT_ENGINE, ENGINES

    assert app.ENGINE_CHOICES == ENGINES and app.ENGINE_CHOICES[0] == DEFAULT_ENGINE
    assert app.SPARK_DRIVER_MEMORY == DEFAULT_DRIVER_MEMORY
