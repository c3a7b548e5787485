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

A campaign's cost per targeted household has two parts, and both are stated:

``contact``
    what reaching a household costs (print, postage, delivery), given with ``--contact-cost``.
    Its default, :data:`DEFAULT_CONTACT_COST`, is an assumption of this package for a printed
    mailer with postage (direct mail costs of the order of a dollar per piece), not a figure
    measured from the data: give your own;
``offer``
    the retailer-funded part of what is redeemed, estimated from the cohort by one of the two
    methods above, with its 95% interval. The effect on discounts is estimated on the identified
    (overlap) population, not extrapolated to customers one arm never reached; a negative
    estimate is not silently floored: the offer part is set to 0, a warning says so and the
    estimate is kept in the record.

The total's interval is the offer's shifted by the (fixed, assumed) contact cost.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from rollout.common.display import DisplayMixin
from rollout.common.stats import Z_975, aipw_scores
from rollout.errors import InputError
from rollout.estimation.crossfit import cross_fit_outcomes

COST_METHODS = ("campaign_coupons", "effect_on_discounts")
CAMPAIGN_COUPON_COLUMN = "window_campaign_coupon_disc"
COUPON_COLUMN = "window_coupon_disc"
DEFAULT_MARGIN = 0.30
#: Contact cost per targeted household when none is given: an assumption (see the docstring).
DEFAULT_CONTACT_COST = 0.75
CONTACT_COST_ASSUMPTION = (
    "assumed contact cost per household (print, postage, delivery of a printed mailer; direct "
    "mail costs of the order of a dollar per piece): an assumption, the default of this "
    "package, not measured from the data; give --contact-cost")
#: A total cost below this share of the mean outcome is warned of as implausibly small.
SMALL_COST_SHARE = 0.01


@dataclass(frozen=True)
class CostEstimate(DisplayMixin):
    """Cost per targeted customer, how it was obtained, and its uncertainty when estimated."""

    cost: float
    method: str
    explanation: str
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    parts: tuple[dict[str, Any], ...] = ()
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["parts"] = [dict(p) for p in self.parts]
        out["warnings"] = list(self.warnings)
        return out


def _part(name: str, cost: float, how: str, se: float | None = None,
          ci_low: float | None = None, ci_high: float | None = None,
          **extra: Any) -> dict[str, Any]:
    return {"part": name, "cost": float(cost), "se": se, "ci_low": ci_low, "ci_high": ci_high,
            "how": how, **extra}


def campaign_cost(offer: CostEstimate, contact_cost: float = DEFAULT_CONTACT_COST,
                  contact_given: bool = False) -> CostEstimate:
    """Contact cost plus the estimated offer cost, each part and the total with an interval.

    >>> offer = CostEstimate(0.5, "campaign_coupons", "coupons", se=0.1, ci_low=0.3, ci_high=0.7)
    >>> total = campaign_cost(offer, contact_cost=2.0, contact_given=True)
    >>> total.cost, total.ci_low, [p["part"] for p in total.parts]
    (2.5, 2.3, ['contact', 'offer'])
    """
    if not (np.isfinite(contact_cost) and contact_cost >= 0):
        raise InputError(f"must be a non-negative number, got {contact_cost:g}",
                         argument="contact_cost")
    how = ("contact cost per household given by the analyst (--contact-cost)" if contact_given
           else CONTACT_COST_ASSUMPTION)
    contact = _part("contact", contact_cost, how, assumed=not contact_given)
    raw = offer.parts[0] if offer.parts else {}
    offer_part = _part("offer", offer.cost, offer.explanation, offer.se, offer.ci_low,
                       offer.ci_high, method=offer.method,
                       **{k: v for k, v in raw.items() if k in ("estimate", "floored",
                                                                "population", "n")})
    low = None if offer.ci_low is None else contact_cost + max(offer.ci_low, 0.0)
    high = None if offer.ci_high is None else contact_cost + max(offer.ci_high, 0.0)
    return CostEstimate(
        cost=float(contact_cost + offer.cost), method=f"contact + {offer.method}",
        explanation=(f"cost per targeted household = contact {contact_cost:.4g} "
                     f"({'given' if contact_given else 'assumed'}) + retailer-funded offer "
                     f"{offer.cost:.4g} ({offer.method}, estimated from the cohort)"),
        se=offer.se, ci_low=low, ci_high=high, parts=(contact, offer_part),
        warnings=offer.warnings)


