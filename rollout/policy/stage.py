"""The policy stage of ``rollout analyze``: breakeven, policies, differences, curves, segments.

:func:`run_policy` receives the core stage's result and the CATE stage's hand-over
(:class:`~rollout.estimation.cate.stage.CateColumns`): ``cate``, ``lower`` (the selected model
refitted on every customer: what is deployed) and, when present, ``honest`` with ``is_test`` (the
selected model fitted on the training split: out-of-sample on the test customers). It returns a
frozen :class:`PolicyStageResult`. Honest values are computed on the held-out test
customers from those out-of-sample predictions, so no customer's own outcome helps choose the
targeting it is judged on; without a split they are cross-fitted over the analysis' folds.
The conservative and risk-adjusted rules need a lower bound: out of sample it is the training-split
model's own (``honest_lower``), or, when the learner recorded none, the out-of-sample point
minus the deployed model's half-width below its point.

Everything is computed for the primary (first) outcome. Without a cost (none given and no
discount column to estimate it from) the profit parts are skipped with a warning and only the
segments are reported, with an action rule against zero.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rollout.common.display import DisplayMixin
from rollout.common.stats import aipw_scores
from rollout.errors import InputError
from rollout.estimation.cate.stage import CateColumns
from rollout.estimation.core import CoreResult
from rollout.policy.cost import (
    CAMPAIGN_COUPON_COLUMN,
    COUPON_COLUMN,
    DEFAULT_CONTACT_COST,
    DEFAULT_MARGIN,
    CostEstimate,
    campaign_cost,
    campaign_coupon_cost,
    effect_on_discounts_cost,
    given_cost,
    small_cost_warning,
    validate_economics,
)
from rollout.policy.curves import profit_curve
from rollout.policy.gate import NOT_MODEL_BASED, HeterogeneityEvidence, gate_section
from rollout.policy.identified import (
    IDENTIFIED_WINDOW,
    identification_record,
    identified_mask,
    randomize_column,
    region_table,
    values_by_region,
)
from rollout.policy.policies import (
    LAMBDA_GRID,
    HoldoutPlan,
    PolicyInputs,
    PolicyResult,
    policies_frame,
    rule_targets,
    standard_policies,
)
from rollout.policy.segments import (
    ACTION_RULE,
    ACTION_RULE_NO_COST,
    fisher_correlation,
    name_segments,
    segment_customers,
    segment_table,
    validate_segment_column,
)
from rollout.policy.sensitivity import breakeven_sensitivity
from rollout.policy.value import (
    policy_difference,
    policy_value,
    predicted_profit,
    profit_scores,
)

STAGE_NAME = "policy"
DEFAULT_COST_METHOD = "campaign_coupons"
TREES = ("policy_tree", "dr_policy_tree", "rule_tree")
BASELINES = ("everyone", "current_practice")
HONEST_VALUE_NOTE = (
    "value: doubly robust profit per identified customer against targeting nobody, mean of "
    "pi(x) x (margin x AIPW score - cost) over the held-out customers whose propensity lies in "
    "[0.1, 0.9] (trimmed; the kept n in the SE), 95% influence-function interval; customers "
    "outside the window are not scored (see policy_identification and "
    "policy_values_by_region); "
    "predicted_profit: the CATE model's own prediction, mean of pi(x) x (margin x CATE - cost) "
    "over all customers (circular: the model grading itself)")


@dataclass(frozen=True)
class PolicySettings:
    """The economics and choices of the policy stage (``cost``, ``cost_method``, ``margin``, ...).

    ``cost`` given wins over ``cost_method``; ``segments`` fixes the number of behavioural
    segments (chosen by silhouette otherwise); ``trees`` lists the tree learners to fit.
    """

    cost: float | None = None
    cost_method: str = DEFAULT_COST_METHOD
    margin: float = DEFAULT_MARGIN
    contact_cost: float | None = None
    segments: int | None = None
    grid: str | Path = "breakeven"
    trees: tuple[str, ...] = TREES

    def validate(self) -> None:
        validate_economics(self.cost, self.margin, self.cost_method)
        if self.contact_cost is not None and not (np.isfinite(self.contact_cost)
                                                  and self.contact_cost >= 0):
            raise InputError(f"must be a non-negative number, got {self.contact_cost:g}",
                             argument="contact_cost")
        if self.segments is not None and self.segments < 2:
            raise InputError(f"must be at least 2, got {self.segments}", argument="segments")
        unknown = set(self.trees) - set(TREES)
        if unknown:
            raise InputError(f"unknown tree learner {sorted(unknown)[0]!r}", argument="trees")

    def to_dict(self) -> dict[str, Any]:
        return {"cost": self.cost, "cost_method": self.cost_method, "margin": self.margin,
                "contact_cost": self.contact_cost,
                "segments": self.segments, "grid": str(self.grid), "trees": list(self.trees)}


def _offer_cost(core: CoreResult, settings: PolicySettings) -> CostEstimate | None:
    """The retailer-funded offer cost estimated from the cohort's discounts (None without)."""
    frame, cohort = core.cohort.frame, core.cohort
    if settings.cost_method == "campaign_coupons":
        if CAMPAIGN_COUPON_COLUMN not in frame.columns:
            return None
        return campaign_coupon_cost(frame[CAMPAIGN_COUPON_COLUMN].to_numpy(dtype=float),
                                    cohort.treatment, source=cohort.source)
    if COUPON_COLUMN not in frame.columns:
        return None
    lo, hi = IDENTIFIED_WINDOW
    return effect_on_discounts_cost(
        cohort.X, cohort.treatment, frame[COUPON_COLUMN].to_numpy(dtype=float),
        core.nuisances.folds, core.nuisances.e_hat, core.options.seed,
        core.options.clip, source=cohort.source, n_jobs=core.options.n_jobs,
        population=identified_mask(core.nuisances.e_hat),
        population_name=f"the identified customers (propensity in [{lo:g}, {hi:g}])")


