"""The heterogeneity gate: a targeting list is a fact only when the model's heterogeneity is shown.

Every list except the two baselines (``everyone``, ``current_practice``) ranks customers by who
gains more. That ranking is worth acting on only when the CATE stage's held-out validation shows
that the model predicts who gains more, and the model is stable:

- the best linear predictor (BLP) slope of the held-out DR scores on the predicted CATE is
  positive with its one-sided p-value below 0.05 (equivalently, its 95% interval excludes 0);
- the Qini coefficient's 95% interval on the held-out customers lies above 0 (when measured);
- the subset-stability refutation did not fail (when run).

When any of these fails (or could not be measured), every model-based list is marked a
hypothesis (``hypothesis: true`` on its record) and the recommendation falls back to what the
data support: the average-effect decision on the identified population (target everyone there
when the interval of the recommended average effect lies above the breakeven, nobody when it lies
below), or else the randomized test that would settle it.

Examples
--------
>>> ok = HeterogeneityEvidence(model="x", blp_slope=2.0, blp_se=0.5, blp_p=0.0001,
...                            qini_ci_low=0.1, qini_ci_high=0.5, stability_pass=True)
>>> ok.shown, ok.reasons
(True, [])
>>> bad = HeterogeneityEvidence(model="x", blp_slope=2.1, blp_se=2.3, blp_p=0.18,
...                             qini_ci_low=-0.1, qini_ci_high=0.5, stability_pass=False)
>>> bad.shown, len(bad.reasons)
(False, 3)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from rollout.common.display import DisplayMixin

BLP_ALPHA = 0.05
NOT_MODEL_BASED = ("everyone", "current_practice")
GATE_RULE = ("heterogeneity shown when the held-out BLP slope is positive with one-sided p < "
             "0.05, the held-out Qini interval lies above 0, and subset stability did not fail; "
             "otherwise every model-based list is a hypothesis for a randomized test")


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class HeterogeneityEvidence(DisplayMixin):
    """The selected CATE model's held-out heterogeneity tests (None where not measured)."""

    model: str | None
    blp_slope: float | None = None
    blp_se: float | None = None
    blp_p: float | None = None
    qini_ci_low: float | None = None
    qini_ci_high: float | None = None
    stability_pass: bool | None = None
    stability_correlation: float | None = None

    @classmethod
    def from_sections(cls, sections: Mapping[str, Any]) -> HeterogeneityEvidence:
        """Read the selected model's record of the primary outcome from the CATE stage's
        ``cate_models`` and ``refutation`` sections (read only)."""
        selection = (sections.get("cate_selection") or [{}])[0]
        outcome, model = selection.get("outcome"), selection.get("selected")
        record = next((r for r in sections.get("cate_models") or []
                       if r.get("model") == model and r.get("outcome") == outcome), {})
        refutation = next((r for r in sections.get("refutation") or []
                           if r.get("model") == model and r.get("outcome") == outcome), None)
        stability = None if refutation is None else refutation.get("stability_pass")
        return cls(model=model, blp_slope=_finite(record.get("blp_slope")),
                   blp_se=_finite(record.get("blp_se")), blp_p=_finite(record.get("blp_p")),
                   qini_ci_low=_finite(record.get("qini_ci_low")),
                   qini_ci_high=_finite(record.get("qini_ci_high")),
                   stability_pass=None if stability is None else bool(stability),
                   stability_correlation=None if refutation is None
                   else _finite(refutation.get("stability_correlation")))

    @property
    def reasons(self) -> list[str]:
        """Why heterogeneity is not shown (empty when it is)."""
        out = []
        if self.model is None:
            return ["no CATE model was selected"]
        if self.blp_p is None or self.blp_slope is None:
            out.append("the BLP slope was not measured")
        elif not (self.blp_slope > 0 and self.blp_p < BLP_ALPHA):
            se = f", SE {self.blp_se:.3g}" if self.blp_se is not None else ""
            out.append(f"the BLP slope {self.blp_slope:.3g}{se} is not shown positive "
                       f"(one-sided p {self.blp_p:.3g} >= {BLP_ALPHA:g})")
        if self.qini_ci_low is None:
            out.append("the Qini interval was not measured")
        elif self.qini_ci_low <= 0:
            high = f"{self.qini_ci_high:.3g}" if self.qini_ci_high is not None else "?"
            out.append(f"the Qini interval [{self.qini_ci_low:.3g}, {high}] includes 0")
        if self.stability_pass is False:
            corr = (f" (correlation {self.stability_correlation:.3g})"
                    if self.stability_correlation is not None else "")
            out.append(f"the subset-stability check fails{corr}")
        return out

    @property
    def shown(self) -> bool:
        return not self.reasons

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "shown": self.shown, "reasons": self.reasons}


def fallback_decision(recommended: Mapping[str, Any] | None,
                      breakeven: float | None) -> dict[str, Any]:
    """What the data support without the ranking: the average-effect decision, or a test.

    >>> fallback_decision({"estimate": 30.0, "ci_low": 25.0, "ci_high": 35.0,
    ...                    "estimand": "ATE"}, 20.0)["decision"]
    'target everyone in the identified population'
    >>> fallback_decision({"estimate": 30.0, "ci_low": 5.0, "ci_high": 55.0,
    ...                    "estimand": "ATE"}, 20.0)["decision"]
    'run a randomized test'
    """
    if recommended is None or breakeven is None:
        return {"decision": "run a randomized test",
                "why": "no recommended average effect or no breakeven to compare it with"}
    low, high = float(recommended["ci_low"]), float(recommended["ci_high"])
    base = (f"recommended average effect {float(recommended['estimate']):.4g} "
            f"[{low:.4g}, {high:.4g}] ({recommended.get('estimand', '')}) against the breakeven "
            f"{breakeven:.4g}")
    if low > breakeven:
        return {"decision": "target everyone in the identified population",
                "why": base + ": the whole interval pays"}
    if high < breakeven:
        return {"decision": "target nobody",
                "why": base + ": the whole interval is below the breakeven"}
    return {"decision": "run a randomized test",
            "why": base + ": the interval spans the breakeven; a randomized test "
                   "(rollout design, with the breakeven as the effect to detect) settles it"}


def gate_section(evidence: HeterogeneityEvidence | None, recommended: Mapping[str, Any] | None,
                 breakeven: float | None) -> dict[str, Any]:
    """The ``targeting_gate`` record of ``summary.json``."""
    if evidence is None:
        evidence = HeterogeneityEvidence(model=None)
    shown = evidence.shown
    record: dict[str, Any] = {
        "status": "supported" if shown else "hypothesis",
        "lists_are_hypotheses": not shown, "rule": GATE_RULE, "evidence": evidence.to_dict(),
        "fallback": fallback_decision(recommended, breakeven),
    }
    if shown:
        record["recommendation"] = ("the model's heterogeneity is shown on held-out customers: "
                                    "its lists may be acted on within the identified population")
    else:
        record["recommendation"] = (
            "the model's heterogeneity is not shown (" + "; ".join(evidence.reasons) + "): the "
            "targeting lists are hypotheses, not facts; act on the fallback ("
            + record["fallback"]["decision"] + ") and test the lists in a randomized test")
    return record
