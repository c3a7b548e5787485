"""R-stacking, the constant candidate, the decision rule and the refit guard, against truth.

Each test compares with a hand computation or a simulated world whose effects are known.
"""

from __future__ import annotations

import numpy as np
import pytest

from rollout.estimation.cate.learners import AverageEffect, LearnerSettings, make_learner
from rollout.estimation.cate.selection import select_model, selection_frequency
from rollout.estimation.cate.stacking import (
    StackedCate,
    cross_fitted_stack,
    stack_folds,
    stack_weights,
)
from rollout.estimation.cate.stage import refit_divergence


def _world(n: int, seed: int, e: float = 0.5):
    rng = np.random.default_rng(seed)
    t = rng.binomial(1, e, n).astype(float)
    tau = rng.normal(size=n)
    return rng, t, tau


def test_stack_recovers_a_known_blend_and_level() -> None:
    # truth = 2 + 0.6 * a + 0.3 * b; learner c is noise and must get no weight
    rng, t, _ = _world(20_000, 1)
    a, b, c = (rng.normal(size=len(t)) for _ in range(3))
    tau = 2.0 + 0.6 * a + 0.3 * b
    r_t = t - 0.5
    r_y = r_t * tau + rng.normal(size=len(t))
    fit = stack_weights(r_y, r_t, np.column_stack([a, b, c]), ["a", "b", "c"])
    assert fit.intercept == pytest.approx(2.0, abs=0.05)
    assert fit.weights[0] == pytest.approx(0.6, abs=0.05)
    assert fit.weights[1] == pytest.approx(0.3, abs=0.05)
    assert fit.weights[2] < 0.03


def test_stack_never_amplifies_and_never_inverts() -> None:
    # the truth is 3 x learner a, and minus learner b: the stack may only blend (sum <= 1, >= 0)
    rng, t, _ = _world(5_000, 2)
    a, b = rng.normal(size=len(t)), rng.normal(size=len(t))
    r_t = t - 0.5
    r_y = r_t * (3 * a - b) + rng.normal(size=len(t))
    fit = stack_weights(r_y, r_t, np.column_stack([a, b]))
    assert min(fit.weights) >= 0 and sum(fit.weights) <= 1 + 1e-9
    assert fit.weights[0] == pytest.approx(1.0, abs=1e-6) and fit.weights[1] == 0.0


def test_stack_minimises_the_r_loss_against_a_grid_search() -> None:
    rng, t, _ = _world(3_000, 3)
    a, b = rng.normal(size=len(t)), rng.normal(size=len(t))
    r_t = t - 0.5
    r_y = r_t * (1 + 0.5 * a + 0.2 * b) + rng.normal(size=len(t))
    fit = stack_weights(r_y, r_t, np.column_stack([a, b]))

    def loss(c, wa, wb):
        return float(np.mean((r_y - r_t * (c + wa * a + wb * b)) ** 2))

    best = min(loss(c, wa, wb) for c in np.linspace(0.5, 1.5, 21)
               for wa in np.linspace(0, 1, 21) for wb in np.linspace(0, 1, 21) if wa + wb <= 1)
    assert loss(fit.intercept, *fit.weights) <= best + 1e-9


def test_cross_fitted_stack_predicts_each_fold_with_weights_fitted_elsewhere() -> None:
    rng, t, _ = _world(1_000, 4)
    a = rng.normal(size=len(t))
    r_t = t - 0.5
    r_y = r_t * (1 + a) + rng.normal(size=len(t))
    folds = stack_folds(t, seed=0)
    assert np.bincount(folds).min() >= 198 and np.bincount(folds).max() <= 202
    got = cross_fitted_stack(r_y, r_t, a[:, None], folds)
    for k in range(5):
        keep = folds != k
        fit = stack_weights(r_y[keep], r_t[keep], a[keep, None])
        np.testing.assert_allclose(got[folds == k], fit.predict(a[folds == k, None]))


def test_stacked_model_drops_zero_weights_and_predicts_the_blend() -> None:
    class Fixed:
        def __init__(self, value):
            self.value = value

        def effect(self, X):
            return np.full(len(X), self.value)

    from rollout.estimation.cate.stacking import StackFit

    model = StackedCate(StackFit(("a", "b", "c"), 1.0, (0.5, 0.0, 0.25)),
                        [Fixed(2.0), Fixed(100.0), Fixed(4.0)])
    assert model.names == ("a", "c")
    np.testing.assert_allclose(model.effect(np.zeros((3, 1))), 1.0 + 0.5 * 2 + 0.25 * 4)
    assert model.effect_interval(np.zeros((3, 1))) is None


def test_average_effect_is_the_overlap_weighted_effect_with_a_covering_interval() -> None:
    # constant effect 2: the estimate's interval covers it in about 95% of worlds
    covered = []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        n = 600
        X = rng.normal(size=(n, 2))
        e = 1 / (1 + np.exp(-X[:, 0]))
        t = rng.binomial(1, e)
        y = X[:, 0] + 2.0 * t + rng.normal(size=n)
        model = AverageEffect(LearnerSettings(seed=seed)).fit(X, t, y)
        low, high = model.effect_interval(X[:1])
        covered.append(low[0] <= 2.0 <= high[0])
        assert np.ptp(model.effect(X)) == 0
    # 40 worlds: a 95% interval covers in at least 33 with probability > 0.99
    assert sum(covered) >= 33


