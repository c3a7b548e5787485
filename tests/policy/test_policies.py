"""The policy family: rules, tuning on learning rows only, trees as rules, trivial flags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rollout.policy.policies import (
    HoldoutPlan,
    PolicyInputs,
    is_trivial,
    policies_frame,
    standard_policies,
    top_share,
    tune,
)
from rollout.policy.trees import apply_rules
from rollout.policy.value import policy_value


def make_inputs(n: int = 400, seed: int = 0, shift: float = 0.0, noise: float = 5.0,
                cost: float = 3.0, margin: float = 0.5) -> PolicyInputs:
    """Effects that rise with x0; DR profit scores are the true profit plus noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    tau = 10 * X[:, 0] + shift
    profit = margin * tau - cost + rng.normal(0, noise, n)
    cate = tau + rng.normal(0, 2, n)
    t = rng.binomial(1, 0.5, n)
    y = 50 + tau * t + rng.normal(0, 5, n)
    return PolicyInputs(X=X, covariate_names=("x0", "x1", "x2"), cate=cate,
                        cate_lower=cate - 4, treatment=t, y=y, profit=profit, margin=margin,
                        cost=cost, seed=seed)


def test_holdout_plans() -> None:
    folds = np.array([0, 1, 2, 0, 1, 2])
    plan = HoldoutPlan.from_folds(folds)
    assert len(plan.splits) == 3 and plan.eval_mask.all()
    for learn, evaluate in plan.splits:
        assert not (learn & evaluate).any() and (learn | evaluate).all()
    split = HoldoutPlan.from_split(np.array([True, False, False, True]))
    assert split.eval_mask.tolist() == [True, False, False, True]


def test_tuning_reads_only_the_learning_rows() -> None:
    profit = np.array([5.0, 5.0, -5.0, -5.0])
    learn = np.array([True, True, False, False])
    # candidate "a" targets rows 0, 1 (good on the learning rows); "b" targets rows 2, 3
    build = {"a": np.array([1, 1, 0, 0]), "b": np.array([0, 0, 1, 1])}
    chosen, scores = tune(["b", "a"], lambda c, m, h: build[c], learn, profit, 0, fits=False)
    assert chosen == "a" and scores["b"] == 0.0
    chosen, _ = tune(["b", "a"], lambda c, m, h: build[c], ~learn, -profit, 0, fits=False)
    assert chosen == "b"


def test_top_share_counts() -> None:
    cate = np.arange(10.0)
    assert top_share(cate, 0.3).tolist() == [0] * 7 + [1] * 3
    assert top_share(cate, 0.0).sum() == 0 and top_share(cate, 1.0).sum() == 10


def test_family_values_and_rules() -> None:
    inputs = make_inputs()
    plan = HoldoutPlan.from_folds(np.arange(inputs.n) % 4)
    results = standard_policies(inputs, plan, trees=("policy_tree", "rule_tree"))
    names = [r.name for r in results]
    assert names[:3] == ["breakeven", "cate_positive", "conservative"]
    assert {"top_k", "risk_adjusted", "current_practice", "everyone", "policy_tree",
            "rule_tree"} <= set(names)
    by = {r.name: r for r in results}
    be = inputs.cost / inputs.margin
    assert by["breakeven"].targets.tolist() == (inputs.cate > be).astype(int).tolist()
    assert by["conservative"].targets.tolist() == (inputs.cate - 4 > be).astype(int).tolist()
    # fixed rules: the honest targeting is the deployed targeting; value is its DR mean
    v = policy_value(by["breakeven"].targets, inputs.profit)
    assert by["breakeven"].value.value == pytest.approx(v.value, abs=1e-12)
    # the targeting rule beats targeting everyone here (half the customers lose money)
    assert by["breakeven"].value.value > by["everyone"].value.value
    frame = policies_frame(results, inputs)
    assert {"policy", "n_targeted", "share_targeted", "predicted_profit", "predicted_roi",
            "value", "value_ci_low", "value_ci_high", "trivial"} <= set(frame.columns)
    for kind in ("policy_tree", "rule_tree"):
        rules = by[kind].rules
        assert rules is not None and rules["reproduces_model"]
        assert rules["depth"] in (1, 2, 3) and "x0" in rules["text"]
        frame_x = pd.DataFrame(inputs.X, columns=list(inputs.covariate_names))
        assert apply_rules(rules["tree"], frame_x).tolist() == by[kind].targets.tolist()


def test_trivial_learned_policy_is_flagged() -> None:
    # every customer pays handsomely: a learned rule can only say "target everyone"
    inputs = make_inputs(shift=200.0, cost=1.0)
    plan = HoldoutPlan.from_folds(np.arange(inputs.n) % 4)
    results = standard_policies(inputs, plan, trees=("policy_tree",))
    record = next(r for r in results if r.name == "policy_tree").record(inputs)
    assert record["share_targeted"] == 1.0 and record["trivial"] and record["learned"]
    breakeven = next(r for r in results if r.name == "breakeven").record(inputs)
    assert breakeven["trivial"]  # the fixed rule targets everyone too, and says so


def test_trivial_threshold() -> None:
    assert is_trivial(0.0) and is_trivial(0.985) and not is_trivial(0.03)


def test_splits_with_one_decision_are_merged() -> None:
    from rollout.policy.trees import _structure_to_json

    # node 0 splits on x0; its left child splits on x1 into two "target" leaves
    feature = np.array([0, 1, -2, -2, -2])
    threshold = np.array([0.5, 2.0, -2.0, -2.0, -2.0])
    left = np.array([1, 2, -1, -1, -1])
    right = np.array([4, 3, -1, -1, -1])
    target = np.array([0, 0, 1, 1, 0])
    n = np.array([10, 6, 4, 2, 4])
    rules = _structure_to_json(feature, threshold, left, right, target, n, ["x0", "x1"])
    assert rules == {"feature": "x0", "threshold": 0.5, "le": {"target": 1, "n": 6},
                     "gt": {"target": 0, "n": 4}}
