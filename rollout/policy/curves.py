"""Profit and ROI against the share of customers targeted, predicted and honest.

Customers are ranked by predicted CATE; for each share s of the ranking the curve gives what the
model predicts targeting the top s earns (``margin x CATE - cost`` summed over them) and the
doubly robust value of that same list on the held-out customers, each per customer of the
population, with the honest value's 95% interval. The maximum of each curve is marked. The
honest maximum is picked on the same data it is read from, so it is mildly optimistic; the
``top_k`` policy (k tuned on training folds only) is the honest version of that choice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rollout.policy.policies import top_share
from rollout.policy.value import policy_value, predicted_profit

SHARE_GRID = tuple(np.round(np.linspace(0.0, 1.0, 21), 2))


def profit_curve(cate: np.ndarray, profit: np.ndarray, eval_mask: np.ndarray, margin: float,
                 cost: float, shares: tuple[float, ...] = SHARE_GRID,
                 honest_cate: np.ndarray | None = None) -> pd.DataFrame:
    """One row per share targeted: predicted and honest profit per customer, ROI, optimum marks.

    ``honest_cate`` (default ``cate``) ranks the held-out customers for the honest value.

    >>> cate = np.array([40.0, 30.0, -10.0, 5.0]); scores = np.array([6.0, 2.0, -9.0, -3.0])
    >>> curve = profit_curve(cate, scores, np.ones(4, bool), margin=0.5, cost=5.0,
    ...                      shares=(0.0, 0.5, 1.0))
    >>> curve.loc[curve["predicted_optimum"], "share"].tolist()
    [0.5]
    """
    held_out = cate if honest_cate is None else honest_cate
    rows = []
    for share in shares:
        targets = top_share(cate, share)
        per_customer, total, roi = predicted_profit(targets, cate, margin, cost)
        honest_targets = top_share(held_out, share)
        honest = policy_value(honest_targets, profit, eval_mask)
        spent = cost * float(honest_targets[eval_mask].mean())
        rows.append({
            "share": float(share), "n_targeted": int(targets.sum()),
            "predicted_profit": per_customer, "predicted_profit_total": total,
            "predicted_roi": roi, "value": honest.value, "value_ci_low": honest.ci_low,
            "value_ci_high": honest.ci_high,
            "value_roi": honest.value / spent if spent > 0 else float("nan"),
        })
    curve = pd.DataFrame(rows)
    curve["predicted_optimum"] = curve.index == int(curve["predicted_profit"].idxmax())
    curve["honest_optimum"] = curve.index == int(curve["value"].idxmax())
    return curve