def test_average_effect_solves_the_constant_r_loss_by_hand() -> None:
    rng = np.random.default_rng(7)
    n = 400
    X = rng.normal(size=(n, 2))
    t = rng.binomial(1, 0.5, n)
    y = X[:, 1] + 1.5 * t + rng.normal(size=n)
    model = AverageEffect(LearnerSettings(seed=0))
    cv = [(np.flatnonzero(np.arange(n) % 2 != k), np.flatnonzero(np.arange(n) % 2 == k))
          for k in range(2)]
    model.fit(X, t, y, cv)
    from rollout.estimation.cate.learners import _cross_fitted_residuals

    r_y, r_t = _cross_fitted_residuals(model.settings, X, t.astype(float), y, cv, 0.01)
    grid = np.linspace(0, 3, 3001)
    losses = [np.mean((r_y - c * r_t) ** 2) for c in grid]
    assert model.effect_ == pytest.approx(grid[int(np.argmin(losses))], abs=1e-3)


def test_tuned_forest_settings_stay_out_of_its_nuisance_models() -> None:
    model = make_learner("causal_forest_dml", params={"max_depth": 12, "n_estimators": 100,
                                                     "nuisance_max_depth": 4})
    cv = [(np.arange(5), np.arange(5, 10))]
    est = model._estimator(cv)
    assert est.max_depth == 12 and est.n_estimators == 100
    assert est.model_y.get_params()["max_depth"] == 4
    assert est.model_y.get_params()["n_estimators"] == 150
    assert est.model_t.get_params()["max_depth"] == 4
    # the DML models with boosted nuisances take the plain keys for the nuisances
    linear = make_learner("linear_dml", params={"max_depth": 5})._estimator(cv)
    assert linear.model_y.get_params()["max_depth"] == 5


def test_ties_are_split_by_a_clearly_higher_honest_value_not_by_order() -> None:
    rng = np.random.default_rng(0)
    base = rng.exponential(size=400)
    losses = {"first": base, "second": base + rng.normal(scale=0.5, size=400) * 0.01,
              "far": base + 5.0}
    flags = dict.fromkeys(losses)
    scores = rng.normal(1.0, 1.0, 400)
    # "second" treats everyone (value ~1 per customer); "first" treats a quarter; "far" all
    values = {"first": scores * (np.arange(400) % 4 == 0), "second": scores, "far": scores}
    sel = select_model("y", losses, flags, values=values, order=["first", "second", "far"])
    assert set(sel.tied) == {"first", "second"}
    assert sel.selected == "second"  # clearly the higher value among the tied; "far" not tied
    again = select_model("y", losses, flags, values=values, order=["second", "first", "far"])
    assert again.selected == "second"
    assert sel.policy_values["second"] == pytest.approx(scores.mean())


def test_a_value_within_noise_does_not_override_the_more_stable_model() -> None:
    rng = np.random.default_rng(1)
    base = rng.exponential(size=400)
    losses = {"stable": base, "lucky": base + 0.02 + rng.normal(scale=0.3, size=400)}
    scores = rng.normal(1.0, 3.0, 400)
    values = {"stable": scores * (np.arange(400) % 2 == 0),
              "lucky": scores * (np.arange(400) % 2 == 0) + rng.normal(0.01, 0.5, 400)}
    sel = select_model("y", losses, dict.fromkeys(losses), values=values)
    assert set(sel.tied) == {"stable", "lucky"}
    assert sel.policy_values["lucky"] > sel.policy_values["stable"]
    assert sel.selection_frequency["stable"] > sel.selection_frequency["lucky"]
    assert sel.selected == "stable"


def test_the_constant_is_deployed_unless_a_model_beats_it_clearly() -> None:
    rng = np.random.default_rng(2)
    base = rng.exponential(size=300)
    close = {"average_effect": base, "x": base - 0.001 + rng.normal(scale=0.2, size=300)}
    sel = select_model("y", close, dict.fromkeys(close), order=["average_effect", "x"])
    assert sel.best_by_loss == "x" and sel.selected == "average_effect"
    assert "heterogeneity is not shown" in sel.reason
    clear = {"average_effect": base, "x": base - 0.5 + rng.normal(scale=0.2, size=300)}
    assert select_model("y", clear, dict.fromkeys(clear)).selected == "x"


def test_a_clear_loss_winner_is_kept_whatever_the_values() -> None:
    losses = {"good": np.ones(500), "bad": np.ones(500) + np.linspace(0.5, 1.5, 500)}
    sel = select_model("y", losses, dict.fromkeys(losses),
                       values={"good": np.zeros(500), "bad": np.full(500, 99.0)})
    assert sel.selected == "good" and sel.tied == ("good",)
    assert sel.selection_frequency == {"good": 1.0, "bad": 0.0}


def test_selection_frequency_matches_a_direct_bootstrap() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(1.0, 1.0, 300), rng.normal(1.05, 1.0, 300)
    freq = selection_frequency({"a": a, "b": b}, ["a", "b"], seed=11, draws=200)
    draws = np.random.default_rng(11).integers(0, 300, size=(200, 300))
    wins_a = sum(a[r].mean() <= b[r].mean() for r in draws) / 200
    assert freq["a"] == pytest.approx(wins_a)
    assert freq["a"] + freq["b"] == pytest.approx(1.0)


def test_refit_divergence_names_the_spread_and_the_correlation() -> None:
    validated = np.linspace(-1, 1, 100)
    assert refit_divergence(validated * 1.5, validated) is None
    assert "SD" in refit_divergence(validated * 3, validated)
    assert "correlates" in refit_divergence(validated[::-1], validated)


def test_a_constant_never_counts_as_diverged() -> None:
    # np.std of a constant float vector is not exactly 0 (rounding in the mean)
    constant = np.full(1000, 29.190101496625561)
    assert refit_divergence(constant, np.full(1000, 31.7)) is None
