"""What scoring one batch of customers means: the deployed CATE, its interval, the policies' lists.

A :class:`Scorer` is built once from a results folder (the checksummed model, the covariates it
reads, the range it was fitted on, the breakeven and the policies that are rules on a customer's
own values) and then maps a batch of customer rows to a batch of scored rows with
:meth:`Scorer.score_frame`. Both engines call that one method: DuckDB on the batches it reads in
this process, Spark on the batches of each partition (``mapInPandas``), so a customer's scores
never depend on where they were computed.

The model is used only through the interface every CATE learner of the package has
(``effect(X)`` and ``effect_interval(X)``, which returns ``None`` or ``(low, high)``), so a model
of any kind the analysis deploys scores the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from rollout.errors import InputError
from rollout.estimation.cate.persistence import checked_model_bytes, sha256, unpickle_model
from rollout.estimation.results_folder import ResultsFolder, target_column
from rollout.policy.policies import CUSTOMER_RULES, NEEDS_LOWER, RULE_CHOICE, rule_targets
from rollout.policy.trees import TREE_KINDS, apply_rules

ID_COLUMN = "customer_id"
OUTSIDE = "outside_fitted_range"
OUTSIDE_COVARIATES = "outside_covariates"
#: Why a recorded policy is not written for new customers.
NOT_SCORED = {
    "current_practice": "the historical assignment of the analysed customers: new customers "
                        "have none",
    "top_k": "a rank within the analysed customers (the top k% by CATE), not a rule on a "
             "customer's own values: rank the cate column of the scored table for a budget",
}


@dataclass(frozen=True)
class ScoringPlan:
    """The plain part of a scorer (everything but the model): picklable, small, sent to workers.

    ``rules`` maps each scored policy to ``("rule", choice)`` (a threshold rule of
    :func:`rollout.policy.policies.rule_targets`) or ``("tree", rules)`` (a JSON rule tree of
    :func:`rollout.policy.trees.apply_rules`). ``ranges`` is ``None`` when the analysis recorded
    no fitted range (written before it did).
    """

    covariates: tuple[str, ...]
    ranges: Mapping[str, tuple[float, float]] | None
    breakeven: float | None
    rules: Mapping[str, tuple[str, Any]]
    has_interval: bool
    sha256: str
    not_scored: Mapping[str, str] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """The columns of a scored table, in order."""
        interval = ["cate_lower", "cate_upper"] if self.has_interval else []
        return [ID_COLUMN, "cate", *interval, *(target_column(p) for p in self.rules), OUTSIDE,
                OUTSIDE_COVARIATES]


def _policy_rules(folder: ResultsFolder, has_interval: bool,
                  ) -> tuple[dict[str, tuple[str, Any]], dict[str, str]]:
    """The policies the analysis recorded that score a new customer, and why the others don't."""
    trees = {str(r.get("policy")): r.get("tree") for r in folder.records("policy_rules")}
    rules: dict[str, tuple[str, Any]] = {}
    skipped: dict[str, str] = {}
    for record in folder.records("policies"):
        name = str(record.get("policy"))
        choice = record.get("choice") if isinstance(record.get("choice"), dict) else {}
        if name in TREE_KINDS and isinstance(trees.get(name), dict):
            rules[name] = ("tree", trees[name])
        elif name in CUSTOMER_RULES and (has_interval or name not in NEEDS_LOWER):
            wanted = RULE_CHOICE.get(name)
            rules[name] = ("rule", {wanted: choice[wanted]} if wanted else None)
        elif name in CUSTOMER_RULES:
            skipped[name] = "needs the CATE's lower bound, which this model does not give"
        elif name.startswith("top_"):
            skipped[name] = NOT_SCORED["top_k"]
        else:
            skipped[name] = NOT_SCORED.get(name, "not a rule on a customer's own values")
    return rules, skipped


def _ranges(record: Mapping[str, Any], covariates: Sequence[str]
            ) -> dict[str, tuple[float, float]] | None:
    ranges = record.get("covariate_range")
    if not isinstance(ranges, dict) or set(covariates) - set(ranges):
        return None
    return {c: (float(ranges[c][0]), float(ranges[c][1])) for c in covariates}


