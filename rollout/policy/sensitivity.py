"""Breakeven sensitivity: the breakeven policy re-evaluated at every scenario of the grid.

For each named scenario of ``scenarios/breakeven.toml`` (costs as multiples of the base cost,
margins as offsets from the base margin), the breakeven moves to ``cost / margin``; the policy
"target CATE > breakeven" is recomputed, and both its model-predicted profit and its honest
doubly robust value (profit scores recomputed with the scenario's cost and margin) are reported
with a 95% interval. ``sign_flip`` says whether the honest value's interval lies on the other side
of zero from the base scenario's estimate, the question a sensitivity analysis has to answer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rollout.policy.breakeven_grid import load_breakeven_grid
from rollout.policy.value import policy_value, predicted_profit, profit_scores


def breakeven_sensitivity(cate: np.ndarray, effect_scores: np.ndarray, eval_mask: np.ndarray,
                          base_cost: float, base_margin: float,
                          grid: str | Path = "breakeven",
                          honest_cate: np.ndarray | None = None) -> pd.DataFrame:
    """One row per scenario: cost, margin, breakeven, share targeted, predicted and honest value.

    ``effect_scores`` are the AIPW effect scores Gamma_i (not yet profit); ``honest_cate`` the
    out-of-sample predictions the honest value reads on the held-out rows (default ``cate``).
    """
    table = load_breakeven_grid(grid, base_cost=base_cost, base_margin=base_margin)
    cate = np.asarray(cate, float)
    held_out = cate if honest_cate is None else np.asarray(honest_cate, float)
    rows = []
    for scenario in table.itertuples(index=False):
        targets = (cate > scenario.breakeven).astype(np.int64)
        per_customer, total, roi = predicted_profit(targets, cate, scenario.margin,
                                                    scenario.cost)
        scores = profit_scores(effect_scores, scenario.margin, scenario.cost)
        honest = policy_value((held_out > scenario.breakeven).astype(np.int64), scores,
                              eval_mask)
        rows.append({
            "scenario": scenario.scenario, "cost_multiplier": scenario.cost_multiplier,
            "cost": scenario.cost, "margin": scenario.margin, "breakeven": scenario.breakeven,
            "n_targeted": int(targets.sum()), "share_targeted": float(targets.mean()),
            "predicted_profit": per_customer, "predicted_profit_total": total,
            "predicted_roi": roi, "value": honest.value, "value_se": honest.se,
            "value_ci_low": honest.ci_low, "value_ci_high": honest.ci_high,
        })
    frame = pd.DataFrame(rows)
    base_sign = np.sign(frame["value"].iloc[0]) if len(frame) else 0.0
    frame["sign_flip"] = [
        bool(base_sign > 0 and high < 0) or bool(base_sign < 0 and low > 0)
        for low, high in zip(frame["value_ci_low"], frame["value_ci_high"], strict=True)
    ]
    return frame
