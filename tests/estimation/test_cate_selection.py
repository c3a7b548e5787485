"""The instability guard and the R-loss selection, with fake models on worlds with known CATE."""

from __future__ import annotations

import numpy as np
import pytest

from rollout.analysis import analyze
from rollout.estimation.cate.learners import LEARNERS, LearnerSettings
from rollout.estimation.cate.selection import instability_reason, peer_outliers, select_model
from rollout.estimation.cate.stage import CateOptions, run_cate
from rollout.simulation import simulate_world


class NoiseLearner:
    """Predicts pure noise around zero: no information about anyone's effect."""

    name = "noise"

    def __init__(self, settings: LearnerSettings) -> None:
        self.seed = settings.seed

    def fit(self, X, t, y, cv=None):
        self.scale = float(np.std(y)) * 0.2
        return self

    def effect(self, X):
        rng = np.random.default_rng([self.seed, len(X)])
        return rng.normal(scale=self.scale, size=len(X))

    def effect_interval(self, X):
        return None


class DivergentLearner(NoiseLearner):
    """Like the original analysis's NonParamDML: a mean effect in the millions."""

    name = "divergent"

    def effect(self, X):
        return 1e6 + X[:, 0]


class WildLearner(NoiseLearner):
    """A sensible mean but a spread far beyond the outcome's own."""

    name = "wild"

    def effect(self, X):
        return super().effect(X) * 50


class BrokenLearner(NoiseLearner):
    name = "broken"

    def fit(self, X, t, y, cv=None):
        raise np.linalg.LinAlgError("singular matrix")


REGISTRY = {**LEARNERS, "noise": NoiseLearner, "divergent": DivergentLearner,
            "wild": WildLearner, "broken": BrokenLearner}


@pytest.fixture(scope="module")
def world_result():
    """A world with strong, known heterogeneity, its nuisances cross-fitted by the core."""
    world = simulate_world("nie_wager_b", seed=5, n=1200)
    return world, analyze(world.cohort, seed=2, cate=None, policy=None)


def _pehe(cate, truth) -> float:
    return float(np.sqrt(np.mean((np.asarray(cate) - truth) ** 2)))


def test_guard_flags_divergent_wild_and_broken_models_and_never_selects_them(world_result):
    _, result = world_result
    options = CateOptions(models=("divergent", "wild", "broken", "t_learner"),
                          validate="none", registry=REGISTRY)
    (oc,) = (cate := run_cate(result.core, options)).outcomes
    flags = {f.model: f.flag_reason for f in oc.fits}
    assert "diverged" in flags["divergent"]
    assert "exceeds the outcome's SD" in flags["wild"]
    assert "fit failed" in flags["broken"] and "singular" in flags["broken"]
    assert flags["t_learner"] is None
    assert oc.selection.selected == "t_learner"
    records = {r["model"]: r for r in cate.sections["cate_models"]}
    assert records["divergent"]["flagged"] and not records["divergent"]["selected"]
    assert any("divergent flagged" in w for w in cate.warnings)


def test_selection_prefers_a_real_model_over_noise_by_true_pehe(world_result):
    world, result = world_result
    truth = world.truth["true_cate"].to_numpy()
    options = CateOptions(models=("noise", "t_learner", "linear_dml"), validate="none",
                          registry=REGISTRY)
    (oc,) = run_cate(result.core, options).outcomes
    pehe = {f.model: _pehe(f.cate, truth) for f in oc.fits}
    chosen = oc.selection.selected
    assert chosen != "noise"
    assert pehe[chosen] < pehe["noise"]
    assert pehe[chosen] <= min(pehe.values()) * 1.25
    # the noise model is not merely second: its R-loss is clearly worse than the chosen one's
    losses = {f.model: f.losses for f in oc.fits}
    diff = losses["noise"] - losses[chosen]
    assert diff.mean() - 2 * diff.std(ddof=1) / np.sqrt(len(diff)) > 0
    # the BLP finds the real model's heterogeneity on held-out customers
    real = next(f for f in oc.fits if f.model == chosen)
    assert real.blp.p_value < 0.05 and real.blp.slope > 0.5


