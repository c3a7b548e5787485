"""The sections of a report that come from an A/B design and from an evaluated test.

The design is the typed :class:`rollout.planning.design.Design` (read once by ``load_design``);
the evaluation is :class:`rollout.evaluation.evaluate.EvaluationFolder` (read by
``read_evaluation``). Nothing here opens their files itself.
"""

from __future__ import annotations

import pandas as pd

from rollout.common.figures import png_bytes
from rollout.evaluation.evaluate import EvaluationFolder
from rollout.planning.design import Design
from rollout.planning.figures import boundaries_figure, power_curve_figure
from rollout.report.format import estimate, interval, number, share
from rollout.report.html import Report

DESIGN = "rollout design results -o design.json --looks 3"
EVALUATE = "rollout evaluate design.json returns.parquet --results results -o evaluation"

EFFECT_COLUMNS = ["method", "estimand", "estimate", "se", "ci_low", "ci_high", "p_value", "n"]


def arms_text(n_per_arm: dict[str, int]) -> str:
    """``{'treatment': 362, 'control': 362}`` as a reader says it: "362 treatment, 362 control".

    >>> arms_text({"treatment": 362, "control": 362})
    '362 treatment, 362 control'
    """
    return ", ".join(f"{number(int(n))} {arm}" for arm, n in n_per_arm.items())


def design_section(report: Report, design: Design | None) -> None:
    sec = report.section("The A/B design")
    if design is None:
        sec.not_run("the A/B design", DESIGN)
        return
    looks = len(design.looks)
    sec.text(f"Test: {design.test} on {design.outcome or 'the outcome'}. At most "
             f"{arms_text(design.n_per_arm)} customers ({number(design.n_total)} in all), "
             f"{looks} look{'s' if looks > 1 else ''}; it detects an effect of "
             f"{number(design.mde)} with power {share(design.power, 0)} at alpha "
             f"{number(design.alpha)} ({design.sided}-sided).")
    sec.caveat(f"Where the MDE comes from: {design.mde_source}.")
    details = design.details if isinstance(design.details, dict) else {}
    score = details.get("score") or {}
    if score.get("model"):
        sec.text(f"Ranking tested: {score['model']} ({score.get('column')}), not the deployed "
                 f"CATE: {score.get('why')}. Predicted responders: {score['model']}'s CATE above "
                 f"{number(score.get('threshold'))} ({score.get('threshold_source')}).")
    comparison = ((details.get("estimand") or {}).get("quantities") or {}).get(
        "randomization_comparison") or {}
    if design.test == "policy" and comparison.get("reason"):
        sec.text(f"Randomization: {design.policy_randomization or comparison.get('chosen')}; "
                 f"{comparison['reason']}.")
    if design.r2:
        sec.text(f"Adjusting for pre-period covariates (R² {number(design.r2)}) cuts the sample "
                 f"needed from {arms_text(design.n_per_arm_unadjusted)} per arm.")
    sec.figure_bytes("power_curve.png", png_bytes(power_curve_figure(design), dpi=110),
                     alt="Customers per arm against the minimum detectable effect",
                     caption="Customers per arm for each detectable effect; the line marks the "
                             "design's MDE.")
    if looks > 1:
        sec.table(pd.DataFrame([{"look": lk.look, "information_fraction": lk.information_fraction,
                                 "efficacy_z": lk.efficacy_z, "futility_z": lk.futility_z,
                                 "harm_z": lk.harm_z, "alpha_spent": lk.alpha_spent}
                                for lk in design.looks]),
                  caption=f"Boundaries by look ({design.spending.efficacy} spending): stop for "
                          "efficacy above the efficacy bound, for harm below the harm bound.")
        sec.figure_bytes("boundaries.png", png_bytes(boundaries_figure(design), dpi=110),
                         alt="Stopping boundaries by information fraction",
                         caption="Stopping boundaries (z) by information fraction.")
    if design.strata_sizes:
        sec.table(pd.DataFrame([{**s.values, "n": s.customers, "share": s.share,
                                 "too_small": s.too_small} for s in design.strata_sizes]),
                  caption="Strata: customers and share of the test in each.", max_rows=30)
    if design.phases:
        sec.table(pd.DataFrame([{"phase": p.phase, "name": p.name, "n": p.n,
                                 "rule": p.rule or p.record.get("description", "")}
                                for p in design.phases]),
                  caption="Phases of the rollout.")


def evaluation_section(report: Report, evaluation: EvaluationFolder | None) -> None:
    sec = report.section("The evaluated test")
    if evaluation is None:
        sec.not_run("the evaluation of returned A/B data", EVALUATE)
        return
    estimand = evaluation.test_estimand
    if estimand:
        sec.text(f"The {estimand.get('test')} test's estimand ({estimand.get('estimand')}): "
                 f"{estimate(estimand['estimate'], estimand.get('se'))} "
                 f"{interval(estimand['ci_low'], estimand['ci_high'], estimand.get('se'))}, "
                 f"{'significant' if estimand.get('significant') else 'not significant'} "
                 f"({estimand.get('inference')}).")
    adjusted = evaluation.effect("adjusted") or evaluation.effect("difference_in_means")
    if adjusted:
        sec.text(f"Effect of the campaign in the test ({adjusted.get('estimand')}): "
                 f"{estimate(adjusted['estimate'], adjusted['se'])} "
                 f"{interval(adjusted['ci_low'], adjusted['ci_high'], adjusted['se'])} per "
                 f"customer ({adjusted['method']}).")
    srm = evaluation.srm
    (sec.warning if srm.get("flag") else sec.text)(f"Sample ratio: {srm.get('message')}.")
    sec.table(evaluation.effects[[c for c in EFFECT_COLUMNS if c in evaluation.effects]],
              caption="The effect by method ($ per customer).")
    calibration = evaluation.calibration
    if calibration:
        blp = calibration.get("blp") or {}
        ranking = calibration.get("score")
        of = (f" ({ranking})" if ranking and not str(ranking).startswith("the deployed")
              else "")
        if blp.get("slope") is None:
            sec.text(f"Calibration of the observational CATE{of} on randomized data: verdict "
                     f"{calibration.get('verdict')}: {calibration.get('reason')}.")
        else:
            sec.text(f"Calibration of the observational CATE{of} on randomized data: verdict "
                     f"{calibration.get('verdict')}; BLP slope "
                     f"{estimate(blp['slope'], blp.get('slope_se'))} (1 = the predicted "
                     "differences are right, 0 = no signal).")
    else:
        sec.not_run("calibration of the observational CATE", EVALUATE)
    profit = evaluation.document.get("profit") or {}
    if profit.get("profit") is not None:
        sec.text(f"Profit of the campaign per tested customer: "
                 f"{estimate(profit['profit'], profit.get('se'))} "
                 f"{interval(profit['ci_low'], profit['ci_high'], profit.get('se'))} at cost "
                 f"{number(profit.get('cost'))} and margin {number(profit.get('margin'))}.")
    new = evaluation.reestimation
    if new.get("n_targeted") is not None:
        sec.text(f"The new target list, re-estimated on the test ({new.get('method')}): "
                 f"{number(new.get('n_targeted'))} customers ({share(new.get('share_targeted'))}) "
                 f"by the rule {new.get('rule')}.")
    for path in evaluation.figures:
        sec.figure(path, caption=path.stem.replace("_", " "), alt=path.stem.replace("_", " "))
    for warning in evaluation.document.get("warnings") or []:
        sec.caveat(str(warning))