def estimate_cost(core: CoreResult, settings: PolicySettings) -> CostEstimate | None:
    """The cost per targeted household, or None when the cohort gives no way to estimate it.

    Given (``--cost``) it is used whole; otherwise it is the contact cost (given or the stated
    default assumption) plus the offer cost estimated from the cohort's discounts.
    """
    if settings.cost is not None:
        return given_cost(settings.cost)
    given = settings.contact_cost is not None
    contact = float(settings.contact_cost) if given else DEFAULT_CONTACT_COST
    offer = _offer_cost(core, settings)
    if offer is None:
        if not given:
            return None
        offer = CostEstimate(
            cost=0.0, method="none", explanation="no discount column to estimate the offer "
            "cost from: the cost is the contact cost alone",
            warnings=("no discount column to estimate the retailer-funded offer cost from "
                      f"({CAMPAIGN_COUPON_COLUMN} or {COUPON_COLUMN}): the campaign cost is "
                      "the given contact cost alone",))
    return campaign_cost(offer, contact, contact_given=given)


def _finite(values: Any, n: int) -> np.ndarray | None:
    if values is None:
        return None
    array = np.asarray(values, dtype=float)
    return array if array.shape == (n,) and np.isfinite(array).all() else None


@dataclass(frozen=True)
class CateView:
    """The CATE columns the policies read, and how honest evaluation is arranged."""

    cate: np.ndarray
    lower: np.ndarray | None
    honest_cate: np.ndarray | None
    honest_lower: np.ndarray | None
    plan: HoldoutPlan
    source: str


