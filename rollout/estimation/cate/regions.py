"""CATE by propensity-score region: where the effects are estimated, and where extrapolated.

A customer whose propensity is near 0 or 1 has almost no comparable customers in the other arm,
so a CATE model's prediction for them is an extrapolation from other customers. Per region
(``overlap`` [0.1, 0.9], ``near_boundary``, ``extreme_low`` < 0.05, ``extreme_high`` > 0.95, the
``ps_region`` column of the results) this reports the number of customers, the mean predicted
CATE, and the region's own AIPW estimate (the mean of the cross-fitted doubly robust scores in the
region, with its standard error and 95% interval), so the model's story can be checked against a
model-free estimate where the data support one; and the action the region warrants.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rollout.common.stats import Z_975

REGIONS = ("overlap", "near_boundary", "extreme_low", "extreme_high")
#: What to do with the customers of each region, by how far their effects are extrapolated.
ACTIONS = {
    "overlap": "target confidently",
    "near_boundary": "proceed with caution",
    "extreme_low": "conservative approach",
    "extreme_high": "conservative approach",
}
ESTIMATION_MODE = {
    "overlap": "direct estimation",
    "near_boundary": "mild extrapolation",
    "extreme_low": "strong extrapolation (almost never targeted)",
    "extreme_high": "strong extrapolation (almost always targeted)",
}


def cate_by_region(cate: np.ndarray, scores: np.ndarray, region: np.ndarray,
                   t: np.ndarray) -> pd.DataFrame:
    """One row per PS region: N, share, mean CATE, AIPW estimate with SE and 95% CI, action.

    The AIPW estimate needs both arms in the region (at least two customers each); otherwise it
    is NaN and the action stays the region's.

    >>> frame = cate_by_region(np.array([1.0, 2, 3, 4]), np.array([0.0, 2, 4, 6]),
    ...                        np.array(["overlap"] * 4), np.array([0, 1, 0, 1]))
    >>> row = frame.iloc[0]
    >>> row["region"], int(row["n"]), float(row["mean_cate"]), float(row["aipw"])
    ('overlap', 4, 2.5, 3.0)
    """
    cate, scores = np.asarray(cate, float), np.asarray(scores, float)
    region, t = np.asarray(region).astype(str), np.asarray(t)
    rows = []
    for name in REGIONS:
        mask = region == name
        n = int(mask.sum())
        both_arms = (t[mask] == 1).sum() >= 2 and (t[mask] == 0).sum() >= 2
        if n and both_arms:
            est = float(scores[mask].mean())
            se = float(scores[mask].std(ddof=1) / np.sqrt(n))
        else:
            est = se = float("nan")
        rows.append({
            "region": name, "n": n, "share": n / len(region) if len(region) else float("nan"),
            "n_treated": int((t[mask] == 1).sum()), "n_control": int((t[mask] == 0).sum()),
            "mean_cate": float(cate[mask].mean()) if n else float("nan"),
            "aipw": est, "aipw_se": se, "aipw_ci_low": est - Z_975 * se,
            "aipw_ci_high": est + Z_975 * se,
            "extrapolated": name != "overlap",
            "estimation_mode": ESTIMATION_MODE[name], "action": ACTIONS[name],
        })
    return pd.DataFrame(rows)
