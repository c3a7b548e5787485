"""Refutation of a CATE model: a placebo treatment, and stability across random halves.

- **Placebo.** Shuffle the treatment (breaking any link between treatment and outcome), rerun the
  model's whole cross-fitted pipeline on the shuffled data, and measure the spread (SD) of the
  CATE it predicts for every customer. A model that finds as much "heterogeneity" in pure noise
  as in the real data is fitting noise. The figure is the mean placebo SD over the permutations
  divided by the real SD; it passes below 0.5 (the threshold of the original analysis).
- **Subset stability.** Split the customers into two random halves (stratified by treatment),
  refit the model on each half, predict every customer with both fits, and correlate the two
  predictions. Effects that change with the half they were fitted on are not a property of the
  customers. Passes above 0.7 (again the original analysis's threshold); the figure is the mean
  over the splits, each split's correlation is kept.

Every refit uses the same model configuration as the real fit, seeded per refit, so the same
seed gives the same figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from rollout.common.display import DisplayMixin
from rollout.common.parallel import run_tasks
from rollout.estimation.cate.learners import CateModel, folds_to_cv
from rollout.estimation.crossfit import make_folds

PLACEBO_THRESHOLD = 0.5
STABILITY_THRESHOLD = 0.7

#: ``make(seed) -> fresh unfitted model`` (one configuration, seeded per refit).
ModelMaker = Callable[[int], CateModel]
Progress = Callable[[str], None]


def _child_seeds(seed: int, n: int) -> list[int]:
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(n)]


@dataclass(frozen=True)
class PlaceboResult(DisplayMixin):
    """Mean placebo CATE SD over the permutations, relative to the real CATE SD."""

    ratio: float
    real_sd: float
    placebo_sd_mean: float
    placebo_sds: list[float] = field(default_factory=list)
    n_permutations: int = 0
    threshold: float = PLACEBO_THRESHOLD

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.ratio) and self.ratio < self.threshold)

    def to_dict(self) -> dict[str, object]:
        return {"placebo_ratio": self.ratio, "placebo_real_sd": self.real_sd,
                "placebo_sd_mean": self.placebo_sd_mean, "placebo_sds": self.placebo_sds,
                "placebo_permutations": self.n_permutations,
                "placebo_threshold": self.threshold, "placebo_pass": self.passed}


def _placebo_sd(make: ModelMaker, X: np.ndarray, t: np.ndarray, y: np.ndarray, n_folds: int,
                child: int) -> float:
    """One placebo refit: shuffle the treatment, refit on fresh folds, SD of the CATE."""
    rng = np.random.default_rng(child)
    t_placebo = rng.permutation(np.asarray(t))
    cv = folds_to_cv(make_folds(t_placebo, n_folds, child % (2**31)))
    model = make(child % (2**31)).fit(X, t_placebo, y, cv)
    return float(np.std(model.effect(X), ddof=1))


def _half_predictions(make: ModelMaker, X: np.ndarray, t: np.ndarray, y: np.ndarray,
                      n_folds: int, child: int, part: int) -> np.ndarray:
    """One stability refit: the model fitted on one random half, predicting every customer."""
    half = make_folds(t, 2, child % (2**31))
    rows = np.flatnonzero(half == part)
    cv = folds_to_cv(make_folds(t[rows], n_folds, child % (2**31)))
    model = make(child % (2**31)).fit(X[rows], t[rows], y[rows], cv)
    return np.asarray(model.effect(X), dtype=float)


def _run(tasks: list[Callable[[], Any]], n_jobs: int, label: str,
         progress: Progress | None) -> list[Any]:
    """Run refits in order, in ``n_jobs`` processes; results in task order either way."""
    tick = (lambda i: progress(f"{label} {i + 1}/{len(tasks)}")) if progress else None
    return run_tasks(tasks, n_jobs, tick)


def placebo_test(make: ModelMaker, X: np.ndarray, t: np.ndarray, y: np.ndarray,
                 folds: np.ndarray, real_cate: np.ndarray, seed: int,
                 n_permutations: int = 20, progress: Progress | None = None,
                 n_jobs: int = 1) -> PlaceboResult:
    """Refit ``make`` on ``n_permutations`` shuffled treatments; compare CATE spreads.

    ``real_cate`` is the real model's prediction for the same customers ``X`` (fitted the same
    way, on the real treatment). Each permutation re-draws its own stratified folds. ``n_jobs``
    processes share the refits (``make`` must then be picklable); the result does not depend
    on it.
    """
    real_sd = float(np.std(real_cate, ddof=1))
    n_folds = int(np.max(folds)) + 1
    tasks = [partial(_placebo_sd, make, X, t, y, n_folds, child)
             for child in _child_seeds(seed, n_permutations)]
    sds = _run(tasks, n_jobs, "placebo", progress)
    mean_sd = float(np.mean(sds))
    ratio = mean_sd / real_sd if real_sd > 0 else float("inf")
    return PlaceboResult(ratio=ratio, real_sd=real_sd, placebo_sd_mean=mean_sd, placebo_sds=sds,
                         n_permutations=n_permutations)


@dataclass(frozen=True)
class StabilityResult(DisplayMixin):
    """Correlation of the CATE predicted for every customer by fits on two random halves."""

    correlation: float
    correlations: list[float] = field(default_factory=list)
    n_splits: int = 0
    threshold: float = STABILITY_THRESHOLD

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.correlation) and self.correlation > self.threshold)

    def to_dict(self) -> dict[str, object]:
        return {"stability_correlation": self.correlation,
                "stability_correlations": self.correlations, "stability_splits": self.n_splits,
                "stability_threshold": self.threshold, "stability_pass": self.passed}


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    if np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def subset_stability(make: ModelMaker, X: np.ndarray, t: np.ndarray, y: np.ndarray,
                     n_folds: int, seed: int, n_splits: int = 2,
                     progress: Progress | None = None, n_jobs: int = 1) -> StabilityResult:
    """Refit on random halves (stratified by treatment); correlate predictions on all of ``X``.

    A model with a constant prediction on either half has no defined correlation (NaN, fails).
    """
    t = np.asarray(t)
    children = _child_seeds(seed + 1, n_splits)
    tasks = [partial(_half_predictions, make, X, t, y, n_folds, child, part)
             for child in children for part in (0, 1)]
    predictions = _run(tasks, n_jobs, "stability", progress)
    correlations = [_correlation(predictions[2 * i], predictions[2 * i + 1])
                    for i in range(n_splits)]
    finite = [c for c in correlations if np.isfinite(c)]
    mean = float(np.mean(finite)) if len(finite) == len(correlations) else float("nan")
    return StabilityResult(correlation=mean, correlations=correlations, n_splits=n_splits)
