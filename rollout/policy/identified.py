"""Where a policy's value is identified: the propensity window in which both arms were observed.

A doubly robust score ``Gamma_i`` divides by e(x_i) and 1 - e(x_i). Where a customer was (almost)
always or never targeted in the past there is no comparable customer in the other arm: the score
is then the outcome model's extrapolation plus a residual blown up by a tiny propensity, and a
policy value averaged over such customers has an interval that pretends to know what nobody
observed. So every policy value and paired difference is estimated on the *identified*
population only: the customers whose cross-fitted propensity lies in the window
[0.1, 0.9] (trimmed doubly robust scores, Crump et al. 2009). The value is the mean of
``pi(x) x profit score`` over the held-out customers inside the window, and its standard error
uses the kept n, so it is a value per identified customer. The identified share (of all
customers, and of the held-out ones) is stated beside it.

Per propensity region (``ps_region`` of ``customers.parquet``) the values are reported again:
inside the window with their interval, outside it as not identified (null, with the reason and
the arm counts). Customers outside the window are labelled ``randomize_in_test``: the
observational data cannot say what targeting them earns, so a randomized test has to.

Examples
--------
>>> identified_mask(np.array([0.05, 0.1, 0.5, 0.9, 0.95])).tolist()
[False, True, True, True, False]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from rollout.common.stats import Z_975
from rollout.estimation.propensity import ps_region
from rollout.policy.value import policy_value

#: The propensity window where a value counts as identified (both arms observed).
IDENTIFIED_WINDOW = (0.1, 0.9)
REGIONS = ("overlap", "near_boundary", "extreme_low", "extreme_high")
IDENTIFICATION_NOTE = (
    "trimmed doubly robust scores: values and differences are means of pi(x) x profit score "
    "over the held-out customers whose cross-fitted propensity lies in [0.1, 0.9] (both arms "
    "observed); the standard error uses the kept n; customers outside the window are not "
    "scored (their value is not identified) and are labelled randomize_in_test")
#: The action of a region whose effect the data cannot identify.
RANDOMIZE = "randomize in the test"


def identified_mask(e_hat: np.ndarray,
                    window: tuple[float, float] = IDENTIFIED_WINDOW) -> np.ndarray:
    """Customers whose propensity lies inside the window (both ends included)."""
    e_hat = np.asarray(e_hat, float)
    return (e_hat >= window[0]) & (e_hat <= window[1])


def _not_identified_reason(n_treated: int, n_control: int) -> str:
    return (f"propensity outside [{IDENTIFIED_WINDOW[0]:g}, {IDENTIFIED_WINDOW[1]:g}]: "
            f"{n_treated} treated and {n_control} control customers, so one arm is (almost) "
            "never observed and the value would be an extrapolation; randomize these customers "
            "in the test")


def region_action(identified: bool, ci_low: float, ci_high: float,
                  breakeven: float | None) -> str:
    """What a propensity region warrants, from its own DR estimate against the breakeven.

    >>> region_action(True, 25.0, 60.0, 20.0), region_action(True, -9.0, 12.0, 20.0)
    ('target', 'do not target')
    >>> region_action(True, 5.0, 30.0, 20.0), region_action(False, 1.0, 2.0, 20.0)
    ('test: the interval spans the breakeven', 'randomize in the test')
    """
    if not identified:
        return RANDOMIZE
    line = 0.0 if breakeven is None else breakeven
    word = "zero" if breakeven is None else "the breakeven"
    if ci_low > line:
        return "target"
    if ci_high < line:
        return "do not target"
    return f"test: the interval spans {word}"


def region_table(e_hat: np.ndarray, effect_scores: np.ndarray, treatment: np.ndarray,
                 cate: np.ndarray | None, breakeven: float | None) -> pd.DataFrame:
    """Per propensity region: counts, identified or not, the DR effect and the action.

    >>> table = region_table(np.array([0.5, 0.5, 0.5, 0.5, 0.99]),
    ...                      np.array([30.0, 40, 35, 45, 9]), np.array([1, 0, 1, 0, 1]), None, 20.0)
    >>> table.set_index("region").loc[["overlap", "extreme_high"], "action"].tolist()
    ['target', 'randomize in the test']
    """
    region = ps_region(np.asarray(e_hat, float)).astype(str)
    inside = identified_mask(e_hat)
    scores, t = np.asarray(effect_scores, float), np.asarray(treatment)
    rows = []
    for name in REGIONS:
        mask = region == name
        n, n_t = int(mask.sum()), int((t[mask] == 1).sum())
        ok = bool(n > 1 and inside[mask].all() and n_t >= 2 and n - n_t >= 2)
        est = float(scores[mask].mean()) if ok else None
        se = float(scores[mask].std(ddof=1) / np.sqrt(n)) if ok else None
        low = est - Z_975 * se if ok else None  # type: ignore[operator]
        high = est + Z_975 * se if ok else None  # type: ignore[operator]
        rows.append({
            "region": name, "n": n, "share": n / len(region), "n_treated": n_t,
            "n_control": n - n_t, "identified": ok,
            "reason": None if ok else ("no customers" if n == 0 else
                                       _not_identified_reason(n_t, n - n_t)),
            "effect": est, "effect_se": se, "effect_ci_low": low, "effect_ci_high": high,
            "predicted_mean_cate": float(np.mean(np.asarray(cate)[mask]))
            if cate is not None and n else None,
            "action": region_action(ok, low if ok else np.nan, high if ok else np.nan,
                                    breakeven) if n else None,
        })
    return pd.DataFrame(rows)


def values_by_region(honest_targets: Mapping[str, np.ndarray], profit: np.ndarray,
                     eval_mask: np.ndarray, e_hat: np.ndarray,
                     treatment: np.ndarray) -> pd.DataFrame:
    """Each policy's honest value per region of the held-out customers; null outside the window.

    ``eval_mask`` are the held-out customers (before trimming); a region's value is per held-out
    customer of that region.
    """
    region = ps_region(np.asarray(e_hat, float)).astype(str)
    inside = identified_mask(e_hat)
    t = np.asarray(treatment)
    rows: list[dict[str, Any]] = []
    for policy, targets in honest_targets.items():
        for name in REGIONS:
            mask = np.asarray(eval_mask, bool) & (region == name)
            n, n_t = int(mask.sum()), int((t[mask] == 1).sum())
            ok = bool(n > 1 and inside[mask].all() and n_t >= 2 and n - n_t >= 2)
            row: dict[str, Any] = {"policy": policy, "region": name, "n": n,
                                   "identified": ok, "value": None, "value_se": None,
                                   "value_ci_low": None, "value_ci_high": None,
                                   "reason": None}
            if ok:
                v = policy_value(targets, profit, mask)
                row.update(value=v.value, value_se=v.se, value_ci_low=v.ci_low,
                           value_ci_high=v.ci_high)
            else:
                row["reason"] = ("no held-out customers" if n == 0
                                 else _not_identified_reason(n_t, n - n_t))
            rows.append(row)
    return pd.DataFrame(rows)


def identification_record(e_hat: np.ndarray, eval_mask: np.ndarray) -> dict[str, Any]:
    """The identified population: window, method, shares and counts (all and held out)."""
    inside = identified_mask(e_hat)
    held = np.asarray(eval_mask, bool)
    return {
        "method": "trimmed", "window": list(IDENTIFIED_WINDOW), "note": IDENTIFICATION_NOTE,
        "propensity": "cross-fitted e(x) of the analysis (before clipping)",
        "n": int(inside.sum()), "n_total": int(inside.size),
        "identified_share": float(inside.mean()),
        "n_evaluated": int((inside & held).sum()), "n_held_out": int(held.sum()),
        "identified_share_held_out": float(inside[held].mean()) if held.any() else None,
        "n_randomize_in_test": int((~inside).sum()),
    }


def randomize_column(e_hat: np.ndarray) -> np.ndarray:
    """``randomize_in_test``: 1 for customers outside the identified window, else 0."""
    return (~identified_mask(e_hat)).astype(np.int64)

