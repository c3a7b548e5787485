"""Group-sequential boundaries by alpha (and beta) spending, computed by numerical integration.

The test statistics at the looks, ``Z_1..Z_K`` at information fractions ``t_1 < ... < t_K = 1``,
follow the canonical joint distribution: ``Z_k ~ N(eta sqrt(t_k), 1)`` with
``cov(Z_j, Z_k) = sqrt(t_j / t_k)`` for ``j <= k``, where ``eta`` is the drift
(effect / standard error at full information). Probabilities of crossing a boundary at look
``k`` without having crossed before are computed with the recursive numerical integration of
Armitage, McPherson & Rowe as laid out in Jennison & Turnbull (2000), ch. 19 (the same grid and
Simpson weights as gsDesign): the sub-density of ``Z_k`` on the continuation region is carried
from look to look on a grid of about ``12 r`` points.

Spending functions, per side (``a`` the one-sided level; a two-sided test spends ``alpha/2``
on each side, symmetrically):

* O'Brien-Fleming-type (Lan & DeMets 1983): ``a(t) = 2 - 2 Phi(Phi^-1(1 - a/2) / sqrt(t))``
* Pocock-type (Lan & DeMets 1983): ``a(t) = a log(1 + (e - 1) t)``

Efficacy boundaries ``b_k`` spend ``a(t_k) - a(t_{k-1})`` under the null, ignoring futility
(the futility boundary is non-binding, so type I error is at most alpha whether or not it is
followed). The futility boundary ``f_k`` spends beta with the same family of spending function
under the alternative, given the trial continues between ``f`` and ``b``; the maximum
information is solved so that ``f_K = b_K``, i.e. power is exactly ``1 - beta`` when futility is
followed (and a little more when it is not). The harm boundary is the efficacy boundary
mirrored, ``-b_k``: stop when the effect is significantly negative. For a two-sided design it is
the lower efficacy boundary.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from rollout.common.display import DisplayMixin
from rollout.errors import InputError
from rollout.planning.fields import Source, field_error, number_in

Spending = Literal["obf", "pocock"]
GRID_R = 32
BOUNDARY_CAP = 20.0

SPENDING_DESCRIPTIONS = {
    "obf": "Lan-DeMets O'Brien-Fleming-type: a(t) = 2 - 2 Phi(Phi^-1(1 - a/2) / sqrt(t))",
    "pocock": "Lan-DeMets Pocock-type: a(t) = a log(1 + (e - 1) t)",
}


def spending_function(kind: str, level: float, t: np.ndarray | float) -> np.ndarray:
    """Cumulative error spent by information fraction ``t`` (one side, total ``level``).

    >>> [round(float(spending_function(kind, 0.025, 1.0)), 12) for kind in ("obf", "pocock")]
    [0.025, 0.025]
    """
    t = np.clip(np.asarray(t, dtype=float), 0.0, 1.0)
    if kind == "obf":
        with np.errstate(divide="ignore"):
            spent = 2.0 - 2.0 * stats.norm.cdf(stats.norm.isf(level / 2) / np.sqrt(t))
        return np.where(t > 0, spent, 0.0)
    if kind == "pocock":
        return level * np.log1p((math.e - 1.0) * t)
    raise InputError(f"spending must be obf or pocock, got {kind!r}", argument="spending")


def check_information_fractions(fractions: Sequence[float]) -> np.ndarray:
    """Validate information fractions: strictly increasing in (0, 1], ending at 1.

    >>> check_information_fractions([0.5, 1]).tolist()
    [0.5, 1.0]
    """
    t = np.asarray(list(fractions), dtype=float)
    if t.size == 0:
        raise InputError("give at least one look", argument="information_fractions")
    if not np.all(np.isfinite(t)) or t[0] <= 0 or np.any(np.diff(t) <= 0):
        raise InputError(f"information fractions must be strictly increasing and positive, got "
                         f"{t.tolist()}", argument="information_fractions")
    if abs(t[-1] - 1.0) > 1e-9:
        raise InputError(f"information fractions must end at 1, got {t[-1]:g}",
                         argument="information_fractions")
    t[-1] = 1.0
    return t


def _grid(mean: float, lower: float, upper: float, r: int = GRID_R) -> tuple[np.ndarray,
                                                                            np.ndarray]:
    """Jennison & Turnbull (2000, sec. 19.2.1) grid and Simpson weights on ``(lower, upper)``."""
    i = np.arange(1, 6 * r)
    x = np.where(
        i < r, mean - 3 - 4 * np.log(r / np.maximum(i, 1)),
        np.where(i <= 5 * r, mean - 3 + 3 * (i - r) / (2 * r),
                 mean + 3 + 4 * np.log(r / np.maximum(6 * r - i, 1))))
    inside = x[(x > lower) & (x < upper)]
    pieces = []
    if math.isfinite(lower) and lower > x[0]:
        pieces.append([lower])
    pieces.append(inside)
    if math.isfinite(upper) and upper < x[-1]:
        pieces.append([upper])
    points = np.concatenate(pieces) if pieces else inside
    if points.size < 2:
        lo = max(lower, x[0])
        hi = min(upper, x[-1])
        points = np.array([lo, hi]) if hi > lo else np.array([lo, lo + 1e-12])
    z = np.empty(2 * points.size - 1)
    z[0::2] = points
    z[1::2] = (points[:-1] + points[1:]) / 2
    w = np.zeros_like(z)
    w[1::2] = 4 * (z[2::2] - z[:-2:2]) / 6
    w[0] = (z[2] - z[0]) / 6
    w[-1] = (z[-1] - z[-3]) / 6
    if z.size > 3:
        w[2:-1:2] = (z[4::2] - z[:-4:2]) / 6
    return z, w


_cdf = special.ndtr  # the standard normal CDF, without scipy.stats' argument checking


def _pdf(x: np.ndarray | float) -> np.ndarray:
    """The standard normal density."""
    return np.exp(-0.5 * np.square(x)) / math.sqrt(2 * math.pi)


class _Recursion:
    """Sub-densities of Z_k on the continuation regions, look by look, for one drift."""

    def __init__(self, fractions: np.ndarray, drift: float) -> None:
        self.t = fractions
        self.drift = drift
        self.z: np.ndarray | None = None
        self.weighted: np.ndarray | None = None  # w_j * h_{k-1}(z_j)
        self.k = 0

    def _mean(self, k: int) -> float:
        return self.drift * math.sqrt(self.t[k])

    def cross(self, lower: float, upper: float) -> tuple[float, float]:
        """P(Z_k < lower, not stopped before), P(Z_k > upper, not stopped before) at look k."""
        k = self.k
        if k == 0:
            m = self._mean(0)
            return float(_cdf(lower - m)), float(_cdf(m - upper))
        assert self.z is not None and self.weighted is not None
        t_prev, t_now = self.t[k - 1], self.t[k]
        step = t_now - t_prev
        centre = self.z * math.sqrt(t_prev) + self.drift * step
        scale = math.sqrt(step)
        below = _cdf((lower * math.sqrt(t_now) - centre) / scale)
        above = _cdf((centre - upper * math.sqrt(t_now)) / scale)
        return float(self.weighted @ below), float(self.weighted @ above)

    def advance(self, lower: float, upper: float) -> None:
        """Carry the sub-density through look k's continuation region (lower, upper)."""
        k = self.k
        z, w = _grid(self._mean(k), lower, upper)
        if k == 0:
            density = _pdf(z - self._mean(0))
        else:
            assert self.z is not None and self.weighted is not None
            t_prev, t_now = self.t[k - 1], self.t[k]
            step = t_now - t_prev
            scale = math.sqrt(step)
            arg = (z[:, None] * math.sqrt(t_now) - self.z[None, :] * math.sqrt(t_prev)
                   - self.drift * step) / scale
            density = (_pdf(arg) @ self.weighted) * math.sqrt(t_now) / scale
        self.z, self.weighted = z, w * density
        self.k += 1


