"""Honest policy value: the cross-fitted doubly robust estimate of a policy's profit, with a CI.

A model's own predictions always say its policy pays; the honest question is what targeting the
chosen customers earns, estimated without trusting the CATE model. With cross-fitted nuisances
(propensity e(x), outcome regressions mu0(x), mu1(x)), the AIPW score

    Gamma_i = mu1(x_i) - mu0(x_i) + T_i (Y_i - mu1(x_i)) / e(x_i)
              - (1 - T_i) (Y_i - mu0(x_i)) / (1 - e(x_i))

is an (asymptotically) unbiased signal of customer i's effect whichever of the two models is
right, and the profit score ``margin x Gamma_i - cost`` is the signal of what targeting i earns
against leaving i alone. A policy pi(x) in {0, 1} fixed before looking at the held-out customers
is then worth ``V(pi) = mean(pi(x_i) x score_i)`` per customer against treating nobody, with the
influence-function standard error ``sd(pi x score) / sqrt(n)``. A policy that targets nobody is
worth exactly 0 with a zero-width interval, which is finite and correct. Differences of two
policies are paired: the mean of ``(pi_a - pi_b) x score`` over the same customers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rollout.common.display import DisplayMixin
from rollout.common.stats import Z_975


def profit_scores(effect_scores: np.ndarray, margin: float, cost: float) -> np.ndarray:
    """Doubly robust profit of targeting each customer: ``margin x Gamma_i - cost``.

    >>> profit_scores(np.array([100.0, 0.0]), margin=0.3, cost=10.0).tolist()
    [20.0, -10.0]
    """
    return margin * np.asarray(effect_scores, float) - cost


@dataclass(frozen=True)
class PolicyValue(DisplayMixin):
    """A policy's (or a difference's) estimated profit per customer with its 95% interval."""

    value: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    se_type: str = "influence function (sd of pi x profit score / sqrt(n))"

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def _mean_with_ci(contributions: np.ndarray) -> PolicyValue:
    contributions = np.asarray(contributions, float)
    n = contributions.size
    if n == 0:
        raise ValueError("no customers to evaluate the policy on")
    value = float(contributions.mean())
    se = float(contributions.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return PolicyValue(value=value, se=se, ci_low=value - Z_975 * se,
                       ci_high=value + Z_975 * se, n=n)


def policy_value(targets: np.ndarray, scores: np.ndarray,
                 mask: np.ndarray | None = None) -> PolicyValue:
    """Doubly robust value of targeting ``targets`` (0/1), per customer, against targeting nobody.

    ``scores`` are profit scores (:func:`profit_scores`); ``mask`` picks the held-out customers
    the value is estimated on (default: all).

    >>> v = policy_value(np.array([1, 0, 1, 0]), np.array([4.0, -1.0, 2.0, 5.0]))
    >>> v.value, round(v.se, 4)
    (1.5, 0.9574)
    >>> policy_value(np.zeros(3), np.array([1.0, 2.0, 3.0])).ci_high
    0.0
    """
    targets, scores = np.asarray(targets, float), np.asarray(scores, float)
    keep = np.ones(scores.size, bool) if mask is None else np.asarray(mask, bool)
    return _mean_with_ci(targets[keep] * scores[keep])


def policy_difference(targets_a: np.ndarray, targets_b: np.ndarray, scores: np.ndarray,
                      mask: np.ndarray | None = None) -> PolicyValue:
    """Paired value of policy a minus policy b on the same customers, with a 95% interval.

    >>> policy_difference(np.array([1, 1]), np.array([0, 1]), np.array([3.0, 5.0])).value
    1.5
    """
    a, b = np.asarray(targets_a, float), np.asarray(targets_b, float)
    scores = np.asarray(scores, float)
    keep = np.ones(scores.size, bool) if mask is None else np.asarray(mask, bool)
    return _mean_with_ci((a[keep] - b[keep]) * scores[keep])


def predicted_profit(targets: np.ndarray, cate: np.ndarray, margin: float,
                     cost: float) -> tuple[float, float, float]:
    """What the CATE model says a policy earns: (profit per customer, total profit, ROI).

    ROI is profit over the money spent on the targeted (NaN when nobody is targeted). These are
    the model's own predictions, shown beside the honest value and never in its place.

    >>> predicted_profit(np.array([1, 0]), np.array([50.0, 10.0]), margin=0.3, cost=10.0)
    (2.5, 5.0, 0.5)
    """
    targets, cate = np.asarray(targets, float), np.asarray(cate, float)
    gains = targets * (margin * cate - cost)
    spent = float(targets.sum() * cost)
    total = float(gains.sum())
    roi = total / spent if spent > 0 else float("nan")
    return float(gains.mean()), total, roi
