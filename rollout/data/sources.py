"""Choosing a source of campaign history by name or folder.

``"completejourney"`` is the embedded default (:mod:`rollout.data.completejourney`); a folder (a
:class:`~pathlib.Path`, or the text of an existing folder's path) is read as the Dunnhumby CSV
layout (:mod:`rollout.data.dunnhumby`); a
:class:`~rollout.data.history.HistorySource` is used as it is.
"""

from __future__ import annotations

from pathlib import Path

from rollout.data.completejourney import CompleteJourneySource
from rollout.data.dunnhumby import DunnhumbySource
from rollout.data.history import HistorySource
from rollout.errors import InputError

EMBEDDED = "completejourney"
NAMED_SOURCES = (EMBEDDED,)


def resolve_source(source: str | Path | HistorySource) -> HistorySource:
    """The source named by ``source``.

    >>> resolve_source("completejourney").name
    'completejourney'
    >>> type(resolve_source(Path("history/dunnhumby"))).__name__
    'DunnhumbySource'
    """
    if isinstance(source, HistorySource):
        return source
    if isinstance(source, str) and source == EMBEDDED:
        return CompleteJourneySource()
    if isinstance(source, Path):
        return DunnhumbySource(source)
    if isinstance(source, str) and Path(source).is_dir():
        return DunnhumbySource(Path(source))
    raise InputError(f"unknown source {source!r}: use {EMBEDDED!r} or a folder of Dunnhumby "
                     "CSV files (a Path)")
