"""The returned A/B data: one row per tested customer, validated against the design.

Contract: ``customer_id``, ``arm`` (the design's arm names), the outcome columns, and pre-period
covariates, either in the file or joined by id from other files (the cohort, the assignment).
Covariates for adjustment are named explicitly (``covariates``) or default to the pre-period
covariates the design named (those its R^2 was computed on); without such a list, to the
covariates the file's own metadata declares (``rollout simulate`` and cohorts declare them). Any
other numeric column is left out of the adjustment, with a note naming it: a post-treatment
column (clicks, visits during the campaign) adjusted for would bias the effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rollout.common.labels import check_arm_labels
from rollout.errors import InputError, shown
from rollout.evaluation.srm import SRMResult, srm_check
from rollout.io import read_parquet_metadata, read_table
from rollout.planning.assignment import NOT_IN_TEST, PILOT
from rollout.planning.design import Design

#: Arm labels of an assignment's rows that are not part of the A/B test; any other label that is
#: not one of the design's arms is refused (with a did-you-mean), never dropped.
OUTSIDE_TEST = (PILOT, NOT_IN_TEST)

#: Columns that describe the assignment, never covariates.
BOOKKEEPING = {"customer_id", "arm", "phase", "stratum", "u", "treatment", "ps", "ps_region",
               "index_week", "true_cate", "propensity", "mu0", "mu1", "treat", "rule",
               "rules_disagree", "responder", "randomize_in_test", "assignment_probability"}


@dataclass
class ReturnedData:
    """Validated returned data for one outcome, with the arm indicator and covariate matrix."""

    frame: pd.DataFrame
    outcome: str
    treatment_arm: str
    control_arm: str
    covariates: list[str]
    source: str
    #: Rows of the file not in the test, by arm label (``pilot_target``, ``not_in_test``).
    left_out: dict[str, int] = field(default_factory=dict)
    #: Where the covariates came from (``given``, ``design``, ``declared``, ``none``).
    covariate_source: str = "given"
    #: What reading the data decided that the user should know (columns left out, ...).
    notes: list[str] = field(default_factory=list)

    @property
    def y(self) -> np.ndarray:
        return self.frame[self.outcome].to_numpy(dtype=float)

    @property
    def t(self) -> np.ndarray:
        return (self.frame["arm"] == self.treatment_arm).to_numpy(dtype=int)

    @property
    def X(self) -> np.ndarray:
        return self.frame[self.covariates].to_numpy(dtype=float)

    def srm(self, design: Design, threshold: float) -> SRMResult:
        """Sample-ratio check of the two compared arms against the design's allocation."""
        counts = self.frame["arm"].value_counts().to_dict()
        allocation = {a: design.allocation[a] for a in (self.treatment_arm, self.control_arm)}
        total = sum(allocation.values())
        return srm_check({a: int(counts.get(a, 0)) for a in allocation},
                         {a: s / total for a, s in allocation.items()}, threshold=threshold)


def _join(frame: pd.DataFrame, path: str | Path,
          pre_period: list[str] | None = None) -> pd.DataFrame:
    """Left-join another file's columns by customer_id.

    A cohort written by this package declares its column roles; from it only the pre-period
    columns (covariates, pre-period outcomes, segment) are taken, never its outcomes or carried
    columns, which are measured after its own index week.
    """
    other = read_table(path)
    if "customer_id" not in other.columns:
        raise InputError("missing the customer id column", file=path, column="customer_id")
    if other["customer_id"].duplicated().any():
        row = int(np.flatnonzero(other["customer_id"].duplicated().to_numpy())[0])
        raise InputError("duplicate customer id", file=path, column="customer_id", row=row)
    roles = read_parquet_metadata(path) if Path(path).suffix.lower() in {".parquet", ".pq"} \
        else None
    if roles and roles.get("covariates"):
        allowed = [*roles["covariates"], *(roles.get("pre_outcomes") or {}).values()]
        if roles.get("segment"):
            allowed.append(roles["segment"])
        candidates = [c for c in other.columns if c in allowed]
        if pre_period is not None:
            pre_period.extend(c for c in candidates if c != roles.get("segment"))
    else:
        candidates = list(other.columns)
    new = [c for c in candidates if c not in frame.columns and c != "customer_id"]
    return frame.merge(other[["customer_id", *new]], on="customer_id", how="left")


