"""One small analysed world for the scoring tests: simulated, analysed with two fast models."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from rollout.cli import cli


def run(*args: str):
    """Invoke the command line in-process (exit code, output and exception)."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)


@pytest.fixture(scope="session")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``world/cohort.parquet`` and ``results`` (LinearDML, so with intervals)."""
    root = tmp_path_factory.mktemp("scoring")
    with contextlib.chdir(root):
        done = run("simulate", "good_overlap", "--n", "1500", "--seed", "1", "-o", "world")
        assert done.exit_code == 0, done.output
        done = run("analyze", "world/cohort.parquet", "-o", "results", "--cost", "9",
                   "--margin", "0.3", "--models", "linear_dml,t_learner", "--model",
                   "linear_dml", "--validate", "none", "--no-report", "--json")
        assert done.exit_code == 0, done.output
    return root
