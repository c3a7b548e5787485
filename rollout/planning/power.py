"""Fixed-sample sizing: solve for n per arm, the MDE or the power, given the other two.

The comparison is always a treatment arm against the control arm. With ``k`` treatment arms the
per-comparison critical value is corrected for multiplicity: Bonferroni (``alpha / k``) or
Dunnett (the exact many-to-one critical value of the multivariate normal with correlations
``lambda_i * lambda_j``, ``lambda_i = sqrt(n_i / (n_i + n_c))``; large-sample, so Dunnett always
uses the normal distribution). Power is the per-comparison power: the chance that a given
treatment arm whose true effect is the MDE is declared different from control.

Continuous outcomes (difference in means, common SD ``sigma``)::

    se(n) = sigma * sqrt(1/n_t + 1/n_c)
    z test:  power = Phi(d/se - c) + Phi(-d/se - c)          (second term only when two-sided)
    t test:  power = 1 - F_nct(c_t; df, d/se) + F_nct(-c_t; df, d/se),  df = N - (k + 1)

which is the textbook normal formula, ``n = 2 (z_{1-a/2} + z_{1-b})^2 sigma^2 / d^2`` per arm
for equal allocation, and statsmodels' ``TTestIndPower``/``NormalIndPower`` for unequal
allocation (``ratio = n_t / n_c``). Binary outcomes (difference in proportions from a baseline
rate ``p_c``; ``p_t = p_c + d``) use the classical pooled-null, unpooled-alternative normal
test (Fleiss, Levin & Paik 2003, eq. 4.14, without continuity correction)::

    power = Phi((|d| - c * sd0) / sd1),  sd0^2 = pbar qbar (1/n_t + 1/n_c),
                                          sd1^2 = p_t q_t / n_t + p_c q_c / n_c

Variance reduction by ANCOVA with a known ``R^2`` replaces ``sigma^2`` by
``sigma^2 (1 - R^2)``; for the z test the size is then exactly ``n (1 - R^2)`` before rounding.
Sizes are rounded up arm by arm, so the power achieved is at least the power asked for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize, stats

from rollout.common.display import DisplayMixin
from rollout.errors import InputError

Distribution = Literal["t", "z"]
Multiplicity = Literal["dunnett", "bonferroni"]
OutcomeType = Literal["continuous", "binary"]
DUNNETT_NODES = 96


def arm_names(n_treatment_arms: int) -> list[str]:
    """Arm names: ``treatment``/``control`` for one treatment arm, else numbered treatment arms.

    >>> arm_names(1), arm_names(2)
    (['treatment', 'control'], ['treatment_1', 'treatment_2', 'control'])
    """
    if n_treatment_arms == 1:
        return ["treatment", "control"]
    return [f"treatment_{i + 1}" for i in range(n_treatment_arms)] + ["control"]


def parse_allocation(spec: str | float | Mapping[str, float] | None,
                     n_treatment_arms: int = 1) -> dict[str, float]:
    """Fractions of customers per arm, summing to 1.

    ``None`` means equal shares; a number is the share of each treatment arm (control gets the
    rest); a mapping or a string ``"treatment=0.7,control=0.3"`` names every arm.

    >>> parse_allocation("treatment=0.7,control=0.3")
    {'treatment': 0.7, 'control': 0.3}
    >>> parse_allocation(0.25, 2)
    {'treatment_1': 0.25, 'treatment_2': 0.25, 'control': 0.5}
    """
    arms = arm_names(n_treatment_arms)
    if spec is None or spec == "":
        return {arm: 1.0 / len(arms) for arm in arms}
    shares: dict[str, float]
    if isinstance(spec, Mapping):
        shares = {str(k): float(v) for k, v in spec.items()}
    elif isinstance(spec, (int, float)):
        shares = {arm: float(spec) for arm in arms[:-1]}
        shares["control"] = 1.0 - float(spec) * n_treatment_arms
    else:
        text = str(spec).strip()
        if "=" not in text:
            try:
                return parse_allocation(float(text), n_treatment_arms)
            except ValueError:
                raise InputError(f"allocation {text!r} is neither a number nor "
                                 "'arm=share,...'", argument="allocation") from None
        shares = {}
        for part in text.split(","):
            name, _, value = part.partition("=")
            try:
                shares[name.strip()] = float(value)
            except ValueError:
                raise InputError(f"allocation share {part!r} is not a number",
                                 argument="allocation") from None
    if set(shares) != set(arms):
        raise InputError(f"allocation must name exactly the arms {arms}, got {sorted(shares)}",
                         argument="allocation")
    for arm, share in shares.items():
        if not 0 < share < 1:
            raise InputError(f"allocation share of {arm!r} must be in (0, 1), got {share:g}",
                             argument="allocation")
    total = sum(shares.values())
    if abs(total - 1) > 1e-6:
        raise InputError(f"allocation shares sum to {total:g}, not 1", argument="allocation")
    return {arm: shares[arm] / total for arm in arms}


def dunnett_critical_value(n_treatment_arms: int, alpha: float, sided: int = 2,
                           treatment_to_control: float = 1.0) -> float:
    """Many-to-one critical value (Dunnett 1955), normal limit, for arms of equal size.

    With every treatment arm ``r`` times the control arm, the comparisons share the control and
    are correlated ``rho = r / (1 + r)``. Write ``Z_i = sqrt(rho) U + sqrt(1 - rho) E_i`` and
    integrate over ``U`` (one-dimensional, exact). Dunnett's table, infinite degrees of freedom,
    two-sided 5%: 2.21 (k=2), 2.35 (k=3), 2.44 (k=4).

    >>> round(dunnett_critical_value(2, 0.05), 2)
    2.21
    """
    if n_treatment_arms == 1:
        return float(stats.norm.isf(alpha / sided))
    rho = treatment_to_control / (1.0 + treatment_to_control)
    a, b = math.sqrt(rho), math.sqrt(1.0 - rho)
    # Gauss-Hermite (probabilists') nodes integrate the smooth integrand over U ~ N(0, 1)
    nodes, weights = np.polynomial.hermite_e.hermegauss(DUNNETT_NODES)
    weights = weights / math.sqrt(2 * math.pi)

    def coverage(c: float) -> float:
        upper = stats.norm.cdf((c - a * nodes) / b)
        lower = stats.norm.cdf((-c - a * nodes) / b) if sided == 2 else 0.0
        return float(weights @ (upper - lower) ** n_treatment_arms)

    return float(optimize.brentq(lambda c: coverage(c) - (1 - alpha), 0.5, 10, xtol=1e-10))


@dataclass(frozen=True)
class FixedSizing(DisplayMixin):
    """A solved fixed-sample design: every quantity filled in, with how it was computed."""

    n_per_arm: dict[str, int]
    n_total: int
    n_control_exact: float
    mde: float
    power: float
    alpha: float
    sided: int
    critical_value: float
    comparison_alpha: float
    allocation: dict[str, float]
    sd: float | None
    sd_effective: float | None
    r2: float | None
    outcome_type: str
    distribution: str
    multiplicity: str | None
    baseline: float | None
    solved_for: str

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class _Problem:
    alpha: float
    sided: int
    allocation: dict[str, float]
    n_treatment_arms: int
    sd: float | None
    outcome_type: str
    distribution: str
    multiplicity: str
    baseline: float | None

    @property
    def ratio(self) -> float:
        """Size of each treatment arm relative to control (equal across treatment arms)."""
        return self.allocation[arm_names(self.n_treatment_arms)[0]] / self.allocation["control"]

    @property
    def comparison_alpha(self) -> float:
        if self.n_treatment_arms > 1 and self.multiplicity == "bonferroni":
            return self.alpha / self.n_treatment_arms
        return self.alpha

    def critical_value(self, df: float | None = None) -> float:
        if self.n_treatment_arms > 1 and self.multiplicity == "dunnett":
            return dunnett_critical_value(self.n_treatment_arms, self.alpha, self.sided,
                                          self.ratio)
        tail = self.comparison_alpha / self.sided
        if df is not None:
            return float(stats.t.isf(tail, df))
        return float(stats.norm.isf(tail))

    def uses_t(self) -> bool:
        return (self.outcome_type == "continuous" and self.distribution == "t"
                and not (self.n_treatment_arms > 1 and self.multiplicity == "dunnett"))

    def power(self, n_control: float, mde: float, crit_z: float) -> float:
        n_c, n_t = n_control, n_control * self.ratio
        if self.outcome_type == "binary":
            assert self.baseline is not None
            p_c, p_t = self.baseline, self.baseline + mde
            pbar = (n_t * p_t + n_c * p_c) / (n_t + n_c)
            sd0 = math.sqrt(pbar * (1 - pbar) * (1 / n_t + 1 / n_c))
            sd1 = math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
            result = stats.norm.cdf((abs(mde) - crit_z * sd0) / sd1)
            if self.sided == 2:
                result += stats.norm.cdf((-abs(mde) - crit_z * sd0) / sd1)
            return float(result)
        assert self.sd is not None
        se = self.sd * math.sqrt(1 / n_t + 1 / n_c)
        shift = abs(mde) / se
        if self.uses_t():
            df = (n_t * self.n_treatment_arms + n_c) - (self.n_treatment_arms + 1)
            crit = self.critical_value(df)
            result = float(stats.nct.sf(crit, df, shift))
            if not math.isfinite(result):  # far beyond scipy's range: effectively certain
                result = float(stats.norm.sf(crit - shift))
            if self.sided == 2:
                far_tail = float(stats.nct.cdf(-crit, df, shift))
                result += far_tail if math.isfinite(far_tail) else 0.0
            return result
        result = stats.norm.cdf(shift - crit_z)
        if self.sided == 2:
            result += stats.norm.cdf(-shift - crit_z)
        return float(result)


def _check(alpha: float, power: float | None, mde: float | None, n: float | None,
           sd: float | None, outcome_type: str, baseline: float | None, sided: int,
           r2: float | None) -> None:
    if not 0 < alpha < 0.5:
        raise InputError(f"alpha must be in (0, 0.5), got {alpha:g}", argument="alpha")
    if sided not in (1, 2):
        raise InputError(f"sided must be 1 or 2, got {sided}", argument="sided")
    if power is not None and not 0 < power < 1:
        raise InputError(f"power must be in (0, 1), got {power:g}", argument="power")
    if mde is not None and not mde > 0:
        raise InputError(f"the MDE must be positive, got {mde:g}", argument="mde")
    if n is not None and not n >= 2:
        raise InputError(f"n per arm must be at least 2, got {n:g}", argument="n")
    if r2 is not None and not 0 <= r2 < 1:
        raise InputError(f"R^2 must be in [0, 1), got {r2:g}", argument="r2")
    if outcome_type == "continuous":
        if sd is None:
            raise InputError("a continuous outcome needs its standard deviation", argument="sd")
        if not sd > 0 or not math.isfinite(sd):
            raise InputError(f"the outcome SD must be positive, got {sd:g}", argument="sd")
    elif outcome_type == "binary":
        if baseline is None or not 0 < baseline < 1:
            raise InputError(f"a binary outcome needs a baseline rate in (0, 1), got {baseline}",
                             argument="baseline")
        if mde is not None and not 0 < baseline + mde < 1:
            raise InputError(f"baseline {baseline:g} + MDE {mde:g} is not a rate in (0, 1)",
                             argument="mde")
    else:
        raise InputError(f"outcome type must be continuous or binary, got {outcome_type!r}")


def solve_fixed(
    *,
    sd: float | None = None,
    mde: float | None = None,
    n: float | None = None,
    power: float | None = 0.8,
    alpha: float = 0.05,
    sided: int = 2,
    allocation: str | float | Mapping[str, float] | None = None,
    n_treatment_arms: int = 1,
    multiplicity: Multiplicity = "dunnett",
    outcome_type: OutcomeType = "continuous",
    distribution: Distribution = "t",
    baseline: float | None = None,
    r2: float | None = None,
) -> FixedSizing:
    """Solve a fixed-sample design for whichever of ``n``, ``mde`` or ``power`` is ``None``.

    ``n`` is the size of the control arm (with equal allocation: n per arm). Exactly one of the
    three must be left out. ``r2`` (ANCOVA on pre-period covariates) shrinks the SD to
    ``sd * sqrt(1 - r2)``.

    >>> sizing = solve_fixed(sd=180, mde=34, power=0.8, alpha=0.05, distribution="z")
    >>> sizing.n_per_arm
    {'treatment': 440, 'control': 440}
    >>> round(solve_fixed(sd=180, mde=34, n=440, power=None, distribution="z").power, 3)
    0.8
    """
    solved = _missing_one(n, mde, power)
    if n_treatment_arms < 1:
        raise InputError("there must be at least one treatment arm", argument="arms")
    _check(alpha, power, mde, n, sd, outcome_type, baseline, sided, r2)
    if multiplicity not in ("dunnett", "bonferroni"):
        raise InputError(f"multiplicity must be dunnett or bonferroni, got {multiplicity!r}",
                         argument="multiplicity")
    shares = parse_allocation(allocation, n_treatment_arms)
    treatment_shares = {shares[a] for a in arm_names(n_treatment_arms)[:-1]}
    if len({round(s, 12) for s in treatment_shares}) != 1:
        raise InputError("treatment arms must have equal shares", argument="allocation")
    sd_effective = None if sd is None else sd * math.sqrt(1 - (r2 or 0.0))
    problem = _Problem(alpha, sided, shares, n_treatment_arms, sd_effective, outcome_type,
                       distribution, multiplicity, baseline)
    crit_z = problem.critical_value()
    if solved == "power":
        assert n is not None and mde is not None
        n_control = float(n)
        power = problem.power(n_control, mde, crit_z)
    elif solved == "n":
        assert mde is not None and power is not None
        n_control = _solve_n(problem, mde, power, crit_z)
    else:
        assert n is not None and power is not None
        n_control = float(n)
        mde = _solve_mde(problem, n_control, power, crit_z)
    assert mde is not None and power is not None
    sizes = _arm_sizes(problem, n_control, solved)
    crit_report = crit_z
    if problem.uses_t():
        df = (n_control * problem.ratio * n_treatment_arms + n_control
              - (n_treatment_arms + 1))
        crit_report = problem.critical_value(df)
    return FixedSizing(
        n_per_arm=sizes, n_total=int(sum(sizes.values())), n_control_exact=float(n_control),
        mde=float(mde), power=float(power), alpha=alpha, sided=sided,
        critical_value=float(crit_report), comparison_alpha=problem.comparison_alpha,
        allocation=shares, sd=sd, sd_effective=sd_effective, r2=r2, outcome_type=outcome_type,
        distribution="t" if problem.uses_t() else "z",
        multiplicity=multiplicity if n_treatment_arms > 1 else None, baseline=baseline,
        solved_for=solved)


def _missing_one(n: float | None, mde: float | None, power: float | None) -> str:
    """The one of ``n``, ``mde`` and ``power`` left out, to be solved for."""
    missing = [name for name, value in (("n", n), ("mde", mde), ("power", power))
               if value is None]
    if len(missing) != 1:
        given = [name for name in ("n", "mde", "power") if name not in missing]
        raise InputError("give exactly two of n, mde and power (the third is solved for); "
                         f"given: {', '.join(given) or 'none'}", argument="n")
    return missing[0]


def _solve_n(problem: _Problem, mde: float, power: float, crit_z: float) -> float:
    """The control arm's size (continuous) that reaches ``power`` at ``mde``."""
    def gap(log_n: float) -> float:
        return problem.power(math.exp(log_n), mde, crit_z) - power

    high = math.log(4.0)
    while gap(high) < 0:
        high += 1.0
        if high > math.log(1e12):
            raise InputError("no sample size reaches that power", argument="power")
    low = math.log(2.0)
    if gap(low) >= 0:
        return 2.0
    return math.exp(optimize.brentq(gap, low, high, xtol=1e-12, rtol=1e-14))


