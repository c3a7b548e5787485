"""`rollout report`: one self-contained page (and a Markdown twin) from any stage's outputs."""

from __future__ import annotations

from pathlib import Path

import click

from rollout import console
from rollout.cli.app import cli, handles_input_errors


@cli.command()
@click.argument("paths", metavar="PATH...", nargs=-1, required=True,
                type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="The page to write (.html); its Markdown twin (.md) and the twin's figures "
                   "(<name>_files/) go beside it.")
@click.option("--title", default=None, help="Title of the page.")
@handles_input_errors
def report(paths: tuple[Path, ...], output: Path, title: str | None) -> None:
    """Write one report from results folders, design files and evaluation folders.

    \b
    Example:
      rollout report results design.json evaluation -o report.html
    """
    from rollout.errors import InputError
    from rollout.io import check_writable
    from rollout.report.build import build_report, write_report
    from rollout.report.inputs import load_inputs

    if output.suffix.lower() not in {".html", ".htm"}:
        raise InputError("the report must be an .html file", file=output)
    check_writable(output)
    inputs = load_inputs(paths)
    command = "rollout report " + " ".join(p.name for p in paths)
    write_report(build_report(inputs, title=title, command=command), output)
    console.stdout.print(f"report written to {output}")
