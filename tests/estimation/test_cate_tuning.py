"""Optional tuning by the R-loss: seeded, recorded, and it never sees the held-out customers."""

from __future__ import annotations

import numpy as np
import pytest

from rollout.analysis import analyze
from rollout.estimation.cate.stage import CateOptions, run_cate
from rollout.simulation import simulate_world

pytest.importorskip("optuna")


def test_tuning_is_seeded_and_recorded() -> None:
    world = simulate_world("nie_wager_b", seed=1, n=500)
    result = analyze(world.cohort, seed=3, cate=None, policy=None)
    options = CateOptions(models=("t_learner", "s_learner"), tune=3, validate="none")
    cate = run_cate(result.core, options)
    (first,) = cate.outcomes
    (again,) = run_cate(result.core, options).outcomes
    assert first.tuned == again.tuned
    assert set(first.tuned["t_learner"]) == {"max_depth", "learning_rate", "n_estimators",
                                             "min_child_weight"}
    record = next(r for r in cate.sections["cate_models"] if r["model"] == "t_learner")
    assert record["tuned_params"] == first.tuned["t_learner"]
    fit = first.fit_of("t_learner")
    np.testing.assert_array_equal(fit.cate, again.fit_of("t_learner").cate)
    assert cate.sections["cate_settings"]["tune_trials"] == 3
