"""`rollout simulate`: synthetic data with ground truth, for demos, tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

import click

from rollout import console
from rollout.cli.app import cli, force_option, handles_input_errors, json_option, seed_option

#: The ``schema`` key of OUTPUT/summary.json: marks the folder as this command's output.
SIMULATION_SCHEMA = "rollout.simulation/1"


@cli.command()
@click.argument("scenario")
@click.option("-o", "--output", "output", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Folder to write (replaced as a whole on success; an "
                                  "existing folder that is not a previous simulate output "
                                  "needs --force).")
@seed_option
@click.option("--n", "n", type=click.IntRange(min=10), default=None,
              help="Number of customers (default: the scenario's n).")
@click.option("--assignment", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Parquet/CSV with customer_id and arm: write the A/B returns instead.")
@click.option("--cohort", "cohort_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Cohort to resample covariates from (scenarios that resample).")
@force_option
@json_option
@handles_input_errors
def simulate(scenario: str, output: Path, seed: int, n: int | None, assignment: Path | None,
             cohort_file: Path | None, force: bool, as_json: bool) -> None:
    """Draw a world with known truth from SCENARIO (a .toml file or a bundled name).

    \b
    Writes OUTPUT/cohort.parquet (the cohort contract) and OUTPUT/truth.parquet (true CATE,
    propensity, mu0, mu1 per customer) and OUTPUT/summary.json. With --assignment, draws the
    A/B test's returns for that assignment on the same world (same scenario, --seed and --n)
    and writes OUTPUT/returns.parquet and OUTPUT/returns_truth.parquet instead.
    Bundled worlds: overlap_violation, no_effect, homogeneous, good_overlap, harmful, ...
    """
    from rollout.io import check_output_folder

    scenario_file = Path(scenario) if Path(scenario).is_file() else None
    check_output_folder(output, "simulate", inputs=[scenario_file, assignment, cohort_file],
                        force=force)
    from rollout.data.contract import save_cohort
    from rollout.io import atomic_directory, read_table, write_json, write_parquet
    from rollout.simulation import load_scenario, simulate_world
    from rollout.simulation.returns import simulate_returns

    spec = load_scenario(scenario, cohort=cohort_file)
    steps = 3 if assignment is not None else 2
    with console.progress() as bar:
        task = bar.add_task(f"simulating {spec.name}", total=steps)
        world = simulate_world(spec, seed=seed, n=n)
        bar.advance(task)
        document: dict[str, object] = {
            "schema": SIMULATION_SCHEMA,
            "scenario": spec.name,
            "seed": seed,
            "world": world.truth_summary().to_dict(),
        }
        if assignment is not None:
            frame = read_table(assignment)
            returns = simulate_returns(spec, frame, seed=seed, world=world, source=assignment)
            bar.advance(task)
            document["returns"] = returns.to_dict()
            with atomic_directory(output) as folder:
                write_parquet(folder / "returns.parquet", returns.data,
                              metadata=returns.metadata())
                write_parquet(folder / "returns_truth.parquet", returns.truth)
                write_json(folder / "summary.json", document)
        else:
            with atomic_directory(output) as folder:
                save_cohort(folder / "cohort.parquet", world.cohort)
                write_parquet(folder / "truth.parquet", world.truth)
                write_json(folder / "summary.json", document)
        bar.advance(task)
    document["output"] = str(output)
    if as_json:
        console.emit_json(document)
        return
    summary = world.summary()
    console.show_table(summary, title=f"world {spec.name!r} (seed {seed})")
    if "returns" in document:
        console.show_table([{"quantity": k, "value": float(v)}
                            for k, v in returns.to_dict().items()], title="A/B returns")
    console.say(f"written to {output}")
