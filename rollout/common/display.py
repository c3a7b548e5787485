"""One display contract for every public result: ``to_dict``, ``to_pandas``, ``summary``, HTML.

After tea-tasting's ``DictsReprMixin``: a result is a small frozen dataclass, and the mixin gives
it a plain-dict form for JSON, a DataFrame for analysis, ``summary()`` (always a DataFrame) and a
``_repr_html_`` so that it shows as a table in a notebook. A result whose natural table is not its
fields (a list of rows, say) overrides :meth:`DisplayMixin.to_pandas`; one with nested parts may
override :meth:`DisplayMixin.to_dict`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from rollout.common.format import MISSING, number


def plain(value: Any) -> Any:
    """``value`` with numpy scalars, arrays, frames and nested dataclasses made plain Python.

    >>> plain({"a": np.float64(1.5), "b": (np.int64(2),)})
    {'a': 1.5, 'b': [2]}
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "to_dict"):
            return plain(value.to_dict())
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return [plain(r) for r in value.to_dict(orient="records")]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool | np.generic)


class DisplayMixin:
    """``to_dict``, ``to_pandas``, ``summary`` and ``_repr_html_`` for a dataclass result.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Estimate(DisplayMixin):
    ...     estimate: float
    ...     se: float
    >>> Estimate(1.0, 0.5).to_pandas()
       estimate   se
    0       1.0  0.5
    >>> Estimate(1.0, 0.5).summary().equals(Estimate(1.0, 0.5).to_pandas())
    True
    """

    def to_dict(self) -> dict[str, Any]:
        """The result as plain Python values (JSON-ready)."""
        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def to_pandas(self) -> pd.DataFrame:
        """The result as a one-row table of its scalar fields (nested parts left out)."""
        row = {k: v for k, v in self.to_dict().items() if _scalar(v)}
        return pd.DataFrame([row])

    def summary(self) -> pd.DataFrame:
        """The table a reader looks at first; by default the same as :meth:`to_pandas`."""
        return self.to_pandas()

    def _repr_html_(self) -> str:
        return self.summary().to_html(index=False, float_format=number, na_rep=MISSING)
