"""The true estimands of a simulated world, computed from the true CATE and propensity.

Estimators target different averages of the same individual effects: the ATE weighs every
customer equally, the ATT the treated, the ATO the overlap region (weights ``p(1 - p)``). A fair
test compares each estimator with the truth of its own estimand, computed here on the realized
sample (so the truth has no Monte Carlo error of its own).

Examples
--------
>>> import numpy as np
>>> summary = summarize_truth(
...     true_cate=np.array([1.0, 3.0, -1.0, 5.0]), propensity=np.array([0.2, 0.5, 0.5, 0.8]),
...     treatment=np.array([0, 1, 0, 1]), cost=1.0, margin=0.5)
>>> summary.ate, summary.att, summary.share_positive
(2.0, 4.0, 0.75)
>>> summary.oracle_share_targeted, summary.oracle_policy_value
(0.5, 0.5)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from rollout.common.display import DisplayMixin

Array = np.ndarray


@dataclass(frozen=True)
class TruthSummary(DisplayMixin):
    """Realized truth of a world: sample size, estimands, overlap and the oracle policy.

    ``oracle_policy_value`` is the mean profit per customer, against targeting nobody, of
    targeting exactly those whose true CATE exceeds the breakeven ``cost / margin``;
    ``historical_policy_value`` is the same for the historical targeting (the realized treated).
    Both are NaN without campaign economics.
    """

    n: int
    n_treated: int
    treated_share: float
    ate: float
    att: float
    atc: float
    ato: float
    ps_auc: float
    overlap_share: float
    share_positive: float
    breakeven: float
    oracle_share_targeted: float
    oracle_policy_value: float
    historical_policy_value: float

    def to_dict(self) -> dict[str, float | int]:
        """Plain numbers, for JSON."""
        return asdict(self)

    def summary(self) -> pd.DataFrame:
        """One row per quantity, for a table."""
        return pd.DataFrame({"quantity": list(self.to_dict()),
                             "value": [float(v) for v in self.to_dict().values()]})


def auc(score: Array, label: Array) -> float:
    """Area under the ROC curve of ``score`` for a 0/1 ``label`` (ties count one half).

    >>> auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
    0.75
    """
    label = np.asarray(label).astype(bool)
    n1, n0 = int(label.sum()), int((~label).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[label].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def summarize_truth(
    true_cate: Array,
    propensity: Array,
    treatment: Array,
    cost: float | None = None,
    margin: float | None = None,
) -> TruthSummary:
    """Every estimand of a world from its individual truth (see :class:`TruthSummary`)."""
    cate = np.asarray(true_cate, dtype=float)
    p = np.asarray(propensity, dtype=float)
    t = np.asarray(treatment).astype(bool)
    overlap_weight = p * (1.0 - p)
    ato = (float((overlap_weight * cate).sum() / overlap_weight.sum())
           if overlap_weight.sum() > 0 else float("nan"))
    breakeven = oracle_share = oracle_value = historical_value = float("nan")
    if cost is not None and margin is not None:
        breakeven = cost / margin
        profit = margin * cate - cost
        oracle = cate > breakeven
        oracle_share = float(oracle.mean())
        oracle_value = float(np.where(oracle, profit, 0.0).mean())
        historical_value = float(np.where(t, profit, 0.0).mean())
    return TruthSummary(
        n=len(cate),
        n_treated=int(t.sum()),
        treated_share=float(t.mean()),
        ate=float(cate.mean()),
        att=float(cate[t].mean()) if t.any() else float("nan"),
        atc=float(cate[~t].mean()) if (~t).any() else float("nan"),
        ato=ato,
        ps_auc=auc(p, t),
        overlap_share=float(((p >= 0.1) & (p <= 0.9)).mean()),
        share_positive=float((cate > 0).mean()),
        breakeven=breakeven,
        oracle_share_targeted=oracle_share,
        oracle_policy_value=oracle_value,
        historical_policy_value=historical_value,
    )


def check_expectations(summary: TruthSummary, expect: dict[str, object]) -> list[str]:
    """Messages for each promised quantity outside its tolerance (empty when all hold)."""
    values = summary.to_dict()
    problems = []
    for key, promise in expect.items():
        value = float(values[key])
        target, tol = promise.value, promise.tolerance  # type: ignore[attr-defined]
        if math.isnan(value) or abs(value - target) > tol:
            problems.append(f"{key} = {value:.6g}, expected {target:g} ± {tol:g}")
    return problems
