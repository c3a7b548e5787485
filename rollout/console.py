"""Terminal rendering shared by every command: tables, JSON on stdout, progress on stderr.

The API never prints; the command line calls these helpers to show what the API returned. Tables
and progress bars go to the terminal, and with ``--json`` exactly one JSON document goes to stdout
so scripts can parse it (progress still goes to stderr).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from rollout.io import to_json_text

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def emit_json(document: Any) -> None:
    """Print one JSON document on stdout (deterministic, NaN as null)."""
    sys.stdout.write(to_json_text(document))
    sys.stdout.flush()


def _format(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "—"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    return str(value)


def table(
    rows: pd.DataFrame | Sequence[Mapping[str, Any]],
    title: str | None = None,
    columns: Sequence[str] | None = None,
) -> Table:
    """A rich table from a frame or a list of records."""
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if columns is not None:
        frame = frame[list(columns)]
    out = Table(title=title, title_justify="left", header_style="bold")
    for col in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[col])
        out.add_column(str(col), justify="right" if numeric else "left")
    for record in frame.itertuples(index=False):
        out.add_row(*(_format(v) for v in record))
    return out


def show_table(rows: pd.DataFrame | Sequence[Mapping[str, Any]], title: str | None = None,
               columns: Sequence[str] | None = None) -> None:
    stdout.print(table(rows, title=title, columns=columns))


def warn(message: str) -> None:
    """A warning on stderr, never on stdout (stdout may carry JSON)."""
    stderr.print(f"[yellow]warning:[/yellow] {message}", highlight=False)


def error(message: str) -> None:
    stderr.print(f"[red]error:[/red] {message}", highlight=False, markup=True)


@contextlib.contextmanager
def progress(enabled: bool = True) -> Iterator[Progress]:
    """A progress display on stderr; quiet when stderr is not a terminal or ``enabled`` is off."""
    bar = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        disable=not enabled or not stderr.is_terminal,
    )
    with bar:
        yield bar
