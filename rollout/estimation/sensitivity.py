"""How much the data alone can say: Manski bounds, and the E-value for unmeasured confounding.

Manski (1990) bounds drop every assumption about who was treated: the missing potential outcome
of each customer is only known to lie within the declared outcome bounds [L, U]. The ATE is then
only known to lie in an interval of width exactly U - L, which always contains zero when the
bounds are wide: the point estimates rest on unconfoundedness and overlap, not on the data alone.

The E-value (VanderWeele & Ding 2017) is the minimum strength of association, on the risk-ratio
scale, that an unmeasured confounder would need with both treatment and outcome to explain the
estimate away. For a dollar effect the conversion is stated: d = effect / SD(outcome) and
RR ≈ exp(0.91 d) (VanderWeele 2017, for a continuous outcome), with SD the pooled within-arm SD
of the outcome over the population the estimate is about (:func:`within_arm_sd`): the
whole-cohort SD of an observational cohort also holds the gap between the arms that targeting
created.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from rollout.common.display import DisplayMixin
from rollout.common.stats import Z_975

EVALUE_CONVERSION = ("d = effect / SD(outcome) (pooled within-arm SD over the estimate's "
                     "population); RR = exp(0.91 d); E = RR + sqrt(RR (RR - 1)) for RR >= 1 "
                     "(use 1/RR below 1)")


@dataclass(frozen=True)
class ManskiBounds(DisplayMixin):
    """No-assumption bounds on the ATE, with a 95% interval that covers the whole identified set."""

    outcome: str
    outcome_low: float
    outcome_high: float
    bounds_source: str
    lower: float
    upper: float
    se_lower: float
    se_upper: float
    ci_low: float
    ci_high: float
    n_outside: int
    n: int

    @property
    def straddles_zero(self) -> bool:
        return self.lower < 0 < self.upper

    def to_dict(self) -> dict[str, object]:
        doc = asdict(self)
        doc["straddles_zero"] = self.straddles_zero
        doc["width"] = self.upper - self.lower
        return doc

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])

    def describe(self) -> str:
        return (f"{self.outcome}: ATE in [{self.lower:.4g}, {self.upper:.4g}] with no "
                f"assumption on treatment assignment (outcome bounds {self.outcome_low:.4g}.."
                f"{self.outcome_high:.4g}, {self.bounds_source})")


def manski_bounds(y: np.ndarray, treatment: np.ndarray, low: float, high: float,
                  outcome: str = "y", bounds_source: str = "declared") -> ManskiBounds:
    """Worst-case bounds on E[Y(1)] - E[Y(0)] when outcomes lie in [low, high].

    Per customer the lower bound puts the unseen Y(1) at ``low`` and the unseen Y(0) at ``high``
    (and the reverse for the upper bound); each bound is a mean of per-customer terms, so its SE
    is their SD / sqrt(n). The interval [lower - 1.96 SE, upper + 1.96 SE] covers the identified
    set. Observed outcomes outside [low, high] (possible when the bounds are data quantiles) are
    clipped into it and counted in ``n_outside``.

    >>> b = manski_bounds(np.array([1., 2., 3., 4.]), np.array([0, 0, 1, 1]), 0.0, 10.0)
    >>> (b.lower, b.upper, b.upper - b.lower)
    (-4.0, 6.0, 10.0)
    """
    y = np.asarray(y, dtype=float)
    t = np.asarray(treatment).astype(float)
    yc = np.clip(y, low, high)
    lower_i = t * yc + (1 - t) * low - ((1 - t) * yc + t * high)
    upper_i = t * yc + (1 - t) * high - ((1 - t) * yc + t * low)
    n = len(y)
    se_l = float(np.std(lower_i, ddof=1) / np.sqrt(n))
    se_u = float(np.std(upper_i, ddof=1) / np.sqrt(n))
    lower, upper = float(lower_i.mean()), float(upper_i.mean())
    return ManskiBounds(outcome=outcome, outcome_low=float(low), outcome_high=float(high),
                        bounds_source=bounds_source, lower=lower, upper=upper, se_lower=se_l,
                        se_upper=se_u, ci_low=lower - Z_975 * se_l, ci_high=upper + Z_975 * se_u,
                        n_outside=int(np.sum((y < low) | (y > high))), n=n)


def evalue_from_rr(rr: float) -> float:
    """The E-value of a risk ratio (VanderWeele & Ding 2017); 1 means no confounding needed.

    >>> round(evalue_from_rr(2.0), 4), round(evalue_from_rr(0.5), 4), evalue_from_rr(1.0)
    (3.4142, 3.4142, 1.0)
    """
    if not np.isfinite(rr) or rr <= 0:
        return float("nan")
    rr = rr if rr >= 1 else 1 / rr
    return float(rr + np.sqrt(rr * (rr - 1)))


@dataclass(frozen=True)
class EValue(DisplayMixin):
    """E-values of an effect and of its interval limit closer to zero."""

    outcome: str
    method: str
    estimand: str
    estimate: float
    ci_low: float
    ci_high: float
    outcome_sd: float
    d: float
    rr: float
    evalue_estimate: float
    evalue_ci: float
    conversion: str = EVALUE_CONVERSION

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])

    def describe(self) -> str:
        return (f"{self.outcome} ({self.method}): E-value {self.evalue_estimate:.3g} for the "
                f"estimate, {self.evalue_ci:.3g} for the interval limit closer to zero")


def within_arm_sd(y: np.ndarray, treatment: np.ndarray,
                  keep: np.ndarray | None = None) -> float:
    """Pooled within-arm standard deviation of ``y`` over the ``keep`` customers.

    The E-value's standardized effect divides by the outcome's SD *within* an arm of the
    population the estimate is about: the whole-cohort SD also contains the gap between the
    arms that targeting created, and would understate the effect. Falls back to the plain SD
    when an arm has fewer than two customers.

    >>> round(within_arm_sd(np.array([0.0, 2, 10, 12]), np.array([0, 0, 1, 1])), 4)
    1.4142
    """
    y, t = np.asarray(y, float), np.asarray(treatment)
    if keep is not None:
        y, t = y[np.asarray(keep, bool)], t[np.asarray(keep, bool)]
    a, b = y[t == 1], y[t == 0]
    if a.size < 2 or b.size < 2:
        return float(np.std(y, ddof=1))
    pooled = ((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (y.size - 2)
    return float(np.sqrt(pooled))


def evalue_continuous(estimate: float, ci_low: float, ci_high: float, outcome_sd: float,
                      outcome: str = "y", method: str = "", estimand: str = "") -> EValue:
    """E-value for a difference in means, via the standardized effect d = estimate / SD.

    When the interval contains zero the E-value of the interval is 1: no confounding at all is
    needed to make the effect compatible with zero.

    >>> ev = evalue_continuous(20.0, 5.0, 35.0, outcome_sd=100.0)
    >>> round(ev.rr, 4), round(ev.evalue_estimate, 4), round(ev.evalue_ci, 4)
    (1.1996, 1.689, 1.2673)
    """
    d = estimate / outcome_sd if outcome_sd > 0 else float("nan")
    rr = float(np.exp(0.91 * d))
    if ci_low <= 0 <= ci_high:
        e_ci = 1.0
    else:
        closer = ci_low if abs(ci_low) < abs(ci_high) else ci_high
        e_ci = evalue_from_rr(float(np.exp(0.91 * closer / outcome_sd)))
    return EValue(outcome=outcome, method=method, estimand=estimand, estimate=float(estimate),
                  ci_low=float(ci_low), ci_high=float(ci_high), outcome_sd=float(outcome_sd),
                  d=float(d), rr=rr, evalue_estimate=evalue_from_rr(rr), evalue_ci=float(e_ci))
