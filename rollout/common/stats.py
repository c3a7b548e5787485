"""Statistics every stage shares, written once: the normal quantile, Wald intervals, AIPW scores.

Each estimator in the package reports an estimate with its standard error and a 95% interval;
the quantile, the interval rule and the shared base of such results (:class:`Estimate`) live
here so that a change of convention is one edit.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from rollout.common.display import DisplayMixin

#: The 97.5% standard normal quantile: the half-width of a two-sided 95% Wald interval in SEs.
Z_975 = float(stats.norm.ppf(0.975))


def z_quantile(level: float = 0.95) -> float:
    """The two-sided standard normal quantile for a confidence ``level``.

    >>> round(z_quantile(0.95), 6)
    1.959964
    """
    return float(stats.norm.ppf(0.5 + level / 2))


def wald_interval(estimate: float, se: float, level: float = 0.95) -> tuple[float, float]:
    """The symmetric normal interval ``estimate +/- z * se``.

    >>> wald_interval(1.0, 0.5)
    (0.020018007729972975, 1.979981992270027)
    """
    z = Z_975 if level == 0.95 else z_quantile(level)
    return float(estimate - z * se), float(estimate + z * se)


class Estimate(DisplayMixin):
    """The shared base of every result that is an estimate with a standard error and an interval.

    A subclass is a dataclass that declares ``estimate``, ``se``, ``ci_low`` and ``ci_high``
    among its own fields, in the order its tables and JSON documents have always had (the base
    adds no field, so nothing written changes), and builds its interval with :meth:`interval`:
    ``estimate +/- critical * se``, the normal 97.5% quantile unless a t quantile is given.
    The average effects of the analysis (``EffectEstimate``) and of the A/B test (``Effect``)
    are both one.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Mean(Estimate):
    ...     estimate: float
    ...     se: float
    ...     ci_low: float
    ...     ci_high: float
    >>> m = Mean(1.0, 0.5, *Estimate.interval(1.0, 0.5))
    >>> m.covers(0.1), m.covers(2.5)
    (True, False)
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float

    @staticmethod
    def interval(estimate: float, se: float, critical: float = Z_975) -> tuple[float, float]:
        """The symmetric interval ``estimate +/- critical * se`` (95% normal by default)."""
        return float(estimate - critical * se), float(estimate + critical * se)

    def covers(self, value: float) -> bool:
        """Whether ``value`` lies in the interval (ends included)."""
        return bool(self.ci_low <= value <= self.ci_high)


def two_sided_p(z: float) -> float:
    """The two-sided normal p-value of a z statistic.

    >>> round(two_sided_p(1.959964), 4)
    0.05
    """
    return float(2 * stats.norm.sf(abs(z)))


def aipw_scores(y: np.ndarray, treatment: np.ndarray, e: np.ndarray, mu0: np.ndarray,
                mu1: np.ndarray, clip: float | None = None) -> np.ndarray:
    """Per-customer doubly robust (AIPW) effect scores; their mean is the AIPW estimate of the ATE.

    ``Gamma_i = mu1 - mu0 + t (y - mu1) / e - (1 - t)(y - mu0) / (1 - e)``. With ``clip`` the
    propensity is first clipped into ``[clip, 1 - clip]`` (as the analysis' AIPW effect does).
    The DR-learner target, a policy value and a segment effect are all means of these scores.

    >>> aipw_scores(np.array([3.0, 1.0]), np.array([1, 0]), np.array([0.5, 0.5]),
    ...             np.array([1.0, 1.0]), np.array([2.0, 2.0])).tolist()
    [3.0, 1.0]
    """
    y = np.asarray(y, dtype=float)
    t = np.asarray(treatment).astype(float)
    e = np.asarray(e, dtype=float)
    if clip is not None:
        e = np.clip(e, clip, 1 - clip)
    mu0 = np.asarray(mu0, dtype=float)
    mu1 = np.asarray(mu1, dtype=float)
    return mu1 - mu0 + t * (y - mu1) / e - (1 - t) * (y - mu0) / (1 - e)
