"""Folds, cross-fitting, the boosted learners and the nuisance records against hand computations.

Every check is on tiny data with few trees. The folds are compared with scikit-learn's seeded
``StratifiedKFold`` and counted by arm; ``cross_fit`` is run with a deterministic stand-in that
records which customers it was fitted on; the learners are compared with the same scikit-learn and
xgboost models fitted by hand, and the parameters they are built with are read back with
``get_params()`` (with subsample 1 the hist trees are deterministic, so a lost seed or thread
count shows only there). The records' ``to_dict``, ``to_pandas`` and ``summary`` are asserted
field by field.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import StratifiedKFold
from xgboost import XGBClassifier, XGBRegressor

from rollout.estimation import crossfit
from rollout.estimation.crossfit import (
    LinearBoostRegressor,
    Nuisances,
    OutcomeNuisances,
    boosted_classifier,
    boosted_regressor,
    cross_fit,
    cross_fit_outcomes,
    fit_predict_classifier,
    fit_predict_linear_plus_boosted,
    fit_predict_regressor,
    make_folds,
)

#: The documented fixed hyperparameters of the propensity and outcome trees.
DOCUMENTED = {"n_estimators": 150, "max_depth": 2, "learning_rate": 0.05, "min_child_weight": 20,
              "subsample": 1.0, "reg_lambda": 1.0, "tree_method": "hist"}


def _world(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Covariates with non-zero means and unequal scales, a 1-in-3 treatment, a noisy outcome."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 3.0, 0.5] + [5.0, -2.0, 1.0]
    t = (np.arange(n) % 3 == 0).astype(np.int64)
    y = 4 * X[:, 0] - X[:, 1] + 5 * np.sin(3 * X[:, 2]) + 3 * t + rng.normal(0, 1, n)
    return X, t, y


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[XGBClassifier | XGBRegressor]:
    """Every boosted model the module's builders hand out during the test, in order."""
    models: list[XGBClassifier | XGBRegressor] = []
    for name in ("boosted_classifier", "boosted_regressor"):
        real = getattr(crossfit, name)

        def spy(*args, _real=real, **kwargs):
            model = _real(*args, **kwargs)
            models.append(model)
            return model

        monkeypatch.setattr(crossfit, name, spy)
    return models


def _seeds_and_threads(models) -> set[tuple[object, object]]:
    return {(m.get_params()["random_state"], m.get_params()["n_jobs"]) for m in models}


# --- make_folds -------------------------------------------------------------------------------


def test_folds_are_seeded_stratified_kfold_integers() -> None:
    t = np.array([1] * 12 + [0] * 24)
    folds = make_folds(t, n_folds=3, seed=4)
    assert folds.dtype == np.int64
    assert np.bincount(folds).tolist() == [12, 12, 12]
    expected = np.empty(len(t), dtype=np.int64)
    splitter = StratifiedKFold(n_splits=3, shuffle=True, random_state=4)
    for k, (_, test) in enumerate(splitter.split(np.zeros(len(t)), t)):
        expected[test] = k
    assert np.array_equal(folds, expected)
    assert np.array_equal(folds, make_folds(t, n_folds=3, seed=4))
    assert not np.array_equal(folds, make_folds(t, n_folds=3, seed=5))


