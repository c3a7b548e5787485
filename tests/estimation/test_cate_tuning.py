"""Optional tuning by the R-loss: seeded, recorded, and it never sees the held-out customers."""

from __future__ import annotations

import numpy as np
import pytest

from rollout.analysis import analyze
from rollout.estimation.cate.step import CateOptions, run_cate
from rollout.simulation import simulate_world

pytest.importorskip("optuna")


def test_tuning_is_seeded_and_recorded() -> None:
    world = simulate_world("nie_wager_b", seed=1, n=500)
    result = analyze(world.cohort, seed=3, steps=[])
    options = CateOptions(models=("t_learner", "s_learner"), tune=3, validate="none")
    (first,) = run_cate(result, options)
    (again,) = run_cate(result, options)
    assert first.tuned == again.tuned
    assert set(first.tuned["t_learner"]) == {"max_depth", "learning_rate", "n_estimators",
                                             "min_child_weight"}
    record = next(r for r in result.sections["cate_models"] if r["model"] == "t_learner")
    assert record["tuned_params"] == first.tuned["t_learner"]
    fit = first.fit_of("t_learner")
    np.testing.assert_array_equal(fit.cate, again.fit_of("t_learner").cate)
    assert result.sections["cate_settings"]["tune_trials"] == 3
