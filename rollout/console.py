"""Terminal rendering shared by every command: tables, JSON on stdout, progress on stderr.

The API never prints; the command line calls these helpers to show what the API returned. Tables
and progress bars go to the terminal, and with ``--json`` exactly one JSON document goes to stdout
so scripts can parse it (progress still goes to stderr).

Every message is plain text, never terminal markup: a column named ``spend [usd]`` or an
extra such as ``rollout[tune]`` prints as it is. rich and pandas are imported only when a table or
a progress bar is drawn, so that ``rollout --help`` and usage errors start at once.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table


class _LazyConsole:
    """A rich console made on first use (rich costs time to import); ``print`` is plain text.

    ``print`` renders no markup and no highlighting unless asked (``markup=True``), so text
    holding square brackets prints intact; tables and other rich objects render as usual.
    """

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    @property
    def rich(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, soft_wrap=True)
        return self._console

    def print(self, *objects: Any, markup: bool = False, highlight: bool = False,
              **kwargs: Any) -> None:
        self.rich.print(*objects, markup=markup, highlight=highlight, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rich, name)


stdout = _LazyConsole(stderr=False)
stderr = _LazyConsole(stderr=True)


def say(message: str) -> None:
    """A line of plain text on stdout (no markup: brackets print as they are)."""
    click.echo(message)


def emit_json(document: Any) -> None:
    """Print one JSON document on stdout (deterministic, NaN as null)."""
    from rollout.io import to_json_text

    sys.stdout.write(to_json_text(document))
    sys.stdout.flush()


def table(
    rows: pd.DataFrame | Sequence[Mapping[str, Any]],
    title: str | None = None,
    columns: Sequence[str] | None = None,
) -> Table:
    """A rich table from a frame or a list of records; every header and cell is plain text."""
    import pandas as pd
    from rich.table import Table
    from rich.text import Text

    from rollout.common.format import number

    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if columns is not None:
        frame = frame[list(columns)]
    out = Table(title=Text(title) if title is not None else None, title_justify="left",
                header_style="bold")
    for col in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[col])
        out.add_column(Text(str(col)), justify="right" if numeric else "left")
    for record in frame.itertuples(index=False):
        out.add_row(*(Text(number(v)) for v in record))
    return out


def show_table(rows: pd.DataFrame | Sequence[Mapping[str, Any]], title: str | None = None,
               columns: Sequence[str] | None = None) -> None:
    stdout.print(table(rows, title=title, columns=columns))


def _to_stderr(label: str, color: str, message: str) -> None:
    prefix = click.style(label, fg=color) if sys.stderr.isatty() else label
    click.echo(f"{prefix} {message}", err=True)


def warn(message: str) -> None:
    """A warning on stderr, never on stdout (stdout may carry JSON); plain text."""
    _to_stderr("warning:", "yellow", message)


def error(message: str) -> None:
    """An error on stderr; plain text, whatever characters the message holds."""
    _to_stderr("error:", "red", message)


@contextlib.contextmanager
def progress(enabled: bool = True) -> Iterator[Progress]:
    """A progress display on stderr; quiet when stderr is not a terminal or ``enabled`` is off."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=stderr.rich,
        transient=True,
        disable=not enabled or not stderr.rich.is_terminal,
    )
    with bar:
        yield bar
