"""The decision at an interim look of a group-sequential test.

At look ``k`` the information actually reached is ``I = 1 / SE^2`` of the current estimate, and
the information fraction is ``I / I_max`` with ``I_max`` the design's maximum information
(``(drift / mde)^2``: the design's drift is the expected z statistic at full information under the
MDE). Looks rarely land exactly where planned, so the boundaries of this look are recomputed at
the actual fraction with the design's spending functions (earlier looks at their planned
fractions unless the actual ones are given); a fraction of 1 or more makes this the final
analysis, which spends all remaining alpha.

Conditional power is the probability of crossing the final efficacy boundary given the current
z statistic, under the design effect (the MDE) and under the current trend, by the B-value
formula of Lan & Wittes (1988), ignoring the looks in between (a slight over-statement, said in
the output). The decision is one of ``continue``, ``stop_efficacy``, ``stop_harm`` and
``stop_futility``; the futility boundary is non-binding, so following it or not never inflates the
type I error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from rollout.common.display import DisplayMixin
from rollout.errors import InputError
from rollout.evaluation.effects import Effect, adjusted, difference_in_means
from rollout.evaluation.returned import ReturnedData
from rollout.planning.design import Design
from rollout.planning.sequential import Boundaries

DECISIONS = ("continue", "stop_efficacy", "stop_harm", "stop_futility")


@dataclass(frozen=True)
class InterimDecision(DisplayMixin):
    """Everything the decision at one look rests on."""

    look: int
    n_looks: int
    decision: str
    reason: str
    z: float
    estimate: float
    se: float
    method: str
    information: float
    max_information: float
    information_fraction: float
    final: bool
    fractions_used: list[float]
    efficacy_z: float
    harm_z: float
    futility_z: float | None
    efficacy_effect: float
    harm_effect: float
    futility_effect: float | None
    conditional_power: dict[str, float]
    srm: dict
    warnings: list[str] = field(default_factory=list)


def max_information(design: Design) -> float:
    """The design's information at its last look, ``(drift / mde)^2``.

    Falls back to the sample sizes (``1 / (sd^2 (1/n_t + 1/n_c))`` with the variance reduced by
    ``1 - r2`` when the design counted on regression adjustment) for designs without a drift.
    """
    drift = design.spending.drift
    if drift:
        return float((drift / design.mde) ** 2)
    control = design.control_arm
    treatment = next(a for a in design.arms if a != control)
    var = design.sd**2 * (1 - (design.r2 or 0.0))
    return 1.0 / (var * (1 / design.n_per_arm[treatment] + 1 / design.n_per_arm[control]))


def look_fractions(planned: Sequence[float], look: int, actual: float,
                   previous: Sequence[float] | None = None) -> list[float]:
    """Information fractions to recompute boundaries with, this look at its actual fraction.

    Earlier looks use ``previous`` (the fractions actually reached) when given, else the plan;
    later planned looks that this one has already passed are dropped; the list always ends at 1.
    """
    if look < 1:
        raise InputError(f"look must be 1 or more, got {look}", argument="look")
    earlier = list(previous) if previous is not None else list(planned[: look - 1])
    if len(earlier) != look - 1:
        raise InputError(f"need {look - 1} earlier fractions for look {look}, got {len(earlier)}",
                         argument="previous_fractions")
    if earlier and actual <= earlier[-1]:
        raise InputError(f"information fraction {actual:.3f} at look {look} is not above the "
                         f"previous look's {earlier[-1]:.3f}", argument="look")
    if actual >= 1.0:
        return [*earlier, 1.0]
    later = [f for f in planned[look:] if f > actual]
    return [*earlier, actual, *(later or [1.0])]


def conditional_power(z: float, fraction: float, final_boundary: float, drift: float) -> float:
    """P(final Z >= final boundary | current z), for drift = effect x sqrt(I_max) (Lan-Wittes)."""
    if fraction >= 1:
        return float(z >= final_boundary)
    b = z * np.sqrt(fraction)
    mean = b + drift * (1 - fraction)
    return float(stats.norm.sf((final_boundary - mean) / np.sqrt(1 - fraction)))


def _decide(z: float, final: bool, efficacy: float, harm: float, futility: float | None,
            cp_design: float, cp_trend: float) -> tuple[str, str]:
    """The decision at a look and the sentence that explains it."""
    if z >= efficacy:
        return ("stop_efficacy",
                f"z = {z:.2f} crosses the efficacy boundary {efficacy:.2f}: the effect is positive")
    if z <= harm:
        return "stop_harm", f"z = {z:.2f} is below the harm boundary {harm:.2f}: the campaign hurts"
    if futility is not None and z < futility:
        return "stop_futility", (
            f"final analysis: z = {z:.2f} is below the efficacy boundary {efficacy:.2f}; "
            "the effect was not shown" if final else
            f"z = {z:.2f} is below the (non-binding) futility boundary {futility:.2f}; "
            f"conditional power under the design effect is {cp_design:.0%}")
    return "continue", (f"z = {z:.2f} lies between the boundaries; conditional power "
                        f"{cp_design:.0%} under the design effect, {cp_trend:.0%} under the trend")


def _look_futility(bounds: Boundaries, k: int, final: bool) -> float | None:
    """This look's futility boundary; at the final analysis, the efficacy boundary."""
    if bounds.futility_z is not None:
        return float(bounds.futility_z[k])
    return float(bounds.efficacy_z[k]) if final else None