def read_cate(columns: CateColumns | None, folds: np.ndarray) -> CateView | None:
    """The deployed and out-of-sample CATE the CATE stage handed over (None when unusable).

    ``folds`` are the analysis' cross-fitting folds, used when no held-out split was recorded.
    """
    if columns is None:
        return None
    n = len(folds)
    cate = _finite(columns.cate, n)
    if cate is None:
        return None
    lower = _finite(columns.lower, n)
    model = columns.model
    honest = _finite(columns.honest, n) if model else None
    if columns.is_test is not None and honest is not None:
        is_test = np.asarray(columns.is_test, dtype=bool)
        plan = HoldoutPlan.from_split(is_test)
        honest_lower = _finite(columns.honest_lower, n)
        lower_note = f"its lower bounds cate_{model}_lower"
        if honest_lower is None and lower is not None:
            honest_lower = honest - (cate - lower)
            lower_note = "its lower bounds taken as the point minus the deployed half-width"
        source = (f"cate ({model} refitted on all customers) for the deployed lists; "
                  f"cate_{model} (fitted on the training split; {lower_note}) for the honest "
                  f"values on the {int(is_test.sum())} held-out customers")
        return CateView(cate, lower, honest, honest_lower, plan, source)
    plan = HoldoutPlan.from_folds(folds)
    return CateView(cate, lower, None, None, plan,
                    "cate for both; no held-out split was recorded, so the honest values are "
                    "cross-fitted over the analysis' folds and assume cate is out-of-fold")


def _segments(core: CoreResult, settings: PolicySettings) -> tuple[np.ndarray, dict]:
    cohort = core.cohort
    column = cohort.roles.segment
    if column:
        validate_segment_column(cohort.frame, column, cohort.source)
        labels = cohort.frame[column].astype(str).to_numpy()
        return labels, {"method": f"the cohort's own column {column!r}", "k": len(set(labels)),
                        "silhouette": {}}
    seg = segment_customers(cohort.frame, cohort.roles.covariates, k=settings.segments,
                            seed=core.options.seed)
    names = name_segments(cohort.frame, cohort.roles.covariates, seg.labels)
    labels = np.array([names[int(label)] for label in seg.labels], dtype=object)
    return labels, {"method": seg.method, "k": seg.k,
                    "silhouette": {str(k): v for k, v in seg.silhouette.items()}}


def _pre_spend(core: CoreResult) -> tuple[np.ndarray, str] | None:
    cohort = core.cohort
    outcome = core.outcomes[0]
    pre = cohort.roles.pre_outcomes.get(outcome)
    if pre and pre in cohort.frame.columns:
        return cohort.frame[pre].to_numpy(dtype=float), pre
    if "monetary_sales" in cohort.roles.covariates:
        return cohort.frame["monetary_sales"].to_numpy(dtype=float), "monetary_sales"
    return None


def _differences(results: list[PolicyResult], profit: np.ndarray,
                 mask: np.ndarray) -> list[dict[str, Any]]:
    by_name = {r.name: r for r in results}
    candidates = [r for r in results if r.name not in BASELINES]
    best = max(candidates, key=lambda r: r.value.value)
    pairs = []
    for a in dict.fromkeys(["breakeven", best.name]):
        for b in BASELINES:
            pairs.append((a, b))
    rows = []
    for a, b in pairs:
        diff = policy_difference(by_name[a].honest_targets, by_name[b].honest_targets, profit,
                                 mask)
        note = ("paired: mean of (pi_a - pi_b) x profit score over the held-out customers in "
                "the identified propensity window [0.1, 0.9]")
        if a == best.name:
            note += ("; 'best' is the highest honest value on these same customers, so its "
                     "lead is optimistic")
        rows.append({"policy": a, "versus": b, "best": a == best.name, **diff.to_dict(),
                     "note": note})
    return rows