def _solve_bound(prob: callable, target: float, upper_side: bool) -> float:  # type: ignore[valid-type]
    """The boundary at which ``prob`` (monotone in it) equals ``target``."""
    if target <= 1e-15:
        return BOUNDARY_CAP if upper_side else -BOUNDARY_CAP
    lo, hi = -BOUNDARY_CAP, BOUNDARY_CAP
    if prob(hi if upper_side else lo) > target:
        return hi if upper_side else lo
    if prob(lo if upper_side else hi) < target:
        return lo if upper_side else hi
    return float(optimize.brentq(lambda b: prob(b) - target, lo, hi, xtol=1e-12, rtol=1e-14))


def efficacy_boundaries(fractions: Sequence[float], alpha: float, sided: int = 1,
                        spending: str = "obf") -> np.ndarray:
    """Upper efficacy boundaries (z scale); for ``sided=2`` the lower ones are their mirror.

    ``alpha`` is the total level: one-sided, or two-sided split equally between the sides.

    >>> efficacy_boundaries([1/3, 2/3, 1], 0.025).round(4).tolist()
    [3.7103, 2.5114, 1.993]
    """
    t = check_information_fractions(fractions)
    per_side = alpha / sided
    spent = spending_function(spending, per_side, t)
    increments = np.diff(np.concatenate([[0.0], spent]))
    return _bounds_spending(t, increments, sided)


