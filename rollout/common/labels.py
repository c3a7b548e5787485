"""Checking the arm labels of a table against the arms a test knows, with a did-you-mean.

One rule for every reader of arm labels (``simulate --assignment``, ``interim``, ``evaluate``):
an arm must be a name; a label that differs from a known arm only by case or spaces
(``Treatment``, ``control ``) is a mistake, not another group, and is refused with the arm it
was meant to be; with ``outside`` given, a label that is neither a known arm nor one of the labels
of rows outside the test is refused too, so that no row is dropped silently.

>>> import pandas as pd
>>> check_arm_labels(pd.Series(["treatment", "control", "not_in_test"]),
...                  ["treatment", "control"], outside=["not_in_test"]).tolist()
[True, True, False]
>>> check_arm_labels(pd.Series(["treatment", "Treatment"]), ["treatment", "control"],
...                  source="returns.csv")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
rollout.errors.InputError: returns.csv, column 'arm', row 1: ... did you mean 'treatment'? (1 row)
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rollout.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def check_arm_labels(
    arms: pd.Series,
    known: Sequence[str],
    *,
    outside: Sequence[str] | None = None,
    source: str | Path | None = None,
    column: str = "arm",
) -> np.ndarray:
    """Which rows are in a ``known`` arm; :class:`InputError` at the first label at fault.

    ``outside`` lists the labels of rows that are legitimately not part of the test (an
    assignment's ``pilot_target`` and ``not_in_test``); when it is given, every other label is
    refused. When it is None, other labels are allowed and are simply not in the test.
    """
    import numpy as np

    src = str(source) if source is not None else None
    known = list(known)
    is_text = arms.map(lambda a: isinstance(a, str) and a.strip() != "").to_numpy(dtype=bool)
    if not is_text.all():
        row = int(np.flatnonzero(~is_text)[0])
        raise InputError(f"arm must be a name such as {' or '.join(map(repr, known))}, "
                         f"got {arms.iloc[row]!r}", file=src, column=column, row=row)
    normalized = {a.strip().lower(): a for a in known}
    near_miss = arms.map(lambda a: a not in known and a.strip().lower() in normalized)
    near = near_miss.to_numpy(dtype=bool)
    if near.any():
        row = int(np.flatnonzero(near)[0])
        value = arms.iloc[row]
        count = int((arms == value).sum())
        raise InputError(f"arm {value!r} is not a known arm; did you mean "
                         f"{normalized[value.strip().lower()]!r}? ({_rows(count)})", file=src,
                         column=column, row=row)
    in_test = arms.isin(known).to_numpy(dtype=bool)
    if outside is not None:
        allowed = in_test | arms.isin(list(outside)).to_numpy(dtype=bool)
        if not allowed.all():
            row = int(np.flatnonzero(~allowed)[0])
            value = arms.iloc[row]
            count = int((arms == value).sum())
            close = difflib.get_close_matches(value, [*known, *outside], n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise InputError(
                f"arm {value!r} is not a known arm ({_rows(count)}); {hint}the design's arms are "
                f"{', '.join(map(repr, known))}, and rows outside the test are "
                f"{' or '.join(map(repr, outside))}", file=src, column=column, row=row)
    return in_test
