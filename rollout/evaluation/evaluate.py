"""Post-test analysis: from returned A/B data to an effect, a verdict on the old model, and a
new target list.

The order matters and is fixed: the sample-ratio check first (a failure marks every later number
as suspect), then the test's own estimand (the design's test statistic: the ATE, the policy's
profit difference or the responder contrast) with sequential inference at the look where the
test stopped whenever the design has more than one look, the ATE three ways beside it where the
design identifies it, profit, strata and segments, then, when the observational results are
given, the calibration of the old CATE and policy, and last the re-estimation on the
experimental data and the phase-3 list.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rollout import __version__
from rollout.common.display import DisplayMixin, plain
from rollout.common.figures import new_figure, save_png
from rollout.errors import InputError
from rollout.estimation.results_folder import ResultsFolder, target_column
from rollout.evaluation import calibration as cal
from rollout.evaluation.effects import (
    Effect,
    adjusted,
    difference_in_means,
    profit_per_customer,
    segment_effects,
    stratified,
)
from rollout.evaluation.interim import (
    interim_decision,
    max_information,
    read_looks,
    recorded_fractions,
    test_statistic,
)
from rollout.evaluation.reestimate import dr_learner
from rollout.evaluation.returned import ReturnedData
from rollout.evaluation.sequential_inference import ordering_floors, stagewise_inference
from rollout.evaluation.srm import SRMResult
from rollout.io import atomic_directory, read_text, write_json, write_parquet
from rollout.planning.design import Design
from rollout.planning.estimands import ESTIMAND_NAMES, TREAT_CONTROL, policy_randomization
from rollout.planning.score import ScoreChoice, apply_score
from rollout.policy.value import PolicyValue, policy_value, profit_scores

if TYPE_CHECKING:
    from matplotlib.figure import Figure

EVALUATION_SCHEMA = "rollout.evaluation/1"
#: Strata with fewer customers than this in an arm are left out of the effect-by-stratum figure.
MIN_PLOTTED_PER_ARM = 10
#: The columns of the effect-by-stratum table, also when the data carry no strata.
#: The figures an evaluation folder may hold, in the order they are drawn.
FIGURE_NAMES = ("effect_by_stratum.png", "calibration.png")
STRATA_COLUMNS = ("stratum", "n", "n_treatment", "n_control", "estimate", "se", "ci_low",
                  "ci_high")


@dataclass(frozen=True)
class EvaluationResult(DisplayMixin):
    """Everything ``evaluate`` found; :meth:`to_dict` is the ``summary.json`` written to disk.

    :meth:`summary` is the effect table (one row per method); :meth:`to_pandas` the same.
    """

    srm: SRMResult
    effects: list[Effect]
    profit: dict[str, Any] | None
    strata: pd.DataFrame
    segments: pd.DataFrame | None
    calibration: dict[str, Any] | None
    calibration_groups: pd.DataFrame | None
    reestimation: dict[str, Any]
    targets: pd.DataFrame
    outcome: str
    assignment_probability: float
    sequential: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    test: str = "ate"
    test_effect: Effect | None = None
    covariates: list[dict[str, Any]] = field(default_factory=list)
    #: A treat/control policy test's campaign effect (the ATE), reported beside its estimand.
    ate: Effect | None = None

    @property
    def headline(self) -> dict[str, Any]:
        """The test's estimand first: the estimate and interval to act on (stage-wise adjusted
        when the design has several looks), and whether it is significant."""
        effect = self.test_effect if self.test_effect is not None else self.effects[0]
        row = {"test": self.test, "estimand": effect.estimand, "method": effect.method,
               "estimate": effect.estimate, "se": effect.se, "ci_low": effect.ci_low,
               "ci_high": effect.ci_high, "p_value": effect.p_value,
               "inference": "fixed sample (single analysis)"}
        if self.sequential is not None:
            seq = self.sequential
            row |= {"estimate": seq["estimate"], "ci_low": seq["ci_low"],
                    "ci_high": seq["ci_high"], "p_value": seq["p_value_two_sided"],
                    "inference": f"{seq['method']}, median-unbiased, at look {seq['look']}"}
        row["significant"] = bool(row["ci_low"] > 0 or row["ci_high"] < 0)
        return row

    def to_dict(self) -> dict[str, Any]:
        """The evaluation's ``summary.json`` document, as plain values."""
        return plain({
            "schema": EVALUATION_SCHEMA,
            "created_by": f"rollout {__version__}",
            "test": self.test,
            "estimand": self.headline,
            "test_effect": None if self.test_effect is None else self.test_effect.to_dict(),
            **({} if self.ate is None else {"ate": self.ate.to_dict()}),
            "covariates": self.covariates,
            "outcome": self.outcome,
            "assignment_probability": self.assignment_probability,
            "srm": self.srm.to_dict() | {"message": self.srm.message()},
            "suspect": bool(self.srm.flag),
            "effect": [e.to_dict() for e in self.effects],
            "profit": self.profit,
            "strata": self.strata,
            "segments": self.segments,
            "calibration": self.calibration,
            "reestimation": self.reestimation,
            "sequential": self.sequential,
            "warnings": self.warnings,
        })

    def to_pandas(self) -> pd.DataFrame:
        """The effect of the campaign, one row per method."""
        return pd.DataFrame([e.to_dict() for e in self.effects])


