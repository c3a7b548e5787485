"""Building the study cohort: source -> tidy history -> design -> features -> cohort.

:func:`build_cohort` is the Python API behind ``rollout cohort``; the command line only calls it
and renders what it returns. The result, :class:`CohortBuild`, holds the validated
:class:`~rollout.data.contract.Cohort` (roles, covariate groups and pre-period outcomes in its
metadata), the attrition table and the time each step took.

Engines: every step whose cost grows with the customer base (staging the history, the design
with its keyed draw, the optional sample, the features) runs as SQL on the engine named by
:class:`~rollout.common.engine.EngineSettings`: DuckDB in this process (the default) or Spark,
the same texts on both. Only the attrition counts and the finished cohort (one row per kept
household) come back to this process; ``sample`` keeps that small for a large customer base.

Files: :meth:`CohortBuild.save` writes the cohort parquet and, beside it, the attrition table as
``<name>.attrition.parquet`` (``cohort.parquet`` -> ``cohort.attrition.parquet``). Both record,
in their metadata, how the cohort was built (source, design, engine settings and the sample).
Nothing is written until the whole build has succeeded, and each file is written atomically.
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
from rollout.common.engine import EngineSettings
from rollout.data.cohort_design import (
    DEFAULT_SALT,
    HOUSEHOLDS_SQL,
    EngineDesign,
    design_on_engine,
)
from rollout.data.contract import Cohort, CohortRoles, save_cohort
from rollout.data.engines import SqlEngine, duckdb_connection, open_engine
from rollout.data.features import (
    CARRIED,
    COVARIATE_GROUPS,
    COVARIATES,
    FEATURE_COLUMNS,
    OUTCOMES,
    PRE_OUTCOMES,
    features_view,
)
from rollout.data.history import History, HistorySource, normalise_campaign_type, open_history
from rollout.data.sampling import CohortSample, sample_on_engine
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
    engine: EngineSettings = field(default_factory=EngineSettings)
    sample: CohortSample | None = None

    def build_record(self) -> dict[str, Any]:
        """How the cohort was built: what its files' metadata record under ``build``."""
        return {"source": self.source, "campaign_type": self.campaign_type,
                "window_weeks": self.window_weeks, "salt": self.salt,
                "weeks": {"first": self.first_week, "last": self.last_week},
                "engine": self.engine.to_dict(),
                "sample": None if self.sample is None else self.sample.to_dict()}

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``rollout cohort --json`` (deterministic: no timings)."""
        return {
            "source": self.source,
            "campaign_type": self.campaign_type,
            "window_weeks": self.window_weeks,
            "salt": self.salt,
            "weeks": {"first": self.first_week, "last": self.last_week},
            "engine": self.engine.to_dict(),
            "sample": None if self.sample is None else self.sample.to_dict(),
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
        record = {"build": self.build_record()}
        with output_set(path):
            side = write_parquet(attrition_path(path), self.attrition, metadata=record)
            return save_cohort(path, self.cohort, extra=record), side


def _connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB as the data layer opens it (see :mod:`rollout.data.engines`)."""
    return duckdb_connection()


