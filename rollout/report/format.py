"""Numbers and column names for people: rounding to what an interval supports, human labels.

A report that prints ``0.620877140114195`` claims fifteen digits it does not have. The rule here
is the one a careful analyst applies by hand: an estimate is shown to the precision of its
standard error (two significant digits of the SE), shares as percentages, counts with thousands
separators, and a missing value as a dash, never ``nan`` or ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

#: The dash a reader sees where a value is missing or not applicable.
MISSING = "—"

#: Raw column names of the result tables and the words a reader sees instead.
LABELS: dict[str, str] = {
    "outcome": "Outcome",
    "method": "Method",
    "estimand": "Estimand",
    "estimate": "Estimate",
    "adjusted_estimate": "Adjusted estimate",
    "se": "SE",
    "ci_low": "95% CI low",
    "ci_high": "95% CI high",
    "aipw": "DR effect",
    "aipw_se": "DR SE",
    "aipw_ci_low": "DR 95% CI low",
    "aipw_ci_high": "DR 95% CI high",
    "p_value": "p-value",
    "n": "Customers",
    "n_treated": "Treated",
    "n_control": "Control",
    "n_treatment": "Treatment",
    "n_per_arm": "Per arm",
    "share": "Share of customers",
    "share_targeted": "Share targeted",
    "n_targeted": "Targeted",
    "trim": "Propensity window",
    "policy": "Policy",
    "predicted": "Predicted profit",
    "predicted_value": "Predicted profit",
    "honest": "Honest profit",
    "value": "Profit per customer",
    "value_se": "SE",
    "value_ci_low": "95% CI low",
    "value_ci_high": "95% CI high",
    "segment": "Segment",
    "stratum": "Stratum",
    "arm": "Arm",
    "look": "Look",
    "fraction": "Information fraction",
    "information_fraction": "Information fraction",
    "efficacy_z": "Efficacy bound (z)",
    "futility_z": "Futility bound (z)",
    "harm_z": "Harm bound (z)",
    "alpha_spent": "Alpha spent",
    "beta_spent": "Beta spent",
    "phase": "Phase",
    "ps_region": "Propensity region",
    "model": "Model",
    "r_loss": "R-loss",
    "blp_slope": "BLP slope",
    "blp_slope_se": "BLP slope SE",
    "auuc": "AUUC",
    "qini": "Qini",
    "covariate": "Covariate",
    "smd": "SMD",
    "smd_weighted": "SMD (weighted)",
    "smd_before": "SMD before",
    "smd_after": "SMD after",
    "power": "Power",
    "mde": "MDE",
    "cost": "Cost per customer ($)",
    "margin": "Margin",
    "breakeven": "Breakeven effect ($)",
    "expected_profit": "Expected profit ($)",
    "roi": "ROI",
    "decision": "Decision",
}


def label(column: str, labels: Mapping[str, str] | None = None) -> str:
    """The reader's name of a column: from ``labels``, then :data:`LABELS`, else words.

    >>> label("aipw_ci_high"), label("n_treated"), label("mean_basket_size")
    ('DR 95% CI high', 'Treated', 'Mean basket size')
    """
    if labels and column in labels:
        return labels[column]
    if column in LABELS:
        return LABELS[column]
    words = str(column).replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _missing(value: Any) -> bool:
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
    if se is None or _missing(se) or se <= 0:
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
    if _missing(value):
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
    if _missing(value):
        return MISSING
    return f"{100 * float(value):.{decimals}f}%"


#: Column families rounded together: each estimate-like column and the SE column that sets it.
_SE_FOR = {
    "estimate": "se", "ci_low": "se", "ci_high": "se", "adjusted_estimate": "se",
    "aipw": "aipw_se", "aipw_ci_low": "aipw_se", "aipw_ci_high": "aipw_se",
    "value": "value_se", "value_ci_low": "value_se", "value_ci_high": "value_se",
    "honest": "honest_se", "honest_ci_low": "honest_se", "honest_ci_high": "honest_se",
}


def readable(frame: pd.DataFrame, labels: Mapping[str, str] | None = None,
             shares: tuple[str, ...] = ("share", "share_targeted", "overlap_share"),
             ) -> pd.DataFrame:
    """A table of strings for people: estimates rounded by their SE, shares as %, human headers.

    Estimate-like columns take the precision of the SE column of their family (``ci_low`` and
    ``ci_high`` follow ``se``; ``aipw_*`` follow ``aipw_se``); other numbers get three significant
    digits. The raw frame is untouched; the appendix or the parquet file holds every digit.

    >>> f = pd.DataFrame({"method": ["aipw"], "estimate": [30.4127], "se": [15.83],
    ...                   "ci_low": [-0.61], "ci_high": [61.44], "n": [2295]})
    >>> readable(f).iloc[0].tolist()
    ['aipw', '30', '16', '-1', '61', '2,295']
    >>> list(readable(f).columns)
    ['Method', 'Estimate', 'SE', '95% CI low', '95% CI high', 'Customers']
    """
    out = {}
    for column in frame.columns:
        values = frame[column].tolist()
        se_column = _SE_FOR.get(column, column if column in _SE_FOR.values() else None)
        if column in shares:
            cells = [share(v) if not isinstance(v, str) else v for v in values]
        elif se_column is not None and se_column in frame.columns:
            ses = frame[se_column].tolist()
            cells = [number(v, decimals_for(s)) if isinstance(v, float | np.floating) else
                     number(v) for v, s in zip(values, ses, strict=True)]
        else:
            cells = [number(v) for v in values]
        out[label(str(column), labels)] = cells
    return pd.DataFrame(out, index=frame.index)
