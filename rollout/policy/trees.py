"""Learned targeting rules: policy trees on doubly robust profit scores, and a rule tree.

Three interpretable learners, each a shallow axis-aligned tree a marketing team can read:

- ``policy_tree``: econml's :class:`~econml.policy.PolicyTree` fitted on the rewards
  ``[0, margin x Gamma_i - cost]`` (leave alone, target), i.e. directly on the doubly robust
  profit scores built from the analysis' cross-fitted nuisances;
- ``dr_policy_tree``: econml's :class:`~econml.policy.DRPolicyTree` on the profit outcome
  ``margin x Y - cost x T``, which fits its own doubly robust nuisances (boosted trees, 2 folds);
  under poor overlap its inverse-propensity weights are extreme and it tends to collapse to a
  trivial rule (target everyone or nobody), which :mod:`rollout.policy.policies` flags;
- ``rule_tree``: a scikit-learn :class:`~sklearn.tree.DecisionTreeClassifier` predicting whether
  the predicted CATE exceeds the breakeven, a readable summary of the breakeven list.

Every fitted tree is exported as text (``|--- feature <= threshold``) and as plain JSON
(``{"feature", "threshold", "le", "gt"}`` nodes and ``{"target", "n"}`` leaves) that
:func:`apply_rules` evaluates without the model; splits whose two sides take the same decision
are merged, so every rule printed changes someone's targeting.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

from rollout.estimation.crossfit import boosted_classifier, boosted_regressor

TREE_KINDS = ("policy_tree", "dr_policy_tree", "rule_tree")
MIN_LEAF_SHARE = 0.05
MIN_LEAF = 10


def _min_leaf(n: int) -> int:
    return max(MIN_LEAF, int(MIN_LEAF_SHARE * n))


def _structure_to_json(feature: np.ndarray, threshold: np.ndarray, left: np.ndarray,
                       right: np.ndarray, leaf_target: np.ndarray, leaf_n: np.ndarray,
                       names: Sequence[str], node: int = 0) -> dict[str, Any]:
    if left[node] < 0:
        return {"target": int(leaf_target[node]), "n": int(leaf_n[node])}
    low = _structure_to_json(feature, threshold, left, right, leaf_target, leaf_n, names,
                             int(left[node]))
    high = _structure_to_json(feature, threshold, left, right, leaf_target, leaf_n, names,
                              int(right[node]))
    if "target" in low and "target" in high and low["target"] == high["target"]:
        # a split whose two sides take the same decision says nothing: merge it
        return {"target": low["target"], "n": low["n"] + high["n"]}
    return {"feature": str(names[int(feature[node])]), "threshold": float(threshold[node]),
            "le": low, "gt": high}


def tree_to_json(model: Any, names: Sequence[str]) -> dict[str, Any]:
    """A fitted sklearn classifier, econml PolicyTree or DRPolicyTree as nested plain JSON."""
    if hasattr(model, "policy_model_"):
        model = model.policy_model_
    tree = model.tree_
    value = np.asarray(tree.value)
    if type(model).__module__.startswith("sklearn."):
        classes = np.asarray(model.classes_)
        leaf_target = classes[value[:, 0, :].argmax(axis=1)].astype(int)
        leaf_n = np.asarray(tree.n_node_samples)
    else:  # econml policy trees: value[node, treatment, 0] is the mean reward of each treatment
        leaf_target = value[:, :, 0].argmax(axis=1).astype(int)
        leaf_n = np.asarray(tree.n_node_samples)
    return _structure_to_json(np.asarray(tree.feature), np.asarray(tree.threshold),
                              np.asarray(tree.children_left), np.asarray(tree.children_right),
                              leaf_target, leaf_n, names)


def apply_rules(rules: dict[str, Any], frame: pd.DataFrame) -> np.ndarray:
    """Evaluate a JSON rule tree on a table of covariates: 0/1 per row, no model needed.

    >>> rules = {"feature": "x", "threshold": 1.0, "le": {"target": 0, "n": 2},
    ...          "gt": {"target": 1, "n": 1}}
    >>> apply_rules(rules, pd.DataFrame({"x": [0.5, 1.0, 2.0]})).tolist()
    [0, 0, 1]
    """
    out = np.empty(len(frame), dtype=np.int64)

    def walk(node: dict[str, Any], rows: np.ndarray) -> None:
        if "target" in node:
            out[rows] = int(node["target"])
            return
        x = frame[node["feature"]].to_numpy(dtype=float)[rows]
        walk(node["le"], rows[x <= node["threshold"]])
        walk(node["gt"], rows[x > node["threshold"]])

    walk(rules, np.arange(len(frame)))
    return out


def rules_to_text(rules: dict[str, Any]) -> str:
    """The JSON tree as indented readable rules, one line per branch.

    >>> print(rules_to_text({"feature": "x", "threshold": 1.0, "le": {"target": 0, "n": 2},
    ...                      "gt": {"target": 1, "n": 1}}))
    |--- x <= 1 -> skip (n=2)
    |--- x > 1 -> target (n=1)
    """
    lines: list[str] = []

    def walk(node: dict[str, Any], depth: int) -> None:
        for side, op in (("le", "<="), ("gt", ">")):
            child = node[side]
            head = "|   " * depth + f"|--- {node['feature']} {op} {child_threshold(node)}"
            if "target" in child:
                verdict = "target" if child["target"] == 1 else "skip"
                lines.append(f"{head} -> {verdict} (n={child['n']})")
            else:
                lines.append(head)
                walk(child, depth + 1)

    def child_threshold(node: dict[str, Any]) -> str:
        return f"{node['threshold']:.4g}"

    if "target" in rules:
        return f"everyone -> {'target' if rules['target'] == 1 else 'skip'} (n={rules['n']})"
    walk(rules, 0)
    return "\n".join(lines)


def target_paths(rules: dict[str, Any]) -> list[str]:
    """The conditions leading to a 'target' leaf, each as one readable conjunction.

    >>> target_paths({"feature": "x", "threshold": 1.0, "le": {"target": 0, "n": 2},
    ...               "gt": {"target": 1, "n": 1}})
    ['x > 1']
    """
    paths: list[str] = []

    def walk(node: dict[str, Any], conditions: list[str]) -> None:
        if "target" in node:
            if node["target"] == 1:
                paths.append(" AND ".join(conditions) if conditions else "everyone")
            return
        walk(node["le"], [*conditions, f"{node['feature']} <= {node['threshold']:.4g}"])
        walk(node["gt"], [*conditions, f"{node['feature']} > {node['threshold']:.4g}"])

    walk(rules, [])
    return paths


def fit_policy_tree(X: np.ndarray, profit: np.ndarray, depth: int, seed: int) -> Any:
    """econml PolicyTree on rewards [0 (leave alone), profit score (target)]."""
    from econml.policy import PolicyTree

    rewards = np.column_stack([np.zeros(len(profit)), np.asarray(profit, float)])
    return PolicyTree(max_depth=depth, min_samples_leaf=_min_leaf(len(profit)),
                      honest=False, random_state=seed).fit(X, rewards)


def fit_dr_policy_tree(X: np.ndarray, y: np.ndarray, t: np.ndarray, margin: float, cost: float,
                       depth: int, seed: int) -> Any:
    """econml DRPolicyTree on the profit outcome margin x Y - cost x T (its own nuisances)."""
    from econml.policy import DRPolicyTree

    profit_outcome = margin * np.asarray(y, float) - cost * np.asarray(t, float)
    model = DRPolicyTree(model_regression=boosted_regressor(seed),
                         model_propensity=boosted_classifier(seed), cv=2,
                         max_depth=depth, min_samples_leaf=_min_leaf(len(y)), honest=False,
                         random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(profit_outcome, np.asarray(t, int), X=X)


def fit_rule_tree(X: np.ndarray, above_breakeven: np.ndarray, depth: int,
                  seed: int) -> DecisionTreeClassifier:
    """scikit-learn tree predicting CATE > breakeven from the covariates."""
    return DecisionTreeClassifier(max_depth=depth, min_samples_leaf=_min_leaf(len(X)),
                                  random_state=seed).fit(X, np.asarray(above_breakeven, int))


def predict_targets(model: Any, X: np.ndarray) -> np.ndarray:
    """0/1 targeting of a fitted tree (any of the three kinds)."""
    return np.asarray(model.predict(X)).astype(np.int64).ravel()
