"""Folds, cross-fitting, propensity regions and positivity diagnostics."""

from __future__ import annotations

import numpy as np
import pytest
from estimation_worlds import heterogeneous_world, severe_violation_world

from rollout.analysis import analyze
from rollout.estimation.crossfit import cross_fit, make_folds
from rollout.estimation.propensity import (
    cross_fit_propensity,
    positivity_diagnostics,
    ps_region,
    window_label,
)


def test_folds_are_stratified_seeded_and_complete() -> None:
    t = np.array([1] * 30 + [0] * 70)
    folds = make_folds(t, 5, seed=3)
    assert np.array_equal(folds, make_folds(t, 5, seed=3))
    assert not np.array_equal(folds, make_folds(t, 5, seed=4))
    for k in range(5):
        assert (t[folds == k] == 1).sum() == 6
        assert (folds == k).sum() == 20


def test_cross_fit_never_uses_the_predicted_fold() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    y = rng.normal(size=50)
    folds = make_folds(np.array([0, 1] * 25), 5, seed=0)
    mean_model = lambda Xtr, ytr, Xte: np.full(len(Xte), ytr.mean())  # noqa: E731
    base = cross_fit(mean_model, X, y, folds)
    changed = y.copy()
    changed[folds == 0] += 1000.0  # only fold 0's outcomes move
    again = cross_fit(mean_model, X, changed, folds)
    assert np.array_equal(base[folds == 0], again[folds == 0])
    assert not np.allclose(base[folds != 0], again[folds != 0])


def test_regions_partition_the_unit_interval() -> None:
    ps = np.array([0.0, 0.0499, 0.05, 0.0999, 0.1, 0.5, 0.9, 0.9001, 0.95, 0.9501, 1.0])
    assert ps_region(ps).tolist() == [
        "extreme_low", "extreme_low", "near_boundary", "near_boundary", "overlap", "overlap",
        "overlap", "near_boundary", "near_boundary", "extreme_high", "extreme_high"]
    assert window_label(0.15) == "0.15-0.85" and window_label(0.2) == "0.2-0.8"


def test_overlap_shares_and_regions_are_counted() -> None:
    t = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    e = np.array([0.01, 0.07, 0.12, 0.5, 0.5, 0.85, 0.93, 0.99])
    d = positivity_diagnostics(t, e, e)
    assert d.overlap_share == {"0.05-0.95": 0.75, "0.1-0.9": 0.5, "0.15-0.85": 0.375,
                               "0.2-0.8": 0.25}
    assert d.region_counts == {"extreme_low": 1, "near_boundary": 2, "overlap": 4,
                               "extreme_high": 1}
    assert list(d.quantiles.columns) == ["quantile", "control", "treated"]


def test_boosted_score_is_close_to_the_truth_and_seeded() -> None:
    world = heterogeneous_world(0, n=1500)
    cohort = world.cohort
    folds = make_folds(cohort.treatment, 5, seed=0)
    e_hat = cross_fit_propensity(cohort.X, cohort.treatment, folds, seed=0)
    assert np.sqrt(np.mean((e_hat - world.e) ** 2)) < 0.12
    assert np.array_equal(e_hat, cross_fit_propensity(cohort.X, cohort.treatment, folds, seed=0))


@pytest.fixture(scope="module")
def severe_result():
    return analyze(severe_violation_world(0, n=1500).cohort, seed=0, cate=None, policy=None)


def test_severe_violation_is_flagged(severe_result) -> None:
    pos = severe_result.positivity
    assert pos.auc.auc > 0.95 and pos.auc.ci_low > 0.9
    assert pos.violated and pos.status == "violated"
    assert severe_result.verdict == "hypothesis-generating"
    assert any("positivity is violated" in w for w in severe_result.warnings)
    table = severe_result.assumptions.table.set_index("assumption")
    assert table.loc["positivity", "status"] == "violated"
    assert table.loc["unconfoundedness", "status"] == "untestable, see E-value"
    # the recommended estimate is the one in the overlap population, and says so
    assert severe_result.recommended[0]["trim"] == "0.1-0.9"


def test_naive_difference_is_biased_under_confounding(severe_result) -> None:
    """Treatment follows x0, which raises the outcome: the raw difference is far off."""
    world = severe_violation_world(0, n=1500)
    naive = next(e for e in severe_result.effects if e.method == "naive")
    assert naive.ci_low > world.ate + 3.0
    ato = next(e for e in severe_result.effects if e.method == "ato")
    assert abs(ato.estimate - world.ato) < abs(naive.estimate - world.ato) / 5


def test_scenario_world_with_overlap_violation_is_flagged() -> None:
    """The shared scenario world built to break positivity is read as such."""
    from rollout.simulation import load_scenario, simulate_world

    world = simulate_world(load_scenario("overlap_violation"), seed=0, n=1500)
    result = analyze(world.cohort, seed=0, cate=None, policy=None)
    assert result.positivity.auc.auc > 0.95
    assert result.positivity.violated
    assert result.verdict == "hypothesis-generating"
    assert set(result.customers()["ps_region"]) >= {"overlap", "extreme_low"}
