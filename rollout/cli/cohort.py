"""`rollout cohort`: build the study cohort from transaction history."""

from __future__ import annotations

from pathlib import Path

import click

from rollout import console
from rollout.cli.app import cli, engine_options, handles_input_errors, json_option

# The library's defaults, spelled here so that `--help` does not import the data stack
# (tests/test_startup.py checks they match rollout.data).
DEFAULT_SALT = "rollout.cohort.v1"
EMBEDDED = "completejourney"
NAMED_SOURCES = (EMBEDDED,)


@cli.command()
@click.option("--source", type=click.Choice(NAMED_SOURCES), default=None,
              help=f"A named source of history (default: {EMBEDDED}, the embedded data).")
@click.option("--dunnhumby", "dunnhumby_dir", type=click.Path(path_type=Path), default=None,
              help="A folder of the Dunnhumby 'The Complete Journey' CSV files instead.")
@click.option("--parquet", "parquet_dir", default=None,
              help="A folder of parquet tables in the Complete Journey layout instead (each "
                   "<table>.parquet a file or a folder of part files, e.g. exported from a "
                   "lake); with --engine spark also an object-store URL (s3a://..., gs://...).")
@click.option("--campaign-type", default="A", show_default=True,
              help="Campaign type whose first campaign defines treatment (A, B, C...).")
@click.option("--window-weeks", type=int, default=4, show_default=True,
              help="Weeks after the index week in the outcome window (the index week counts "
                   "too, so 4 means 5 weeks).")
@click.option("--salt", default=DEFAULT_SALT, show_default=True,
              help="Key of the hash that draws control households' index weeks.")
@click.option("--sample", type=int, default=None,
              help="Keep N households, stratified by treatment and drawn by a keyed hash "
                   "with --seed (the same households on every engine), before the features.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the --sample draw; same seed, same households.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="The cohort parquet to write; the attrition table goes beside it as "
                   "<name>.attrition.parquet.")
@json_option
@handles_input_errors  # outside engine_options, which may refuse its settings
@engine_options
def cohort(source: str | None, dunnhumby_dir: Path | None, parquet_dir: str | None,
           campaign_type: str, window_weeks: int, salt: str, sample: int | None, seed: int,
           output: Path, engine, as_json: bool) -> None:
    """Build the study cohort from transaction history.

    Treated: households targeted by a campaign of the type, indexed at their first such
    campaign. Control: never targeted by the type, with an index week drawn from the treated
    ones. Writes one row per household: outcomes over the outcome window, 21 pre-treatment
    covariates, pre-period outcomes and the discounts received in the window. Runs on DuckDB
    in this process or on Spark (--engine spark: local mode, or --spark-master for a cluster),
    the same definitions on both.
    """
    given = [name for name, value in (("--source", source), ("--dunnhumby", dunnhumby_dir),
                                      ("--parquet", parquet_dir)) if value is not None]
    if len(given) > 1:
        raise click.UsageError(f"give one of --source, --dunnhumby and --parquet, not "
                               f"{' and '.join(given)}")
    from rollout.data.build import STEPS, attrition_path, build_cohort
    from rollout.io import check_writable, output_set

    check_writable(output)
    check_writable(attrition_path(output))
    if parquet_dir is not None:
        from rollout.data.completejourney import CompleteJourneySource, is_url

        history = CompleteJourneySource(parquet_dir if is_url(parquet_dir) else Path(parquet_dir))
    else:
        history = dunnhumby_dir if dunnhumby_dir is not None else (source or EMBEDDED)
    with console.progress() as bar:
        task = bar.add_task("building the cohort", total=len(STEPS))

        def advance(step: str) -> None:
            bar.update(task, description=step, completed=STEPS.index(step))

        build = build_cohort(history, campaign_type=campaign_type, window_weeks=window_weeks,
                             salt=salt, progress=advance, engine=engine, sample=sample,
                             seed=seed)
        bar.update(task, completed=len(STEPS))
    with output_set(output):  # the cohort lands last: present means the attrition is too
        cohort_file, attrition_file = build.save(output)
    if as_json:
        document = build.to_dict()
        document["files"] = {"cohort": str(cohort_file), "attrition": str(attrition_file)}
        console.emit_json(document)
        return
    console.show_table(build.attrition, title=f"Attrition (campaign type {build.campaign_type}, "
                                              f"outcome window = index week + "
                                              f"{build.window_weeks} weeks)")
    naive = build.naive_differences()
    console.stdout.print(
        f"{build.cohort.n:,} households: {build.cohort.n_treated:,} treated, "
        f"{build.cohort.n_control:,} control; {len(build.cohort.roles.covariates)} covariates; "
        f"weeks {build.first_week}-{build.last_week} of {build.source}.\n"
        "Naive difference, treated minus control (unadjusted): "
        + ", ".join(f"{k} {v:+,.2f}" for k, v in naive.items()) + ".\n"
        + (f"A sample of {build.sample.n:,} of {build.sample.population_treated:,} treated and "
           f"{build.sample.population_control:,} control households (seed {build.sample.seed})."
           "\n" if build.sample is not None else "")
        + f"Built on {build.engine.name}"
        + (f" ({build.engine.spark_master})" if build.engine.is_spark else "")
        + f" in {sum(build.timings.values()):.1f} s. Wrote {cohort_file} and "
        f"{attrition_path(cohort_file)}.",
    )
