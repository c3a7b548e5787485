"""Customers labelled randomize_in_test: sized for by the design, enrolled exactly by assign,
weighted back to the population by the test's estimate; small strata merged, never failing."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rollout.evaluation.statistic import test_effect
from rollout.planning.assignment import assign_customers
from rollout.planning.enrolment import (
    RANDOMIZE_IN_TEST,
    effective_n,
    finish_enrolment,
    plan_enrolment,
)
from rollout.planning.plan import DesignRequest, plan_design
from tests.calibration import replications
from tests.planning.conftest import make_results


def _labelled(results: Path) -> pd.DataFrame:
    """The results' customers with the analysis's label: propensity outside [0.1, 0.9]."""
    customers = pd.read_parquet(results / "customers.parquet")
    ps = customers["ps"].to_numpy()
    customers[RANDOMIZE_IN_TEST] = ((ps < 0.1) | (ps > 0.9)).astype(int)
    customers.to_parquet(results / "customers.parquet", index=False)
    return customers


def test_enrolment_counts_by_hand() -> None:
    labelled = np.r_[np.ones(400), np.zeros(600)].astype(bool)
    # all 400 labelled enter; the others: 600^2 / (1000^2 / 200 - 400^2 / 400) = 78.3 -> 79
    record = plan_enrolment(labelled, 200)
    assert [g["enrolled"] for g in record["groups"]] == [400, 79] and record["weighted"]
    n_eff = 1000**2 / (400**2 / 400 + 600**2 / 79)
    assert effective_n(record["groups"]) == pytest.approx(n_eff) and n_eff >= 200
    done = finish_enrolment(record, 480)  # the arms' rounding adds one to the power group
    assert done["groups"][1]["enrolled"] == 80 and done["n"] == 480
    assert done["design_effect"] == pytest.approx(480 / effective_n(done["groups"]))
    # a cap above the proportional share (80): 100 labelled, 600^2 / (5000 - 1600) -> 106
    capped = plan_enrolment(labelled, 200, cap=100)
    assert [g["enrolled"] for g in capped["groups"]] == [100, 106]
    assert capped["groups"][0]["inclusion_probability"] == 0.25
    # a cap below it: everyone at the common rate 0.2, no weights
    common = plan_enrolment(labelled, 200, cap=50)
    assert [g["enrolled"] for g in common["groups"]] == [80, 120] and not common["weighted"]
    assert plan_enrolment(np.zeros(10, dtype=bool), 4) is None


@pytest.mark.parametrize("test", ["ate", "heterogeneity"])
def test_design_and_assign_enrol_exactly_the_design_n(tmp_path: Path, test: str) -> None:
    results = make_results(tmp_path, n=2000)
    customers = _labelled(results)
    design = plan_design(DesignRequest(results=results, test=test, mde=40 if test == "ate"
                                       else 60, looks=3))
    record = design.details["enrolment"]
    eligible = customers if test != "ate" else customers[customers["target_conservative"] != 1]
    labelled = int(eligible[RANDOMIZE_IN_TEST].sum())
    identification, power = record["groups"]
    assert identification["enrolled"] == identification["population"] == labelled
    assert identification["enrolled"] + power["enrolled"] == design.n_total == record["n"]
    assert RANDOMIZE_IN_TEST in design.strata
    assignment = assign_customers(customers, design, salt="x")
    table = assignment.table
    for arm, n in design.n_per_arm.items():
        assert (table["arm"] == arm).sum() == n
    tested = table[table["arm"].isin(design.arms)]
    assert tested[RANDOMIZE_IN_TEST].sum() == identification["enrolled"]
    assert not any("beyond their draw" in w for w in assignment.warnings)
    # every stratum lies in one enrolment group, so each group's count is exact
    assert tested.groupby("stratum", observed=True)[RANDOMIZE_IN_TEST].nunique().max() == 1
    # the precision of the weighted estimate meets the power target's n
    assert record["n_effective"] >= record["n_for_power_equal_inclusion"]
    assert record["power"] >= design.power - 1e-9


def _returns(world: dict, design, salt: str, rng: np.random.Generator) -> tuple:
    customers = world["customers"]
    table = assign_customers(customers, design, salt=salt).table
    tested = table[table["arm"].isin(design.arms)].reset_index(drop=True)
    if design.test == "policy":  # the rules' columns, as evaluate joins them
        tested = tested.merge(customers[["customer_id", "target_breakeven", "treatment"]],
                              on="customer_id", how="left")
    rows = tested["customer_id"].to_numpy()
    t = (tested["arm"] == "treatment").to_numpy(dtype=int)
    y = world["base"][rows] + t * world["tau"][rows] + rng.normal(0, 80, size=len(rows))
    X = world["x1"][rows, None]
    return tested, y, t, X


def _world(tmp_path: Path, test: str) -> tuple[dict, object, float]:
    results = make_results(tmp_path, n=2000, seed=11)
    customers = _labelled(results)
    kind = {"policy_treat_control": "policy"}.get(test, test)
    design = plan_design(DesignRequest(
        results=results, test=kind, variance_reduction=False,
        mde={"ate": 40, "heterogeneity": 60}.get(test, 4.0), distribution="z",
        policy_randomization="treat_control" if kind == "policy" else "auto"))
    label = customers[RANDOMIZE_IN_TEST].to_numpy() == 1
    responder = customers["target_breakeven"].to_numpy() == 1
    # labelled customers gain 10, the others 40, responders 30 more: the tested mix (mostly
    # labelled) and the population differ, so an unweighted estimate misses the estimand
    tau = np.where(label, 10.0, 40.0) + 30.0 * responder
    eligible = (np.ones(len(customers), dtype=bool) if test != "ate"
                else customers["target_conservative"].to_numpy() != 1)
    if test == "ate":
        truth = float(tau[eligible].mean())
    elif kind == "policy":  # Imai-Li: the profit of the CATE policy minus current practice
        gap = customers["target_breakeven"].to_numpy() - customers["treatment"].to_numpy()
        truth = float(np.mean(gap * (design.margin * tau - design.cost)))
    else:
        truth = float(tau[eligible & responder].mean() - tau[eligible & ~responder].mean())
    x1 = (customers["cate"].to_numpy() - 20) / 25  # the cohort's x1 (cate = 20 + 25 x1)
    world = {"customers": customers, "tau": tau, "x1": x1, "base": 100 + 30 * x1}
    return world, design, truth


def _simulate(tmp_path: Path, test: str, reps: int) -> tuple[np.ndarray, np.ndarray, float]:
    world, design, truth = _world(tmp_path, test)
    rng = np.random.default_rng(7)
    z, covered, plain = [], [], []
    for k in range(reps):
        tested, y, t, X = _returns(world, design, f"rep-{k}", rng)
        effect = test_effect(design, tested, y, t, X)
        z.append((effect.estimate - truth) / effect.se)
        covered.append(effect.ci_low <= truth <= effect.ci_high)
        plain.append(y[t == 1].mean() - y[t == 0].mean())
    return np.asarray(z), np.asarray(covered), float(np.mean(plain)) - truth


def test_weighted_estimate_is_unbiased_for_the_population_ate(tmp_path: Path) -> None:
    reps = 200
    z, covered, plain_bias = _simulate(tmp_path, "ate", reps)
    mc = 1 / math.sqrt(reps)  # the SE of mean z (z has SD 1)
    assert abs(z.mean()) <= 3 * mc
    assert abs(covered.mean() - 0.95) <= 3 * math.sqrt(0.95 * 0.05 / reps)
    # the unweighted difference in means estimates the tested mix: far from the population
    assert plain_bias < -10


@pytest.mark.slow
@pytest.mark.calibration
@pytest.mark.parametrize("test", ["ate", "heterogeneity"])
def test_weighted_estimate_covers_the_population_estimand(tmp_path: Path, test: str) -> None:
    reps = replications(2000, 400)
    z, covered, _ = _simulate(tmp_path, test, reps)
    assert abs(z.mean()) <= 3 / math.sqrt(reps)
    assert abs(covered.mean() - 0.95) <= 3 * math.sqrt(0.95 * 0.05 / reps)


def test_weighted_treat_control_policy_estimate_covers_the_population_difference(
        tmp_path: Path) -> None:
    """Treat/control across the ranking with the randomize_in_test customers enrolled at a
    higher rate: the Imai-Li difference, weighted back by enrolment group, is unbiased for
    the population's profit difference of the two rules and its interval covers it."""
    reps = 200
    _, design, _ = _world(tmp_path, "policy_treat_control")
    assert design.policy_randomization == "treat_control"
    assert design.details["enrolment"]["weighted"]
    z, covered, _ = _simulate(tmp_path / "again", "policy_treat_control", reps)
    assert abs(z.mean()) <= 3 / math.sqrt(reps)
    assert abs(covered.mean() - 0.95) <= 3 * math.sqrt(0.95 * 0.05 / reps)


def test_heterogeneity_strata_too_small_to_split_are_merged(tmp_path: Path) -> None:
    # seed 5: stratum segment=rare|ps_region=near_boundary|target_breakeven=1 holds one
    # customer; assign used to refuse it (fewer eligible customers than arms)
    results = make_results(tmp_path, seed=5)
    customers = pd.read_parquet(results / "customers.parquet")
    design = plan_design(DesignRequest(results=results, test="heterogeneity", mde=60))
    merged = design.details["strata_merged"]["merged"]
    assert "segment=rare|ps_region=near_boundary|target_breakeven=1" in merged
    for label, into in merged.items():  # never across predicted responders
        sides = {part.rsplit("target_breakeven=", 1)[1] for part in into.split(" + ")}
        assert sides == {label.rsplit("target_breakeven=", 1)[1]}
    assert not any(s.too_small for s in design.strata_sizes)
    table = assign_customers(customers, design, salt="s").table
    for arm, n in design.n_per_arm.items():
        assert (table["arm"] == arm).sum() == n
    assert set(merged.values()) <= set(table["stratum"].astype(str))
