"""The decision at an interim look of a group-sequential test.

The estimate is the design's own test statistic (:func:`rollout.evaluation.statistic.test_effect`:
the ATE, the policy's profit difference or the responder contrast), so the information, the
boundaries and the conditional power are on the test's scale. At look ``k`` the information
actually reached is ``I = 1 / SE^2`` of that estimate, and the information fraction is
``I / I_max`` with ``I_max`` the design's maximum information (``(drift / mde)^2``: the design's
drift is the expected z statistic at full information under the MDE, on the same scale). Looks
rarely land exactly where planned, so the boundaries of this look are recomputed at the actual
fraction with the design's spending functions (earlier looks at the fractions actually reached,
from ``previous_fractions`` or a looks record written by earlier interims, else the plan); the
last planned look, or a fraction of 1 or more, is the final analysis, which spends all the
remaining alpha at the information reached (under- or over-running alike).

Conditional power is the probability of crossing the final efficacy boundary given the current
z statistic, under the design effect (the MDE) and under the current trend, by the B-value
formula of Lan & Wittes (1988), ignoring the looks in between (a slight over-statement, said in
the output). The decision is one of ``continue``, ``stop_efficacy``, ``stop_harm`` and
``stop_futility`` at an interim look, and ``stop_efficacy``, ``stop_harm`` or ``not_shown`` at
the final analysis; the futility boundary is non-binding, so following it or not never inflates the
type I error.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from rollout.common.display import DisplayMixin
from rollout.errors import InputError
from rollout.evaluation.effects import Effect
from rollout.evaluation.returned import ReturnedData
from rollout.evaluation.statistic import test_effect
from rollout.io import read_text, write_json
from rollout.planning import estimands
from rollout.planning.design import Design
from rollout.planning.sequential import Boundaries

DECISIONS = ("continue", "stop_efficacy", "stop_harm", "stop_futility", "not_shown")
LOOKS_SCHEMA = "rollout.looks/1"
#: Interim warns when the information fraction and the sample fraction differ by this factor.
FRACTION_DISAGREEMENT = 1.5


@dataclass(frozen=True)
class InterimDecision(DisplayMixin):
    """Everything the decision at one look rests on."""

    look: int
    n_looks: int
    decision: str
    reason: str
    test: str
    estimand: str
    z: float
    estimate: float
    se: float
    method: str
    information: float
    max_information: float
    information_fraction: float
    sample_fraction: float
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
    """The design's information at its last look on the test's scale (see
    :func:`rollout.planning.estimands.max_information`)."""
    return estimands.max_information(design)


def test_statistic(design: Design, data: ReturnedData,
                   warnings: list[str] | None = None) -> Effect:
    """The design's test statistic on the returned data: its estimate and SE, adjusted for the
    data's covariates (the one computation interim and evaluate share)."""
    return test_effect(design, data.frame, data.y, data.t,
                                 data.X if data.covariates else None, warnings)


test_statistic.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def look_fractions(planned: Sequence[float], look: int, actual: float,
                   previous: Sequence[float] | None = None) -> list[float]:
    """Information fractions to recompute boundaries with, this look at its actual fraction.

    Earlier looks use ``previous`` (the fractions actually reached) when given, else the plan;
    later planned looks that this one has already passed are dropped; the list always ends at 1.
    """
    earlier = _earlier(planned, look, previous)
    if earlier and actual <= earlier[-1]:
        raise InputError(f"information fraction {actual:.3f} at look {look} is not above the "
                         f"previous look's {earlier[-1]:.3f}", argument="look")
    if actual >= 1.0:
        return [*earlier, 1.0]
    later = [f for f in planned[look:] if f > actual]
    return [*earlier, actual, *(later or [1.0])]


def _earlier(planned: Sequence[float], look: int,
             previous: Sequence[float] | None) -> list[float]:
    if look < 1:
        raise InputError(f"look must be 1 or more, got {look}", argument="look")
    earlier = list(previous) if previous is not None else list(planned[: look - 1])
    if len(earlier) != look - 1:
        raise InputError(f"need {look - 1} earlier fractions for look {look}, got {len(earlier)}",
                         argument="previous_fractions")
    if any(not f > 0 for f in earlier) or bool(np.any(np.diff(earlier) <= 0)):
        raise InputError(f"earlier information fractions must be positive and increasing, got "
                         f"{earlier}", argument="previous_fractions")
    return earlier


