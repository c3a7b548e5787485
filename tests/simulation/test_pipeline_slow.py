"""The whole pipeline's operating characteristics, for the three tests (slow: 500 replications
per setting, tolerances at 4 Monte Carlo SEs; benchmarks/README.md has 2,000 per setting)."""

from __future__ import annotations

import pytest

from rollout.simulation.pipeline import TESTS, WORLDS, check, run_setting


@pytest.mark.slow
@pytest.mark.parametrize("world", WORLDS)
@pytest.mark.parametrize("test", TESTS)
def test_pipeline_operating_characteristics(test: str, world: str) -> None:
    summary = run_setting(test, world, 500, seed=11, n_jobs=2)
    assert check(summary, 4.0) == [], summary


def test_one_replication_of_each_test_runs() -> None:
    from rollout.simulation.pipeline import replication

    for test in TESTS:
        run = replication(1, test, "design")
        assert run["ci_low"] <= run["estimate"] <= run["ci_high"]
        assert 1 <= run["stop_look_followed"] <= 3
