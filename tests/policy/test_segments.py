"""Segmentation (seeded, named), the per-segment DR effect and action, the ceiling correlation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from rollout.errors import InputError
from rollout.policy.segments import (
    fisher_correlation,
    name_segments,
    segment_action,
    segment_customers,
    segment_table,
    validate_segment_column,
)
from rollout.simulation import simulate_world


@pytest.fixture(scope="module")
def world_frame() -> tuple[pd.DataFrame, tuple[str, ...]]:
    world = simulate_world("good_overlap", seed=3, n=800)
    return world.cohort.frame, world.cohort.roles.covariates


def test_segmentation_is_reproducible(world_frame) -> None:
    frame, covariates = world_frame
    a = segment_customers(frame, covariates, seed=5)
    b = segment_customers(frame, covariates, seed=5)
    assert np.array_equal(a.labels, b.labels) and a.k == b.k
    assert a.method.startswith("NMF") and set(a.silhouette) == {3, 4, 5, 6}
    assert a.k == max(a.silhouette, key=a.silhouette.get)
    # labels are numbered largest segment first
    sizes = np.bincount(a.labels)
    assert (np.diff(sizes) <= 0).all()


def test_given_k_and_other_seed(world_frame) -> None:
    frame, covariates = world_frame
    a = segment_customers(frame, covariates, k=4, seed=0)
    b = segment_customers(frame, covariates, k=4, seed=1)
    assert a.k == 4 and len(np.unique(a.labels)) == 4
    assert adjusted_rand_score(a.labels, b.labels) > 0.3


def test_generic_cohort_uses_standardized_kmeans() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": np.r_[rng.normal(0, 1, 60), rng.normal(6, 1, 60)],
                          "b": rng.normal(size=120)})
    seg = segment_customers(frame, ["a", "b"], seed=0)
    assert seg.method.startswith("kmeans on standardized")
    names = name_segments(frame, ["a", "b"], seg.labels, n_terms=1)
    # each segment is named by the covariate that most sets it apart (largest |SMD| against
    # the other customers), "High" or "Low" by the sign: recomputed here for every segment
    assert len(set(names.values())) == seg.k
    for label, name in names.items():
        inside = seg.labels == label
        smd = {}
        for col in ("a", "b"):
            x_in, x_out = frame[col][inside], frame[col][~inside]
            pooled = np.sqrt((x_in.var(ddof=0) + x_out.var(ddof=0)) / 2)
            smd[col] = (x_in.mean() - x_out.mean()) / pooled
        top = max(smd, key=lambda c: abs(smd[c]))
        expected = f"{'High' if smd[top] > 0 else 'Low'} {top}"
        assert name.split(" (")[0] == expected, (label, name, smd)
    assert {"High a", "Low a"} <= set(names.values())


def test_too_few_segments_refused(world_frame) -> None:
    frame, covariates = world_frame
    with pytest.raises(InputError, match="argument 'k'"):
        segment_customers(frame, covariates, k=1)


def test_segment_nulls_refused() -> None:
    frame = pd.DataFrame({"segment": ["a", "b", None]})
    with pytest.raises(InputError) as info:
        validate_segment_column(frame, "segment", "c.parquet")
    assert "row 2" in str(info.value) and "c.parquet" in str(info.value)


def test_names_are_unique_and_distinctive() -> None:
    frame = pd.DataFrame({"spend": [1.0, 1.1, 1.2, 9.0, 9.5, 9.9], "fresh": [0.2] * 6})
    names = name_segments(frame, ["spend", "fresh"], np.array([0, 0, 0, 1, 1, 1]), n_terms=1)
    assert names == {0: "Low spend", 1: "High spend"}


def test_segment_table_is_the_dr_mean() -> None:
    scores = np.array([10.0, 30.0, 20.0, -5.0, -15.0, -10.0])
    labels = np.array(["a", "a", "a", "b", "b", "b"])
    table = segment_table(labels, scores, np.array([1, 0, 1, 1, 1, 0]), None, breakeven=5.0)
    a = table.set_index("segment").loc["a"]
    assert a["mean_cate"] == pytest.approx(20.0) and a["n"] == 3
    assert a["se"] == pytest.approx(10.0 / np.sqrt(3))
    assert a["current_targeting_rate"] == pytest.approx(2 / 3)
    assert table.set_index("segment").loc["b", "action"] == "reduce"


@pytest.mark.parametrize(
    ("mean", "low", "high", "breakeven", "action"),
    [(30, 5, 55, 20, "expand"), (30, -5, 65, 20, "hold"), (-1, -9, 7, 20, "reduce"),
     (10, 2, 18, 20, "reduce"), (15, 2, 28, 20, "hold"), (5, 1, 9, None, "expand"),
     (-5, -9, -1, None, "reduce"), (1, -2, 4, None, "hold")],
)
def test_action_rule(mean, low, high, breakeven, action) -> None:
    assert segment_action(mean, low, high, breakeven) == action


def test_fisher_interval_covers_by_hand() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    y = -0.3 * x + rng.normal(size=400)
    r = fisher_correlation(x, y)
    z = np.arctanh(np.corrcoef(x, y)[0, 1])
    assert r["ci_low"] == pytest.approx(np.tanh(z - 1.959963984540054 / np.sqrt(397)))
    assert r["ci_low"] < -0.3 / np.sqrt(1.09) < r["ci_high"]
