"""The policy stage inside ``analyze``: what lands in summary.json, tables and customers.parquet."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from rollout.analysis import AnalysisResult, write_results
from rollout.data.contract import Cohort
from rollout.estimation.cate.stage import CateColumns
from rollout.estimation.core import AnalyzeOptions, run_core
from rollout.policy.cost import DEFAULT_CONTACT_COST
from rollout.policy.identified import identified_mask
from rollout.policy.stage import PolicySettings, read_cate, run_policy
from rollout.simulation import simulate_world

FAST = ("policy_tree", "rule_tree")


def oracle_cate(truth: np.ndarray, noise: float = 6.0) -> CateColumns:
    """A stand-in for the CATE stage's hand-over: truth plus noise, an interval, an 80/20 split."""
    rng = np.random.default_rng(11)
    n = len(truth)
    honest = truth + rng.normal(0, noise, n)
    deployed = honest + rng.normal(0, 1, n)
    return CateColumns(cate=deployed, lower=deployed - 12, upper=deployed + 12, model="fake",
                       honest=honest, honest_lower=honest - 10, is_test=rng.random(n) < 0.2)


def analyze_with(cohort: Cohort, settings: PolicySettings,
                 cate: CateColumns | None) -> AnalysisResult:
    """The core and policy stages, the policy stage given ``cate`` as the CATE stage's result."""
    core = run_core(cohort, AnalyzeOptions(seed=0, folds=3))
    return AnalysisResult.of(core, policy=run_policy(core, cate, settings))


@pytest.fixture(scope="module")
def world():
    return simulate_world("good_overlap", seed=2, n=700)


@pytest.fixture(scope="module")
def oracle(world) -> CateColumns:
    return oracle_cate(world.truth["true_cate"].to_numpy())


@pytest.fixture(scope="module")
def result(world, oracle) -> AnalysisResult:
    return analyze_with(world.cohort, PolicySettings(cost=10.0, margin=0.25, trees=FAST), oracle)


def test_summary_sections(result: AnalysisResult, oracle: CateColumns) -> None:
    doc = result.to_dict()
    be = doc["breakeven"]
    assert be["cost"] == 10.0 and be["margin"] == 0.25 and be["breakeven_cate"] == 40.0
    assert be["cost_method"] == "given" and be["cost_explanation"]
    names = [p["policy"] for p in doc["policies"]]
    assert {"breakeven", "conservative", "top_k", "risk_adjusted", "cate_positive",
            "current_practice", "everyone", "policy_tree", "rule_tree"} <= set(names)
    for record in doc["policies"]:
        for key in ("n_targeted", "share_targeted", "predicted_profit", "predicted_roi", "value",
                    "value_ci_low", "value_ci_high", "trivial"):
            assert key in record
        assert np.isfinite(record["value_ci_low"]) and np.isfinite(record["value_ci_high"])
    # honest values are computed on the held-out split, inside the identified window, only
    kept = int((oracle.is_test & identified_mask(result.core.nuisances.e_hat)).sum())
    assert 0 < kept <= int(oracle.is_test.sum())
    assert all(p["value_n"] == kept for p in doc["policies"])
    assert doc["policy_identification"]["n_evaluated"] == kept
    assert len(doc["breakeven_grid"]) == 57 and doc["breakeven_grid"][0]["scenario"] == "base"
    assert all("hypothesis" in p for p in doc["policies"])
    assert {d["versus"] for d in doc["policy_differences"]} == {"everyone", "current_practice"}
    assert {r["policy"] for r in doc["policy_rules"]} == set(FAST)
    for record in doc["segments"]:
        assert set(record) >= {"segment", "n", "current_targeting_rate", "mean_cate", "ci_low",
                               "ci_high", "action"}
    assert "ceiling_correlation" in doc["segmentation"]
    assert "cate_fake_lower" in doc["policy_evaluation"]["cate"]
    assert doc["profit_curve"]["points"][0]["share"] == 0.0


def test_customer_columns(result: AnalysisResult, oracle: CateColumns) -> None:
    customers = result.customers()
    for column in ("segment", "target_breakeven", "target_conservative", "target_top_k",
                   "target_risk_adjusted", "target_policy_tree", "target_rule_tree"):
        assert column in customers.columns
    cate = oracle.cate
    assert customers["target_breakeven"].tolist() == (cate > 40.0).astype(int).tolist()
    assert set(customers["segment"]) == set(result.cohort.frame["segment"])
    outside = ~identified_mask(result.core.nuisances.e_hat)
    assert customers["randomize_in_test"].tolist() == outside.astype(int).tolist()