def _risk_table(view: CateView, inputs: PolicyInputs, profit: np.ndarray,
                segments: np.ndarray) -> pd.DataFrame:
    assert view.lower is not None
    rows = []
    be = inputs.breakeven
    for lam in LAMBDA_GRID:
        targets = rule_targets("risk_adjusted", view.cate, view.lower, be, {"lambda": lam})
        honest_lower = inputs.lower_for(True)
        assert honest_lower is not None
        honest = rule_targets("risk_adjusted", inputs.cate_for(True), honest_lower, be,
                              {"lambda": lam})
        value = policy_value(honest, profit, view.plan.eval_mask)
        per_customer, _, roi = predicted_profit(targets, view.cate, inputs.margin,
                                                    inputs.cost)
        shares = pd.Series(targets).groupby(segments).mean()
        rows.append({"lambda": lam, "n_targeted": int(targets.sum()),
                     "share_targeted": float(targets.mean()), "predicted_profit": per_customer,
                     "predicted_roi": roi, "value": value.value, "value_ci_low": value.ci_low,
                     "value_ci_high": value.ci_high,
                     "segments_targeted": "; ".join(str(s) for s, v in shares.items()
                                                     if v >= 0.5)})
    return pd.DataFrame(rows)


@dataclass(frozen=True, eq=False)
class PolicyStageResult(DisplayMixin):
    """What the policy stage computed; ``summary()`` is the table of policies (or segments).

    ``targets`` maps each policy to its deployed 0/1 list over every customer; ``segments`` are
    the customers' segment labels; ``breakeven`` the breakeven record (None without a cost).
    ``sections`` and ``tables`` are what the results folder writes (keys of ``summary.json`` and
    ``tables/``).
    """

    settings: PolicySettings
    segments: np.ndarray
    breakeven: Mapping[str, Any] | None
    targets: Mapping[str, np.ndarray]
    sections: Mapping[str, Any]
    tables: Mapping[str, pd.DataFrame]
    warnings: tuple[str, ...] = ()
    skipped: tuple[dict[str, str], ...] = ()
    randomize_in_test: np.ndarray | None = None
    honest_targets: Mapping[str, np.ndarray] = field(default_factory=dict)
    evaluated: np.ndarray | None = None

    @property
    def breakeven_cate(self) -> float | None:
        return None if self.breakeven is None else float(self.breakeven["breakeven_cate"])

    @property
    def customer_columns(self) -> dict[str, np.ndarray]:
        """``segment``, ``randomize_in_test`` (1 outside the identified propensity window) and
        one ``target_<policy>`` column per policy, as in customers.parquet."""
        extra = ({} if self.randomize_in_test is None
                 else {"randomize_in_test": self.randomize_in_test})
        return {"segment": self.segments, **extra,
                **{f"target_{name}": values for name, values in self.targets.items()}}

    def figures(self) -> dict[str, Callable[[], Any]]:
        """Figure makers of this stage (file name -> maker); none without the profit parts."""
        from rollout.policy.figures import policy_figures

        return (policy_figures(self.tables, self.breakeven_cate) if "profit_curve" in self.tables
                else {})

    def to_dict(self) -> dict[str, Any]:
        """The keys of ``summary.json`` this stage writes."""
        return dict(self.sections)

    def to_pandas(self) -> pd.DataFrame:
        return self.tables["policies"] if "policies" in self.tables else self.tables["segments"]


@dataclass
class _Collected:
    """What the phases of :func:`run_policy` add up to, before it is frozen."""

    sections: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    targets: dict[str, np.ndarray] = field(default_factory=dict)
    honest_targets: dict[str, np.ndarray] = field(default_factory=dict)
    evaluated: np.ndarray | None = None
    warnings: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)


