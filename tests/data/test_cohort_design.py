"""The first-campaign-only design: index weeks, the keyed control draw, attrition, refusals."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rollout.data.cohort_design import (
    STEP_NO_PRE_PURCHASE,
    STEP_POST_WINDOW,
    STEP_PRE_WINDOW,
    design_first_campaign,
    draw_index_weeks,
    keyed_uniform,
)
from rollout.errors import InputError


def test_keyed_uniform_is_the_documented_hash() -> None:
    digest = hashlib.sha256(b"pepper:1234").digest()
    assert keyed_uniform([1234], "pepper")[0] == int.from_bytes(digest[:8], "big") / 2**64
    assert keyed_uniform([np.int64(1234)], "pepper")[0] == keyed_uniform(["1234"], "pepper")[0]


def test_keyed_uniform_is_uniform() -> None:
    u = keyed_uniform(range(20_000), "rollout")
    assert stats.kstest(u, "uniform").pvalue > 0.001
    assert abs(np.corrcoef(u, keyed_uniform(range(20_000), "other"))[0, 1]) < 4 / np.sqrt(20_000)


def test_control_draw_follows_the_treated_distribution() -> None:
    treated = np.array([7] * 50 + [20] * 300 + [33] * 100 + [45] * 50)
    n = 40_000
    drawn = draw_index_weeks(range(n), treated, salt="x")
    for week, count in zip(*np.unique(treated, return_counts=True), strict=True):
        p = count / treated.size
        observed = np.mean(drawn == week)
        assert abs(observed - p) < 4 * np.sqrt(p * (1 - p) / n), week
    assert set(np.unique(drawn)) == {7, 20, 33, 45}


def _world() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    campaigns = pd.DataFrame({"campaign_id": [1, 2, 3, 4],
                              "campaign_type": ["A", "A", "B", "A"],
                              "start_week": [10, 5, 3, 30]})
    members = pd.DataFrame({"campaign_id": [1, 2, 1, 3, 4, 1],
                            "customer_id": [100, 100, 101, 102, 103, 999]})
    households = pd.DataFrame({"customer_id": np.arange(100, 160),
                               "first_purchase_week": [1] * 55 + [40] * 5})
    return households, campaigns, members


def test_treated_are_indexed_at_their_first_campaign_of_the_type() -> None:
    households, campaigns, members = _world()
    design = design_first_campaign(households, campaigns, members, campaign_type="A",
                                   window_weeks=2, first_week=1, last_week=40)
    index = design.index.set_index("customer_id")
    assert index.loc[100, "index_week"] == 5 and index.loc[100, "index_campaign_id"] == 2
    assert index.loc[101, "index_week"] == 10
    assert index.loc[102, "treatment"] == 0  # targeted by type B only: a control
    assert 999 not in index.index  # targeted but never bought anything: not in the universe
    assert set(index.loc[index["treatment"] == 0, "index_week"]) <= {5, 10, 30}
    # Controls' campaign coupons: the type's campaigns starting in their index week.
    campaigns_of = design.index_campaigns.groupby("customer_id")["campaign_id"].apply(set)
    assert campaigns_of.loc[100] == {2} and campaigns_of.loc[101] == {1}
    for cid, week in index.loc[index["treatment"] == 0, "index_week"].items():
        assert campaigns_of.loc[cid] == set(campaigns.loc[
            (campaigns["campaign_type"] == "A") & (campaigns["start_week"] == week),
            "campaign_id"])


def test_attrition_adds_up_and_names_each_step() -> None:
    households, campaigns, members = _world()
    design = design_first_campaign(households, campaigns, members, campaign_type="A",
                                   window_weeks=4, first_week=1, last_week=32)
    att = design.attrition
    assert att["step"].tolist()[1:] == [STEP_POST_WINDOW, STEP_PRE_WINDOW, STEP_NO_PRE_PURCHASE]
    assert (att["n_total"] == att["n_treated"] + att["n_control"]).all()
    assert att["n_total"].iloc[0] - att["dropped"].sum() == len(design.index)
    assert (att["dropped"].iloc[1:].to_numpy() == -np.diff(att["n_total"])).all()
    # Week 30 + 4 > 32: household 103 (and controls drawn at 30) leave at the window step;
    # week 5 - 5 < 1: household 100 leaves at the pre-window step.
    assert att.loc[1, "n_treated"] == 2 and att.loc[2, "n_treated"] == 1
    assert att.loc[3, "dropped"] > 0  # the five late first purchases


def test_unknown_campaign_type_lists_the_known_ones() -> None:
    households, campaigns, members = _world()
    with pytest.raises(InputError, match="unknown campaign type 'D'; known types: A, B"):
        design_first_campaign(households, campaigns, members, campaign_type="D",
                              window_weeks=4, first_week=1, last_week=40,
                              campaigns_file="campaign_desc.csv")


def test_window_past_the_end_of_the_data_is_an_error() -> None:
    households, campaigns, members = _world()
    with pytest.raises(InputError, match="window past the end of the data") as info:
        design_first_campaign(households, campaigns, members, campaign_type="A",
                              window_weeks=36, first_week=1, last_week=40)
    assert info.value.argument == "window_weeks"


def test_a_type_that_targets_nobody_is_an_empty_cohort() -> None:
    households, campaigns, members = _world()
    members = members[members["campaign_id"] != 3]
    with pytest.raises(InputError, match="empty cohort"):
        design_first_campaign(households, campaigns, members, campaign_type="B",
                              window_weeks=1, first_week=1, last_week=40)
