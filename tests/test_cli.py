"""The command line's shared conventions: help, version, exit codes."""

from __future__ import annotations

from click.testing import CliRunner

from rollout import __version__
from rollout.cli import cli

COMMANDS = ["demo", "cohort", "analyze", "design", "assign", "interim", "evaluate", "simulate"]


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_unknown_option_is_usage_error() -> None:
    result = CliRunner().invoke(cli, ["--no-such-option"])
    assert result.exit_code == 2
