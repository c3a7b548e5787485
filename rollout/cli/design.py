"""`rollout design`: A/B design: n per arm, MDE, power, strata, looks and boundaries, phases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from rollout import console
from rollout.cli.app import cli, handles_input_errors, json_option, seed_option
from rollout.errors import InputError


def _floats(text: str | None, option: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(f"{text!r} is not a comma-separated list of numbers",
                         option=option) from None


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_fmt(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "—"
    return str(value)


def _write_report(planned: Any, results: Path | None, output: Path) -> None:
    """The design's report beside design.json (with the analysis it came from, if any)."""
    from rollout.estimation.results_folder import ResultsFolder
    from rollout.report.build import report_for, write_report

    folder = ResultsFolder.open(results) if results is not None else None
    write_report(report_for(results=folder, design=planned, command="rollout design"),
                 output.with_name(f"{output.stem}.report.html"))


def _render(design: Any) -> None:
    d = design.details
    rows = [
        ("test", design.test),
        ("outcome", design.outcome),
        ("arms / allocation", _fmt(design.allocation)),
        ("n per arm", _fmt(design.n_per_arm)),
        ("n total", design.n_total),
        ("n per arm without variance reduction", _fmt(design.n_per_arm_unadjusted)),
        ("R² (ANCOVA)", _fmt(design.r2)),
        ("MDE", f"{_fmt(design.mde)}  ({design.mde_source})"),
        ("SD", f"{_fmt(design.sd)}  ({d.get('sd_source')})"),
        ("power / alpha / sides", f"{design.power:.3f} / {design.alpha:g} / {design.sided}"),
        ("test statistic", f"{d.get('distribution')}"
                           + (f", {d['multiplicity']}" if d.get("multiplicity") else "")),
        ("looks / max inflation", f"{len(design.looks)} / {design.max_inflation:.4f}"),
        ("strata", _fmt(design.strata)),
        ("cost / margin", f"{_fmt(design.cost)} / {_fmt(design.margin)}"),
    ]
    console.show_table([{"": k, "value": str(v)} for k, v in rows], title="A/B design")
    estimand = d.get("estimand") or {}
    if estimand:
        console.stdout.print(f"randomization: {estimand.get('randomization')}")
        console.stdout.print(f"variance: {estimand.get('variance')}")
        comparison = (estimand.get("quantities") or {}).get("randomization_comparison")
        if design.policy_randomization and comparison:
            console.stdout.print(f"why {design.policy_randomization}: {comparison['reason']}")
    if d.get("cate_validation"):
        console.stdout.print(f"what it validates: {d['cate_validation']}")
    console.show_table(
        [{"look": look.look, "fraction": look.information_fraction,
          "n per arm": _fmt(look.n_per_arm), "efficacy z": look.efficacy_z,
          "futility z": look.futility_z, "harm z": look.harm_z,
          "alpha spent": look.alpha_spent, "efficacy effect": look.efficacy_effect}
         for look in design.looks], title="Looks")
    if design.strata_sizes:
        shown = sorted(design.strata_sizes, key=lambda r: -r.expected_n)[:20]
        console.show_table(
            [{**r.values, "customers": r.customers,
              "expected n": r.expected_n, "too small": r.too_small} for r in shown],
            title=f"Strata (largest {len(shown)} of {len(design.strata_sizes)})")
    if d.get("per_segment"):
        console.show_table(
            [{"segment": r["segment"], "customers": r["customers"], "sd": r["sd"],
              "n total": r["n_total"], "feasible": r["feasible"]} for r in d["per_segment"]],
            title="Per-segment tests")
    console.show_table(
        [{"phase": p.phase, "name": p.name, "select": _fmt(p.select_column),
          "n": _fmt(p.n),
          "profit": _fmt(p.record.get("predicted_profit", p.record.get("expected_profit"))),
          "note": p.rule or p.record.get("description") or ""} for p in design.phases],
        title="Staged rollout")


@cli.command()
@click.argument("results", required=False, type=click.Path(path_type=Path))
@click.option("--test", "test", type=click.Choice(["ate", "policy", "heterogeneity"]),
              default="ate", show_default=True,
              help="ate: the campaign's effect; policy: CATE policy vs current practice "
                   "(profit per customer); heterogeneity: effect in predicted responders "
                   "minus non-responders.")