@dataclass(frozen=True, eq=False)
class Scorer:
    """The deployed model of a results folder with its :class:`ScoringPlan`."""

    model: Any
    plan: ScoringPlan
    record: Mapping[str, Any]
    data: bytes = b""

    @classmethod
    def open(cls, results: str | Path) -> Scorer:
        """The scorer of a results folder; the model is loaded only when its checksum matches."""
        data, record = checked_model_bytes(results)
        model = unpickle_model(data, Path(results) / str(record["file"]))
        folder = ResultsFolder.open(results)
        covariates = tuple(str(c) for c in record["covariates"])
        ranges = _ranges(record, covariates)
        probe = np.array([[lo for lo, _ in ranges.values()]] if ranges
                         else np.zeros((1, len(covariates))), dtype=float)
        has_interval = model.effect_interval(probe) is not None
        breakeven = folder.breakeven().breakeven_cate if folder.has_breakeven() else None
        rules, skipped = _policy_rules(folder, has_interval) if breakeven is not None \
            else ({}, {})
        plan = ScoringPlan(covariates=covariates, ranges=ranges, breakeven=breakeven,
                           rules=rules, has_interval=has_interval, sha256=str(record["sha256"]),
                           not_scored=skipped)
        return cls(model=model, plan=plan, record=dict(record), data=data)

    @classmethod
    def from_bytes(cls, data: bytes, plan: ScoringPlan) -> Scorer:
        """A scorer on a worker, from the bytes checked on the driver (checked again here)."""
        if sha256(data) != plan.sha256:
            raise RuntimeError("the model bytes received differ from the checked ones")
        return cls(model=unpickle_model(data), plan=plan, record={}, data=data)

    def score_frame(self, frame: pd.DataFrame, offset: int | None = 0,
                    source: str | None = None) -> pd.DataFrame:
        """Scored rows of one batch of customer rows (see :attr:`ScoringPlan.columns`).

        ``offset`` is the batch's first row in the whole table, used to name a bad row in the
        error (``None`` when unknown, as on a cluster, where missing values are checked before).
        """
        plan = self.plan
        X = frame[list(plan.covariates)].to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(X)
        if bad.any():
            row, col = (int(v[0]) for v in np.nonzero(bad))
            raise InputError("covariate value is missing or not finite", file=source,
                             column=plan.covariates[col],
                             row=None if offset is None else offset + row)
        out: dict[str, Any] = {ID_COLUMN: frame[ID_COLUMN].to_numpy()}
        cate = in_blocks(self.model.effect, X)[0]
        out["cate"] = cate
        lower = None
        if plan.has_interval:
            lower, upper = in_blocks(self.model.effect_interval, X, pad=False)
            out["cate_lower"], out["cate_upper"] = lower, upper
        covariates = frame[list(plan.covariates)]
        for name, (kind, spec) in plan.rules.items():
            targets = (apply_rules(spec, covariates) if kind == "tree"
                       else rule_targets(name, cate, lower, float(plan.breakeven or 0.0), spec))
            out[target_column(name)] = targets.astype(np.int8)
        outside, which = _outside(X, plan)
        out[OUTSIDE] = outside.astype(np.int8)
        out[OUTSIDE_COVARIATES] = which
        return pd.DataFrame(out, columns=plan.columns)


#: Rows per model call: every call gets exactly this many rows (see :func:`in_blocks`).
BLOCK_ROWS = 1024


def in_blocks(predict: Any, X: np.ndarray, block: int = BLOCK_ROWS,
              pad: bool = True) -> list[np.ndarray]:
    """``predict(X)`` computed in calls of ``block`` rows (with ``pad``, the last is padded to
    exactly ``block`` rows by repeating its first row, and the padding cut off).

    A linear algebra library sums a matrix product's terms in an order that depends on the
    shape it is given (the last rows of an odd-sized product take another path), so the same
    customer could get a CATE a few units in the 14th digit apart depending on how many rows
    came with it. Calls of one fixed shape give each customer the same digits for the point
    estimate whether the batches were cut by this process or by a cluster's partitions.
    Intervals are computed without padding: econml's interval of a row depends, in the last
    digits, on the other rows of the call (about 1e-13 apart), so no shape makes them exact.
    ``predict`` returns an array, or a tuple of arrays (an interval).
    """
    parts: list[list[np.ndarray]] = []
    for start in range(0, len(X), block):
        chunk = X[start:start + block]
        n = len(chunk)
        if pad and n < block:
            chunk = np.vstack([chunk, np.repeat(chunk[:1], block - n, axis=0)])
        result = predict(chunk)
        values = result if isinstance(result, tuple) else (result,)
        parts.append([np.asarray(v, dtype=float).ravel()[:n] for v in values])
    if not parts:
        probe = predict(np.zeros((1, X.shape[1])))
        return [np.empty(0) for _ in (probe if isinstance(probe, tuple) else (probe,))]
    return [np.concatenate(column) for column in zip(*parts, strict=True)]


def _outside(X: np.ndarray, plan: ScoringPlan) -> tuple[np.ndarray, np.ndarray]:
    """Whether each row lies outside the fitted range, and the covariates that put it there."""
    which = np.full(len(X), "", dtype=object)
    if plan.ranges is None:
        return np.zeros(len(X), dtype=bool), which
    low = np.array([plan.ranges[c][0] for c in plan.covariates])
    high = np.array([plan.ranges[c][1] for c in plan.covariates])
    beyond = (X < low) | (X > high)
    outside = beyond.any(axis=1)
    names = np.array(plan.covariates, dtype=object)
    for row in np.flatnonzero(outside):
        which[row] = ",".join(names[beyond[row]])
    return outside, which


def check_columns(numeric: Mapping[str, bool], plan: ScoringPlan, source: str) -> None:
    """The customer table has ``customer_id`` and every covariate, each covariate numeric.

    ``numeric`` maps every column of the table to whether its type is a number.
    """
    if ID_COLUMN not in numeric:
        raise InputError("missing the customer id column", file=source, column=ID_COLUMN)
    for column in plan.covariates:
        if column not in numeric:
            raise InputError("covariate the CATE model reads is missing from the customer "
                             "table", file=source, column=column)
        if not numeric[column]:
            raise InputError("covariate must be numeric", file=source, column=column)


def id_type_of(type_name: str, path: Path) -> pa.DataType:
    """Integer ids are written as 64-bit integers, text ids as text (on both engines)."""
    name = type_name.upper()
    if name in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "INT", "LONG", "SHORT", "BYTE"}:
        return pa.int64()
    if name in {"VARCHAR", "STRING"}:
        return pa.string()
    raise InputError(f"customer ids must be integers or text, got {type_name.lower()}",
                     file=path, column=ID_COLUMN)
