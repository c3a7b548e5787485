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


#: How ``merge_small_strata`` picks a neighbour, as the design states it.
MERGE_RULE = (
    "a stratum expected to hold fewer than {threshold} customers per arm is merged with the "
    "stratum most like it (the same value on the most stratum columns, the later columns "
    "counting first), never across {protected}; the smallest such neighbour first, repeated "
    "until no stratum is that small or none is left to merge with")


def merge_small_strata(labels: Sequence[str], values: Sequence[Mapping[str, Any]],
                       expected_per_arm: Sequence[float], columns: Sequence[str],
                       protected: Sequence[str], threshold: float) -> dict[str, str]:
    """Which strata to merge, as ``{label: merged label}`` (only the strata that move).

    ``labels`` and ``values``: each stratum's label and its value per column; ``expected_per_arm``:
    its expected entrants in the smallest arm. A stratum below ``threshold`` joins the stratum
    (or merged group) sharing its ``protected`` values and the most other values, the later of
    ``columns`` first; among those, the smallest. A merged group is named by its strata's labels
    joined with `` + ``, in sorted order. A heterogeneity test's arms are randomized within
    strata too small to split otherwise: merging them is what keeps ``assign`` from failing.

    >>> merge_small_strata(["a=1|b=0", "a=2|b=0", "a=1|b=1"],
    ...                    [{"a": 1, "b": 0}, {"a": 2, "b": 0}, {"a": 1, "b": 1}],
    ...                    [1.0, 9.0, 9.0], ["a", "b"], ["b"], 4.0)
    {'a=1|b=0': 'a=1|b=0 + a=2|b=0', 'a=2|b=0': 'a=1|b=0 + a=2|b=0'}
    """
    groups = [{"labels": [label], "size": float(size),
               "values": {c: {v[c]} for c in columns}}
              for label, v, size in zip(labels, values, expected_per_arm, strict=True)]
    order = list(reversed(list(columns)))
    while True:
        small = [g for g in groups if g["size"] < threshold]
        if not small:
            break
        merged = False
        for group in sorted(small, key=lambda g: (g["size"], g["labels"])):
            same = [g for g in groups if g is not group and all(
                g["values"][c] & group["values"][c] for c in protected)]
            if not same:
                continue
            best = min(same, key=lambda g: (
                tuple(not g["values"][c] & group["values"][c] for c in order),
                g["size"], min(g["labels"])))
            best["labels"] = sorted(best["labels"] + group["labels"])
            best["size"] += group["size"]
            best["values"] = {c: best["values"][c] | group["values"][c] for c in columns}
            groups.remove(group)
            merged = True
            break
        if not merged:
            break
    return {label: " + ".join(g["labels"]) for g in groups if len(g["labels"]) > 1
            for label in g["labels"]}


def expected_strata(frame: pd.DataFrame, columns: Sequence[str], inclusion: np.ndarray,
                    allocation: Mapping[str, float], merges: Mapping[str, str] | None = None,
                    ) -> list[dict[str, Any]]:
    """Expected entrants per stratum and arm when customer ``i`` enters with probability
    ``inclusion[i]``, strata labelled as assignment labels them and merged by ``merges``
    (a merged stratum's values are its strata's values joined by `` + ``). Each record also
    carries its ``label``.

    >>> frame = pd.DataFrame({"segment": ["a", "a", "b", "b"]})
    >>> [r["expected_n"] for r in expected_strata(frame, ["segment"], np.array([1, 1, .5, .5]),
    ...                                            {"treatment": .5, "control": .5})]
    [2.0, 1.0]
    """
    from rollout.planning.assignment import stratum_labels

    if not columns:
        return []
    codes, labels = stratum_labels(frame, columns)
    merges = merges or {}
    names = [merges.get(label, label) for label in labels]
    units = sorted(set(names))
    unit_of = np.array([units.index(name) for name in names])[codes]
    inclusion = np.asarray(inclusion, dtype=float)
    threshold = small_stratum_threshold(len(allocation))
    total = len(frame)
    records = []
    for u, name in enumerate(units):
        rows = unit_of == u
        part = frame.loc[rows, list(columns)]
        record: dict[str, Any] = {}
        for column in columns:
            distinct = sorted({_text(v) for v in part[column].tolist()})
            value = part[column].iloc[0]
            record[column] = (None if pd.isna(value) else
                              (value.item() if isinstance(value, np.generic) else value)
                              ) if len(distinct) == 1 else " + ".join(distinct)
        expected = float(inclusion[rows].sum())
        per_arm = {arm: expected * share for arm, share in allocation.items()}
        record.update({"label": name, "customers": int(rows.sum()),
                       "share": float(rows.sum() / total), "expected_n": expected,
                       "expected_per_arm": per_arm,
                       "too_small": bool(min(per_arm.values()) < threshold)})
        records.append(record)
    return records


def _text(value: Any) -> str:
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