def interim_decision(design: Design, data: ReturnedData, look: int,
                     previous_fractions: Sequence[float] | None = None,
                     srm_threshold: float = 0.001) -> InterimDecision:
    """The decision at ``look`` on the data so far; see the module docstring."""
    planned = design.information_fractions
    if not 0 < srm_threshold < 1:
        raise InputError(f"the SRM threshold must be in (0, 1), got {srm_threshold:g}",
                         argument="srm_threshold")
    if look > len(planned):
        raise InputError(f"the design has {len(planned)} looks; look {look} does not exist",
                         argument="look")
    warnings: list[str] = []
    srm = data.srm(design, srm_threshold)
    if srm.flag:
        warnings.append(srm.message())

    effect: Effect = adjusted(data.y, data.t, data.X) if data.covariates else \
        difference_in_means(data.y, data.t)
    z = effect.estimate / effect.se
    info = 1.0 / effect.se**2
    i_max = max_information(design)
    fraction = info / i_max
    final = fraction >= 1.0 or look == len(planned)
    if look == len(planned) and fraction < 1.0:
        warnings.append(f"last planned look reached only {fraction:.0%} of the planned "
                        "information: the test is under-powered; this is the final analysis")
    fractions = look_fractions(planned, look, min(fraction, 1.0) if not final else 1.0,
                               previous_fractions)
    drift = float(design.spending.drift or design.mde * np.sqrt(i_max))
    bounds = design.spending.boundaries(fractions, design.alpha, design.sided, drift=drift)
    k = look - 1
    futility_z = _look_futility(bounds, k, final)
    reached = min(fraction, 1.0)
    final_boundary = float(bounds.efficacy_z[-1])
    cp_design = conditional_power(z, reached, final_boundary, drift)
    cp_trend = conditional_power(z, reached, final_boundary, z / np.sqrt(reached))
    b_eff, b_harm = float(bounds.efficacy_z[k]), float(bounds.harm_z[k])
    decision, reason = _decide(z, final, b_eff, b_harm, futility_z, cp_design, cp_trend)
    if srm.flag:
        reason += " (sample-ratio mismatch: check the data before acting)"
    scale = effect.se  # boundaries on the effect scale at the information actually reached
    return InterimDecision(
        look=look, n_looks=len(planned), decision=decision, reason=reason, z=float(z),
        estimate=effect.estimate, se=effect.se, method=effect.method, information=float(info),
        max_information=float(i_max), information_fraction=float(fraction), final=final,
        fractions_used=[float(f) for f in fractions], efficacy_z=b_eff, harm_z=b_harm,
        futility_z=futility_z, efficacy_effect=b_eff * scale, harm_effect=b_harm * scale,
        futility_effect=None if futility_z is None else futility_z * scale,
        conditional_power={"design_effect": cp_design, "current_trend": cp_trend,
                           "se_at_full_information": float(1.0 / np.sqrt(i_max)),
                           "method": "B-value (Lan & Wittes 1988), ignoring intermediate looks"},
        srm=srm.to_dict(), warnings=warnings,
    )
