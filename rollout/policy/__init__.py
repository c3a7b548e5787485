"""Whom to target, and what it is honestly worth.

A campaign pays for a customer when its effect on spend, times the gross margin, exceeds the cost
of targeting them: CATE > breakeven = cost / margin (:mod:`rollout.policy.cost`). This package
turns per-customer effect estimates into targeting policies (:mod:`rollout.policy.policies`,
:mod:`rollout.policy.trees`), values every policy twice, as the model predicts and honestly, by a
cross-fitted doubly robust estimate on held-out customers with a 95% interval
(:mod:`rollout.policy.value`) on the customers whose propensity lies in [0.1, 0.9], where both
arms were observed (:mod:`rollout.policy.identified`), marks every model-based list a hypothesis
when the CATE model's heterogeneity is not shown (:mod:`rollout.policy.gate`), traces profit
curves (:mod:`rollout.policy.curves`), re-evaluates
the breakeven policy over a cost x margin grid (:mod:`rollout.policy.sensitivity`), and summarises
behavioural segments with an action each (:mod:`rollout.policy.segments`). The ``analyze`` stage
that ties these together lives in :mod:`rollout.policy.stage`.
"""

from __future__ import annotations

from rollout.common.stats import aipw_scores
from rollout.policy.cost import CostEstimate, breakeven_cate
from rollout.policy.value import (
    PolicyValue,
    policy_difference,
    policy_value,
    profit_scores,
)

__all__ = [
    "CostEstimate",
    "PolicyValue",
    "aipw_scores",
    "breakeven_cate",
    "policy_difference",
    "policy_value",
    "profit_scores",
]
