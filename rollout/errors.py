"""The one exception type for bad input, so every command can answer it the same way.

Anything a user can get wrong (a missing file, a column with the wrong type, a duplicate id, an
option out of range) raises :class:`InputError` naming the file, column and row at fault. The
command line turns it into a message on stderr and exit status 2; the Python API lets it
propagate so callers can catch it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class InputError(Exception):
    """Bad input: what is wrong, and where (file, column, row) when known.

    Examples
    --------
    >>> err = InputError("values must be 0 or 1", file="cohort.parquet", column="treatment", row=7)
    >>> str(err)
    "cohort.parquet, column 'treatment', row 7: values must be 0 or 1"
    >>> str(InputError("must be in (0, 1)", option="--power"))
    'option --power: must be in (0, 1)'
    >>> str(InputError("must be at least 2", argument="folds"))
    "argument 'folds': must be at least 2"

    The library names the keyword argument a caller used (``argument="folds"``); the command
    line maps arguments to its option names (``--folds``) in one place before printing.
    """

    message: str
    file: str | Path | None = None
    column: str | None = None
    row: int | str | None = None
    option: str | None = None
    argument: str | None = None

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.option is not None:
            where.append(f"option {self.option}")
        if self.argument is not None:
            where.append(f"argument {self.argument!r}")
        return (", ".join(where) + ": " if where else "") + self.message


def shown(value: object) -> str:
    """A value as a message shows it: numpy scalars as the plain numbers they hold.

    >>> import numpy as np
    >>> shown(np.int64(7)), shown(np.float64("nan")), shown("Treatment")
    ('7', 'nan', "'Treatment'")
    """
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy":
        value = item()
    return repr(value)