def _breakeven(cost: CostEstimate | None, settings: PolicySettings, outcome: str,
               out: _Collected, outcome_mean: float | None = None) -> float | None:
    """The breakeven CATE (cost / margin) and its record; None, said so, without a cost."""
    if cost is None:
        out.warnings.append(
            "no campaign cost: give --cost, or a cohort with discount columns "
            f"({CAMPAIGN_COUPON_COLUMN} or {COUPON_COLUMN}); the breakeven, policies, profit "
            "curves and breakeven grid were skipped, segments use an action rule against zero")
        out.skipped.append({"step": "policy profit", "reason": "no campaign cost"})
        return None
    breakeven = cost.cost / settings.margin
    out.sections["breakeven"] = {
        "cost": cost.cost, "cost_method": cost.method, "cost_explanation": cost.explanation,
        "cost_se": cost.se, "cost_ci": [cost.ci_low, cost.ci_high]
        if cost.ci_low is not None else None,
        "cost_parts": [dict(p) for p in cost.parts],
        "margin": settings.margin, "breakeven_cate": breakeven, "outcome": outcome,
        "rule": "target a customer when margin x CATE > cost, i.e. CATE > cost / margin"}
    out.warnings.extend(cost.warnings)
    if cost.method == "given" and settings.cost_method != DEFAULT_COST_METHOD:
        out.warnings.append(f"--cost given: it is used, --cost-method "
                            f"{settings.cost_method} is ignored")
    if cost.method == "given" and settings.contact_cost is not None:
        out.warnings.append("--cost given: it is the whole cost per household, --contact-cost "
                            "is ignored")
    if outcome_mean is not None:
        small = small_cost_warning(cost, outcome_mean, outcome)
        if small:
            out.warnings.append(small)
    return breakeven


def _segment_sections(core: CoreResult, segments: np.ndarray, segmentation: dict,
                      gamma: np.ndarray, view: CateView | None, breakeven: float | None,
                      out: _Collected) -> None:
    """The segments table and the segmentation record (with the ceiling correlation)."""
    table = segment_table(segments, gamma, core.cohort.treatment,
                          view.cate if view else None, breakeven)
    out.sections["segments"] = table.to_dict(orient="records")
    out.tables["segments"] = table
    seg_doc: dict[str, Any] = {**segmentation,
                               "action_rule": ACTION_RULE if breakeven is not None
                               else ACTION_RULE_NO_COST,
                               "mean_cate": "doubly robust mean of the AIPW scores over the "
                                            "segment, 95% interval from their SD"}
    pre = _pre_spend(core)
    if view is not None and pre is not None:
        seg_doc["ceiling_correlation"] = {"with": pre[1], "cate": "cate",
                                          "interval": "Fisher z, 95%",
                                          **fisher_correlation(view.cate, pre[0])}
    out.sections["segmentation"] = seg_doc


def _policy_records(results: list[PolicyResult], inputs: PolicyInputs,
                    out: _Collected) -> list[dict[str, Any]]:
    """Each policy's record and deployed list; a learned policy that collapsed is warned of."""
    records = [r.record(inputs) for r in results]
    for r in results:
        out.targets[r.name] = r.targets.astype(np.int64)
        if r.learned and r.record(inputs)["trivial"]:
            share = float(r.targets.mean())
            out.warnings.append(
                f"policy {r.name} collapsed to a trivial rule (targets {share:.1%} of "
                "customers): it learned no targeting; do not deploy it, prefer the breakeven "
                "or top-k lists and confirm with a randomized test")
    return records


def _profit_sections(view: CateView, inputs: PolicyInputs, results: list[PolicyResult],
                     records: list[dict[str, Any]], gamma: np.ndarray,
                     settings: PolicySettings, out: _Collected) -> pd.DataFrame:
    """Paired differences, the profit curve and the breakeven grid; returns the grid."""
    mask, profit = view.plan.eval_mask, inputs.profit
    differences = _differences(results, profit, mask)
    curve = profit_curve(view.cate, profit, mask, settings.margin, inputs.cost,
                         honest_cate=view.honest_cate)
    grid = breakeven_sensitivity(view.cate, gamma, mask, inputs.cost, settings.margin,
                                 grid=settings.grid, honest_cate=view.honest_cate)
    out.sections.update({
        "policies": records,
        "policy_evaluation": {"holdout": view.plan.description, "cate": view.source,
                              "n_evaluated": int(mask.sum()), "note": HONEST_VALUE_NOTE,
                              "settings": settings.to_dict()},
        "policy_differences": differences,
        "profit_curve": {
            "predicted_optimum_share": float(curve.loc[curve["predicted_optimum"],
                                                       "share"].iloc[0]),
            "honest_optimum_share": float(curve.loc[curve["honest_optimum"], "share"].iloc[0]),
            "points": curve.to_dict(orient="records")},
        "breakeven_grid": grid.to_dict(orient="records"),
        "policy_rules": [r.rules for r in results if r.rules is not None],
    })
    out.tables.update({"policies": policies_frame(results, inputs),
                       "policy_differences": pd.DataFrame(differences),
                       "profit_curve": curve, "breakeven_grid": grid})
    return grid


