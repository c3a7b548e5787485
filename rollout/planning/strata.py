"""Strata of the A/B test: expected sizes per stratum and arm, and per-segment test sizes.

Assignment randomizes within strata with proportional allocation: each stratum contributes to
the test in proportion to its share of the customers, and within a stratum customers are split
by the design's allocation. When a results folder is available the stratum shares are known, so
the expected number of customers per stratum and arm is reported, and strata expected to hold
fewer than ``2 x (number of arms)`` customers per arm are flagged: too small to balance, they
should be merged. Without a results folder the strata are just the column names the customer
file will carry; their sizes are computed at assignment time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from rollout.errors import InputError
from rollout.planning.power import solve_fixed

DEFAULT_STRATA = ("segment", "ps_region")


def small_stratum_threshold(n_arms: int) -> int:
    """Expected customers per arm below which a stratum is too small to matter.

    >>> small_stratum_threshold(2)
    4
    """
    return 2 * n_arms


def check_strata_columns(frame: pd.DataFrame, columns: Sequence[str],
                         source: str | None = None) -> None:
    """Every stratum column must exist in the customer table."""
    for column in columns:
        if column not in frame.columns:
            raise InputError("stratum column not found (available: "
                             f"{', '.join(map(str, frame.columns))})", file=source,
                             column=column)


def stratum_sizes(frame: pd.DataFrame, columns: Sequence[str], n_total: int,
                  allocation: Mapping[str, float]) -> list[dict[str, Any]]:
    """Expected customers per stratum and arm under proportional allocation.

    >>> frame = pd.DataFrame({"segment": ["a", "a", "a", "b"]})
    >>> stratum_sizes(frame, ["segment"], 100, {"treatment": 0.5, "control": 0.5})[1]
    ... # doctest: +NORMALIZE_WHITESPACE
    {'segment': 'b', 'customers': 1, 'share': 0.25, 'expected_n': 25.0,
     'expected_per_arm': {'treatment': 12.5, 'control': 12.5}, 'too_small': False}
    """
    threshold = small_stratum_threshold(len(allocation))
    if not columns:
        return []
    counts = (frame.groupby(list(columns), dropna=False, sort=True).size()
              .reset_index(name="customers"))
    total = float(counts["customers"].sum())
    records = []
    for row in counts.to_dict(orient="records"):
        share = row["customers"] / total
        expected = n_total * share
        per_arm = {arm: expected * frac for arm, frac in allocation.items()}
        record = {col: (None if pd.isna(row[col]) else row[col]) for col in columns}
        record.update({
            "customers": int(row["customers"]),
            "share": float(share),
            "expected_n": float(expected),
            "expected_per_arm": per_arm,
            "too_small": bool(min(per_arm.values()) < threshold),
        })
        records.append(record)
    return records


def per_segment_tests(frame: pd.DataFrame, segment: str, outcome: str, mde: float,
                      alpha: float, power: float, sided: int, allocation: Mapping[str, float],
                      r2: float | None = None,
                      sd_effective: Callable[[pd.DataFrame, float], float] | None = None,
                      inflation: float = 1.0) -> list[dict[str, Any]]:
    """Size a separate test inside each segment, at the design's MDE and the segment's own SD.

    ``sd_effective(group, sd)`` puts the segment's outcome SD on the test's own scale (the
    estimand's effective SD, R^2 included; default ``sd sqrt(1 - r2)``, the ATE's), so a contrast
    or profit MDE is sized with its own variance; sizes are multiplied by the sequential design's
    maximum ``inflation``. Reports the customers available in the segment next to the test's
    size, so the user sees which segment-level tests are feasible at all.
    """
    records = []
    for name, group in frame.groupby(segment, sort=True):
        y = group[outcome].to_numpy(dtype=float)
        sd = float(np.std(y, ddof=1)) if y.size > 1 else float("nan")
        record: dict[str, Any] = {segment: name, "customers": int(y.size), "sd": sd}
        effective = float("nan")
        if np.isfinite(sd) and sd > 0:
            try:
                effective = (sd_effective(group, sd) if sd_effective is not None
                             else sd * np.sqrt(1 - (r2 or 0.0)))
            except InputError:  # e.g. no predicted responder in the segment
                effective = float("nan")
        if not np.isfinite(effective) or effective <= 0:
            record.update({"n_per_arm": None, "n_total": None, "feasible": False})
        else:
            sizing = solve_fixed(sd=effective, mde=mde, power=power, alpha=alpha, sided=sided,
                                 allocation=dict(allocation),
                                 n_treatment_arms=len(allocation) - 1)
            n_per_arm = {arm: math.ceil(n * inflation - 1e-9)
                         for arm, n in sizing.n_per_arm.items()}
            n_total = int(sum(n_per_arm.values()))
            record.update({"sd_effective": effective, "n_per_arm": n_per_arm,
                           "n_total": n_total, "sequential_inflation": inflation,
                           "feasible": bool(n_total <= y.size)})
        records.append(record)
    return records
