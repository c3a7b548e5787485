"""Building the study cohort: source -> tidy history -> design -> features -> cohort.

:func:`build_cohort` is the Python API behind ``rollout cohort``; the command line only calls it
and renders what it returns. The result, :class:`CohortBuild`, holds the validated
:class:`~rollout.data.contract.Cohort` (roles, covariate groups and pre-period outcomes in its
metadata), the attrition table and the time each step took.

Files: :meth:`CohortBuild.save` writes the cohort parquet and, beside it, the attrition table as
``<name>.attrition.parquet`` (``cohort.parquet`` -> ``cohort.attrition.parquet``). Nothing is
written until the whole build has succeeded, and each file is written atomically.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from rollout.common.display import DisplayMixin
from rollout.data.cohort_design import DEFAULT_SALT, CohortDesign, design_first_campaign
from rollout.data.contract import Cohort, CohortRoles, save_cohort
from rollout.data.features import (
    CARRIED,
    COVARIATE_GROUPS,
    COVARIATES,
    OUTCOMES,
    PRE_OUTCOMES,
    compute_features,
)
from rollout.data.history import History, HistorySource, normalise_campaign_type, open_history
from rollout.data.sources import resolve_source
from rollout.errors import InputError
from rollout.io import output_set, write_parquet

STEPS = ("load history", "design cohort", "compute features", "assemble cohort")

ProgressCallback = Callable[[str], None]


def attrition_path(cohort_path: str | Path) -> Path:
    """Where the attrition table of a cohort file goes.

    >>> attrition_path("out/cohort.parquet").as_posix()
    'out/cohort.attrition.parquet'
    """
    path = Path(cohort_path)
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    return path.with_name(f"{stem}.attrition.parquet")


@dataclass
class CohortBuild(DisplayMixin):
    """A built cohort with its attrition table and step timings (seconds).

    ``to_dict()`` is the JSON document of ``rollout cohort --json``; ``summary()`` is one row of
    its plain numbers (source, campaign type, window, salt, group sizes).
    """

    cohort: Cohort
    attrition: pd.DataFrame
    campaign_type: str
    window_weeks: int
    salt: str
    source: str
    first_week: int
    last_week: int
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``rollout cohort --json`` (deterministic: no timings)."""
        return {
            "source": self.source,
            "campaign_type": self.campaign_type,
            "window_weeks": self.window_weeks,
            "salt": self.salt,
            "weeks": {"first": self.first_week, "last": self.last_week},
            "n": self.cohort.n,
            "n_treated": self.cohort.n_treated,
            "n_control": self.cohort.n_control,
            "covariates": list(self.cohort.roles.covariates),
            "covariate_groups": self.cohort.roles.covariate_groups,
            "outcomes": list(self.cohort.roles.outcomes),
            "pre_outcomes": self.cohort.roles.pre_outcomes,
            "carried": list(self.cohort.roles.carried),
            "attrition": self.attrition.to_dict(orient="records"),
            "naive_difference": self.naive_differences(),
        }

    def naive_differences(self) -> dict[str, float]:
        """Mean outcome of treated minus control, per outcome (unadjusted, for orientation)."""
        t = self.cohort.treatment == 1
        return {name: float(self.cohort.outcome(name)[t].mean()
                            - self.cohort.outcome(name)[~t].mean())
                for name in self.cohort.roles.outcomes}

    def save(self, path: str | Path) -> tuple[Path, Path]:
        """Write the cohort parquet and its attrition sidecar as one set (cohort last)."""
        with output_set(path):
            side = write_parquet(attrition_path(path), self.attrition)
            return save_cohort(path, self.cohort), side


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    # No network at run time: never fetch an extension.
    con.execute("SET autoinstall_known_extensions = false")
    # DuckDB's own progress bar writes to stdout, which may carry the one JSON document.
    con.execute("SET enable_progress_bar = false")
    return con


