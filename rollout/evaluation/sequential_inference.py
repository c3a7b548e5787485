"""Inference after a group-sequential test stopped early: stage-wise ordering.

A test that stops at look ``k`` because ``Z_k`` crossed a boundary over-states the effect if read
as a fixed-sample test. Under the stage-wise ordering of the sample space (Armitage 1957; Tsiatis,
Rosner & Mehta 1984; Jennison & Turnbull 2000, ch. 8), an outcome stopping earlier is more extreme
than any stopping later, and within a look a larger ``Z`` is more extreme. The one-sided p-value
for a drift ``eta`` (the expected z at full information) is

    P_eta(stop above at a look before k) + P_eta(continue to k and Z_k >= z_k),

computed with the same numerical integration as the boundaries. The p-value at ``eta = 0`` is
the adjusted p-value; the median-unbiased estimate solves ``p(eta) = 0.5``; the 95% interval
solves ``p(eta) = 0.025`` and ``0.975``. Effects are ``eta / sqrt(I_max)``.

Which paths "continue" to look ``k`` depends on the lower boundary at the earlier looks. The
plan's futility boundary is non-binding, so by default the ordering continues every path above
the harm boundary: the adjusted p-value is then consistent with the efficacy boundaries (a final
``z`` just below its boundary is not significant). A test that *stopped for futility* followed
the futility boundary, and on that outcome the ordering with the non-binding region treats it as
more extreme than paths that would have stopped earlier for futility; its interval then
under-covers (in a seeded simulation of three O'Brien-Fleming looks at the design's drift, 65% of
futility stops covered and 93.2% overall). For a futility stop the caller passes the futility
boundary as the lower bound of the earlier looks (``lower``): the paths that continue are then
those the rule actually continued, the futility stops cover 78% and the whole design 94.4% in the
same simulation (``tests/evaluation/test_sequential_inference.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize

from rollout.common.display import DisplayMixin
from rollout.planning.sequential import BOUNDARY_CAP, crossing_probabilities


@dataclass(frozen=True)
class SequentialEstimate(DisplayMixin):
    """Stage-wise-ordering p-value, median-unbiased estimate and 95% interval."""

    look: int
    z: float
    p_value_one_sided: float
    p_value_two_sided: float
    estimate: float
    ci_low: float
    ci_high: float
    method: str = "stage-wise ordering (Jennison & Turnbull 2000, ch. 8)"

    def to_dict(self) -> dict:
        return asdict(self)


def stagewise_p(drift: float, fractions: Sequence[float], efficacy: Sequence[float],
                harm: Sequence[float], look: int, z: float) -> float:
    """One-sided p-value of stopping at ``look`` with statistic ``z`` under ``drift``."""
    k = look - 1
    upper = [*list(efficacy[:k]), z]
    lower = [*list(harm[:k]), -BOUNDARY_CAP]
    fractions_k = list(fractions[: k + 1])
    if fractions_k[-1] != 1.0:
        # crossing_probabilities wants the fractions to end at 1; rescaling time to the last
        # look (below 1 for an early or under-running stop, above 1 for an over-running one)
        # keeps the joint distribution (it depends only on ratios t_j / t_k) and the drift
        # scales with the square root of the information at that look.
        scale = fractions_k[-1]
        fractions_k = [f / scale for f in fractions_k]
        drift = drift * np.sqrt(scale)
    _, above = crossing_probabilities(fractions_k, lower, upper, drift)
    return float(above.sum())


def stagewise_inference(fractions: Sequence[float], efficacy: Sequence[float],
                        harm: Sequence[float], look: int, z: float,
                        max_information: float) -> SequentialEstimate:
    """Adjusted p-value, median-unbiased estimate and CI for a test stopped at ``look``.

    ``harm`` is the lower boundary of the looks before ``look`` in the ordering: the harm
    boundary, or for a test that stopped for futility the larger of the futility and harm
    boundaries (see the module's docstring and :func:`ordering_floors`).
    """

    def p_at(drift: float) -> float:
        return stagewise_p(drift, fractions, efficacy, harm, look, z)

    p0 = p_at(0.0)
    span = abs(z) / np.sqrt(fractions[look - 1]) + 10.0

    def solve(level: float) -> float:
        return float(optimize.brentq(lambda d: p_at(d) - level, -span, span, xtol=1e-8))

    scale = 1.0 / np.sqrt(max_information)
    return SequentialEstimate(
        look=look, z=float(z), p_value_one_sided=p0,
        p_value_two_sided=float(min(1.0, 2 * min(p0, 1 - p0))),
        estimate=solve(0.5) * scale, ci_low=solve(0.025) * scale, ci_high=solve(0.975) * scale)


def ordering_floors(harm: Sequence[float], futility: Sequence[float | None] | None,
                    stopped_for_futility: bool) -> np.ndarray:
    """The lower boundary per look for the stage-wise ordering: the harm boundary, raised to the
    futility boundary where there is one when the test stopped for futility (the rule the test
    followed; see the module's docstring).

    >>> ordering_floors([-3.7, -2.5, -2.0], [-0.2, 1.2, 2.0], True).tolist()
    [-0.2, 1.2, -2.0]
    >>> ordering_floors([-3.7, -2.5, -2.0], [-0.2, 1.2, 2.0], False).tolist()
    [-3.7, -2.5, -2.0]
    """
    floors = np.asarray(harm, dtype=float).copy()
    if not stopped_for_futility or futility is None:
        return floors
    # the last look has no futility stop: there the test ends either way
    for k, bound in enumerate(list(futility)[:-1]):
        if bound is not None:
            floors[k] = max(floors[k], float(bound))
    return floors