def _assignment_probability(design: Design, data: ReturnedData) -> float:
    a_t = design.allocation[data.treatment_arm]
    a_c = design.allocation[data.control_arm]
    return float(a_t / (a_t + a_c))


def _strata_labels(design: Design, frame: pd.DataFrame) -> pd.Series | None:
    if "stratum" in frame.columns:
        return frame["stratum"].astype(str)
    present = [c for c in design.strata if c in frame.columns]
    if not present:
        return None
    return frame[present].astype(str).agg("|".join, axis=1)


def _effect_by_stratum(y: np.ndarray, t: np.ndarray, labels: pd.Series) -> pd.DataFrame:
    rows = []
    for label in sorted(labels.unique()):
        m = (labels == label).to_numpy()
        n1, n0 = int(t[m].sum()), int((1 - t[m]).sum())
        row = {"stratum": label, "n": int(m.sum()), "n_treatment": n1, "n_control": n0,
               "estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan}
        if n1 >= 2 and n0 >= 2:
            e = difference_in_means(y[m], t[m])
            row |= {"estimate": e.estimate, "se": e.se, "ci_low": e.ci_low, "ci_high": e.ci_high}
        rows.append(row)
    return pd.DataFrame(rows, columns=list(STRATA_COLUMNS))


def covariate_balance(data: ReturnedData) -> list[dict[str, Any]]:
    """The covariates of the adjusted estimate, each with its standardized mean difference
    across the arms (treatment minus control over the pooled SD) and where it came from."""
    rows = []
    t = data.t == 1
    for name in data.covariates:
        x = data.frame[name].to_numpy(dtype=float)
        pooled = np.sqrt((x[t].var(ddof=1) + x[~t].var(ddof=1)) / 2)
        smd = float((x[t].mean() - x[~t].mean()) / pooled) if pooled > 0 else 0.0
        rows.append({"covariate": name, "smd": smd, "source": data.covariate_source})
    return rows


def _old_results(results: str | Path, data: ReturnedData, score: ScoreChoice | None
                 ) -> pd.DataFrame:
    """The observational CATE (the design's scored model's, when it names one) and its
    breakeven list for the tested customers, as ``cate`` and ``target_breakeven``."""
    folder = ResultsFolder.at(results)
    path = folder.customers_path
    if not path.exists():
        raise InputError("results folder has no customers.parquet", file=path)
    old = apply_score(folder.customers(), score, path)
    if "cate" not in old.columns:
        raise InputError("no CATE column in the observational results", file=path, column="cate")
    if score is not None:
        old = old.assign(**{target_column("breakeven"): old[score.responder_column]})
    keep = [c for c in ("customer_id", "cate", target_column("breakeven"), "treatment")
            if c in old.columns]
    merged = data.frame[["customer_id"]].merge(old[keep], on="customer_id", how="left")
    if merged["cate"].isna().all():
        raise InputError("no tested customer has an observational CATE (ids do not match)",
                         file=path, column="customer_id")
    return merged


def _effects(design: Design, data: ReturnedData, warnings: list[str]
             ) -> tuple[list[Effect], pd.DataFrame]:
    """The outcome difference by difference in means, adjusted (with covariates) and
    post-stratified: the ATE for the ate and heterogeneity tests; under the policy test a
    difference between the policy arms, not the ATE."""
    y, t = data.y, data.t
    effects = [difference_in_means(y, t)]
    if data.covariates:
        effects.append(adjusted(y, t, data.X))
    else:
        warnings.append("no pre-period covariates: the adjusted estimate is skipped; pass "
                        "--covariates or --join the cohort to gain precision")
    labels = _strata_labels(design, data.frame)
    strata = pd.DataFrame(columns=list(STRATA_COLUMNS))
    if labels is not None:
        effects.append(stratified(y, t, labels.to_numpy()))
        strata = _effect_by_stratum(y, t, labels)
    elif design.strata:
        warnings.append(f"strata columns {list(design.strata)} are not in the data; the "
                        "stratified estimate is skipped (--join the assignment file to add them)")
    enrolment = design.details.get("enrolment") if isinstance(design.details, dict) else None
    if isinstance(enrolment, dict) and enrolment.get("weighted"):
        warnings.append("the design enrolled the customers labelled randomize_in_test at a "
                        "higher rate than the others: the outcome differences by method "
                        "estimate the tested mix; the test's own estimate weights the groups "
                        "back to the population")
    if design.test == "policy" and policy_randomization(design) != TREAT_CONTROL:
        effects = [replace(e, estimand="difference in mean outcome between the policy arms "
                                       "(not the ATE: both arms treat some customers)")
                   for e in effects]
    return effects, strata


def _profit(design: Design, primary: Effect, warnings: list[str]) -> dict[str, Any] | None:
    if design.cost is None or design.margin is None:
        warnings.append("the design has no cost and margin: profit and ROI are not computed")
        return None
    if design.test == "policy":  # the test's own estimand is already a profit per customer
        return {"profit_difference_per_customer": primary.estimate, "se": primary.se,
                "ci_low": primary.ci_low, "ci_high": primary.ci_high, "cost": design.cost,
                "margin": design.margin, "based_on": primary.method,
                "meaning": ESTIMAND_NAMES["policy"]}
    profit = profit_per_customer(primary, cost=design.cost, margin=design.margin)
    profit["based_on"] = primary.method
    return profit


def _test_effect_or_none(design: Design, data: ReturnedData,
                         warnings: list[str]) -> Effect | None:
    """The test's statistic; for a policy or heterogeneity test whose columns are not in the
    data, ``None`` and a warning (the outcome difference is still reported)."""
    try:
        return test_statistic(design, data, warnings)
    except InputError as exc:
        if design.test == "ate":
            raise
        warnings.append(f"the {design.test} test's estimand cannot be estimated from this "
                        f"file ({exc}); only the outcome difference between the arms is "
                        "reported, without sequential inference")
        return None


def _stopping_look(design: Design, test_effect: Effect, stopped_at_look: int | None,
                   looks_record: str | Path | None, warnings: list[str]) -> int:
    """The look the returned data belong to: given; else from the looks record (its last look
    when that look stopped the test, the next one when it said continue); else the first
    planned look whose information fraction the data have not passed."""
    if stopped_at_look is not None or len(design.looks) < 2:
        return stopped_at_look or len(design.looks)
    if looks_record is not None:
        recorded = read_looks(looks_record)
        if recorded:
            last = int(recorded[-1]["look"])
            stopped = recorded[-1].get("decision") != "continue"
            return min(last if stopped else last + 1, len(design.looks))
    fraction = 1.0 / test_effect.se**2 / max_information(design)
    planned = design.information_fractions
    look = next((k + 1 for k, f in enumerate(planned) if fraction <= f * 1.05), len(planned))
    warnings.append(f"the look was not given (--look) or recorded: the data reach information "
                    f"fraction {fraction:.2f}, read as look {look} of {len(planned)}")
    return look


def sequential_at_look(design: Design, data: ReturnedData, test_effect: Effect,
                stopped_at_look: int | None, previous_fractions: list[float] | None,
                srm_threshold: float, warnings: list[str]) -> dict[str, Any] | None:
    """Stage-wise inference at the look where the test stopped (the last one unless said),
    whenever the design has more than one look; ``None`` for a single analysis.

    The boundaries come from the spending plan at the information actually reached: earlier
    looks at ``previous_fractions`` (recorded by interim, or given), else at the plan (with a
    warning); a final look spends all the remaining alpha.
    """
    if len(design.looks) < 2:
        return None
    look = stopped_at_look or len(design.looks)
    if previous_fractions is None and look > 1:
        warnings.append(f"the information fractions of looks 1 to {look - 1} were not recorded "
                        "(interim --record) or given (--previous-fractions): the planned ones "
                        "are used for the boundaries")
    decision = interim_decision(design, data, look, previous_fractions=previous_fractions,
                                srm_threshold=srm_threshold, effect=test_effect)
    fractions = decision.fractions_used
    if decision.final:
        bounds = design.spending.final_boundaries(fractions, design.alpha, design.sided)
    else:
        bounds = design.spending.boundaries(fractions, design.alpha, design.sided)
    # the information at full fraction implied by the look: the planned maximum, or the
    # information reached when the look passed it (its fraction is capped at 1)
    full = decision.information / fractions[look - 1]
    floors = ordering_floors(bounds.harm_z, bounds.futility_z,
                             decision.decision == "stop_futility")
    inference = stagewise_inference(fractions, np.asarray(bounds.efficacy_z), floors, look,
                                    decision.z, full)
    if look < len(design.looks):
        warnings.append(f"the test stopped at look {look}: read the stage-wise adjusted "
                        "estimate and interval in 'sequential', not the fixed-sample "
                        "intervals, which over-state an early stop")
    return inference.to_dict() | {
        "decision_at_look": decision.decision,
        "efficacy_z": decision.efficacy_z, "harm_z": decision.harm_z,
        "information_fraction": decision.information_fraction,
        "sample_fraction": decision.sample_fraction,
        "fractions_used": fractions,
        "fractions_source": ("given or recorded" if previous_fractions is not None or look == 1
                             else "planned"),
        "estimand": test_effect.estimand}


def _calibration(design: Design, data: ReturnedData, results: str | Path, p: float,
                 n_groups: int, primary: Effect, warnings: list[str]
                 ) -> tuple[dict[str, Any], pd.DataFrame]:
    """The old model's CATE and policy checked on the randomized data."""
    ranking = ScoreChoice.of_details(design.details)
    old = _old_results(results, data, ranking)
    has = old["cate"].notna().to_numpy()
    if not has.all():
        warnings.append(f"{int((~has).sum())} tested customers have no observational CATE; "
                        "calibration uses the rest")
    score = old["cate"].to_numpy(dtype=float)[has]
    yh, th = data.y[has], data.t[has]
    groups = cal.calibration_by_group(score, yh, th, p, n_groups=n_groups)
    blp = cal.blp_test(score, yh, th, p,
                       baseline=data.X[has] if data.covariates else None)
    rate = cal.rate(score, cal.transformed_outcome(yh, th, p))
    value = None
    if ("target_breakeven" in old.columns and "treatment" in old.columns
            and design.cost is not None and design.margin is not None):
        value = cal.policy_value_difference(
            old["target_breakeven"].to_numpy(dtype=float)[has],
            old["treatment"].to_numpy(dtype=float)[has], yh, th, p,
            cost=design.cost, margin=design.margin)
    verdict = cal.calibration_verdict(blp, value, ate_ci_high=primary.ci_high)
    return ({"n": int(has.sum()), "score": _score_name(ranking),
             "blp": blp.to_dict(), "rate": rate.to_dict(),
             "policy_vs_current_practice": value, **verdict, "groups": groups}, groups)


def _score_name(score: ScoreChoice | None) -> str:
    """Which predicted CATE the calibration checked, in words."""
    if score is None:
        return "the deployed CATE (customers.parquet cate)"
    return f"{score.model} ({score.column}; {score.why})"


def _value_record(targets: np.ndarray, value: PolicyValue) -> dict[str, Any]:
    """A policy's value as the evaluation summary records it (``estimate``, ..., ``n``)."""
    return {"estimate": value.value, "se": value.se, "ci_low": value.ci_low,
            "ci_high": value.ci_high, "share_targeted": float(np.mean(targets)), "n": value.n}


def _reestimation(design: Design, data: ReturnedData, p: float,
                  customers: pd.DataFrame | None, seed: int
                  ) -> tuple[dict[str, Any], pd.DataFrame]:
    """The DR-learner on the test and the phase-3 target list it implies."""
    y, t = data.y, data.t
    fit = dr_learner(data.X if data.covariates else np.zeros((len(y), 1)), y, t, p,
                     covariates=data.covariates or ["__none__"], seed=seed)
    if design.cost is not None and design.margin is not None:
        threshold, rule = design.cost / design.margin, "CATE > breakeven (cost / margin)"
        cost, margin = design.cost, design.margin
    else:
        threshold, rule = 0.0, "CATE > 0 (no cost and margin in the design)"
        cost, margin = 0.0, 1.0
    chosen = fit.cate > threshold
    value_new = _value_record(chosen, policy_value(
        chosen, profit_scores(fit.dr_scores, margin=margin, cost=cost)))
    targets = pd.DataFrame({"customer_id": data.frame["customer_id"].to_numpy(),
                            "cate_new": fit.cate, "source": "test (cross-fitted)"})
    if customers is not None and data.covariates:
        outside = customers[~customers["customer_id"].isin(targets["customer_id"])]
        if len(outside):
            targets = pd.concat([targets, pd.DataFrame({
                "customer_id": outside["customer_id"].to_numpy(),
                "cate_new": fit.predict(outside), "source": "scored (model fitted on the test)"})],
                ignore_index=True)
    targets["target"] = (targets["cate_new"] > threshold).astype(int)
    targets = targets.sort_values("customer_id", kind="stable").reset_index(drop=True)
    return {
        "method": "DR-learner with known assignment probability, cross-fitted (5 folds)",
        "rule": rule, "threshold": threshold,
        "n_scored": len(targets), "n_targeted": int(targets["target"].sum()),
        "share_targeted": float(targets["target"].mean()),
        "value_on_test": value_new,
        "cate_mean": float(fit.cate.mean()), "cate_sd": float(fit.cate.std(ddof=1)),
    }, targets


def _check_options(design: Design, n_groups: int, srm_threshold: float,
                   stopped_at_look: int | None) -> None:
    if isinstance(n_groups, bool) or not isinstance(n_groups, int) or n_groups < 2:
        raise InputError(f"the calibration needs at least 2 groups, got {n_groups!r}",
                         argument="n_groups")
    if not 0 < srm_threshold < 1:
        raise InputError(f"the SRM threshold must be in (0, 1), got {srm_threshold:g}",
                         argument="srm_threshold")
    if stopped_at_look is not None and not 1 <= stopped_at_look <= len(design.looks):
        raise InputError(f"the design has {len(design.looks)} looks; the test cannot have "
                         f"stopped at look {stopped_at_look}", argument="stopped_at_look")


def evaluate(
    design: Design,
    data: ReturnedData,
    results: str | Path | None = None,
    customers: pd.DataFrame | None = None,
    n_groups: int = 5,
    seed: int = 0,
    srm_threshold: float = 0.001,
    stopped_at_look: int | None = None,
    previous_fractions: list[float] | None = None,
    looks_record: str | Path | None = None,
) -> EvaluationResult:
    """Analyse a returned test; see the module docstring for the order of the steps.

    ``customers`` (optional) are further customers, with the same covariates, to score with the
    re-estimated model for the phase-3 list; the tested customers are always scored (their CATE
    is cross-fitted, so the new policy's value on the test is honest). ``stopped_at_look``: the
    test stopped at this interim look, so the effect is also reported with stage-wise adjusted
    inference (the fixed-sample intervals over-state an early stop); without it a design with
    several looks is read as having run to its last look, which gets the same sequential
    inference. ``previous_fractions`` (or ``looks_record``, the file ``interim --record``
    writes) gives the information fractions the earlier looks actually reached.
    """
    _check_options(design, n_groups, srm_threshold, stopped_at_look)
    warnings: list[str] = list(data.notes)
    srm = data.srm(design, srm_threshold)
    if srm.flag:
        warnings.append(srm.message() + " Every number below is suspect.")
    p = _assignment_probability(design, data)
    effects, strata = _effects(design, data, warnings)
    test_effect = _test_effect_or_none(design, data, warnings)
    ate_primary = effects[1] if len(effects) > 1 else effects[0]
    primary = (test_effect if design.test == "policy" and test_effect is not None
               else ate_primary)
    profit = (None if design.test == "policy" and test_effect is None
              else _profit(design, primary, warnings))
    sequential = None
    if test_effect is not None:
        look = _stopping_look(design, test_effect, stopped_at_look, looks_record, warnings)
        if previous_fractions is None and looks_record is not None and look > 1:
            previous_fractions = recorded_fractions(looks_record, look)
            if previous_fractions is None:
                warnings.append(f"{looks_record} records fewer than the {look - 1} looks "
                                f"before look {look}")
        sequential = sequential_at_look(design, data, test_effect, look, previous_fractions,
                                        srm_threshold, warnings)
    segments = None
    if "segment" in data.frame.columns:
        segments = segment_effects(data.y, data.t, data.frame["segment"].to_numpy())
    calibration = groups = None
    if results is not None and design.test == "policy" \
            and policy_randomization(design) != TREAT_CONTROL:
        warnings.append("the calibration of the CATE is skipped under the policy test: its arms "
                        "are two policies, not treatment and control (a heterogeneity or ate "
                        "test randomizes treatment across the ranking)")
    elif results is not None:
        calibration, groups = _calibration(design, data, results, p, n_groups, primary,
                                           warnings)
    reestimation, targets = _reestimation(design, data, p, customers, seed)
    return EvaluationResult(srm=srm, effects=effects, profit=profit, strata=strata,
                            segments=segments, calibration=calibration,
                            calibration_groups=groups, reestimation=reestimation,
                            targets=targets, outcome=data.outcome, assignment_probability=p,
                            sequential=sequential, warnings=warnings, test=design.test,
                            test_effect=test_effect, covariates=covariate_balance(data),
                            ate=(ate_primary if policy_randomization(design) == TREAT_CONTROL
                                 else None))


def stratum_figure(result: EvaluationResult) -> Figure | None:
    """The effect in each stratum with its interval (None when no stratum is big enough).

    Strata too small to say anything would stretch the axis for everyone; the table keeps them.
    """
    strata = result.strata.dropna(subset=["estimate"])
    strata = strata[(strata["n_treatment"] >= MIN_PLOTTED_PER_ARM)
                    & (strata["n_control"] >= MIN_PLOTTED_PER_ARM)]
    if not len(strata):
        return None
    fig = new_figure(11, 0.4 * len(strata) + 1.8)
    ax = fig.subplots()
    pos = np.arange(len(strata))
    ax.errorbar(strata["estimate"], pos,
                xerr=[strata["estimate"] - strata["ci_low"],
                      strata["ci_high"] - strata["estimate"]], fmt="o", capsize=3)
    ax.axvline(0, color="grey", lw=1)
    # a merged stratum's label names all of its strata: shortened, the table keeps it whole
    ax.set_yticks(pos, [s if len(s) <= 60 else s[:57] + "..." for s in strata["stratum"]])
    ax.set_xlabel(f"effect on {result.outcome} (95% CI)")
    ax.set_title(f"Effect by stratum (strata with at least {MIN_PLOTTED_PER_ARM} customers "
                 "per arm)")
    return fig


def calibration_figure(result: EvaluationResult) -> Figure | None:
    """Experimental effect against the predicted CATE by group (None without calibration)."""
    g = result.calibration_groups
    if g is None:
        return None
    fig = new_figure(6, 4)
    ax = fig.subplots()
    ax.errorbar(g["mean_predicted"], g["estimate"],
                yerr=[g["estimate"] - g["ci_low"], g["ci_high"] - g["estimate"]],
                fmt="o", capsize=3, label="experimental effect")
    lo = float(min(g["mean_predicted"].min(), g["ci_low"].min()))
    hi = float(max(g["mean_predicted"].max(), g["ci_high"].max()))
    ax.plot([lo, hi], [lo, hi], ls="--", color="grey", label="perfect calibration")
    ax.set_xlabel("predicted CATE (observational model), group mean")
    ax.set_ylabel("experimental effect (95% CI)")
    ax.set_title("Calibration of the observational CATE")
    ax.legend()
    return fig


#: The evaluation's figures: file name -> maker (a maker returns None when it has nothing).
FIGURE_MAKERS = {FIGURE_NAMES[0]: stratum_figure, FIGURE_NAMES[1]: calibration_figure}


def _figures(result: EvaluationResult, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, make in FIGURE_MAKERS.items():
        fig = make(result)
        if fig is not None:
            save_png(fig, folder / name, dpi=100)


def write_evaluation(result: EvaluationResult, folder: str | Path,
                     figures: bool = True,
                     finish: Callable[[Path], None] | None = None) -> Path:
    """Write ``summary.json``, the tables as parquet and the figures, atomically.

    ``finish``, when given, is called with the assembled folder before it is renamed into
    place (a report written into it lands with the rest, or not at all).
    """
    with atomic_directory(folder) as tmp:
        write_json(tmp / "summary.json", result.to_dict())
        tables = tmp / "tables"
        tables.mkdir()
        write_parquet(tables / "effects.parquet", result.to_pandas())
        write_parquet(tables / "strata.parquet", result.strata)
        if result.segments is not None:
            write_parquet(tables / "segments.parquet", result.segments)
        if result.calibration_groups is not None:
            write_parquet(tables / "calibration_groups.parquet", result.calibration_groups)
        write_parquet(tmp / "targets.parquet", result.targets)
        if figures:
            _figures(result, tmp / "figures")
        if finish is not None:
            finish(tmp)
    return Path(folder)


@dataclass(frozen=True)
class EvaluationFolder(DisplayMixin):
    """An evaluation folder as :func:`write_evaluation` wrote it, read back by its one owner.

    ``document`` is ``summary.json``; the accessors give its parts typed, ``figures`` the PNG
    files as written. :meth:`summary` is the effect table.
    """

    path: Path
    document: dict[str, Any]
    figures: tuple[Path, ...]

    @property
    def summary_path(self) -> Path:
        """The folder's ``summary.json`` (for a checksum of what was read)."""
        return self.path / "summary.json"

    @property
    def effects(self) -> pd.DataFrame:
        """The effect of the campaign, one row per method."""
        return pd.DataFrame(self.document["effect"])

    def effect(self, method: str) -> dict[str, Any] | None:
        """The estimate by one method (``difference_in_means``, ``adjusted``, ``stratified``)."""
        return next((e for e in self.document["effect"] if e["method"] == method), None)

    @property
    def test_estimand(self) -> dict[str, Any] | None:
        """The test's own estimand as reported first (estimate, interval, ``significant``,
        the inference used), or None for an evaluation written without one."""
        record = self.document.get("estimand")
        return record if isinstance(record, dict) and "estimate" in record else None

    @property
    def srm(self) -> dict[str, Any]:
        return self.document["srm"]

    @property
    def calibration(self) -> dict[str, Any] | None:
        return self.document.get("calibration")

    @property
    def reestimation(self) -> dict[str, Any]:
        return self.document["reestimation"]

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(self.document.get("warnings") or ())

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "document": self.document,
                "figures": [str(p) for p in self.figures]}

    def to_pandas(self) -> pd.DataFrame:
        return self.effects


def read_evaluation(folder: str | Path) -> EvaluationFolder:
    """Read an evaluation folder (``summary.json`` and the figure list); raises on a bad one."""
    folder = Path(folder)
    path = folder / "summary.json"
    if not path.is_file():
        raise InputError("not an evaluation folder: no summary.json", file=folder)
    try:
        document = json.loads(read_text(path))  # UTF-8, or a located refusal
    except json.JSONDecodeError as exc:
        raise InputError(f"not a readable JSON document: {exc}", file=path) from exc
    if not isinstance(document, dict) or document.get("schema") != EVALUATION_SCHEMA:
        raise InputError(f"expected schema {EVALUATION_SCHEMA!r}", file=path)
    for key in ("effect", "srm", "reestimation"):
        if key not in document:
            raise InputError(f"missing {key!r}", file=path)
    figures = tuple(folder / "figures" / name for name in FIGURE_NAMES
                    if (folder / "figures" / name).is_file())
    return EvaluationFolder(path=folder, document=document, figures=figures)
