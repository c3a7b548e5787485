"""The ``analyze`` pipeline: from a cohort to a results folder, one stage after another.

Three stages, each a function that returns a frozen, typed result and receives the earlier
results it needs as arguments:

1. :func:`rollout.estimation.core.run_core` -> :class:`~rollout.estimation.core.CoreResult`:
   the cross-fitted nuisances, positivity, balance, average effects, trimming, bounds, verdict;
2. :func:`rollout.estimation.cate.stage.run_cate` (the core result) ->
   :class:`~rollout.estimation.cate.stage.CateResult`: CATE models, validation, selection;
3. :func:`rollout.policy.stage.run_policy` (the core result and the CATE stage's
   :class:`~rollout.estimation.cate.stage.CateColumns`) ->
   :class:`~rollout.policy.stage.PolicyStageResult`: breakeven, policies, segments.

:func:`analyze` calls them in that order and returns an :class:`AnalysisResult`;
:func:`write_results` hands it to the results folder's owner
(:mod:`rollout.estimation.results_folder`). A stage given ``None`` as its options is skipped;
a stage that lacks what it needs says so as a warning and in ``skipped``. A new stage is a new
function returning its own result, and one call here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rollout.common.display import DisplayMixin
from rollout.data.contract import Cohort
from rollout.estimation.cate.stage import CateOptions, CateResult, run_cate
from rollout.estimation.core import (
    AnalyzeOptions,
    CoreResult,
    ProgressCallback,
    fit_nuisances,
    recommend,
    run_core,
    validate_for_estimation,
)
from rollout.estimation.figures import core_figures
from rollout.estimation.results_folder import (
    RESULTS_SCHEMA,
    ResultsContent,
    ResultsFolder,
    write_results_folder,
)
from rollout.policy.gate import HeterogeneityEvidence
from rollout.policy.stage import PolicySettings, PolicyStageResult, run_policy

__all__ = [
    "RESULTS_SCHEMA",
    "AnalysisResult",
    "AnalyzeOptions",
    "analyze",
    "fit_nuisances",
    "recommend",
    "validate_for_estimation",
    "write_results",
]

#: The stages after the core, in the order they run (for progress bars).
STAGES = ("cate", "policy")
#: The options each later stage runs with unless the caller gives others (or None to skip it).
DEFAULT_CATE = CateOptions()
DEFAULT_POLICY = PolicySettings()


@dataclass(frozen=True, eq=False)
class AnalysisResult(DisplayMixin):
    """The three stages' results; ``summary()`` is the recommended estimate of each outcome.

    The core's parts are also reachable directly (``result.effects``, ``result.positivity``,
    ...). ``to_dict()`` is the ``summary.json`` document (without its ``files`` key).
    """

    core: CoreResult
    cate: CateResult | None = None
    policy: PolicyStageResult | None = None
    warnings: tuple[str, ...] = ()
    skipped: tuple[dict[str, str], ...] = ()

    @classmethod
    def of(cls, core: CoreResult, cate: CateResult | None = None,
           policy: PolicyStageResult | None = None) -> AnalysisResult:
        """The stages' results together, their warnings and skipped parts in the order run."""
        warnings = list(core.warnings)
        skipped: list[dict[str, str]] = []
        if cate is not None:
            warnings += cate.warnings
        if policy is not None:
            warnings += policy.warnings
            skipped += policy.skipped
        return cls(core=core, cate=cate, policy=policy, warnings=tuple(warnings),
                   skipped=tuple(skipped))

    def __getattr__(self, name: str) -> Any:
        # the core's fields and methods (cohort, nuisances, effects, ...), read-only
        if name.startswith("_") or name in ("core", "cate", "policy"):
            raise AttributeError(name)
        return getattr(self.core, name)

    def _stages(self) -> list[CateResult | PolicyStageResult]:
        return [s for s in (self.cate, self.policy) if s is not None]

    @property
    def sections(self) -> dict[str, Any]:
        """The keys of ``summary.json`` the later stages added, by name."""
        return {k: v for s in self._stages() for k, v in s.sections.items()}

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table as written to ``tables/``: the core's, then each stage's."""
        return {**self.core.tables(), **{k: v for s in self._stages() for k, v in s.tables.items()}}

    @property
    def customer_columns(self) -> dict[str, np.ndarray]:
        """The columns the later stages added to ``customers.parquet``, in order."""
        return {k: v for s in self._stages() for k, v in s.customer_columns.items()}

    def customers(self) -> pd.DataFrame:
        """``customers.parquet``: the core's columns, then each stage's."""
        frame = self.core.customers()
        for name, values in self.customer_columns.items():
            frame[name] = values
        return frame

    def to_dict(self) -> dict[str, Any]:
        """The ``summary.json`` document (schema in docs/results-schema.md), without ``files``."""
        return {"schema": RESULTS_SCHEMA, **self.core.to_dict(),
                "warnings": list(self.warnings), "skipped": list(self.skipped),
                **self.sections}

    def to_pandas(self) -> pd.DataFrame:
        return self.core.effects_table()

    def summary(self) -> pd.DataFrame:
        return self.core.summary()

    def content(self) -> ResultsContent:
        """What the results folder holds: document, tables, customers, figures, model file."""
        figures = core_figures(self.core)
        artifacts: dict[str, bytes] = {}
        for stage in self._stages():
            figures.update(stage.figures())
            if isinstance(stage, CateResult):
                artifacts.update(stage.artifacts())
        return ResultsContent(document=self.to_dict(), tables=self.tables,
                              customers=self.customers(), figures=figures, artifacts=artifacts)


def analyze(
    cohort: Cohort,
    *,
    seed: int = 0,
    folds: int = 5,
    clip: float = 0.01,
    outcome_bounds: Mapping[str, tuple[float, float]] | None = None,
    n_jobs: int = 1,
    cate: CateOptions | None = DEFAULT_CATE,
    policy: PolicySettings | None = DEFAULT_POLICY,
    progress: ProgressCallback | None = None,
) -> AnalysisResult:
    """Run the core, CATE and policy stages on a cohort and return every result in memory.

    ``outcome_bounds`` declares [LOW, HIGH] per outcome for the Manski bounds (otherwise the 1st
    and 99th percentiles of the outcome are used and said so). ``cate`` and ``policy`` are the
    options of those stages; ``None`` skips the stage. Raises :class:`InputError` when the cohort
    cannot be analyzed.

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0); x = rng.normal(size=200)
    >>> t = rng.binomial(1, 1 / (1 + np.exp(-x))); y = x + t + rng.normal(size=200)
    >>> frame = pd.DataFrame({"customer_id": range(200), "treatment": t, "y": y, "x0": x})
    >>> result = analyze(Cohort.from_frame(frame, outcomes=["y"]), seed=1, cate=None,
    ...                  policy=None)
    >>> sorted({e.method for e in result.effects})
    ['aipw', 'ato', 'dml', 'ipw', 'naive', 'ols']
    """
    options = AnalyzeOptions(seed=seed, folds=folds, clip=clip,
                             outcome_bounds=dict(outcome_bounds or {}), n_jobs=n_jobs)
    tick = progress or (lambda message: None)
    core = run_core(cohort, options, tick)
    cate_result = policy_result = None
    if cate is not None:
        tick("cate")
        cate_result = run_cate(core, cate)
    if policy is not None:
        tick("policy")
        evidence = (HeterogeneityEvidence.from_sections(cate_result.sections)
                    if cate_result else None)
        policy_result = run_policy(core, cate_result.columns if cate_result else None, policy,
                                   evidence=evidence)
    return AnalysisResult.of(core, cate_result, policy_result)


def with_progress(options: CateOptions, progress: ProgressCallback) -> CateOptions:
    """CATE options whose fits report to ``progress`` (the command line's status line)."""
    return replace(options, progress=progress)


def write_results(result: AnalysisResult, folder: str | Path,
                  figures: bool = True,
                  finish: Callable[[ResultsFolder], None] | None = None) -> ResultsFolder:
    """Write the results folder atomically (see :mod:`rollout.estimation.results_folder`).

    Returns the folder as written; its ``document`` is the ``summary.json`` just written.
    """
    return write_results_folder(folder, result.content(), figures=figures, finish=finish)