def build_cohort(
    source: str | Path | HistorySource = "completejourney",
    campaign_type: str = "A",
    window_weeks: int = 4,
    salt: str = DEFAULT_SALT,
    progress: ProgressCallback | None = None,
    *,
    engine: EngineSettings | None = None,
    sample: int | None = None,
    seed: int = 0,
) -> CohortBuild:
    """Build the first-campaign-only cohort for ``campaign_type`` from ``source``.

    ``source`` is ``"completejourney"`` (the embedded data), a :class:`~pathlib.Path` to a
    folder of Dunnhumby CSVs, or a :class:`~rollout.data.history.HistorySource`.
    ``window_weeks`` is the number of weeks after the index week in the outcome window.
    ``engine`` says where the work runs (default DuckDB; ``EngineSettings("spark")`` for local
    Spark, with ``master`` for a cluster). ``sample`` keeps that many households, stratified by
    treatment and drawn by a keyed hash with ``seed`` (:mod:`rollout.data.sampling`), before the
    features are computed. ``progress`` is called with each step's name as it starts. Raises
    :class:`InputError` naming file, column and row for bad input.

    Examples
    --------
    >>> build = build_cohort("completejourney", campaign_type="A")  # doctest: +SKIP
    >>> build.cohort.n_treated > 0 and build.cohort.n_control > 0  # doctest: +SKIP
    True
    """
    if int(window_weeks) < 0:
        raise InputError(f"must be 0 or more, got {window_weeks}", argument="window_weeks")
    if sample is not None and int(sample) < 4:
        raise InputError(f"a sample needs at least 2 households per arm, so at least 4; got "
                         f"{sample}", argument="sample")
    window_weeks = int(window_weeks)
    settings = engine or EngineSettings()
    history_source = resolve_source(source)
    clock = _StepClock(progress)

    clock.step(STEPS[0])
    with open_engine(settings) as sql:
        history = open_history(history_source, sql)

        clock.step(STEPS[1])
        design = _design(sql, history, campaign_type, window_weeks, salt)
        drawn = None
        if sample is not None:
            drawn = sample_on_engine(sql, int(sample), seed=seed, salt=salt,
                                     n_treated=design.n_treated, n_control=design.n_control)

        clock.step(STEPS[2])
        features_view(sql)
        frame = sql.query(COHORT_SQL)

    clock.step(STEPS[3])
    attrition = design.attrition
    if drawn is not None:
        attrition = pd.concat([attrition, pd.DataFrame([drawn.attrition_row()])],
                              ignore_index=True)
    expected = int(attrition["n_total"].iloc[-1])
    cohort = _assemble_cohort(frame, expected, history.name)
    clock.step(None)
    return CohortBuild(cohort=cohort, attrition=attrition,
                       campaign_type=design.campaign_type, window_weeks=window_weeks,
                       salt=salt, source=history.name,
                       first_week=history.first_week, last_week=history.last_week,
                       timings=clock.timings, engine=settings, sample=drawn)


#: The cohort as it comes back from the engine: the design's index beside its features.
COHORT_SQL = ("SELECT i.customer_id, i.treatment, i.index_week, "
              + ", ".join(f"f.{c}" for c in FEATURE_COLUMNS)
              + " FROM cohort_index i JOIN cohort_features f ON i.customer_id = f.customer_id"
              " ORDER BY i.customer_id")


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


def _design(engine: SqlEngine, history: History, campaign_type: str, window_weeks: int,
            salt: str) -> EngineDesign:
    """The first-campaign design on the loaded history's households, campaigns and members."""
    engine.create_table("households", HOUSEHOLDS_SQL, keep=True)
    return design_on_engine(
        engine, campaign_type=normalise_campaign_type(campaign_type), window_weeks=window_weeks,
        first_week=history.first_week, last_week=history.last_week, calendar=history.calendar,
        salt=salt, campaigns_file=history.files["campaigns"].file)


def _assemble_cohort(frame: pd.DataFrame, expected: int, source: str) -> Cohort:
    """The engine's rows typed and ordered, with the cohort's roles."""
    if len(frame) != expected:
        raise RuntimeError(f"feature query returned {len(frame)} rows for "
                           f"{expected} households")
    frame = frame.copy()
    frame["treatment"] = frame["treatment"].astype(np.int8)
    int_columns = ["purchase_count", "recency_weeks", "frequency", "active_weeks", "n_stores",
                   "n_departments", "n_products", "pre_purchase_count", "index_week",
                   "customer_id"]
    for col in int_columns:
        frame[col] = frame[col].astype(np.int64)
    float_columns = [c for c in FEATURE_COLUMNS if c not in int_columns]
    for col in float_columns:
        frame[col] = frame[col].astype(np.float64)
    columns = ["customer_id", "treatment", "index_week", *OUTCOMES, *COVARIATES,
               *PRE_OUTCOMES.values(), *CARRIED]
    frame = frame[columns].reset_index(drop=True)
    roles = CohortRoles(
        outcomes=tuple(OUTCOMES), covariates=tuple(COVARIATES), index_week="index_week",
        pre_outcomes=dict(PRE_OUTCOMES), carried=tuple(CARRIED),
        covariate_groups={k: list(v) for k, v in COVARIATE_GROUPS.items()},
    )
    return Cohort.from_frame(frame, roles=roles, source=source)