def test_override_picks_the_named_model_but_refuses_a_flagged_one(world_result):
    _, result = world_result
    (oc,) = run_cate(result.core, CateOptions(models=("noise", "t_learner"), model="noise",
                                              validate="none", registry=REGISTRY)).outcomes
    assert oc.selection.selected == "noise" and oc.selection.overridden
    (oc,) = run_cate(result.core, CateOptions(models=("divergent", "t_learner"),
                                              model="divergent", validate="none",
                                              registry=REGISTRY)).outcomes
    assert oc.selection.selected == "t_learner" and not oc.selection.overridden
    assert "refused" in oc.selection.reason


def test_every_model_flagged_leaves_no_selection_and_says_so(world_result):
    _, result = world_result
    (oc,) = (cate := run_cate(result.core, CateOptions(models=("divergent",), validate="none",
                                         registry=REGISTRY))).outcomes
    assert oc.selection.selected is None
    assert np.isnan(cate.customer_columns["cate"]).all()
    assert cate.sections["cate_model"] is None
    assert any("every model was flagged" in w for w in cate.warnings)


def test_guard_thresholds() -> None:
    assert instability_reason(np.array([1.0, np.nan]), 1.0) == "1 CATE predictions are not finite"
    assert instability_reason(np.array([3.5, 3.5, 3.5]), 1.0) is not None  # |mean| > 3 SD
    assert instability_reason(np.array([2.9, 3.0, 3.1]), 1.0) is None
    assert "SD" in instability_reason(np.array([-2.0, 2.0]), 1.0)


def test_selection_margin_is_paired() -> None:
    base = np.array([1.0, 5.0, 2.0, 8.0])
    sel = select_model("y", {"a": base, "b": base + 1.0}, {"a": None, "b": None})
    assert sel.selected == "a" and sel.margin == pytest.approx(1.0)
    assert sel.margin_se == pytest.approx(0.0)  # same customers, constant difference


def test_peer_guard_flags_a_spread_far_beyond_the_other_models() -> None:
    flagged = peer_outliers({"a": 10.0, "b": 12.0, "c": 9.0, "t": 127.0})
    assert list(flagged) == ["t"] and "median SD" in flagged["t"]
    assert peer_outliers({"a": 1.0, "b": 9.0}) == {}  # too few models to call one an outlier
    assert peer_outliers({"a": 1.0, "b": 1.0, "c": 2.9}) == {}


@pytest.mark.parametrize(("z", "p", "deployed", "says"), [
    (1.5, 0.01, "model", None),
    (1.5, 0.20, "average_effect", "BLP slope on its out-of-fold predictions"),
    (0.8, 0.001, "average_effect", "not one paired SE below"),
    (0.8, 0.30, "average_effect", "not one paired SE below the constant's"),
])
def test_heterogeneity_needs_both_the_loss_and_the_out_of_fold_slope(z, p, deployed, says):
    rng = np.random.default_rng(1)
    n = 400
    constant = 5.0 + rng.normal(size=n)
    diff = rng.normal(size=n)
    diff = (diff - diff.mean()) / diff.std(ddof=1)  # mean 0, SD 1
    # gain = diff + z / sqrt(n): mean z / sqrt(n), paired SE 1 / sqrt(n), so z SEs
    model = constant - (diff + z / np.sqrt(n))
    gain = constant - model
    assert gain.mean() / (gain.std(ddof=1) / np.sqrt(n)) == pytest.approx(z)
    sel = select_model("y", {"average_effect": constant, "model": model},
                       {"average_effect": None, "model": None}, calibration_p={"model": p})
    assert sel.selected == deployed
    if says is not None:
        assert says in sel.reason and "heterogeneity is not shown" in sel.reason
    # without out-of-fold slopes the R-loss alone decides, at a one-sided 95% bound
    alone = select_model("y", {"average_effect": constant, "model": model},
                         {"average_effect": None, "model": None})
    assert alone.selected == "average_effect"  # z below 1.645 in every case here