def _bounds_spending(t: np.ndarray, increments: np.ndarray, sided: int) -> np.ndarray:
    """The efficacy bound at each look that spends ``increments[k]`` of alpha there (per side),
    by the recursive numerical integration over the looks before it."""
    recursion = _Recursion(t, 0.0)
    bounds = np.empty(t.size)
    for k in range(t.size):
        def upper_prob(b: float) -> float:
            return recursion.cross(-b if sided == 2 else -np.inf, b)[1]
        bounds[k] = _solve_bound(upper_prob, increments[k], upper_side=True)
        if k < t.size - 1:
            recursion.advance(-bounds[k] if sided == 2 else -np.inf, bounds[k])
    return bounds


def final_efficacy_boundaries(fractions: Sequence[float], alpha: float, sided: int = 1,
                              spending: str = "obf") -> np.ndarray:
    """Efficacy boundaries when the last of ``fractions`` is the final analysis, wherever it fell.

    ``fractions`` are the information reached at each look over the design's maximum; they are
    strictly increasing and positive but need not end at 1. Earlier looks spend the spending
    function at their fraction (capped at 1); the final look spends all the alpha that remains,
    so an under-running (< 1) or over-running (> 1) test still has type I error ``alpha``. The
    joint law of the z statistics depends only on the ratios of the information, so the
    recursion runs on the fractions as they are.

    >>> final_efficacy_boundaries([1/3, 2/3, 1], 0.025).round(4).tolist()
    [3.7103, 2.5114, 1.993]
    """
    t = np.asarray(list(fractions), dtype=float)
    if t.size == 0 or not np.all(np.isfinite(t)) or t[0] <= 0 or np.any(np.diff(t) <= 0):
        raise InputError(f"information fractions must be strictly increasing and positive, got "
                         f"{t.tolist()}", argument="information_fractions")
    per_side = alpha / sided
    spent = spending_function(spending, per_side, np.minimum(t, 1.0))
    spent[-1] = per_side
    spent = np.maximum.accumulate(spent)
    increments = np.diff(np.concatenate([[0.0], spent]))
    return _bounds_spending(t, increments, sided)