def _solve_mde(problem: _Problem, n_control: float, power: float, crit_z: float) -> float:
    """The smallest effect that ``n_control`` customers detect with ``power``."""
    baseline = problem.baseline
    upper = (1 - baseline - 1e-9 if problem.outcome_type == "binary" and baseline is not None
             else None)
    if upper is not None and problem.power(n_control, upper, crit_z) < power:
        raise InputError("no effect within the rate's range reaches that power with this n",
                         argument="n")
    high = upper if upper is not None else (problem.sd or 1.0)
    while upper is None and problem.power(n_control, high, crit_z) < power:
        high *= 2
    return float(optimize.brentq(lambda d: problem.power(n_control, d, crit_z) - power,
                                 1e-12 * high, high, xtol=1e-12 * high))


def _arm_sizes(problem: _Problem, n_control: float, solved: str) -> dict[str, int]:
    """Whole customers per arm: rounded up when n was solved for, else to the nearest."""
    ratio = problem.ratio
    arms = arm_names(problem.n_treatment_arms)
    if solved == "n":
        sizes = {arm: math.ceil(n_control * ratio - 1e-9) for arm in arms[:-1]}
        sizes["control"] = math.ceil(n_control - 1e-9)
    else:
        sizes = {arm: max(1, round(n_control * ratio)) for arm in arms[:-1]}
        sizes["control"] = round(n_control)
    return sizes


def power_curve(mdes: np.ndarray, **problem: object) -> np.ndarray:
    """n per control arm needed at each MDE (same settings as :func:`solve_fixed`)."""
    settings = {k: v for k, v in problem.items() if k not in {"mde", "n"}}
    return np.array([solve_fixed(mde=float(m), n=None, **settings).n_per_arm["control"]
                     for m in mdes])