def load_returned(
    path: str | Path,
    design: Design,
    outcome: str | None = None,
    covariates: Sequence[str] | None = None,
    join: Sequence[str | Path] = (),
    treatment_arm: str | None = None,
    other_outcomes: Sequence[str] = (),
) -> ReturnedData:
    """Read, join and validate returned A/B data; raises :class:`InputError` at the first fault.

    Post-treatment columns must never be covariates: every outcome the file's own metadata
    declares, and any named in ``other_outcomes``, is excluded from the default covariates.
    Rows whose arm is ``not_in_test`` or ``pilot_target`` (an assignment file's rows outside the
    test) are left out and counted in ``left_out``; any other arm that is not one of the design's
    arms is refused, with a did-you-mean for a label that differs only by case or spaces.
    """
    src = str(path)
    frame = read_table(path)
    for col in ("customer_id", "arm"):
        if col not in frame.columns:
            raise InputError("missing column", file=src, column=col)
    if frame["customer_id"].duplicated().any():
        row = int(np.flatnonzero(frame["customer_id"].duplicated().to_numpy())[0])
        raise InputError(f"duplicate customer id {shown(frame['customer_id'].iloc[row])}", file=src,
                         column="customer_id", row=row)
    in_test = check_arm_labels(frame["arm"], design.arms, outside=OUTSIDE_TEST, source=src)
    left_out = {str(k): int(v) for k, v in
                sorted(frame.loc[~in_test, "arm"].value_counts().to_dict().items())}
    joined_pre: list[str] = []
    for extra in join:
        frame = _join(frame, extra, joined_pre)
    frame = frame[in_test].reset_index(drop=True)
    if frame.empty:
        raise InputError(f"no rows with an arm in {design.arms}", file=src, column="arm")
    control = design.control_arm
    treatments = [a for a in design.arms if a != control]
    treatment_arm = treatment_arm or treatments[0]
    if treatment_arm not in treatments:
        raise InputError(f"unknown treatment arm {treatment_arm!r}; the design has {treatments}",
                         file=src, column="arm")
    frame = frame[frame["arm"].isin([treatment_arm, control])].reset_index(drop=True)
    outcome = outcome or design.outcome
    if outcome is None:
        raise InputError("no outcome named: pass one", file=src, argument="outcome")
    if outcome not in frame.columns:
        raise InputError("outcome column not found", file=src, column=outcome)
    metadata = (read_parquet_metadata(path) or {}) if Path(path).suffix.lower() in {
        ".parquet", ".pq"} else {}
    declared = set(other_outcomes) | set(metadata.get("outcomes") or [])
    notes: list[str] = []
    source = "given"
    if covariates is None:
        covariates, source = _default_covariates(frame, design, outcome, declared, metadata,
                                                 joined_pre, notes)
    covariates = list(covariates)
    for col in [outcome, *covariates]:
        if col not in frame.columns:
            raise InputError("column not found", file=src, column=col)
        values = frame[col]
        if not pd.api.types.is_numeric_dtype(values):
            raise InputError(f"must be numeric, has type {values.dtype}", file=src, column=col)
        finite = np.isfinite(values.to_numpy(dtype=float))
        if not finite.all():
            row = int(np.flatnonzero(~finite)[0])
            raise InputError("missing or infinite value (after joins)", file=src, column=col,
                             row=row)
    for arm in (treatment_arm, control):
        if (frame["arm"] == arm).sum() < 2:
            raise InputError(f"fewer than 2 customers in arm {arm!r}", file=src, column="arm")
    return ReturnedData(frame=frame, outcome=outcome, treatment_arm=treatment_arm,
                        control_arm=control, covariates=covariates, source=src,
                        left_out=left_out, covariate_source=source, notes=notes)


def _default_covariates(frame: pd.DataFrame, design: Design, outcome: str, declared: set[str],
                        metadata: dict, joined_pre: list[str], notes: list[str]
                        ) -> tuple[list[str], str]:
    """The design's pre-period covariates present in the data, else the file's declared ones;
    every other numeric column is named in a note and left out."""
    named = design.details.get("covariates") if isinstance(design.details, dict) else None
    if named:
        chosen, source = [c for c in named if c in frame.columns], "design"
        missing = [c for c in named if c not in frame.columns]
        if missing:
            notes.append(f"covariates the design's R^2 used are not in the data: "
                         f"{', '.join(missing)} (--join the cohort to add them)")
    elif metadata.get("covariates") or joined_pre:
        pre = [*(metadata.get("covariates") or []),
               *(metadata.get("pre_outcomes") or {}).values(), *joined_pre]
        chosen, source = [c for c in dict.fromkeys(pre) if c in frame.columns], "declared"
    else:
        chosen, source = [], "none"
    chosen = [c for c in chosen if c != outcome and c not in declared]
    numeric = [c for c in frame.columns
               if c not in BOOKKEEPING and c != outcome and not c.startswith(("target_", "cate"))
               and pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])]
    left = [c for c in numeric if c not in chosen]
    if left:
        notes.append(f"left out of the adjustment (not pre-period covariates named by the "
                     f"design or the data; pass --covariates to use them): {', '.join(left)}")
    return chosen, source