def _value_warnings(grid: pd.DataFrame, records: list[dict[str, Any]],
                    out: _Collected) -> None:
    """Warn when the grid flips the sign of the value, or no value is clearly positive."""
    if grid["sign_flip"].any():
        flipped = ", ".join(grid.loc[grid["sign_flip"], "scenario"])
        out.warnings.append(f"the breakeven policy's honest value changes sign under "
                            f"scenario(s) {flipped}: its profit depends on the cost and "
                            "margin assumed; pin them down before deploying")
    learned_or_rules = [r for r in records if r["policy"] not in BASELINES]
    confirmed = [r["policy"] for r in learned_or_rules if r["value_ci_low"] > 0]
    if not confirmed:
        best = max(learned_or_rules, key=lambda r: r["value"])
        out.warnings.append(
            f"no policy's honest value is clearly positive (best: {best['policy']}, "
            f"{best['value']:.3g} per customer, 95% CI [{best['value_ci_low']:.3g}, "
            f"{best['value_ci_high']:.3g}]): the model-predicted profits are not confirmed on "
            "held-out customers; run a randomized test (rollout design) before acting")
    out.sections["policy_evaluation"]["clearly_positive"] = confirmed


def _targeting(core: CoreResult, view: CateView, cost: CostEstimate, gamma: np.ndarray,
               segments: np.ndarray, settings: PolicySettings,
               tick: Callable[[str], None], out: _Collected,
               evidence: HeterogeneityEvidence | None = None) -> None:
    """The policies, their honest values, curves, grid and risk table."""
    if view.lower is None:
        out.warnings.append("the selected CATE model gives no intervals: the conservative "
                            "and risk-adjusted policies were skipped")
    cohort = core.cohort
    outcome = core.outcomes[0]
    e_hat = core.nuisances.e_hat
    held_out = view.plan.eval_mask
    lo, hi = IDENTIFIED_WINDOW
    view = replace(view, plan=view.plan.within(
        identified_mask(e_hat), f"trimmed to the identified propensity window [{lo:g}, {hi:g}] "
        "(learning and evaluation)"))
    profit = profit_scores(gamma, settings.margin, cost.cost)
    inputs = PolicyInputs(X=cohort.X, covariate_names=tuple(cohort.roles.covariates),
                          cate=view.cate, cate_lower=view.lower, treatment=cohort.treatment,
                          y=cohort.outcome(outcome), profit=profit, margin=settings.margin,
                          cost=cost.cost, seed=core.options.seed, honest_cate=view.honest_cate,
                          honest_lower=view.honest_lower)
    tick("policies: rules and values")
    results = standard_policies(inputs, view.plan, trees=settings.trees, progress=tick,
                                processes=core.options.processes)
    records = _policy_records(results, inputs, out)
    out.honest_targets.update({r.name: r.honest_targets for r in results})
    out.evaluated = view.plan.eval_mask
    hypotheses = evidence is None or not evidence.shown
    for record in records:
        record["hypothesis"] = hypotheses and record["policy"] not in NOT_MODEL_BASED
    grid = _profit_sections(view, inputs, results, records, gamma, settings, out)
    out.tables["policies"]["hypothesis"] = [r["hypothesis"] for r in records]
    identification = identification_record(e_hat, held_out)
    out.sections["policy_identification"] = identification
    out.sections["policy_evaluation"]["identified_share"] = identification["identified_share"]
    by_region = values_by_region({r.name: r.honest_targets for r in results}, profit,
                                 held_out, e_hat, cohort.treatment)
    out.sections["policy_values_by_region"] = by_region.to_dict(orient="records")
    out.tables["policy_values_by_region"] = by_region
    if identification["identified_share"] < 1:
        out.warnings.append(
            f"policy values are identified for {identification['identified_share']:.1%} of "
            f"customers (propensity in [{lo:g}, {hi:g}]): the other "
            f"{identification['n_randomize_in_test']} are not scored and are labelled "
            "randomize_in_test in customers.parquet; what targeting them earns needs a "
            "randomized test")
    if view.lower is not None:
        risk = _risk_table(view, inputs, profit, segments)
        out.sections["risk_adjusted"] = risk.to_dict(orient="records")
        out.tables["risk_adjusted"] = risk
    _value_warnings(grid, records, out)


