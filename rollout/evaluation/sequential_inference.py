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
    """Adjusted p-value, median-unbiased estimate and CI for a test stopped at ``look``."""

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