@click.option("--outcome", default=None, help="Outcome column (default: the first analysed).")
@click.option("--outcome-type", type=click.Choice(["continuous", "binary"]), default=None,
              help="Default: binary when the outcome is 0/1 or only --baseline is given.")
@click.option("--sd", type=float, default=None, help="Outcome SD (default: from the cohort).")
@click.option("--baseline", type=float, default=None,
              help="Control rate of a binary outcome (default: from the cohort).")
@click.option("--mde", type=float, default=None, help="Minimum detectable effect.")
@click.option("--mde-from", type=click.Choice(["breakeven", "overlap", "predicted"]),
              default=None,
              help="breakeven: cost/margin; overlap: the observational estimate in the overlap "
                   "region; predicted: the model-predicted policy difference or CATE contrast.")
@click.option("--n", "n", type=float, default=None,
              help="Customers per arm (control arm under unequal allocation); give two of "
                   "--n, --mde, --power and the third is solved for.")
@click.option("--power", type=float, default=None, help="Power (default 0.8).")
@click.option("--alpha", type=float, default=0.05, show_default=True)
@click.option("--sided", type=click.IntRange(1, 2), default=2, show_default=True)
@click.option("--allocation", default=None,
              help="Share of each treatment arm (e.g. 0.5) or 'treatment=0.7,control=0.3'.")
@click.option("--arms", type=click.IntRange(min=1), default=1, show_default=True,
              help="Number of treatment arms, each compared with one control.")
@click.option("--multiplicity", type=click.Choice(["dunnett", "bonferroni"]),
              default="dunnett", show_default=True)
@click.option("--distribution", type=click.Choice(["t", "z"]), default="t", show_default=True)
@click.option("--r2", type=float, default=None,
              help="R² of the outcome on pre-period covariates (default: cross-validated on "
                   "the cohort).")
@click.option("--no-variance-reduction", is_flag=True, help="Size without ANCOVA.")
@click.option("--covariates", default=None, help="Comma-separated covariates for the R².")
@click.option("--cost", type=float, default=None, help="Campaign cost per targeted customer.")
@click.option("--margin", type=float, default=None, help="Profit margin on the outcome.")
@click.option("--strata", default=None,
              help="Comma-separated stratum columns (default with RESULTS: segment,ps_region).")
@click.option("--per-segment", is_flag=True, help="Also size a separate test per segment.")
@click.option("--looks", type=click.IntRange(1, 50), default=1, show_default=True,
              help="Analyses, the last at full information (1: a fixed design).")
@click.option("--information-fractions", default=None,
              help="Comma-separated, increasing, ending at 1 (default: equal spacing).")
@click.option("--spending", type=click.Choice(["obf", "pocock"]), default="obf",
              show_default=True)
@click.option("--futility", type=click.Choice(["beta", "none"]), default="beta",
              show_default=True, help="Non-binding beta-spending futility boundary.")
@click.option("--population", default="all", show_default=True,
              help="all, overlap, or a policy name: whom the ate test enrols.")
@click.option("--policy", default=None,
              help="Policy (target_<name> column) for the policy and heterogeneity tests "
                   "(default: breakeven).")
@click.option("--current", default=None,
              help="Column of the results' customers holding current practice (the retailer's "
                   "planned list, 0/1) for the policy test (default: the historical treatment "
                   "flag).")
@click.option("--policy-randomization", "policy_randomization",
              type=click.Choice(["auto", "policy_vs_policy", "treat_control"]), default="auto",
              show_default=True,
              help="How the policy test randomizes: between the two rules (policy_vs_policy), "
                   "or the campaign against none across the whole ranking, stratified by "
                   "propensity region x predicted-CATE decile (treat_control, Imai & Li 2021); "
                   "auto: the one with the smaller variance.")
@click.option("--score", default=None,
              help="The ranking the test validates: a model whose predictions the results "
                   "keep (e.g. causal_forest_dml), 'hypothesis' (the lowest-R-loss model the "
                   "analysis declined when it deployed a constant), or 'deployed' (default).")
@click.option("--responder-share", type=float, default=None,
              help="Share of predicted responders (heterogeneity test without RESULTS).")
@click.option("--randomize-cap", type=click.IntRange(min=0), default=None,
              help="At most this many customers labelled randomize_in_test enrolled, a "
                   "randomized subsample weighted back (default: all of them).")
