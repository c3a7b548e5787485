"""The identifying assumptions, each with a status read off the diagnostics, and a verdict.

An observational effect is only as good as SUTVA, unconfoundedness, positivity and consistency.
Two of them cannot be checked from the data (SUTVA and consistency are about how the campaign
was run; unconfoundedness is untestable and is answered by the E-value), one can (positivity).
The verdict is "confirmatory" only when nothing the data *can* show argues against the estimate;
otherwise the results are "hypothesis-generating": a reason to run a randomized test, not a
substitute for one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from rollout.common.display import DisplayMixin

CONFIRMATORY = "confirmatory"
HYPOTHESIS_GENERATING = "hypothesis-generating"

VERDICT_RULE = (
    "confirmatory only if positivity is plausible (PS AUC <= 0.8 and at least 80% of customers in "
    "[0.1, 0.9]), every covariate is balanced after weighting (|SMD| < 0.1), and the adjusted "
    "methods (ipw, aipw, ols, dml, ato) agree within their 95% intervals for every outcome; "
    "otherwise hypothesis-generating. Unconfoundedness is untestable either way (see the E-value)."
)


@dataclass(frozen=True)
class AssumptionsResult(DisplayMixin):
    """The assumptions table and the verdict with its reasons."""

    table: pd.DataFrame  # assumption, status, evidence, mitigation
    verdict: str
    reasons: tuple[str, ...]
    rule: str = VERDICT_RULE

    def summary(self) -> pd.DataFrame:
        return self.table.copy()

    def to_pandas(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, object]:
        return {"verdict": self.verdict, "rule": self.rule, "reasons": list(self.reasons)}


def assess_assumptions(
    positivity_status: str,
    ps_auc: float,
    overlap_share: float,
    n_unbalanced_after: int,
    n_covariates: int,
    disagreements: dict[str, Sequence[tuple[str, str]]],
    evalue_ci: dict[str, float],
) -> AssumptionsResult:
    """Statuses of SUTVA, unconfoundedness, positivity and consistency, and the overall verdict.

    ``disagreements`` maps each outcome to the pairs of adjusted methods whose intervals do not
    overlap; ``evalue_ci`` maps each outcome to the E-value of its recommended interval.

    >>> res = assess_assumptions("violated", 0.99, 0.17, 12, 21, {"y": []}, {"y": 1.0})
    >>> res.verdict
    'hypothesis-generating'
    """
    evalues = ", ".join(f"{k}: {v:.3g}" for k, v in evalue_ci.items())
    rows = [
        {"assumption": "SUTVA", "status": "assumed",
         "evidence": "not testable from the cohort: one row per customer, no interference "
                     "between customers and one version of the campaign are assumed",
         "mitigation": "randomize by customer; avoid overlapping campaigns in the test window"},
        {"assumption": "unconfoundedness", "status": "untestable, see E-value",
         "evidence": f"E-value of the recommended interval's limit closer to zero: {evalues}",
         "mitigation": "sensitivity analysis (E-value); confirm with a randomized test"},
        {"assumption": "positivity", "status": positivity_status,
         "evidence": f"PS AUC {ps_auc:.3f}; {overlap_share:.1%} of customers in [0.1, 0.9]",
         "mitigation": "trim or overlap-weight; randomize where targeting left no comparison"},
        {"assumption": "consistency", "status": "assumed",
         "evidence": "the treatment is taken to be one well-defined campaign exposure",
         "mitigation": "define the treatment as one campaign type and window"},
    ]
    reasons = []
    if positivity_status != "plausible":
        reasons.append(f"positivity is {positivity_status} (PS AUC {ps_auc:.3f}, "
                       f"{overlap_share:.1%} in [0.1, 0.9])")
    if n_unbalanced_after > 0:
        reasons.append(f"{n_unbalanced_after} of {n_covariates} covariates remain unbalanced "
                       "after weighting (|SMD| >= 0.1)")
    for outcome, pairs in disagreements.items():
        if pairs:
            listed = ", ".join(f"{a} vs {b}" for a, b in pairs)
            reasons.append(f"{outcome}: methods disagree beyond their intervals ({listed})")
    verdict = HYPOTHESIS_GENERATING if reasons else CONFIRMATORY
    return AssumptionsResult(table=pd.DataFrame(rows), verdict=verdict, reasons=tuple(reasons))