def final_fractions(planned: Sequence[float], look: int, actual: float,
                    previous: Sequence[float] | None = None) -> list[float]:
    """The fractions of a final analysis at ``look``: the earlier ones, then this one as it fell
    (below 1 when the test under-ran, above 1 when it over-ran)."""
    earlier = _earlier(planned, look, previous)
    if earlier and actual <= earlier[-1]:
        raise InputError(f"information fraction {actual:.3f} at look {look} is not above the "
                         f"previous look's {earlier[-1]:.3f}", argument="look")
    return [*earlier, float(actual)]


def conditional_power(z: float, fraction: float, final_boundary: float, drift: float) -> float:
    """P(final Z >= final boundary | current z), for drift = effect x sqrt(I_max) (Lan-Wittes)."""
    if fraction >= 1:
        return float(z >= final_boundary)
    b = z * np.sqrt(fraction)
    mean = b + drift * (1 - fraction)
    return float(stats.norm.sf((final_boundary - mean) / np.sqrt(1 - fraction)))


#: What crossing each boundary means, by test.
MEANING = {
    "ate": ("the effect is positive", "the campaign hurts"),
    "heterogeneity": ("predicted responders respond more than non-responders: the ranking "
                      "holds", "predicted responders respond less than non-responders: the "
                      "ranking is backwards"),
    "policy": ("the CATE policy earns more per customer than current practice",
               "the CATE policy earns less per customer than current practice"),
}


def _decide(z: float, final: bool, efficacy: float, harm: float, futility: float | None,
            cp_design: float, cp_trend: float, test: str = "ate") -> tuple[str, str]:
    """The decision at a look and the sentence that explains it."""
    up, down = MEANING.get(test, MEANING["ate"])
    if z >= efficacy:
        return ("stop_efficacy",
                f"z = {z:.2f} crosses the efficacy boundary {efficacy:.2f}: {up}")
    if z <= harm:
        return "stop_harm", f"z = {z:.2f} is below the harm boundary {harm:.2f}: {down}"
    if final:
        return "not_shown", (f"final analysis: z = {z:.2f} is below the efficacy boundary "
                             f"{efficacy:.2f}; the effect was not shown")
    if futility is not None and z < futility:
        return "stop_futility", (
            f"z = {z:.2f} is below the (non-binding) futility boundary {futility:.2f}; "
            f"conditional power under the design effect is {cp_design:.0%}")
    return "continue", (f"z = {z:.2f} lies between the boundaries; conditional power "
                        f"{cp_design:.0%} under the design effect, {cp_trend:.0%} under the trend")


def _look_futility(bounds: Boundaries, k: int, final: bool) -> float | None:
    """This look's futility boundary; at the final analysis, the efficacy boundary."""
    if final:
        return float(bounds.efficacy_z[k])
    if bounds.futility_z is not None:
        return float(bounds.futility_z[k])
    return None


def sample_fraction(design: Design, data: ReturnedData) -> float:
    """Customers of the two compared arms in the data over the design's maximum for them."""
    arms = (data.treatment_arm, data.control_arm)
    planned = sum(design.n_per_arm[a] for a in arms)
    return float(len(data.frame) / planned)


