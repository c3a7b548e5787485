"""The report's tables for people: human column labels and readable tables of strings.

The numbers in them follow the package's one rule (:mod:`rollout.common.format`, re-exported
here): an estimate to the precision of its standard error, shares as percentages, counts with
thousands separators, and a missing value as a dash, never ``nan`` or ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from rollout.common.format import (  # noqa: F401  (the report's formatters, re-exported)
    MISSING,
    decimals_for,
    estimate,
    interval,
    is_missing,
    number,
    share,
)

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
