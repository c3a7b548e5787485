"""Campaign cost: given, from the campaign's own coupons, or the causal effect on discounts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from rollout.errors import InputError
from rollout.estimation.crossfit import make_folds
from rollout.policy.cost import (
    breakeven_cate,
    campaign_coupon_cost,
    effect_on_discounts_cost,
    given_cost,
    validate_economics,
)


def test_breakeven_is_cost_over_margin() -> None:
    assert breakeven_cate(4.5, 0.3) == pytest.approx(15.0)
    assert given_cost(2.0).method == "given"


@pytest.mark.parametrize(
    ("cost", "margin", "method", "argument"),
    [(1.0, 0.0, None, "margin"), (1.0, 1.2, None, "margin"), (1.0, float("nan"), None,
     "margin"), (-0.5, 0.3, None, "cost"), (1.0, 0.3, "total_discount", "cost_method")],
)
def test_bad_economics(cost, margin, method, argument) -> None:
    with pytest.raises(InputError) as info:
        validate_economics(cost, margin, method)
    assert info.value.argument == argument and "--" not in str(info.value)


def test_campaign_coupons_mean_among_treated() -> None:
    est = campaign_coupon_cost(np.array([2.0, 50.0, 4.0, 6.0]), np.array([1, 0, 1, 1]))
    assert est.cost == pytest.approx(4.0) and est.se == pytest.approx(2.0 / np.sqrt(3))
    assert "retail" in est.explanation.lower()


def test_negative_discount_refused_with_row() -> None:
    with pytest.raises(InputError) as info:
        campaign_coupon_cost(np.array([1.0, -3.0]), np.array([1, 1]), source="c.parquet")
    assert "row 1" in str(info.value) and "window_campaign_coupon_disc" in str(info.value)


def _floored_mean(m: np.ndarray) -> np.ndarray:
    """E[max(m + noise, 0)] for standard normal noise."""
    return m * norm.cdf(m) + norm.pdf(m)


def test_effect_on_discounts_recovers_a_known_effect() -> None:
    """Confounded history: heavy shoppers are targeted and redeem more coupons anyway, so the
    treated-minus-control gap overstates the campaign's own effect; AIPW recovers it.

    The campaign adds 2.0 before discounts are floored at zero; the floor makes the effect on
    what is observed smaller for light shoppers. With a = 3 + 2.5 x0 and standard normal noise,
    E[max(a + d + noise, 0)] = g(a + d) with g(m) = m Phi(m) + phi(m), so the true effect of
    each customer is g(a + 2) - g(a) (about 1.87 on average here).
    """
    rng = np.random.default_rng(4)
    n = 3000
    x = rng.normal(size=(n, 2))
    e = 1 / (1 + np.exp(-1.2 * x[:, 0]))
    t = rng.binomial(1, e)
    discounts = np.clip(3 + 2.5 * x[:, 0] + 2.0 * t + rng.normal(0, 1, n), 0, None)
    folds = make_folds(t, 5, 0)
    est = effect_on_discounts_cost(x, t, discounts, folds, e, seed=0, clip=0.01)
    naive = discounts[t == 1].mean() - discounts[t == 0].mean()
    assert naive > 3.5
    baseline = 3 + 2.5 * x[:, 0]
    truth = float(np.mean(_floored_mean(baseline + 2.0) - _floored_mean(baseline)))
    assert est.ci_low < truth < est.ci_high and abs(est.cost - truth) < 0.3
    assert est.method == "effect_on_discounts"
