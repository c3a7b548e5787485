"""`rollout analyze`: positivity, average effects by six methods, trimming, bounds, verdict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from rollout import console
from rollout.cli.app import cli, force_option, handles_input_errors, json_option, seed_option
from rollout.errors import InputError

if TYPE_CHECKING:
    from rollout.analysis import AnalysisResult
    from rollout.estimation.results_folder import ResultsFolder
    from rollout.policy.stage import PolicyStageResult


def _names(values: Sequence[str]) -> list[str] | None:
    """Names given as repeated options and/or comma-separated lists."""
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    return names or None


def parse_outcome_bounds(values: Sequence[str], outcomes: Sequence[str]) -> dict[str, tuple]:
    """``LOW,HIGH`` (every outcome) or ``NAME=LOW,HIGH`` (one outcome), possibly repeated.

    >>> sorted(parse_outcome_bounds(["0,500", "visits=0,40"], ["spend", "visits"]).items())
    [('spend', (0.0, 500.0)), ('visits', (0.0, 40.0))]
    """
    bounds: dict[str, tuple[float, float]] = {}
    general: tuple[float, float] | None = None
    for value in values:
        name, _, pair = value.rpartition("=")
        parts = pair.split(",")
        try:
            low, high = (float(p) for p in parts)
        except ValueError:
            raise InputError(f"--outcome-bounds expects LOW,HIGH or NAME=LOW,HIGH, got {value!r}",
                             column=name or None) from None
        if name:
            bounds[name] = (low, high)
        else:
            general = (low, high)
    if general is not None:
        for outcome in outcomes:
            bounds.setdefault(outcome, general)
    return bounds


@cli.command()
@click.argument("cohort_path", metavar="COHORT", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "output", required=True, type=click.Path(file_okay=False),
              help="Results folder to write; a previous results folder is replaced "
                   "atomically, any other existing folder needs --force.")
@click.option("--outcome", "outcome", multiple=True,
              help="Outcome column(s); repeat or separate by commas. Default: the cohort's.")
@click.option("--covariates", "covariates", multiple=True,
              help="Covariate columns; repeat or separate by commas. Default: the cohort's, or "
                   "every other numeric column.")
@seed_option
@click.option("--folds", type=int, default=5, show_default=True,
              help="Cross-fitting folds (each arm needs at least 2 x folds customers).")
@click.option("--clip", type=float, default=0.01, show_default=True,
              help="Propensity clipping for ipw/aipw: scores kept in [clip, 1-clip].")
@click.option("--outcome-bounds", "outcome_bounds", multiple=True, metavar="[NAME=]LOW,HIGH",
              help="Declared outcome range for the Manski bounds (default: the 1st and 99th "
                   "percentiles of the outcome).")
@click.option("--models", "models", multiple=True, metavar="NAMES",
              help="CATE models to fit; repeat or separate by commas (default: all eight: "
                   "average_effect, s_learner, t_learner, x_learner, linear_dml, "
                   "causal_forest_dml, nonparam_dml, dr_learner; the R-stack of the "
                   "heterogeneous ones is added when two or more pass).")
@click.option("--model", "model", default=None, metavar="NAME",
              help="Use this CATE model (or 'stacked') instead of the one the rule selects.")
@click.option("--validate", "validate", default="selected", show_default=True,
              metavar="selected|all|none",
              help="Which CATE models get the placebo and subset-stability refits.")
@click.option("--tune", "tune", type=int, default=0, show_default=True, metavar="N",
              help="Tune each CATE model's hyperparameters with N Optuna trials by the R-loss "
                   "(needs the 'tune' extra); 0 never tunes.")
@click.option("--cost", "cost", type=float, default=None,
              help="Campaign cost per targeted customer (default: estimated from the cohort's "
                   "discount columns by --cost-method; profit parts are skipped without one).")
@click.option("--cost-method", "cost_method", default="campaign_coupons", show_default=True,
              metavar="campaign_coupons|effect_on_discounts",
              help="How to estimate the cost without --cost: the mean discount on the campaign's "
                   "own coupons among treated, or the AIPW effect of the campaign on coupon "
                   "discounts received.")
@click.option("--contact-cost", "contact_cost", type=float, default=None,
              help="Cost of contacting one household (print, postage, delivery), added to the "
                   "offer cost estimated from the cohort. Default: an assumed 0.75 per household "
                   "(a printed mailer with postage), stated as an assumption in the results.")
@click.option("--margin", "margin", type=float, default=0.30, show_default=True,
              help="Gross margin on incremental sales, in (0, 1]; breakeven CATE = cost / margin.")
@click.option("--segments", "segments", type=int, default=None, metavar="K",
              help="Number of behavioural segments when the cohort has no segment column "
                   "(default: chosen by silhouette among 3 to 6).")
@click.option("--no-report", "no_report", is_flag=True,
              help="Do not write OUTPUT/report.html and report.md.")
@force_option
@json_option
@handles_input_errors
def analyze(cohort_path: str, output: str, outcome: tuple[str, ...],
            covariates: tuple[str, ...], seed: int, folds: int, clip: float,
            outcome_bounds: tuple[str, ...], models: tuple[str, ...], model: str | None,
            validate: str, tune: int, cost: float | None, cost_method: str,
            contact_cost: float | None, margin: float, segments: int | None, no_report: bool,
            force: bool, as_json: bool) -> None:
    """Estimation core: positivity, average effects by six methods, trimming, bounds, verdict,
    heterogeneous effects (eight CATE models and their R-stack, validated on held-out customers,
    one selected by the R-loss and the honest policy value), then breakeven, targeting policies
    and segments.

    Reads COHORT (parquet or CSV: customer_id, treatment 0/1, outcomes, numeric covariates) and
    writes OUTPUT/summary.json, OUTPUT/customers.parquet, OUTPUT/tables/*.parquet,
    OUTPUT/figures/*.png and OUTPUT/model.joblib (the selected CATE model; its SHA-256 is in
    summary.json and the loader refuses a file that does not match), and OUTPUT/report.html
    with its Markdown twin OUTPUT/report.md.
    """
    from rollout.io import check_output_folder

    check_output_folder(output, "analyze", inputs=[cohort_path], force=force)
    # imported here so that `rollout --help` does not pay for loading the model libraries
    from rollout.analysis import STAGES, with_progress, write_results
    from rollout.analysis import analyze as run_analysis
    from rollout.data.contract import load_cohort
    from rollout.estimation.cate.learners import LEARNERS
    from rollout.estimation.cate.stage import CateOptions
    from rollout.estimation.cate.tuning import require_optuna
    from rollout.policy.segments import validate_segment_column
    from rollout.policy.stage import PolicySettings

    cate_options = CateOptions(models=tuple(_names(models) or LEARNERS), model=model,
                               validate=validate, tune=tune)
    if tune:
        require_optuna()
    policy_settings = PolicySettings(cost=cost, cost_method=cost_method, margin=margin,
                                     segments=segments, contact_cost=contact_cost)
    policy_settings.validate()
    cohort = load_cohort(cohort_path, outcomes=_names(outcome), covariates=_names(covariates))
    if cohort.roles.segment:
        validate_segment_column(cohort.frame, cohort.roles.segment, cohort.source)
    bounds = parse_outcome_bounds(outcome_bounds, cohort.roles.outcomes)
    n_ticks = 4 + len(cohort.roles.outcomes) + len(STAGES)
    with console.progress() as bar:
        task = bar.add_task("analyze", total=n_ticks)

        def tick(message: str) -> None:
            bar.update(task, advance=1, description=message)

        def cate_tick(message: str) -> None:
            bar.update(task, description=message)

        result = run_analysis(cohort, seed=seed, folds=folds, clip=clip, outcome_bounds=bounds,
                              cate=with_progress(cate_options, cate_tick),
                              policy=policy_settings, progress=tick)
        bar.update(task, description="writing results")
        written = write_results(result, output, finish=None if no_report else _write_report)
    for message in result.warnings:
        console.warn(message)
    if as_json:
        console.emit_json(written.document)
        return
    _render(result)
    console.stdout.print(f"results written to {output}")


def _write_report(folder: ResultsFolder) -> None:
    """The analysis' own report, written into the results folder before it lands."""
    from rollout.report.build import REPORT_NAME, report_for, write_report

    write_report(report_for(results=folder, command="rollout analyze"), folder.path / REPORT_NAME)


def _render(result: AnalysisResult) -> None:
    console.show_table(result.positivity.summary(), title="Positivity")
    worst, smd = result.balance.worst("smd_unweighted")
    console.stdout.print(
        f"balanced covariates (|SMD| < 0.1): {result.balance.n_balanced_before}/"
        f"{result.balance.n_covariates} before, {result.balance.n_balanced_after}/"
        f"{result.balance.n_covariates} after IPW weighting; worst before: {worst} ({smd:.2f})")
    console.show_table(result.effects_table(), title="Average effects (95% intervals)",
                       columns=["outcome", "method", "estimand", "estimate", "se", "ci_low",
                                "ci_high", "n"])
    console.show_table(result.trimming.summary(),
                       title="Trimming sensitivity (AIPW; each row a different population)")
    console.show_table([b.to_dict() for b in result.bounds], title="Manski bounds (no assumptions)",
                       columns=["outcome", "lower", "upper", "ci_low", "ci_high",
                                "straddles_zero", "bounds_source"])
    console.show_table([e.to_dict() for e in result.evalues], title="E-values",
                       columns=["outcome", "method", "estimate", "d", "rr", "evalue_estimate",
                                "evalue_ci"])
    console.show_table(result.assumptions.table, title="Assumptions",
                       columns=["assumption", "status", "evidence"])
    console.stdout.print(f"verdict: {result.verdict} ({result.assumptions.rule})")
    if result.policy is not None:
        _render_policy(result.policy)
    if result.cate is not None:
        from rollout.estimation.cate.report import render_cate

        render_cate(result.cate.sections)


def _render_policy(policy: PolicyStageResult) -> None:
    """Breakeven, policies (predicted beside honest) and segments, when the stage produced them."""
    be = policy.breakeven
    if be is not None:
        console.stdout.print(f"breakeven CATE {be['breakeven_cate']:.4g} = cost {be['cost']:.4g} "
                             f"/ margin {be['margin']:g} (cost: {be['cost_method']})")
        for part in be.get("cost_parts") or []:
            interval = (f" [{part['ci_low']:.4g}, {part['ci_high']:.4g}]"
                        if part.get("ci_low") is not None else "")
            console.stdout.print(f"  cost part {part['part']}: {part['cost']:.4g}{interval}: "
                                 f"{part['how']}")
    gate = policy.sections.get("targeting_gate")
    if gate is not None:
        console.stdout.print(f"targeting gate: {gate['status']}: {gate['recommendation']}")
    ident = policy.sections.get("policy_identification")
    if ident is not None:
        console.stdout.print(f"policy values on the identified population: "
                             f"{ident['identified_share']:.1%} of customers (propensity in "
                             f"[{ident['window'][0]:g}, {ident['window'][1]:g}], trimmed), "
                             f"{ident['n_evaluated']} held-out customers scored")
    if "policies" in policy.tables:
        console.show_table(policy.tables["policies"], title="Policies: model-predicted profit "
                           "beside the honest held-out value (per customer, 95% CI)",
                           columns=["policy", "n_targeted", "share_targeted",
                                    "predicted_profit", "predicted_roi", "value", "value_ci_low",
                                    "value_ci_high", "trivial", "hypothesis"])
    if "segments" in policy.tables:
        console.show_table(policy.tables["segments"], title="Segments (doubly robust mean CATE)",
                           columns=["segment", "n", "current_targeting_rate", "mean_cate",
                                    "ci_low", "ci_high", "action"])