def small_cost_warning(cost: CostEstimate, outcome_mean: float, outcome: str) -> str | None:
    """A warning when the total cost is below 1% of the outcome's mean (None otherwise).

    >>> small_cost_warning(CostEstimate(0.2, "x", ""), 300.0, "spend") is not None
    True
    """
    if not (np.isfinite(outcome_mean) and outcome_mean > 0):
        return None
    share = cost.cost / outcome_mean
    if share >= SMALL_COST_SHARE:
        return None
    return (f"the campaign cost {cost.cost:.4g} per targeted household is {share:.2%} of the "
            f"mean {outcome} ({outcome_mean:.4g}): implausibly small for a campaign that has "
            "to print, deliver and fund an offer; check --contact-cost (or give --cost) before "
            "trusting the breakeven and the lists")


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
        se=se, ci_low=cost - Z_975 * se, ci_high=cost + Z_975 * se,
        parts=({"estimate": cost, "floored": False, "population": "treated customers",
                "n": int(d.size)},))


def effect_on_discounts_cost(X: np.ndarray, treatment: np.ndarray, discounts: np.ndarray,
                             folds: np.ndarray, e_hat: np.ndarray, seed: int, clip: float,
                             column: str = COUPON_COLUMN, source: str | None = None,
                             n_jobs: int = 1, population: np.ndarray | None = None,
                             population_name: str = "all customers") -> CostEstimate:
    """AIPW estimate of the campaign's causal effect on coupon discounts received, with a CI.

    Uses the analysis' folds and propensity scores; the discount's outcome models are
    cross-fitted on the same folds. The effect is averaged over ``population`` (a mask, e.g. the
    identified overlap window; default all customers). A negative estimate (the campaign reduced
    discounts) gives an offer cost of 0, with a warning and the estimate kept in the record.
    """
    discounts = _nonnegative_column(discounts, column, source)
    fitted = cross_fit_outcomes(X, treatment, discounts, folds, seed, n_jobs)
    gamma = aipw_scores(discounts, treatment, e_hat, fitted.mu0, fitted.mu1, clip=clip)
    keep = np.ones(gamma.size, bool) if population is None else np.asarray(population, bool)
    gamma = gamma[keep]
    effect = float(gamma.mean())
    se = float(gamma.std(ddof=1) / np.sqrt(gamma.size))
    low, high = effect - Z_975 * se, effect + Z_975 * se
    warnings: tuple[str, ...] = ()
    note = ""
    if effect < 0:
        note = (f" The estimate {effect:.4g} [{low:.4g}, {high:.4g}] is negative; the offer "
                "cost is set to 0 and this is warned of.")
        warnings = (f"the campaign's estimated effect on {column} is negative, {effect:.4g} "
                    f"[{low:.4g}, {high:.4g}] on {population_name}: the offer cost was set to "
                    "0 (not a cost saving); the campaign cost is then the contact cost alone",)
    part = {"estimate": effect, "floored": effect < 0, "population": population_name,
            "n": int(gamma.size)}
    return CostEstimate(
        cost=max(effect, 0.0), method="effect_on_discounts",
        explanation=(f"AIPW estimate of the campaign's effect on {column} (coupon discounts "
                     f"received in the outcome window) on {population_name} (n {gamma.size}), "
                     "with the analysis' cross-fitted propensity scores and folds: the extra "
                     "discount the campaign causes. Loyalty (retail) discounts are excluded: "
                     "every card holder receives them and they are already netted out of the "
                     "sales value." + note),
        se=se, ci_low=low, ci_high=high, parts=(part,), warnings=warnings)
