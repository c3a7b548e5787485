"""Numbers for people, written once: digits an estimate supports, thousands, a dash if missing.

A table that prints ``0.620877140114195`` claims fifteen digits it does not have. The rule here
is the one a careful analyst applies by hand: an estimate is shown to the precision of its
standard error (two significant digits of the SE), shares as percentages, counts with thousands
separators, and a missing value as a dash, never ``nan`` or ``None``. The terminal tables
(:mod:`rollout.console`), the notebook tables (:mod:`rollout.common.display`) and the report
(:mod:`rollout.report.format`) all format numbers with :func:`number`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

#: The dash a reader sees where a value is missing or not applicable.
MISSING = "—"


def is_missing(value: Any) -> bool:
    """Whether ``value`` is missing: None, NaN, an infinity or a pandas NA."""
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return not math.isfinite(float(value))
    return bool(pd.isna(value)) if np.isscalar(value) else False


def decimals_for(se: float | None, significant: int = 2) -> int:
    """Decimal places that show ``significant`` digits of a standard error (0 to 6).

    >>> decimals_for(15.8), decimals_for(0.61), decimals_for(0.0042), decimals_for(None)
    (0, 2, 4, 2)
    """
    if se is None or is_missing(se) or se <= 0:
        return 2
    return int(min(6, max(0, significant - 1 - math.floor(math.log10(float(se))))))


def number(value: Any, decimals: int | None = None) -> str:
    """A number as a reader sees it: thousands separators, sensible digits, a dash if missing.

    Without ``decimals``: integers whole, floats with three significant digits (whole above
    1,000).

    >>> number(1234567), number(0.620877140114195), number(2874.4), number(float("nan"))
    ('1,234,567', '0.621', '2,874', '—')
    >>> number(-36.391, decimals=1), number(True)
    ('-36.4', 'yes')
    """
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if is_missing(value):
        return MISSING
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if not isinstance(value, float | np.floating):
        return str(value)
    value = float(value)
    if decimals is not None:
        text = f"{value:,.{decimals}f}"
    elif value == 0:
        text = "0"
    elif abs(value) >= 1000:
        text = f"{value:,.0f}"
    else:
        digits = max(0, 2 - math.floor(math.log10(abs(value))))
        text = f"{value:,.{digits}f}"
    return "0" if text in ("-0", "-0.0", "-0.00") else text


def estimate(value: float, se: float | None) -> str:
    """An estimate rounded to the precision its standard error supports.

    >>> estimate(30.4127, 15.8), estimate(1.18342, 0.61)
    ('30', '1.18')
    """
    return number(float(value), decimals_for(se))


def interval(low: float, high: float, se: float | None) -> str:
    """A 95% interval rounded like its estimate, as ``[low, high]``.

    >>> interval(-1.93, 41.62, 11.1)
    '[-2, 42]'
    """
    d = decimals_for(se)
    return f"[{number(float(low), d)}, {number(float(high), d)}]"


def share(value: float, decimals: int = 1) -> str:
    """A share of customers as a percentage.

    >>> share(0.4131), share(float("nan"))
    ('41.3%', '—')
    """
    if is_missing(value):
        return MISSING
    return f"{100 * float(value):.{decimals}f}%"
