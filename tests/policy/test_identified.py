"""Values where they are identified, the heterogeneity gate, the campaign cost's parts, the grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rollout.common.stats import Z_975
from rollout.estimation.sensitivity import evalue_continuous, within_arm_sd
from rollout.policy.breakeven_grid import load_breakeven_grid
from rollout.policy.cost import (
    DEFAULT_CONTACT_COST,
    CostEstimate,
    campaign_cost,
    effect_on_discounts_cost,
    small_cost_warning,
)
from rollout.policy.gate import HeterogeneityEvidence, fallback_decision, gate_section
from rollout.policy.identified import (
    RANDOMIZE,
    identification_record,
    identified_mask,
    randomize_column,
    region_table,
    values_by_region,
)
from rollout.policy.policies import HoldoutPlan, PolicyInputs, evaluate_policy
from rollout.policy.segments import segment_action
from rollout.policy.sensitivity import breakeven_sensitivity


def _inputs(n: int, profit: np.ndarray, cate: np.ndarray) -> PolicyInputs:
    return PolicyInputs(X=np.zeros((n, 1)), covariate_names=("x",), cate=cate, cate_lower=None,
                        treatment=np.zeros(n, np.int64), y=np.zeros(n), profit=profit,
                        margin=0.5, cost=1.0, honest_cate=cate)


def test_trimmed_value_and_se_by_hand() -> None:
    e = np.array([0.02, 0.3, 0.5, 0.7, 0.97, 0.4, 0.6, 0.2, 0.95, 0.5])
    profit = np.array([50.0, 3.0, -1.0, 4.0, -40.0, 2.0, 6.0, -3.0, 30.0, 5.0])
    cate = np.array([9.0, 9, 9, 0, 9, 9, 9, 9, 9, 0])  # breakeven 2: rows 3 and 9 not targeted
    is_test = np.array([True, True, True, True, True, False, True, True, True, True])
    plan = HoldoutPlan.from_split(is_test).within(identified_mask(e), "trimmed")
    result = evaluate_policy("breakeven", "CATE > 2", _inputs(10, profit, cate), plan,
                             lambda c, m, h: (cate > 2).astype(np.int64))
    # kept: held out and propensity in [0.1, 0.9]: rows 1, 2, 3, 6, 7, 9
    kept = np.array([1, 2, 3, 6, 7, 9])
    contributions = np.array([3.0, -1.0, 0.0, 6.0, -3.0, 0.0])
    assert result.value.n == kept.size == 6
    assert result.value.value == pytest.approx(contributions.mean())
    se = contributions.std(ddof=1) / np.sqrt(6)
    assert result.value.se == pytest.approx(se)
    assert result.value.ci_low == pytest.approx(contributions.mean() - Z_975 * se)
    # the extreme rows (0, 4, 8), with their huge scores, never enter
    assert result.record(_inputs(10, profit, cate))["value_total"] == pytest.approx(
        contributions.mean() * identified_mask(e).sum())


def test_not_identified_regions_are_null_with_a_reason() -> None:
    rng = np.random.default_rng(0)
    e = np.r_[np.full(40, 0.5), np.full(20, 0.99), np.full(20, 0.01)]
    t = np.r_[np.tile([0, 1], 20), np.ones(19, int), 0, np.zeros(19, int), 1]
    scores = rng.normal(60, 5, 80)
    table = region_table(e, scores, t, None, breakeven=20.0).set_index("region")
    assert bool(table.loc["overlap", "identified"]) and table.loc["overlap", "action"] == "target"
    for region in ("extreme_high", "extreme_low"):
        assert not table.loc[region, "identified"]
        assert pd.isna(table.loc[region, "effect"])
        assert "outside [0.1, 0.9]" in table.loc[region, "reason"]
        assert table.loc[region, "action"] == RANDOMIZE
    values = values_by_region({"everyone": np.ones(80, int)}, scores - 20, np.ones(80, bool),
                              e, t).set_index("region")
    assert values.loc["overlap", "value"] == pytest.approx(float(np.mean(scores[:40] - 20)))
    assert pd.isna(values.loc["extreme_high", "value"])
    assert "randomize" in values.loc["extreme_high", "reason"]
    assert randomize_column(e).tolist() == [0] * 40 + [1] * 40
    record = identification_record(e, np.ones(80, bool))
    assert record["identified_share"] == 0.5 and record["n_randomize_in_test"] == 40


def test_region_action_reads_the_estimate_and_the_breakeven() -> None:
    e, t = np.full(40, 0.5), np.tile([0, 1], 20)
    low = region_table(e, np.full(40, 5.0) + np.tile([-1, 1], 20), t, None, 20.0)
    assert low.set_index("region").loc["overlap", "action"] == "do not target"
    wide = region_table(e, np.tile([-60.0, 100.0], 20), t, None, 20.0)
    assert wide.set_index("region").loc["overlap", "action"].startswith("test")


def test_gate_decision() -> None:
    supported = HeterogeneityEvidence(model="m", blp_slope=1.2, blp_se=0.3, blp_p=0.001,
                                      qini_ci_low=0.5, qini_ci_high=2.0, stability_pass=True)
    assert gate_section(supported, None, 20.0)["status"] == "supported"
    weak = HeterogeneityEvidence(model="m", blp_slope=2.11, blp_se=2.30, blp_p=0.18,
                                 qini_ci_low=0.5, qini_ci_high=2.0, stability_pass=True)
    unstable = HeterogeneityEvidence(model="m", blp_slope=1.2, blp_se=0.3, blp_p=0.001,
                                     qini_ci_low=0.5, qini_ci_high=2.0, stability_pass=False)
    rec = {"estimate": 30.0, "ci_low": 25.0, "ci_high": 35.0, "estimand": "ATO"}
    for evidence in (weak, unstable, None):
        gate = gate_section(evidence, rec, 20.0)
        assert gate["status"] == "hypothesis" and gate["lists_are_hypotheses"]
        assert gate["fallback"]["decision"] == "target everyone in the identified population"
        assert "hypotheses" in gate["recommendation"]
    assert fallback_decision({**rec, "ci_low": -5.0, "ci_high": 10.0}, 20.0)["decision"] == \
        "target nobody"
    assert fallback_decision({**rec, "ci_low": 5.0}, 20.0)["decision"] == "run a randomized test"


def test_gate_reads_the_cate_sections() -> None:
    sections = {
        "cate_selection": [{"outcome": "y", "selected": "b"}],
        "cate_models": [{"outcome": "y", "model": "a", "blp_slope": 9.0, "blp_p": 0.0},
                        {"outcome": "y", "model": "b", "blp_slope": 2.1, "blp_se": 2.3,
                         "blp_p": 0.18, "qini_ci_low": float("nan")}],
        "refutation": [{"outcome": "y", "model": "b", "stability_pass": False,
                        "stability_correlation": 0.418}],
    }
    evidence = HeterogeneityEvidence.from_sections(sections)
    assert evidence.model == "b" and evidence.blp_p == 0.18 and evidence.qini_ci_low is None
    assert not evidence.shown and len(evidence.reasons) == 3
    assert any("0.418" in r for r in evidence.reasons)


def test_cost_parts_and_their_interval() -> None:
    offer = CostEstimate(1.5, "campaign_coupons", "coupons", se=0.25, ci_low=1.0, ci_high=2.0)
    total = campaign_cost(offer)
    contact, part = total.parts
    assert contact["part"] == "contact" and contact["cost"] == DEFAULT_CONTACT_COST
    assert contact["assumed"] and "assumption" in contact["how"]
    assert part["part"] == "offer" and part["ci_low"] == 1.0
    assert total.cost == pytest.approx(DEFAULT_CONTACT_COST + 1.5)
    assert total.ci_low == pytest.approx(DEFAULT_CONTACT_COST + 1.0)
    given = campaign_cost(offer, contact_cost=4.0, contact_given=True)
    assert not given.parts[0]["assumed"] and given.cost == 5.5
    assert small_cost_warning(total, outcome_mean=500.0, outcome="spend") is not None
    assert small_cost_warning(given, outcome_mean=100.0, outcome="spend") is None


def test_negative_effect_on_discounts_is_warned_not_silently_floored() -> None:
    rng = np.random.default_rng(3)
    n = 400
    X = rng.normal(size=(n, 2))
    t = rng.integers(0, 2, n)
    discounts = np.clip(5 - 2.0 * t + rng.normal(0, 0.5, n), 0, None)
    folds = np.arange(n) % 3
    offer = effect_on_discounts_cost(X, t, discounts, folds, np.full(n, 0.5), seed=0,
                                     clip=0.01, population=np.arange(n) < 300,
                                     population_name="the identified customers")
    assert offer.cost == 0.0 and offer.warnings and "negative" in offer.warnings[0]
    assert offer.parts[0]["floored"] and offer.parts[0]["estimate"] < -1
    assert offer.parts[0]["n"] == 300 and offer.ci_high < 0
    total = campaign_cost(offer, contact_cost=2.0, contact_given=True)
    assert total.cost == 2.0 and total.warnings == offer.warnings
    assert total.parts[1]["floored"]


def test_grid_is_cost_by_margin() -> None:
    grid = load_breakeven_grid(base_cost=10.0, base_margin=0.3)
    cells = grid.iloc[1:]
    assert grid["scenario"].iloc[0] == "base" and len(cells) == 8 * 7
    assert cells["cost"].min() == pytest.approx(1.0) and cells["cost"].max() == pytest.approx(30.0)
    assert sorted(set(cells["margin"].round(4))) == [0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45]
    rng = np.random.default_rng(1)
    cate = rng.normal(30, 20, 300)
    table = breakeven_sensitivity(cate, cate + rng.normal(0, 5, 300), np.ones(300, bool), 10.0,
                                  0.3)
    assert len(table) == 57
    assert {"n_targeted", "value", "value_ci_low", "value_ci_high"} <= set(table.columns)
    cheapest = table.iloc[1:].sort_values("breakeven")
    assert cheapest["n_targeted"].is_monotonic_decreasing


def test_segment_spanning_the_breakeven_is_held_not_reduced() -> None:
    assert segment_action(-26.3, -120.8, 68.3, 42.0) == "hold"
    assert segment_action(-26.3, -60.0, 10.0, 42.0) == "reduce"


def test_evalue_uses_the_within_arm_sd() -> None:
    rng = np.random.default_rng(2)
    t = np.r_[np.zeros(500, int), np.ones(500, int)]
    y = np.r_[rng.normal(0, 100, 500), rng.normal(200, 100, 500)]
    sd = within_arm_sd(y, t)
    assert sd == pytest.approx(100, rel=0.1) and np.std(y) > 1.3 * sd
    assert within_arm_sd(y, t, np.r_[np.ones(600, bool), np.zeros(400, bool)]) < np.std(y)
    wide, narrow = (evalue_continuous(20.0, 5.0, 35.0, s) for s in (np.std(y), sd))
    assert narrow.evalue_estimate > wide.evalue_estimate