def interim_decision(design: Design, data: ReturnedData, look: int,
                     previous_fractions: Sequence[float] | None = None,
                     srm_threshold: float = 0.001,
                     effect: Effect | None = None) -> InterimDecision:
    """The decision at ``look`` on the data so far; see the module docstring.

    ``effect`` is the test statistic when the caller has it already (else computed here).
    """
    planned = design.information_fractions
    if not 0 < srm_threshold < 1:
        raise InputError(f"the SRM threshold must be in (0, 1), got {srm_threshold:g}",
                         argument="srm_threshold")
    if look > len(planned):
        raise InputError(f"the design has {len(planned)} looks; look {look} does not exist",
                         argument="look")
    warnings: list[str] = list(data.notes)
    srm = data.srm(design, srm_threshold)
    if srm.flag:
        warnings.append(srm.message())
    if effect is None:
        effect = test_statistic(design, data, warnings)
    z = effect.estimate / effect.se
    info = 1.0 / effect.se**2
    i_max = max_information(design)
    fraction = info / i_max
    samples = sample_fraction(design, data)
    ratio = fraction / samples if samples > 0 else np.inf
    if not 1 / FRACTION_DISAGREEMENT <= ratio <= FRACTION_DISAGREEMENT:
        warnings.append(
            f"the information fraction {fraction:.2f} is {ratio:.1f} times the sample fraction "
            f"{samples:.2f} (customers in over the design's maximum): the data's variance is "
            "not the one the design was sized with (check the outcome, the covariates and the "
            "test's estimand); the boundaries follow the information")
    final = fraction >= 1.0 or look == len(planned)
    if look == len(planned) and fraction < 1.0:
        warnings.append(f"last planned look reached only {fraction:.0%} of the planned "
                        "information: the test is under-powered; this is the final analysis, "
                        "spending the remaining alpha")
    drift = float(design.spending.drift or design.mde * np.sqrt(i_max))
    k = look - 1
    if final:
        fractions = final_fractions(planned, look, fraction, previous_fractions)
        bounds = design.spending.final_boundaries(fractions, design.alpha, design.sided)
    else:
        fractions = look_fractions(planned, look, fraction, previous_fractions)
        bounds = design.spending.boundaries(fractions, design.alpha, design.sided, drift=drift)
    futility_z = _look_futility(bounds, k, final)
    reached = min(fraction, 1.0)
    final_boundary = float(bounds.efficacy_z[-1])
    cp_design = conditional_power(z, reached, final_boundary, drift)
    cp_trend = conditional_power(z, reached, final_boundary, z / np.sqrt(reached))
    b_eff, b_harm = float(bounds.efficacy_z[k]), float(bounds.harm_z[k])
    decision, reason = _decide(z, final, b_eff, b_harm, futility_z, cp_design, cp_trend,
                               design.test)
    if srm.flag:
        reason += " (sample-ratio mismatch: check the data before acting)"
    scale = effect.se  # boundaries on the effect scale at the information actually reached
    return InterimDecision(
        look=look, n_looks=len(planned), decision=decision, reason=reason, test=design.test,
        estimand=effect.estimand, z=float(z),
        estimate=effect.estimate, se=effect.se, method=effect.method, information=float(info),
        max_information=float(i_max), information_fraction=float(fraction),
        sample_fraction=samples, final=final,
        fractions_used=[float(f) for f in fractions], efficacy_z=b_eff, harm_z=b_harm,
        futility_z=futility_z, efficacy_effect=b_eff * scale, harm_effect=b_harm * scale,
        futility_effect=None if futility_z is None else futility_z * scale,
        conditional_power={"design_effect": cp_design, "current_trend": cp_trend,
                           "se_at_full_information": float(1.0 / np.sqrt(i_max)),
                           "method": "B-value (Lan & Wittes 1988), ignoring intermediate looks"},
        srm=srm.to_dict(), warnings=warnings,
    )


def read_looks(path: str | Path) -> list[dict[str, Any]]:
    """The looks recorded so far (``interim --record``), in order; empty when the file is new."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        document = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise InputError(f"not a readable JSON document: {exc}", file=path) from exc
    if not isinstance(document, dict) or document.get("schema") != LOOKS_SCHEMA:
        raise InputError(f"not a looks record (expected schema {LOOKS_SCHEMA!r})", file=path)
    looks = document.get("looks")
    if not isinstance(looks, list) or any(
            not isinstance(r, dict) or r.get("look") != i + 1
            or not isinstance(r.get("information_fraction"), int | float)
            for i, r in enumerate(looks)):
        raise InputError("'looks' must list looks 1, 2, ... with their information_fraction",
                         file=path)
    return looks


def recorded_fractions(path: str | Path, look: int) -> list[float] | None:
    """The fractions actually reached at the looks before ``look`` (``None`` if not recorded)."""
    looks = read_looks(path)
    if len(looks) < look - 1:
        return None
    return [float(r["information_fraction"]) for r in looks[: look - 1]]


def record_look(path: str | Path, decision: InterimDecision) -> Path:
    """Write this look into the looks record, keeping the earlier ones (later ones dropped)."""
    looks = [r for r in read_looks(path) if r["look"] < decision.look]
    if len(looks) != decision.look - 1:
        raise InputError(f"the looks record has {len(looks)} earlier looks; look "
                         f"{decision.look} needs {decision.look - 1}", file=path)
    looks.append({"look": decision.look, "information_fraction": decision.information_fraction,
                  "sample_fraction": decision.sample_fraction, "z": decision.z,
                  "estimate": decision.estimate, "se": decision.se,
                  "decision": decision.decision, "final": decision.final})
    return write_json(path, {"schema": LOOKS_SCHEMA, "test": decision.test, "looks": looks})