def test_same_seed_same_bytes(world, result, oracle, tmp_path) -> None:
    again = analyze_with(world.cohort, PolicySettings(cost=10.0, margin=0.25, trees=FAST), oracle)
    a = write_results(result, tmp_path / "a", figures=True).path
    b = write_results(again, tmp_path / "b", figures=True).path
    for path in sorted(p for p in a.rglob("*") if p.is_file()):
        twin = b / path.relative_to(a)
        assert path.read_bytes() == twin.read_bytes(), path.name
    assert (a / "figures" / "policy_profit_curves.png").exists()
    assert (a / "tables" / "breakeven_grid.parquet").exists()


def test_no_cost_skips_profit_parts(world) -> None:
    cohort = Cohort(frame=world.cohort.frame.drop(columns=["segment"]),
                    roles=replace(world.cohort.roles, segment=None), source="c.parquet")
    result = analyze_with(cohort, PolicySettings(segments=3, trees=()),
                          oracle_cate(world.truth["true_cate"].to_numpy()))
    assert "policies" not in result.sections and "breakeven" not in result.sections
    assert any("no campaign cost" in w for w in result.warnings)
    assert len(result.sections["segments"]) == 3
    assert "target_breakeven" not in result.customer_columns


def test_cost_from_campaign_coupons(world) -> None:
    frame = world.cohort.frame.copy()
    t = frame["treatment"].to_numpy()
    frame["window_campaign_coupon_disc"] = np.where(t == 1, 4.0 + (np.arange(len(t)) % 3), 0.0)
    cohort = Cohort(frame=frame, roles=replace(world.cohort.roles,
                                               carried=("window_campaign_coupon_disc",)))
    result = analyze_with(cohort, PolicySettings(margin=0.3, trees=()),
                          oracle_cate(world.truth["true_cate"].to_numpy()))
    be = result.sections["breakeven"]
    expected = frame.loc[t == 1, "window_campaign_coupon_disc"].mean()
    # cost per household = the assumed contact cost + the coupons redeemed among the treated
    assert be["cost_method"] == "contact + campaign_coupons"
    contact, offer = be["cost_parts"]
    assert contact["part"] == "contact" and contact["assumed"]
    assert offer["part"] == "offer" and offer["cost"] == pytest.approx(expected)
    assert offer["ci_low"] < expected < offer["ci_high"]
    assert be["cost"] == pytest.approx(DEFAULT_CONTACT_COST + expected)
    assert be["cost_ci"][0] == pytest.approx(DEFAULT_CONTACT_COST + offer["ci_low"])
    assert be["breakeven_cate"] == pytest.approx((DEFAULT_CONTACT_COST + expected) / 0.3)
    given = analyze_with(cohort, PolicySettings(margin=0.3, trees=(), contact_cost=3.0),
                         oracle_cate(world.truth["true_cate"].to_numpy()))
    assert given.sections["breakeven"]["cost"] == pytest.approx(3.0 + expected)
    assert not given.sections["breakeven"]["cost_parts"][0]["assumed"]


def test_no_cate_skips_policies(world) -> None:
    result = analyze_with(world.cohort, PolicySettings(cost=10.0, trees=()), None)
    assert "policies" not in result.sections and "segments" in result.sections
    assert any("no usable CATE" in w for w in result.warnings)
    assert result.skipped == ({"step": "policies", "reason": "no CATE predictions"},)
    assert isinstance(result.tables["segments"], pd.DataFrame)


def test_read_cate_without_training_split_bounds() -> None:
    cate = np.array([5.0, 1.0, 3.0, 2.0])
    folds = np.array([0, 1, 0, 1])
    columns = CateColumns(cate=cate, lower=cate - 2, upper=cate + 2, model="m", honest=cate + 1,
                          is_test=np.array([False, True, False, True]))
    view = read_cate(columns, folds)
    assert view is not None and view.plan.eval_mask.tolist() == [False, True, False, True]
    assert view.honest_lower.tolist() == (cate - 1).tolist()
    view = read_cate(replace(columns, is_test=None), folds)
    assert view.honest_cate is None and len(view.plan.splits) == 2
    assert read_cate(replace(columns, cate=np.array([1.0, np.nan, 2.0, 3.0])), folds) is None
    assert read_cate(None, folds) is None
