"""Each test's variance formula against a simulation of the randomization it describes."""

from __future__ import annotations

import numpy as np
import pytest

from rollout.planning.estimands import (
    ate_estimand,
    heterogeneity_estimand,
    policy_estimand,
    policy_expected_difference,
)

REPLICATIONS = 4000


def _variance_tolerance(variance: float, replications: int) -> float:
    # SE of a sample variance of normal estimates: var * sqrt(2 / (R - 1)); allow 4 SE.
    return 4 * variance * np.sqrt(2 / (replications - 1))


def test_ate_variance_by_simulation() -> None:
    rng = np.random.default_rng(11)
    n_t, n_c, sd = 150, 250, 40.0
    yt = rng.normal(5.0, sd, size=(REPLICATIONS, n_t))
    yc = rng.normal(0.0, sd, size=(REPLICATIONS, n_c))
    estimates = yt.mean(axis=1) - yc.mean(axis=1)
    formula = ate_estimand(sd).sd_effective ** 2 * (1 / n_t + 1 / n_c)
    assert estimates.var(ddof=1) == pytest.approx(formula,
                                                  abs=_variance_tolerance(formula, REPLICATIONS))


def test_heterogeneity_variance_by_simulation() -> None:
    rng = np.random.default_rng(12)
    n_total, q, w, sd = 800, 0.3, 0.5, 10.0
    n1 = int(n_total * q)
    responder = np.r_[np.ones(n1, bool), np.zeros(n_total - n1, bool)]
    # stratified randomization: half of each responder group treated
    treated = np.zeros((REPLICATIONS, n_total), bool)
    for group in (responder, ~responder):
        idx = np.flatnonzero(group)
        keys = rng.random((REPLICATIONS, idx.size))
        ranks = keys.argsort(axis=1).argsort(axis=1)
        treated[:, idx] = ranks < int(idx.size * w)
    effect = np.where(responder, 8.0, 2.0)
    y = rng.normal(0, sd, size=(REPLICATIONS, n_total)) + treated * effect

    def cell_mean(mask: np.ndarray) -> np.ndarray:
        return (y * mask).sum(axis=1) / mask.sum(axis=1)

    r = np.broadcast_to(responder, treated.shape)
    estimate = ((cell_mean(treated & r) - cell_mean(~treated & r))
                - (cell_mean(treated & ~r) - cell_mean(~treated & ~r)))
    sd_eff = heterogeneity_estimand(sd, q).sd_effective
    n_arm = n_total * w
    formula = sd_eff**2 * (1 / n_arm + 1 / n_arm)
    assert estimate.mean() == pytest.approx(6.0, abs=4 * np.sqrt(formula / REPLICATIONS))
    assert estimate.var(ddof=1) == pytest.approx(formula,
                                                 abs=_variance_tolerance(formula, REPLICATIONS))


def test_policy_variance_and_mean_by_simulation() -> None:
    rng = np.random.default_rng(13)
    n_a = n_b = 300
    sd, margin, cost = 60.0, 0.3, 12.0

    def effect(x: np.ndarray) -> np.ndarray:
        return 40 + 50 * x                              # heterogeneous effect on the outcome

    def cate_policy(x: np.ndarray) -> np.ndarray:
        return (effect(x) > cost / margin).astype(float)

    def current_practice(x: np.ndarray) -> np.ndarray:
        return (x > -0.5).astype(float)

    def arm_profit(size: int, rule) -> np.ndarray:  # customers drawn afresh each replication
        x = rng.normal(size=(REPLICATIONS, size))
        d = rule(x)
        y = rng.normal(100, sd, size=x.shape) + d * effect(x)
        return (margin * y - cost * d).mean(axis=1)

    estimate = arm_profit(n_a, cate_policy) - arm_profit(n_b, current_practice)
    population = rng.normal(size=400_000)
    a, b = cate_policy(population), current_practice(population)
    est = policy_estimand(sd, margin, cost, a, b, effect(population))
    # the plain difference of the arms' mean profits over every customer
    formula = est.quantities["sd_effective_all_customers"]**2 * (1 / n_a + 1 / n_b)
    expected = policy_expected_difference(effect(population), a, b, margin, cost)
    assert estimate.mean() == pytest.approx(expected, abs=4 * np.sqrt(formula / REPLICATIONS))
    assert estimate.var(ddof=1) == pytest.approx(formula,
                                                 abs=_variance_tolerance(formula, REPLICATIONS))
    assert est.quantities["share_disagree"] == pytest.approx(np.mean(a != b))


def test_policy_disagreement_estimator_variance_by_simulation() -> None:
    """share disagreeing x the profit difference among them: the variance the design sizes."""
    rng = np.random.default_rng(14)
    n_arm = 400
    sd, margin, cost = 60.0, 0.3, 12.0

    def effect(x: np.ndarray) -> np.ndarray:
        return 40 + 50 * x

    def rules(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (effect(x) > cost / margin).astype(float), (x > -0.5).astype(float)

    x = rng.normal(size=(REPLICATIONS, 2 * n_arm))
    arm = np.zeros((REPLICATIONS, 2 * n_arm), dtype=bool)
    arm[:, :n_arm] = True  # arm A (the CATE policy) first
    a, b = rules(x)
    d = np.where(arm, a, b)
    y = rng.normal(100, sd, size=x.shape) + d * effect(x)
    profit = margin * y - cost * d
    disagree = a != b
    share = disagree.mean(axis=1)
    mean_a = (profit * (disagree & arm)).sum(axis=1) / (disagree & arm).sum(axis=1)
    mean_b = (profit * (disagree & ~arm)).sum(axis=1) / (disagree & ~arm).sum(axis=1)
    estimate = share * (mean_a - mean_b)
    population = rng.normal(size=400_000)
    pa, pb = rules(population)
    est = policy_estimand(sd, margin, cost, pa, pb, effect(population))
    formula = est.sd_effective**2 * (2 / n_arm)
    expected = policy_expected_difference(effect(population), pa, pb, margin, cost)
    assert estimate.mean() == pytest.approx(expected, abs=4 * np.sqrt(formula / REPLICATIONS))
    assert estimate.var(ddof=1) == pytest.approx(formula,
                                                 abs=_variance_tolerance(formula, REPLICATIONS))
    assert est.sd_effective < est.quantities["sd_effective_all_customers"]
