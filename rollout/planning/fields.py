"""Checks of single fields of ``design.json``, shared by the design and its spending plan.

Every check raises :class:`InputError` naming the file and the field (``design.json: field
'spending.drift': must be a number ...``); :func:`field_error` is the one way that error is made.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from rollout.errors import InputError

Source = str | Path | None


def field_error(source: Source, name: str, message: str) -> InputError:
    """The error for a bad field of a design document: ``design.json: field 'x': ...``.

    >>> str(field_error("design.json", "alpha", "must be in (0, 0.5)"))
    "design.json: field 'alpha': must be in (0, 0.5)"
    """
    return InputError(f"field {name!r}: {message}", file=source)


def is_number(value: Any) -> bool:
    """A finite int or float (not a bool)."""
    return (not isinstance(value, bool) and isinstance(value, int | float)
            and math.isfinite(value))


def is_int(value: Any) -> bool:
    """An int (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def number(value: Any, source: Source, name: str, nullable: bool = False) -> float | None:
    """``value`` as a float; raises naming ``name`` unless it is a finite number (or null)."""
    if value is None and nullable:
        return None
    if not is_number(value):
        raise field_error(source, name, f"must be a finite number, got {value!r}")
    return float(value)


def number_in(value: Any, source: Source, name: str, low: float, high: float) -> float:
    """``value`` as a float in ``[low, high]``; raises naming ``name`` otherwise."""
    if not is_number(value) or not low <= value <= high:
        raise field_error(source, name, f"must be a number in [{low:g}, {high:g}], got "
                                        f"{value!r}")
    return float(value)