@click.option("--pilot", default=None, help="Policy list of the pilot (default: conservative).")
@click.option("--expansion", default=None, help="Policy list of the expansion.")
@click.option("--campaign-weeks", type=int, default=4, show_default=True)
@click.option("--outcome-weeks", type=int, default=4, show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write the design here (design.json); figures go beside it.")
@click.option("--figures", "figures_dir", type=click.Path(path_type=Path), default=None,
              help="Folder for the power-curve and boundary figures (PNG).")
@click.option("--no-report", "no_report", is_flag=True,
              help="Do not write the design's report (<name>.report.html and .md beside -o).")
@seed_option
@json_option
@handles_input_errors
def design(results: Path | None, test: str, outcome: str | None, outcome_type: str | None,
           sd: float | None, baseline: float | None, mde: float | None, mde_from: str | None,
           n: float | None, power: float | None, alpha: float, sided: int,
           allocation: str | None, arms: int, multiplicity: str, distribution: str,
           r2: float | None, no_variance_reduction: bool, covariates: str | None,
           cost: float | None, margin: float | None, strata: str | None, per_segment: bool,
           looks: int, information_fractions: str | None, spending: str, futility: str,
           population: str, policy: str | None, current: str | None,
           policy_randomization: str, score: str | None, responder_share: float | None,
           randomize_cap: int | None,
           pilot: str | None, expansion: str | None, campaign_weeks: int, outcome_weeks: int,
           output: Path | None, figures_dir: Path | None, no_report: bool, seed: int,
           as_json: bool) -> None:
    """Size a stratified, sequential A/B test from an analysis or from plain numbers.

    \b
    RESULTS  optional folder written by `rollout analyze`; without it give
             the numbers, e.g. `rollout design --sd 180 --mde 34`.
    """
    from rollout.planning.design import save_design
    from rollout.planning.plan import DesignRequest, plan_design

    fractions = _floats(information_fractions, "--information-fractions")
    request = DesignRequest(
        results=results, test=test, outcome=outcome, outcome_type=outcome_type, sd=sd,
        baseline=baseline, mde=mde, mde_from=mde_from, n=n, power=power, alpha=alpha,
        sided=sided, allocation=allocation, arms=arms, multiplicity=multiplicity,
        distribution=distribution, r2=r2, variance_reduction=not no_variance_reduction,
        covariates=_names(covariates), cost=cost, margin=margin, strata=_names(strata),
        per_segment=per_segment, looks=len(fractions) if fractions else looks,
        information_fractions=fractions, spending=spending, futility=futility,
        population=population, policy=policy, current=current,
        policy_randomization=policy_randomization, score=score,
        responder_share=responder_share,
        randomize_cap=randomize_cap, pilot=pilot, expansion=expansion,
        campaign_weeks=campaign_weeks, outcome_weeks=outcome_weeks, seed=seed)
    if fractions and looks not in (1, len(fractions)):
        raise InputError(f"--looks {looks} but {len(fractions)} information fractions",
                         option="--information-fractions")
    if output is not None and output.exists() and output.is_dir():
        raise InputError("the output must be a file (design.json), not a folder", file=output)
    figure_folder = figures_dir or (output.parent if output is not None else None)
    from rollout.io import check_writable, output_set

    if output is not None:
        check_writable(output)
    if figure_folder is not None:
        check_writable(figure_folder, folder=True, inside=True)
    with console.progress(enabled=not as_json) as bar:
        task = bar.add_task("designing", total=None)
        planned = plan_design(request)
        bar.update(task, completed=1, total=1)
    for message in planned.details.get("warnings", []):
        console.warn(message)
    # design.json and its figures land as one set, design.json last (or, without it, the
    # power curve)
    stem = output.stem if output is not None and figures_dir is None else "design"
    primary = output if output is not None else (
        figure_folder / f"{stem}_power_curve.png" if figure_folder is not None else None)
    with output_set(primary) as outputs:
        if output is not None:
            save_design(output, planned)
            if not no_report:
                _write_report(planned, results, output)
        if figure_folder is not None:
            from rollout.planning.figures import draw_figures

            staging = outputs.scratch_folder(figure_folder)
            for drawn in draw_figures(planned, staging, stem=stem):
                outputs.add(drawn, figure_folder / Path(drawn).name)
    if as_json:
        console.emit_json(planned.to_dict())
    else:
        _render(planned)
        if output is not None:
            console.say(f"design written to {output}")