def crossing_probabilities(fractions: Sequence[float], lower: Sequence[float],
                           upper: Sequence[float], drift: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-look probabilities of stopping below ``lower`` and above ``upper`` (not before).

    >>> lo, up = crossing_probabilities([1.0], [-1.96], [1.96], 0.0)
    >>> round(float(lo[0] + up[0]), 4)
    0.05
    """
    t = check_information_fractions(fractions)
    recursion = _Recursion(t, drift)
    below, above = np.empty(t.size), np.empty(t.size)
    for k in range(t.size):
        below[k], above[k] = recursion.cross(lower[k], upper[k])
        if k < t.size - 1:
            recursion.advance(lower[k], upper[k])
    return below, above


def futility_boundaries(t: np.ndarray, efficacy: np.ndarray, harm: np.ndarray, beta: float,
                        spending: str, drift: float) -> tuple[np.ndarray, float]:
    """Beta-spending futility boundaries for a drift; returns them and the total beta spent.

    At each look but the last, the boundary ``f_k`` spends ``beta(t_k) - beta(t_{k-1})`` under
    the alternative (drift), given the trial continued between ``max(f, harm)`` and the
    efficacy boundary; the last is the efficacy boundary. The total returned is the chance,
    under the drift, of ending below efficacy: the design solves the drift that makes it beta.
    """
    spent = spending_function(spending, beta, t)
    increments = np.diff(np.concatenate([[0.0], spent]))
    recursion = _Recursion(t, drift)
    futility = np.empty(t.size)
    total_lower = 0.0
    for k in range(t.size):
        if k == t.size - 1:
            futility[k] = efficacy[k]
        else:
            def lower_prob(a: float, k: int = k) -> float:
                return recursion.cross(max(a, harm[k]), efficacy[k])[0]
            futility[k] = min(_solve_bound(lower_prob, increments[k], upper_side=False),
                              efficacy[k])
        floor = max(futility[k], harm[k])
        total_lower += recursion.cross(floor, efficacy[k])[0]
        if k < t.size - 1:
            recursion.advance(floor, efficacy[k])
    return futility, total_lower


SPENDING_KINDS = ("obf", "pocock")
FUTILITY_KINDS = ("beta", "none")
#: ``efficacy`` of a fixed design: one analysis at full information.
SINGLE_ANALYSIS = "none"
HARM_MIRRORED = ("efficacy boundary mirrored (-efficacy_z): stop when the effect is "
                 "significantly negative")
NUMERICAL_METHOD = "recursive numerical integration (Jennison & Turnbull 2000, ch. 19)"


@dataclass(frozen=True)
class Boundaries(DisplayMixin):
    """Boundaries on the z scale at a list of information fractions.

    ``futility_z`` is ``None`` when the plan has no futility boundary (or none could be
    computed: a single analysis, or no drift given).
    """

    information_fractions: list[float]
    efficacy_z: list[float]
    harm_z: list[float]
    futility_z: list[float] | None

    def to_pandas(self) -> pd.DataFrame:
        futility = self.futility_z or [None] * len(self.efficacy_z)
        return pd.DataFrame({"information_fraction": self.information_fractions,
                             "efficacy_z": self.efficacy_z, "harm_z": self.harm_z,
                             "futility_z": futility})


def _spending_error(source: Source, name: str, message: str) -> InputError:
    return field_error(source, f"spending.{name}", message)


def _record_number(record: Mapping[str, Any], name: str, source: Source, low: float,
                   high: float) -> float:
    return number_in(record[name], source, f"spending.{name}", low, high)


@dataclass(frozen=True)
class SpendingPlan(DisplayMixin):
    """How a design's boundaries are made: the ``spending`` record of design.json, typed.

    ``efficacy`` is ``obf`` or ``pocock`` for a group-sequential design and ``none`` for a fixed
    one (a single analysis). :meth:`boundaries` recomputes the boundaries at any information
    fractions (the looks as they actually fell) with the same spending functions: the one place
    that interim decisions and the evaluation take boundaries from.
    """

    efficacy: str = SINGLE_ANALYSIS
    futility: str = "none"
    harm: str = "efficacy boundary mirrored"
    method: str = "single analysis"
    efficacy_function: str | None = None
    alpha_per_side: float | None = None
    sides: str | None = None
    futility_function: str | None = None
    futility_binding: bool = False
    beta: float | None = None
    drift: float | None = None
    power_if_futility_ignored: float | None = None
    power_if_futility_followed: float | None = None
    type1_if_futility_followed: float | None = None

    @property
    def sequential(self) -> bool:
        """True for a group-sequential plan, False for a single analysis."""
        return self.efficacy != SINGLE_ANALYSIS

    def to_dict(self) -> dict[str, Any]:
        """The ``spending`` record: four fields for a single analysis, all of them otherwise."""
        record = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if not self.sequential:
            return {k: record[k] for k in ("efficacy", "futility", "harm", "method")}
        return record

    @classmethod
    def from_record(cls, record: Any, source: Source = None) -> SpendingPlan:
        """Validate the ``spending`` record of a design document; raises naming the field."""
        if not isinstance(record, Mapping):
            raise field_error(source, "spending", "must be a record")
        kinds = (*SPENDING_KINDS, SINGLE_ANALYSIS)
        if record.get("efficacy") not in kinds:
            raise _spending_error(source, "efficacy", f"must be one of {', '.join(kinds)}, got "
                                                      f"{record.get('efficacy')!r}")
        names = ([f.name for f in dataclasses.fields(cls)] if record["efficacy"] in SPENDING_KINDS
                 else ["efficacy", "futility", "harm", "method"])
        missing = next((name for name in names if name not in record), None)
        if missing is not None:
            raise _spending_error(source, missing, "missing")
        if record["futility"] not in FUTILITY_KINDS:
            raise _spending_error(source, "futility", f"must be beta or none, got "
                                                      f"{record['futility']!r}")
        for name in ("harm", "method", "efficacy_function", "sides"):
            if name in names and not isinstance(record[name], str):
                raise _spending_error(source, name, f"must be text, got {record[name]!r}")
        if record["efficacy"] == SINGLE_ANALYSIS:
            if record["futility"] != "none":
                raise _spending_error(source, "futility", "a single analysis has no futility "
                                                          "boundary: must be none")
            return cls(efficacy=SINGLE_ANALYSIS, futility="none", harm=record["harm"],
                       method=record["method"])
        return cls._sequential_from_record(record, source)

    @classmethod
    def _sequential_from_record(cls, record: Mapping[str, Any],
                                source: Source) -> SpendingPlan:
        function = record["futility_function"]
        if function is not None and not isinstance(function, str):
            raise _spending_error(source, "futility_function", "must be text or null")
        if record["futility_binding"] is not False:
            raise _spending_error(source, "futility_binding", "must be false (the futility "
                                                              "boundary is non-binding)")
        return cls(
            efficacy=record["efficacy"], futility=record["futility"], harm=record["harm"],
            method=record["method"], efficacy_function=record["efficacy_function"],
            alpha_per_side=_record_number(record, "alpha_per_side", source, 0, 0.5),
            sides=record["sides"], futility_function=function, futility_binding=False,
            beta=_record_number(record, "beta", source, 0, 1),
            drift=_record_number(record, "drift", source, 1e-12, math.inf),
            **{name: _record_number(record, name, source, 0, 1)
               for name in ("power_if_futility_ignored", "power_if_futility_followed",
                            "type1_if_futility_followed")})

    def boundaries(self, fractions: Sequence[float], alpha: float, sided: int,
                   drift: float | None = None) -> Boundaries:
        """Efficacy, harm and futility boundaries at ``fractions`` (the looks as they fell).

        Efficacy spends ``alpha / sided`` per side with the plan's spending function; harm is
        its mirror; the non-binding futility boundary spends the plan's beta under ``drift``
        (the expected z at full information; default the plan's own) when the plan has one and
        there is more than one look. A single analysis spends all of alpha at full information,
        as every spending function does at ``t = 1``.
        """
        t = check_information_fractions(fractions)
        if not self.sequential and t.size > 1:
            raise ValueError("a single-analysis design has no interim looks")
        kind = self.efficacy if self.sequential else SPENDING_KINDS[0]
        efficacy = efficacy_boundaries(t, alpha, sided, kind)
        harm = -efficacy
        drift = self.drift if drift is None else drift
        futility = None
        if self.futility == "beta" and t.size > 1 and drift is not None:
            assert self.beta is not None
            bounds, _ = futility_boundaries(t, efficacy, harm, self.beta, kind, drift)
            futility = [float(b) for b in bounds]
        return Boundaries(information_fractions=t.tolist(), efficacy_z=efficacy.tolist(),
                          harm_z=harm.tolist(), futility_z=futility)


    def final_boundaries(self, fractions: Sequence[float], alpha: float,
                         sided: int) -> Boundaries:
        """Boundaries when the last of ``fractions`` is the final analysis, wherever it fell:
        earlier looks at their spending, the final look spending all the remaining alpha
        (:func:`final_efficacy_boundaries`); the futility boundary of the final look is the
        efficacy boundary, and earlier ones are not recomputed (``None``)."""
        kind = self.efficacy if self.sequential else SPENDING_KINDS[0]
        efficacy = final_efficacy_boundaries(fractions, alpha, sided, kind)
        return Boundaries(information_fractions=[float(f) for f in fractions],
                          efficacy_z=efficacy.tolist(), harm_z=(-efficacy).tolist(),
                          futility_z=None)


@dataclass(frozen=True)
class SequentialDesign(DisplayMixin):
    """Boundaries on the z scale for each look, and the drift that gives the power asked for.

    ``drift`` is the expected z statistic at full information under the alternative;
    ``max_inflation = (drift / (z_{1-a} + z_{1-b}))^2`` is the maximum sample size relative to
    the fixed design with the same one-sided level per side and power.
    """

    information_fractions: list[float]
    efficacy_z: list[float]
    futility_z: list[float | None]
    harm_z: list[float]
    alpha_spent: list[float]
    alpha: float
    sided: int
    power: float
    spending: str
    futility: str
    drift: float
    max_inflation: float
    power_if_futility_ignored: float
    power_if_futility_followed: float
    type1_if_futility_followed: float

    def spending_plan(self) -> SpendingPlan:
        """The spending plan of this design (the ``spending`` record of design.json)."""
        return SpendingPlan(
            efficacy=self.spending,
            efficacy_function=SPENDING_DESCRIPTIONS[self.spending],
            alpha_per_side=self.alpha / self.sided,
            sides="symmetric: alpha/2 spent on each side" if self.sided == 2
            else "one-sided (upper)",
            futility=self.futility,
            futility_function=(f"beta spending, {SPENDING_DESCRIPTIONS[self.spending]} "
                               "with beta in place of a; non-binding"
                               if self.futility == "beta" else None),
            futility_binding=False,
            beta=1 - self.power,
            harm=HARM_MIRRORED,
            method=NUMERICAL_METHOD,
            drift=self.drift,
            power_if_futility_ignored=self.power_if_futility_ignored,
            power_if_futility_followed=self.power_if_futility_followed,
            type1_if_futility_followed=self.type1_if_futility_followed,
        )

    def spending_record(self) -> dict[str, object]:
        """The ``spending`` record of design.json, as plain JSON."""
        return self.spending_plan().to_dict()

    def to_pandas(self) -> pd.DataFrame:
        """One row per look: information fraction and the boundaries."""
        return pd.DataFrame({"information_fraction": self.information_fractions,
                             "efficacy_z": self.efficacy_z, "futility_z": self.futility_z,
                             "harm_z": self.harm_z, "alpha_spent": self.alpha_spent})


def sequential_design(fractions: Sequence[float], alpha: float = 0.05, power: float = 0.8,
                      sided: int = 2, spending: str = "obf",
                      futility: str = "beta") -> SequentialDesign:
    """Boundaries and maximum information for a group-sequential design.

    >>> design = sequential_design([1/3, 2/3, 1], alpha=0.025, sided=1, futility="none")
    >>> [round(b, 4) for b in design.efficacy_z], round(design.max_inflation, 3)
    ([3.7103, 2.5114, 1.993], 1.013)
    """
    if not 0 < alpha < 0.5:
        raise InputError(f"alpha must be in (0, 0.5), got {alpha:g}", argument="alpha")
    if not 0 < power < 1:
        raise InputError(f"power must be in (0, 1), got {power:g}", argument="power")
    if futility not in ("beta", "none"):
        raise InputError(f"futility must be beta or none, got {futility!r}", argument="futility")
    t = check_information_fractions(fractions)
    beta = 1 - power
    efficacy = efficacy_boundaries(t, alpha, sided, spending)
    harm = -efficacy
    fixed_drift = float(stats.norm.isf(alpha / sided) + stats.norm.isf(beta))

    def power_ignoring_futility(drift: float) -> float:
        return float(crossing_probabilities(t, harm, efficacy, drift)[1].sum())

    if t.size == 1:
        drift = fixed_drift
        futility_z: list[float | None] = [None]
        futility = "none"
    elif futility == "none":
        drift = float(optimize.brentq(lambda d: power_ignoring_futility(d) - power,
                                      0.5 * fixed_drift, 3 * fixed_drift, xtol=1e-10))
        futility_z = [None] * t.size
    else:
        def gap(drift: float) -> float:
            return futility_boundaries(t, efficacy, harm, beta, spending, drift)[1] - beta
        drift = float(optimize.brentq(gap, 0.5 * fixed_drift, 3 * fixed_drift, xtol=1e-10))
        bounds, _ = futility_boundaries(t, efficacy, harm, beta, spending, drift)
        futility_z = [float(b) for b in bounds]

    floors = np.array([harm[k] if f is None else max(f, harm[k])
                       for k, f in enumerate(futility_z)])
    followed = float(crossing_probabilities(t, floors, efficacy, drift)[1].sum())
    type1 = float(crossing_probabilities(t, floors, efficacy, 0.0)[1].sum())
    spent_total = np.cumsum(np.diff(np.concatenate(
        [[0.0], spending_function(spending, alpha / sided, t)]))) * sided
    return SequentialDesign(
        information_fractions=t.tolist(),
        efficacy_z=efficacy.tolist(),
        futility_z=futility_z,
        harm_z=harm.tolist(),
        alpha_spent=spent_total.tolist(),
        alpha=alpha,
        sided=sided,
        power=power,
        spending=spending,
        futility=futility,
        drift=drift,
        max_inflation=(drift / fixed_drift) ** 2,
        power_if_futility_ignored=power_ignoring_futility(drift),
        power_if_futility_followed=followed,
        type1_if_futility_followed=type1 * sided,
    )