def run_policy(core: CoreResult, cate: CateColumns | None = None,
               settings: PolicySettings | None = None,
               progress: Callable[[str], None] | None = None,
               evidence: HeterogeneityEvidence | None = None) -> PolicyStageResult:
    """The policy stage: segments always; breakeven and policies when a cost and a CATE exist.

    ``evidence`` is the selected CATE model's held-out heterogeneity tests
    (:meth:`HeterogeneityEvidence.from_sections` of the CATE stage's sections); without it the
    heterogeneity counts as not shown and every model-based list is a hypothesis.
    """
    settings = settings or PolicySettings()
    settings.validate()
    tick = progress or (lambda message: None)
    cohort, nuisances = core.cohort, core.nuisances
    outcome = core.outcomes[0]
    fitted = nuisances.outcomes[outcome]
    gamma = aipw_scores(cohort.outcome(outcome), cohort.treatment, nuisances.e_hat, fitted.mu0,
                        fitted.mu1, clip=core.options.clip)
    out = _Collected()
    tick("policies: segments")
    segments, segmentation = _segments(core, settings)
    cost = estimate_cost(core, settings)
    view = read_cate(cate, nuisances.folds)
    y = cohort.outcome(outcome)
    breakeven = _breakeven(cost, settings, outcome, out, float(np.mean(y)))
    _segment_sections(core, segments, segmentation, gamma, view, breakeven, out)
    regions = region_table(nuisances.e_hat, gamma, cohort.treatment,
                           view.cate if view else None, breakeven)
    out.sections["value_by_region"] = regions.to_dict(orient="records")
    out.tables["value_by_region"] = regions
    recommended = next((r for r in core.recommended if r.get("outcome") == outcome), None)
    gate = gate_section(evidence, recommended, breakeven)
    out.sections["targeting_gate"] = gate
    if gate["lists_are_hypotheses"] and view is not None:
        out.warnings.append("targeting lists are hypotheses: " + gate["recommendation"])
    if view is None:
        out.warnings.append("no usable CATE column (cate missing or not finite: no CATE "
                            "model was selected): the targeting policies were skipped")
        out.skipped.append({"step": "policies", "reason": "no CATE predictions"})
    elif cost is not None:
        _targeting(core, view, cost, gamma, segments, settings, tick, out, evidence)
    return PolicyStageResult(
        settings=settings, segments=segments, breakeven=out.sections.get("breakeven"),
        targets=out.targets, sections=out.sections, tables=out.tables,
        warnings=tuple(out.warnings), skipped=tuple(out.skipped),
        randomize_in_test=randomize_column(nuisances.e_hat),
        honest_targets=out.honest_targets, evaluated=out.evaluated)
