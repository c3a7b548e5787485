"""The campaign's cost per targeted customer, and the breakeven CATE it implies.

Targeting a customer pays when ``margin x CATE > cost``, so the breakeven effect on spend is
``cost / margin``. The cost is either given or estimated from the discounts the cohort carries,
and the method is always stated with the number, because the obvious estimate is wrong: most of
the "discount" a shopper receives is the loyalty-card (retail) discount every card holder gets,
campaign or not, and it is already netted out of the sales value the outcome measures. Counting
it would charge the campaign for money the retailer gives everyone and double-count what the
outcome already subtracts. Two defensible definitions:

``campaign_coupons``
    the mean discount redeemed on the indexing campaign's own coupons among treated customers
    (``window_campaign_coupon_disc``): what the campaign's coupons actually cost per targeted
    customer, and nothing a control customer would also have received;
``effect_on_discounts``
    the causal effect of the campaign on the coupon discounts received (``window_coupon_disc``),
    estimated by AIPW with the same cross-fitted machinery as any outcome: the extra discount the
    campaign causes, net of coupons the customer would have redeemed anyway. Loyalty (retail)
    discounts are left out for the reason above.

``given``: a number supplied by the analyst (``--cost``), which wins over both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rollout.common.display import DisplayMixin
from rollout.common.stats import Z_975, aipw_scores
from rollout.errors import InputError
from rollout.estimation.crossfit import cross_fit_outcomes

COST_METHODS = ("campaign_coupons", "effect_on_discounts")
CAMPAIGN_COUPON_COLUMN = "window_campaign_coupon_disc"
COUPON_COLUMN = "window_coupon_disc"
DEFAULT_MARGIN = 0.30


@dataclass(frozen=True)
class CostEstimate(DisplayMixin):
    """Cost per targeted customer, how it was obtained, and its uncertainty when estimated."""

    cost: float
    method: str
    explanation: str
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    def to_dict(self) -> dict[str, float | str | None]:
        return asdict(self)


def validate_economics(cost: float | None, margin: float, method: str | None = None) -> None:
    """Refuse a margin outside (0, 1], a negative cost or an unknown cost method.

    >>> validate_economics(5.0, 0.3, "campaign_coupons")
    >>> validate_economics(5.0, 1.5)
    Traceback (most recent call last):
    ...
    rollout.errors.InputError: argument 'margin': must lie in (0, 1], got 1.5
    """
    if not (np.isfinite(margin) and 0 < margin <= 1):
        raise InputError(f"must lie in (0, 1], got {margin:g}", argument="margin")
    if cost is not None and not (np.isfinite(cost) and cost >= 0):
        raise InputError(f"must be a non-negative number, got {cost:g}", argument="cost")
    if method is not None and method not in COST_METHODS:
        raise InputError(f"unknown cost method {method!r}; choose one of "
                         f"{', '.join(COST_METHODS)}", argument="cost_method")


def breakeven_cate(cost: float, margin: float) -> float:
    """The effect on spend above which targeting pays: ``cost / margin``.

    >>> breakeven_cate(6.0, 0.3)
    20.0
    """
    validate_economics(cost, margin)
    return cost / margin


def given_cost(cost: float) -> CostEstimate:
    """A cost supplied by the analyst."""
    validate_economics(cost, DEFAULT_MARGIN)
    return CostEstimate(cost=float(cost), method="given",
                        explanation="cost per targeted customer given by the analyst (--cost)")


def _nonnegative_column(values: np.ndarray, column: str, source: str | None) -> np.ndarray:
    values = np.asarray(values, float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"discounts must be non-negative numbers, got {values[row]!r}",
                         file=source, column=column, row=row)
    return values


def campaign_coupon_cost(discounts: np.ndarray, treatment: np.ndarray,
                         column: str = CAMPAIGN_COUPON_COLUMN,
                         source: str | None = None) -> CostEstimate:
    """Mean discount on the campaign's own coupons among treated customers, with a 95% CI.

    >>> est = campaign_coupon_cost(np.array([4.0, 0.0, 2.0, 9.0]), np.array([1, 0, 1, 0]))
    >>> est.cost
    3.0
    """
    discounts = _nonnegative_column(discounts, column, source)
    treated = np.asarray(treatment) == 1
    d = discounts[treated]
    cost = float(d.mean())
    se = float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else float("nan")
    return CostEstimate(
        cost=cost, method="campaign_coupons",
        explanation=(f"mean of {column} among the {d.size} treated customers: the discount "
                     "redeemed on the indexing campaign's own coupons per targeted customer. "
                     "Loyalty (retail) discounts are excluded: every card holder receives them "
                     "and they are already netted out of the sales value."),
        se=se, ci_low=cost - Z_975 * se, ci_high=cost + Z_975 * se)


def effect_on_discounts_cost(X: np.ndarray, treatment: np.ndarray, discounts: np.ndarray,
                             folds: np.ndarray, e_hat: np.ndarray, seed: int, clip: float,
                             column: str = COUPON_COLUMN, source: str | None = None,
                             n_jobs: int = 1) -> CostEstimate:
    """AIPW estimate of the campaign's causal effect on coupon discounts received, with a CI.

    Uses the analysis' folds and propensity scores; the discount's outcome models are
    cross-fitted on the same folds. A negative estimate (the campaign reduced discounts) is
    floored at 0 for the cost and said so.
    """
    discounts = _nonnegative_column(discounts, column, source)
    fitted = cross_fit_outcomes(X, treatment, discounts, folds, seed, n_jobs)
    gamma = aipw_scores(discounts, treatment, e_hat, fitted.mu0, fitted.mu1, clip=clip)
    effect = float(gamma.mean())
    se = float(gamma.std(ddof=1) / np.sqrt(gamma.size))
    floored = max(effect, 0.0)
    note = "" if effect >= 0 else f" The estimate {effect:.4g} is negative; the cost is set to 0."
    return CostEstimate(
        cost=floored, method="effect_on_discounts",
        explanation=(f"AIPW estimate of the campaign's effect on {column} (coupon discounts "
                     "received in the outcome window), with the analysis' cross-fitted "
                     "propensity scores and folds: the extra discount the campaign causes. "
                     "Loyalty (retail) discounts are excluded: every card holder receives them "
                     "and they are already netted out of the sales value." + note),
        se=se, ci_low=effect - Z_975 * se, ci_high=effect + Z_975 * se)
