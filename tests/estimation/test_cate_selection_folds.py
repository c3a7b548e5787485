"""The cross-fitted selection: every customer scored by fits that never saw them.

Up to 10,000 customers the selection's R-loss, its honest-value tie-break and the R-stack read
each model's out-of-fold predictions over five selection folds (the held-out split is fold 0),
not the held-out 20% alone. These tests check the folds, that no customer's selection
prediction comes from a fit that saw them (a model that memorises its training rows), that a
fold's failed fit makes a model unselectable, and that one fold gives the single-split rule.
"""

from __future__ import annotations

import numpy as np
import pytest

from rollout.analysis import analyze
from rollout.errors import InputError
from rollout.estimation.cate.fitting import selection_folds_for, split_customers
from rollout.estimation.cate.learners import LEARNERS, LearnerSettings
from rollout.estimation.cate.stage import CateOptions, run_cate
from rollout.simulation import simulate_world


class Memoriser:
    """Predicts 1 for the customers it was fitted on and 0 for any other: an out-of-fold
    prediction is 0 exactly when the customer was outside the fit."""

    name = "memoriser"

    def __init__(self, settings: LearnerSettings) -> None:
        self.seed = settings.seed

    def fit(self, X, t, y, cv=None):
        self.seen = {row.tobytes() for row in np.ascontiguousarray(X)}
        return self

    def effect(self, X):
        rows = np.ascontiguousarray(X)
        return np.array([1.0 if row.tobytes() in self.seen else 0.0 for row in rows])

    def effect_interval(self, X):
        return None


class FailsOnFolds(Memoriser):
    """Fits the held-out split's training customers, fails on any fit that includes the
    held-out customer ``poison`` (every selection fold's fit does)."""

    name = "fails_on_folds"
    poison: bytes = b""

    def fit(self, X, t, y, cv=None):
        if any(row.tobytes() == self.poison for row in np.ascontiguousarray(X)):
            raise np.linalg.LinAlgError("singular matrix")
        return super().fit(X, t, y, cv)


REGISTRY = {**LEARNERS, "memoriser": Memoriser, "fails_on_folds": FailsOnFolds}


@pytest.fixture(scope="module")
def core():
    world = simulate_world("nie_wager_b", seed=3, n=1200)
    return analyze(world.cohort, seed=1, cate=None, policy=None).core


def test_selection_folds_put_the_held_out_split_in_fold_zero_and_balance_the_arms():
    t = np.array([0] * 300 + [1] * 700)
    s = split_customers(t, seed=4, selection_folds=5)
    assert np.all(s.selection[s.test] == 0) and np.all(s.selection[s.train] > 0)
    assert np.bincount(s.selection).tolist() == [200] * 5
    for k in range(5):
        assert abs(t[s.selection == k].mean() - 0.7) < 0.01
    again = split_customers(t, seed=4, selection_folds=5)
    assert np.array_equal(s.selection, again.selection)
    single = split_customers(t, seed=4)
    assert single.selection is None and np.array_equal(single.selection_rows, single.test)
    assert np.array_equal(single.test, s.test) and s.n_selection_folds == 5
    assert selection_folds_for(10_000) == 5 and selection_folds_for(10_001) == 1


def test_no_selection_prediction_comes_from_a_fit_that_saw_the_customer(core):
    options = CateOptions(models=("memoriser", "t_learner"), validate="none",
                          registry=REGISTRY)
    result = run_cate(core, options)
    (oc,) = result.outcomes
    fit = oc.fit_of("memoriser")
    n = core.cohort.n
    assert fit.oof_cate.shape == (n,) and np.all(fit.oof_cate == 0.0)
    # the held-out split's own fit saw the training customers: its cate column is 1 there
    assert np.all(fit.cate[oc.split.train] == 1.0) and np.all(fit.cate[oc.split.test] == 0.0)
    assert len(fit.selection_losses) == n and len(fit.losses) == len(oc.split.test)
    # every model, the stack included, is scored on the same n customers
    assert {len(f.selection_losses) for f in oc.fits} == {n}
    winners = oc.selection.fold_winners
    assert len(winners) == 5
    for k, winner in enumerate(winners):  # by hand: the lowest mean R-loss within fold k
        rows = oc.split.selection == k
        means = {f.model: f.selection_losses[rows].mean() for f in oc.fits if not f.flagged}
        assert winner == min(means, key=means.get)
    assert f"in {winners.count(oc.selection.selected)} of 5 selection folds" in \
        oc.selection.reason
    settings = result.sections["cate_settings"]
    assert settings["selection_folds_used"] == 5 and settings["n_selection"] == n
    record = next(r for r in result.sections["cate_models"] if r["model"] == "memoriser")
    assert record["n_selection"] == n
    assert record["r_loss_selection"] == pytest.approx(float(np.mean(fit.selection_losses)))


def test_a_model_whose_fold_fit_fails_cannot_be_selected(core, monkeypatch):
    split = split_customers(core.cohort.treatment, seed=core.options.seed, selection_folds=5)
    poison = np.ascontiguousarray(core.cohort.X[split.test[0]]).tobytes()
    monkeypatch.setattr(FailsOnFolds, "poison", poison)
    options = CateOptions(models=("fails_on_folds", "average_effect"), validate="none",
                          registry=REGISTRY)
    (oc,) = run_cate(core, options).outcomes
    fit = oc.fit_of("fails_on_folds")
    assert fit.error is None and np.isnan(fit.oof_cate[oc.split.train]).all()
    assert np.isinf(fit.selection_losses).all() and "selection folds" in fit.flag_reason
    assert oc.selection.selected == "average_effect"


def test_one_selection_fold_is_the_single_split_rule(core):
    options = CateOptions(models=("t_learner", "linear_dml", "average_effect"),
                          validate="none", selection_folds=1)
    result = run_cate(core, options)
    (oc,) = result.outcomes
    assert oc.split.selection is None
    for fit in oc.fits:
        assert np.array_equal(fit.selection_losses, fit.losses)
        assert np.isnan(fit.oof_cate[oc.split.train]).all()
    assert result.sections["cate_settings"]["n_selection"] == len(oc.split.test)
    # the cross-fitted rule scores the same training-split fits on the held-out customers (the
    # stack differs: its weights are fitted on other customers' predictions)
    crossed = run_cate(core, CateOptions(models=options.models, validate="none"))
    for a, b in zip(oc.fits[:3], crossed.outcomes[0].fits[:3], strict=True):
        assert a.model == b.model and np.array_equal(a.cate, b.cate)
        assert np.allclose(b.selection_losses[oc.split.test], a.losses)


def test_selection_folds_must_be_positive():
    with pytest.raises(InputError, match="at least 1"):
        CateOptions(selection_folds=0)