def build_cohort(
    source: str | Path | HistorySource = "completejourney",
    campaign_type: str = "A",
    window_weeks: int = 4,
    salt: str = DEFAULT_SALT,
    progress: ProgressCallback | None = None,
) -> CohortBuild:
    """Build the first-campaign-only cohort for ``campaign_type`` from ``source``.

    ``source`` is ``"completejourney"`` (the embedded data), a :class:`~pathlib.Path` to a
    folder of Dunnhumby CSVs, or a :class:`~rollout.data.history.HistorySource`.
    ``window_weeks`` is the number of weeks after the index week in the outcome window.
    ``progress`` is called with each step's name as it starts. Raises :class:`InputError`
    naming file, column and row for bad input.

    Examples
    --------
    >>> build = build_cohort("completejourney", campaign_type="A")  # doctest: +SKIP
    >>> build.cohort.n_treated > 0 and build.cohort.n_control > 0  # doctest: +SKIP
    True
    """
    if int(window_weeks) < 0:
        raise InputError(f"must be 0 or more, got {window_weeks}", argument="window_weeks")
    window_weeks = int(window_weeks)
    history_source = resolve_source(source)
    clock = _StepClock(progress)

    clock.step(STEPS[0])
    con = _connect()
    try:
        history = open_history(history_source, con)

        clock.step(STEPS[1])
        design = _design(con, history, campaign_type, window_weeks, salt)
        index = design.index.copy()
        index["index_day"] = [history.calendar.first_day_of_week(w) for w in index["index_week"]]

        clock.step(STEPS[2])
        features = compute_features(con, index, design.index_campaigns, window_weeks,
                                    history.first_week)
    finally:
        con.close()

    clock.step(STEPS[3])
    cohort = _assemble_cohort(index, features, history.name)
    clock.step(None)
    return CohortBuild(cohort=cohort, attrition=design.attrition,
                       campaign_type=design.campaign_type, window_weeks=window_weeks,
                       salt=salt, source=history.name,
                       first_week=history.first_week, last_week=history.last_week,
                       timings=clock.timings)


class _StepClock:
    """The seconds each step of the build took, with the progress callback told of each start."""

    def __init__(self, progress: ProgressCallback | None) -> None:
        self.progress = progress
        self.timings: dict[str, float] = {}
        self._started: list[tuple[str, float]] = []

    def step(self, name: str | None) -> None:
        """Close the running step's clock and start ``name`` (None: just close)."""
        now = time.perf_counter()
        if self._started:
            self.timings[self._started[-1][0]] = now - self._started[-1][1]
        if name is not None:
            self._started.append((name, now))
            if self.progress is not None:
                self.progress(name)


def _design(con: duckdb.DuckDBPyConnection, history: History, campaign_type: str,
            window_weeks: int, salt: str) -> CohortDesign:
    """The first-campaign design on the loaded history's households, campaigns and members."""
    households = con.execute(
        "SELECT customer_id, MIN(week_no) AS first_purchase_week FROM transactions "
        "GROUP BY customer_id ORDER BY customer_id").df()
    campaigns = con.execute(
        "SELECT campaign_id, campaign_type, start_week FROM campaigns ORDER BY campaign_id"
    ).df()
    members = con.execute(
        "SELECT campaign_id, customer_id FROM campaign_members "
        "ORDER BY campaign_id, customer_id").df()
    return design_first_campaign(
        households, campaigns, members,
        campaign_type=normalise_campaign_type(campaign_type), window_weeks=window_weeks,
        first_week=history.first_week, last_week=history.last_week, salt=salt,
        campaigns_file=history.files["campaigns"].file)


def _assemble_cohort(index: pd.DataFrame, features: pd.DataFrame, source: str) -> Cohort:
    """The design's index joined to its features, typed and ordered, with the cohort's roles."""
    if len(features) != len(index):
        raise RuntimeError(f"feature query returned {len(features)} rows for "
                           f"{len(index)} households")
    frame = index[["customer_id", "treatment", "index_week"]].merge(features, on="customer_id")
    frame["treatment"] = frame["treatment"].astype(np.int8)
    int_columns = ["purchase_count", "recency_weeks", "frequency", "active_weeks", "n_stores",
                   "n_departments", "n_products", "pre_purchase_count", "index_week",
                   "customer_id"]
    for col in int_columns:
        frame[col] = frame[col].astype(np.int64)
    columns = ["customer_id", "treatment", "index_week", *OUTCOMES, *COVARIATES,
               *PRE_OUTCOMES.values(), *CARRIED]
    frame = frame[columns]
    roles = CohortRoles(
        outcomes=tuple(OUTCOMES), covariates=tuple(COVARIATES), index_week="index_week",
        pre_outcomes=dict(PRE_OUTCOMES), carried=tuple(CARRIED),
        covariate_groups={k: list(v) for k, v in COVARIATE_GROUPS.items()},
    )
    return Cohort.from_frame(frame, roles=roles, source=source)