@pytest.mark.parametrize("n_folds", [2, 3, 4, 6])
def test_every_fold_gets_its_share_of_each_arm(n_folds: int) -> None:
    t = np.array([1] * 12 + [0] * 24)
    folds = make_folds(t, n_folds=n_folds, seed=0)
    assert sorted(set(folds.tolist())) == list(range(n_folds))
    assert np.bincount(folds[t == 1], minlength=n_folds).tolist() == [12 // n_folds] * n_folds
    assert np.bincount(folds[t == 0], minlength=n_folds).tolist() == [24 // n_folds] * n_folds


# --- the builders' parameters -----------------------------------------------------------------


@pytest.mark.parametrize("builder", [boosted_classifier, boosted_regressor])
def test_builders_set_the_documented_parameters_seed_and_threads(builder) -> None:
    params = builder(7).get_params()
    assert {key: params[key] for key in DOCUMENTED} == DOCUMENTED
    assert (params["random_state"], params["n_jobs"]) == (7, 1)
    assert (builder(3, n_jobs=2).get_params()["random_state"],
            builder(3, n_jobs=2).get_params()["n_jobs"]) == (3, 2)


def test_propensity_learner_evaluates_logloss() -> None:
    assert boosted_classifier(0).get_params()["eval_metric"] == "logloss"


# --- the fit_predict closures -----------------------------------------------------------------


def test_fit_predict_regressor_is_the_boosted_regressor_fitted_by_hand(built) -> None:
    X, _, y = _world()
    got = fit_predict_regressor(7, n_jobs=2)(X[:40], y[:40], X[40:])
    hand = XGBRegressor(**DOCUMENTED, random_state=7, n_jobs=2).fit(X[:40], y[:40])
    assert got.dtype == np.float64
    assert np.array_equal(got, hand.predict(X[40:]).astype(float))
    fit_predict_regressor(5)(X[:40], y[:40], X[40:])
    assert [(m.get_params()["random_state"], m.get_params()["n_jobs"]) for m in built] == [
        (7, 2), (5, 1)]


def test_fit_predict_classifier_is_p_of_one_from_the_classifier_fitted_by_hand(built) -> None:
    X, t, _ = _world()
    got = fit_predict_classifier(7, n_jobs=2)(X[:40], t[:40], X[40:])
    hand = XGBClassifier(**DOCUMENTED, random_state=7, n_jobs=2,
                         eval_metric="logloss").fit(X[:40], t[:40])
    assert np.array_equal(got, hand.predict_proba(X[40:])[:, 1])
    fit_predict_classifier(5)(X[:40], t[:40], X[40:])
    assert [type(m) for m in built] == [XGBClassifier, XGBClassifier]
    assert [(m.get_params()["random_state"], m.get_params()["n_jobs"]) for m in built] == [
        (7, 2), (5, 1)]


def _linear_plus_boosted_by_hand(X_train, y_train, X_test, seed, n_jobs=1):
    linear = LinearRegression().fit(X_train, y_train)
    trees = XGBRegressor(**DOCUMENTED, random_state=seed, n_jobs=n_jobs)
    trees.fit(X_train, y_train - linear.predict(X_train))
    return linear.predict(X_test) + trees.predict(X_test)


def test_linear_plus_boosted_is_least_squares_plus_trees_on_its_residuals(built) -> None:
    X, _, y = _world()
    got = fit_predict_linear_plus_boosted(7, n_jobs=2)(X[:40], y[:40], X[40:])
    hand = _linear_plus_boosted_by_hand(X[:40], y[:40], X[40:], seed=7, n_jobs=2)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, hand, rtol=0, atol=1e-12)
    # the trees add something here, so a sign error would show
    linear_only = LinearRegression().fit(X[:40], y[:40]).predict(X[40:])
    assert np.max(np.abs(got - linear_only)) > 0.1
    fit_predict_linear_plus_boosted(5)(X[:40], y[:40], X[40:])
    assert [(m.get_params()["random_state"], m.get_params()["n_jobs"]) for m in built] == [
        (7, 2), (5, 1)]


# --- cross_fit --------------------------------------------------------------------------------


def test_cross_fit_fits_each_fold_on_the_other_folds_usable_customers() -> None:
    n = 12
    X = np.arange(n, dtype=float).reshape(-1, 1)  # the row number, so the stand-in sees the rows
    y = 10.0 * np.arange(n)
    folds = np.array([0, 1, 2] * 4)
    t = np.array([1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1])  # 0/1 integers, as the treatment arrives
    calls: list[tuple[list[int], list[int]]] = []

    def stand_in(X_train, y_train, X_test):
        calls.append((X_train[:, 0].astype(int).tolist(), X_test[:, 0].astype(int).tolist()))
        return np.full(len(X_test), y_train.sum())

    out = cross_fit(stand_in, X, y, folds, train_mask=t)
    rows = np.arange(n)
    for k, (train, test) in enumerate(calls):
        assert test == rows[folds == k].tolist()
        assert train == rows[(folds != k) & (t == 1)].tolist()
    assert out.dtype == np.float64
    expected = [y[(folds != folds[i]) & (t == 1)].sum() for i in range(n)]
    assert out.tolist() == expected

    calls.clear()
    everyone = cross_fit(stand_in, X, y, folds)
    assert [train for train, _ in calls] == [rows[folds != k].tolist() for k in range(3)]
    assert everyone.tolist() == [y[folds != folds[i]].sum() for i in range(n)]


def test_cross_fit_outcomes_equal_the_learners_fitted_by_hand_fold_by_fold(built) -> None:
    X, t, y = _world()
    folds = make_folds(t, n_folds=3, seed=1)
    got = cross_fit_outcomes(X, t, y, folds, seed=7, n_jobs=2)
    mu0, mu1, m = (np.empty(len(y)) for _ in range(3))
    for k in range(3):
        test, train = folds == k, folds != k
        for arm, out in ((0, mu0), (1, mu1)):
            fit = train & (t == arm)
            out[test] = _linear_plus_boosted_by_hand(X[fit], y[fit], X[test], seed=7, n_jobs=2)
        m[test] = XGBRegressor(**DOCUMENTED, random_state=7, n_jobs=2).fit(
            X[train], y[train]).predict(X[test])
    np.testing.assert_allclose(got.mu0, mu0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.mu1, mu1, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.m, m, rtol=0, atol=1e-12)
    assert len(built) == 9
    assert _seeds_and_threads(built) == {(7, 2)}
    built.clear()
    cross_fit_outcomes(X, t, y, folds, seed=4)
    assert _seeds_and_threads(built) == {(4, 1)}


# --- LinearBoostRegressor ---------------------------------------------------------------------

CUSTOM = {"n_estimators": 7, "max_depth": 3, "learning_rate": 0.3, "min_child_weight": 2.0,
          "subsample": 0.8, "reg_lambda": 0.5, "tree_method": "exact", "alpha": 5.0,
          "random_state": 11, "n_jobs": 2}


def test_linear_boost_defaults_are_the_documented_ones() -> None:
    assert LinearBoostRegressor().get_params() == DOCUMENTED | {
        "alpha": 1.0, "random_state": 0, "n_jobs": 1}
    assert LinearBoostRegressor(**CUSTOM).get_params() == CUSTOM


def _linear_boost_by_hand(X, y, X_test, w=None, params=CUSTOM):
    center, scale = X.mean(axis=0), X.std(axis=0)
    scale = np.where(scale == 0, 1.0, scale)
    ridge = Ridge(alpha=params["alpha"]).fit((X - center) / scale, y, sample_weight=w)
    tree_params = {k: v for k, v in params.items() if k != "alpha"}
    trees = XGBRegressor(**tree_params).fit(X, y - ridge.predict((X - center) / scale),
                                            sample_weight=w)
    return ridge, trees, ridge.predict((X_test - center) / scale) + trees.predict(X_test)


def test_linear_boost_is_ridge_on_standardized_covariates_plus_trees_on_residuals() -> None:
    X, _, y = _world()
    w = np.linspace(0.2, 3.0, len(y))
    model = LinearBoostRegressor(**CUSTOM).fit(X[:40], y[:40], sample_weight=w[:40])
    ridge, trees, hand = _linear_boost_by_hand(X[:40], y[:40], X[40:], w[:40])
    np.testing.assert_array_equal(model.center_, X[:40].mean(axis=0))
    np.testing.assert_array_equal(model.scale_, X[:40].std(axis=0))
    np.testing.assert_allclose(model.linear_.coef_, ridge.coef_, rtol=1e-12)
    assert model.linear_.intercept_ == pytest.approx(ridge.intercept_, rel=1e-12)
    np.testing.assert_allclose(model.trees_.predict(X[40:]), trees.predict(X[40:]),
                               rtol=0, atol=1e-6)
    np.testing.assert_allclose(model.predict(X[40:]), hand, rtol=0, atol=1e-6)
    # the trees and the weights both matter on these data, so dropping either would show
    assert np.max(np.abs(trees.predict(X[40:]))) > 0.1
    unweighted = LinearBoostRegressor(**CUSTOM).fit(X[:40], y[:40])
    assert np.max(np.abs(unweighted.linear_.coef_ - ridge.coef_)) > 1e-3
    assert np.max(np.abs(unweighted.trees_.predict(X[40:]) - trees.predict(X[40:]))) > 1e-3


def test_linear_boost_passes_every_tree_parameter_through() -> None:
    X, _, y = _world()
    model = LinearBoostRegressor(**CUSTOM).fit(X, y)
    params = model.trees_.get_params()
    assert {key: params[key] for key in CUSTOM if key != "alpha"} == {
        key: value for key, value in CUSTOM.items() if key != "alpha"}
    assert model.linear_.get_params()["alpha"] == 5.0
    defaults = LinearBoostRegressor().fit(X, y).trees_.get_params()
    assert {key: defaults[key] for key in DOCUMENTED} == DOCUMENTED
    assert (defaults["random_state"], defaults["n_jobs"]) == (0, 1)


def test_linear_boost_scales_a_constant_covariate_by_one() -> None:
    X, _, y = _world()
    X = np.column_stack([X, np.full(len(y), 3.0)])
    model = LinearBoostRegressor(**CUSTOM).fit(X[:40], y[:40])
    assert model.scale_[-1] == 1.0
    assert model.center_[-1] == 3.0
    np.testing.assert_array_equal(model.scale_[:-1], X[:40, :-1].std(axis=0))
    _, _, hand = _linear_boost_by_hand(X[:40], y[:40], X[40:])
    np.testing.assert_allclose(model.predict(X[40:]), hand, rtol=0, atol=1e-6)


def test_linear_boost_reads_decimal_covariates_and_outcomes_as_floats() -> None:
    # a SQL NUMERIC column arrives as an object array of Decimal
    X, _, y = _world(n=40)
    X, y = np.round(X, 3), np.round(y, 3)
    X_dec = np.array([[Decimal(str(v)) for v in row] for row in X], dtype=object)
    y_dec = np.array([Decimal(str(v)) for v in y], dtype=object)
    model = LinearBoostRegressor(**CUSTOM).fit(X_dec, y_dec)
    reference = LinearBoostRegressor(**CUSTOM).fit(X, y)
    np.testing.assert_allclose(model.predict(X_dec), reference.predict(X), rtol=0, atol=1e-9)


def test_linear_boost_extrapolates_a_linear_trend() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    model = LinearBoostRegressor(n_estimators=20, random_state=0).fit(X, 5 * X[:, 0] - 2 * X[:, 1])
    assert model.predict(np.array([[4.0, 0.0], [0.0, -5.0]])) == pytest.approx([20.0, 10.0],
                                                                                abs=0.2)


# --- the records ------------------------------------------------------------------------------


def _records() -> Nuisances:
    spend = OutcomeNuisances(mu0=np.array([1.0, 2.0, 3.0, 4.0]),
                             mu1=np.array([2.0, 4.0, 6.0, 8.0]),
                             m=np.array([1.5, 3.0, 4.5, 6.0]))
    visits = OutcomeNuisances(mu0=np.array([0.0, 1.0, 0.0, 1.0]),
                              mu1=np.array([1.0, 1.0, 1.0, 1.0]),
                              m=np.array([0.5, 1.0, 0.5, 1.0]))
    return Nuisances(folds=np.array([0, 1, 2, 1]), e_hat=np.array([0.2, 0.4, 0.6, 0.8]),
                     e_reference=np.array([0.25, 0.5, 0.5, 0.75]),
                     outcomes={"spend": spend, "visits": visits}, seed=9)


def test_outcome_nuisances_table_and_summary() -> None:
    spend = _records().outcomes["spend"]
    pd.testing.assert_frame_equal(spend.to_pandas(), pd.DataFrame(
        {"mu0": [1.0, 2.0, 3.0, 4.0], "mu1": [2.0, 4.0, 6.0, 8.0], "m": [1.5, 3.0, 4.5, 6.0]}))
    summary = spend.summary()
    assert summary.columns.tolist() == ["prediction", "count", "mean", "std", "min", "25%",
                                        "50%", "75%", "max"]
    assert summary["prediction"].tolist() == ["mu0", "mu1", "m"]
    assert summary["mean"].tolist() == [2.5, 5.0, 3.75]
    assert summary["min"].tolist() == [1.0, 2.0, 1.5]
    assert summary["max"].tolist() == [4.0, 8.0, 6.0]
    assert summary["count"].tolist() == [4.0, 4.0, 4.0]


def test_nuisances_dict_table_and_summary() -> None:
    records = _records()
    assert records.n_folds == 3
    assert records.to_dict() == {"n": 4, "folds": 3, "seed": 9, "outcomes": ["spend", "visits"]}
    expected = pd.DataFrame({
        "fold": np.array([0, 1, 2, 1]), "e_hat": [0.2, 0.4, 0.6, 0.8],
        "e_reference": [0.25, 0.5, 0.5, 0.75],
        "mu0_spend": [1.0, 2.0, 3.0, 4.0], "mu1_spend": [2.0, 4.0, 6.0, 8.0],
        "m_spend": [1.5, 3.0, 4.5, 6.0],
        "mu0_visits": [0.0, 1.0, 0.0, 1.0], "mu1_visits": [1.0, 1.0, 1.0, 1.0],
        "m_visits": [0.5, 1.0, 0.5, 1.0]})
    pd.testing.assert_frame_equal(records.to_pandas(), expected)
    pd.testing.assert_frame_equal(records.summary(), pd.DataFrame(
        [{"n": 4, "folds": 3, "seed": 9, "outcomes": "spend, visits"}]))


def test_nuisances_without_outcomes() -> None:
    records = Nuisances(folds=np.array([0, 1]), e_hat=np.array([0.5, 0.5]),
                        e_reference=np.array([0.4, 0.6]))
    assert records.to_dict() == {"n": 2, "folds": 2, "seed": 0, "outcomes": []}
    assert records.to_pandas().columns.tolist() == ["fold", "e_hat", "e_reference"]
    pd.testing.assert_frame_equal(records.summary(), pd.DataFrame(
        [{"n": 2, "folds": 2, "seed": 0, "outcomes": ""}]))
