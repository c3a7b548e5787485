"""The cohort contract: one row per customer, and the roles its columns play.

Every later stage (analysis, design, simulation) reads a cohort through :func:`load_cohort`, so a
user's own table works as well as one built by ``rollout cohort``: ``customer_id`` unique,
``treatment`` 0/1, one or more outcome columns, numeric covariates measured before treatment,
optionally ``segment``. A cohort written by this package records its column roles in the parquet
metadata; for other tables the roles are given by options or inferred (every numeric column other
than id, treatment and outcomes is a covariate).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rollout.errors import InputError, shown
from rollout.io import read_parquet_metadata, read_table, write_parquet

COHORT_SCHEMA = "rollout.cohort/1"


@dataclass(frozen=True)
class CohortRoles:
    """Which column plays which part in a cohort.

    ``pre_outcomes`` maps an outcome to its pre-period value (same window length before the
    index week), used for variance reduction; ``carried`` lists columns kept per customer that are
    neither covariates nor outcomes (for example the discounts received in the outcome window).
    """

    outcomes: tuple[str, ...]
    covariates: tuple[str, ...]
    id: str = "customer_id"
    treatment: str = "treatment"
    index_week: str | None = None
    segment: str | None = None
    pre_outcomes: dict[str, str] = field(default_factory=dict)
    carried: tuple[str, ...] = ()
    covariate_groups: dict[str, list[str]] = field(default_factory=dict)

    def to_metadata(self) -> dict[str, Any]:
        """The JSON document stored in the parquet schema metadata."""
        doc = asdict(self)
        doc["schema"] = COHORT_SCHEMA
        for key in ("outcomes", "covariates", "carried"):
            doc[key] = list(doc[key])
        return doc

    @classmethod
    def from_metadata(cls, doc: dict[str, Any]) -> CohortRoles:
        return cls(
            outcomes=tuple(doc["outcomes"]),
            covariates=tuple(doc["covariates"]),
            id=doc.get("id", "customer_id"),
            treatment=doc.get("treatment", "treatment"),
            index_week=doc.get("index_week"),
            segment=doc.get("segment"),
            pre_outcomes=dict(doc.get("pre_outcomes") or {}),
            carried=tuple(doc.get("carried") or ()),
            covariate_groups=dict(doc.get("covariate_groups") or {}),
        )


@dataclass
class Cohort:
    """A validated study table and the roles of its columns.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"customer_id": [1, 2, 3, 4], "treatment": [0, 1, 0, 1],
    ...                       "spend": [10.0, 12.5, 9.0, 20.0], "x0": [0.1, 0.4, 0.2, 0.9]})
    >>> cohort = Cohort.from_frame(frame, outcomes=["spend"])
    >>> cohort.roles.covariates
    ('x0',)
    >>> cohort.n_treated, cohort.n_control
    (2, 2)
    """

    frame: pd.DataFrame
    roles: CohortRoles
    source: str | None = None

    @property
    def n(self) -> int:
        return len(self.frame)

    @property
    def n_treated(self) -> int:
        return int((self.frame[self.roles.treatment] == 1).sum())

    @property
    def n_control(self) -> int:
        return int((self.frame[self.roles.treatment] == 0).sum())

    @property
    def treatment(self) -> np.ndarray:
        return self.frame[self.roles.treatment].to_numpy(dtype=np.int8)

    def outcome(self, name: str) -> np.ndarray:
        return self.frame[name].to_numpy(dtype=float)

    @property
    def X(self) -> np.ndarray:
        return self.frame[list(self.roles.covariates)].to_numpy(dtype=float)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        outcomes: Sequence[str] | None = None,
        covariates: Sequence[str] | None = None,
        *,
        id_column: str = "customer_id",
        treatment_column: str = "treatment",
        roles: CohortRoles | None = None,
        source: str | Path | None = None,
    ) -> Cohort:
        """Validate a table against the contract and attach column roles.

        Roles come from ``roles`` when given (a cohort file's metadata), overridden by explicit
        ``outcomes``/``covariates``; otherwise covariates are every numeric column other than the
        id, the treatment, the outcomes and known non-covariate columns.
        """
        src = str(source) if source is not None else None
        if roles is not None:
            id_column, treatment_column = roles.id, roles.treatment
        for col, what in ((id_column, "customer id"), (treatment_column, "treatment")):
            if col not in frame.columns:
                raise InputError(f"missing the {what} column", file=src, column=col)
        if outcomes is None:
            if roles is not None:
                outcomes = roles.outcomes
            else:
                outcomes = [c for c in frame.columns if str(c).startswith("outcome") or c == "y"]
                if not outcomes:
                    raise InputError(
                        "no outcome column: name one (or call it 'y' or 'outcome_*')",
                        file=src, argument="outcomes",
                    )
        outcomes = tuple(outcomes)
        for col in outcomes:
            if col not in frame.columns:
                raise InputError("outcome column not found", file=src, column=col)
        base = roles or CohortRoles(outcomes=outcomes, covariates=(), id=id_column,
                                    treatment=treatment_column,
                                    segment="segment" if "segment" in frame.columns else None)
        not_covariate = {id_column, treatment_column, *outcomes, *base.outcomes, *base.carried}
        not_covariate |= {c for c in (base.index_week, base.segment) if c}
        if covariates is None:
            if roles is not None and roles.covariates:
                covariates = roles.covariates
            else:
                covariates = [
                    c for c in frame.columns
                    if c not in not_covariate and pd.api.types.is_numeric_dtype(frame[c])
                    and not pd.api.types.is_bool_dtype(frame[c])
                ]
        covariates = tuple(covariates)
        for col in covariates:
            if col not in frame.columns:
                raise InputError("covariate column not found", file=src, column=col)
        resolved = CohortRoles(
            outcomes=outcomes,
            covariates=covariates,
            id=id_column,
            treatment=treatment_column,
            index_week=base.index_week,
            segment=base.segment,
            pre_outcomes={k: v for k, v in base.pre_outcomes.items() if k in outcomes},
            carried=base.carried,
            covariate_groups=base.covariate_groups,
        )
        validate_frame(frame, resolved, source=src)
        return cls(frame=frame.reset_index(drop=True), roles=resolved, source=src)


def _first_bad_row(mask: pd.Series) -> int:
    return int(np.flatnonzero(mask.to_numpy())[0])


def validate_frame(frame: pd.DataFrame, roles: CohortRoles, source: str | None = None) -> None:
    """Raise :class:`InputError` at the first violation of the cohort contract."""
    if len(frame) == 0:
        raise InputError("the cohort is empty", file=source)
    ids = frame[roles.id]
    if ids.isna().any():
        raise InputError("missing customer id", file=source, column=roles.id,
                         row=_first_bad_row(ids.isna()))
    dup = ids.duplicated(keep="first")
    if dup.any():
        row = _first_bad_row(dup)
        raise InputError(f"duplicate customer id {shown(ids.iloc[row])}", file=source,
                         column=roles.id, row=row)
    t = frame[roles.treatment]
    valid = t.isin([0, 1]) & t.notna()
    if not valid.all():
        row = _first_bad_row(~valid)
        raise InputError(f"treatment must be 0 or 1, got {shown(t.iloc[row])}", file=source,
                         column=roles.treatment, row=row)
    for arm, label in ((1, "treated"), (0, "control")):
        if not (t == arm).any():
            raise InputError(f"no {label} customers (treatment == {arm})", file=source,
                             column=roles.treatment)
    for col in (*roles.outcomes, *roles.covariates):
        values = frame[col]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            raise InputError(f"must be numeric, has type {values.dtype}", file=source, column=col)
        finite = np.isfinite(values.to_numpy(dtype=float))
        if not finite.all():
            row = int(np.flatnonzero(~finite)[0])
            raise InputError(f"missing or infinite value {shown(values.iloc[row])}", file=source,
                             column=col, row=row)


def load_cohort(
    path: str | Path,
    outcomes: Sequence[str] | None = None,
    covariates: Sequence[str] | None = None,
    *,
    id_column: str = "customer_id",
    treatment_column: str = "treatment",
) -> Cohort:
    """Read and validate a cohort from parquet or CSV.

    A file written by this package carries its roles in its metadata; options given here override
    them. Raises :class:`InputError` naming the file, column and row at the first problem.
    """
    path = Path(path)
    frame = read_table(path)
    roles = None
    if path.suffix.lower() in {".parquet", ".pq"}:
        doc = read_parquet_metadata(path)
        if doc and doc.get("schema") == COHORT_SCHEMA:
            roles = CohortRoles.from_metadata(doc)
    return Cohort.from_frame(frame, outcomes, covariates, id_column=id_column,
                             treatment_column=treatment_column, roles=roles, source=path)


def save_cohort(path: str | Path, cohort: Cohort, extra: dict[str, Any] | None = None) -> Path:
    """Write a cohort as parquet with its roles in the metadata (atomic, reproducible).

    ``extra`` adds keys beside the roles (how the cohort was built, under ``build``).
    """
    metadata = cohort.roles.to_metadata()
    metadata.update(extra or {})
    return write_parquet(path, cohort.frame, metadata=metadata)
