"""`rollout design` end to end: plain numbers, a results folder, and every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rollout.cli import cli
from rollout.planning import load_design


def run(*args: str):
    return CliRunner().invoke(cli, ["design", *args])


def test_plain_numbers_give_about_440_per_arm() -> None:
    result = run("--sd", "180", "--mde", "34", "--power", "0.8", "--alpha", "0.05", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["n_per_arm"]["control"] in (440, 441)
    assert document["n_per_arm"]["treatment"] in (440, 441)
    assert document["mde_source"] == "given"


def test_plain_numbers_render_a_table() -> None:
    result = run("--sd", "180", "--mde", "34")
    assert result.exit_code == 0, result.output
    assert "A/B design" in result.output and "441" in result.output


def test_solve_for_power_and_mde() -> None:
    power = json.loads(run("--sd", "180", "--mde", "34", "--n", "441", "--json").stdout)
    assert power["power"] == pytest.approx(0.8, abs=0.002)
    mde = json.loads(run("--sd", "180", "--n", "441", "--power", "0.8", "--json").stdout)
    assert mde["mde"] == pytest.approx(34, abs=0.1)
    assert mde["mde_source"].startswith("solved")


def test_breakeven_mde_from_cost_and_margin() -> None:
    document = json.loads(run("--sd", "180", "--cost", "12", "--margin", "0.3",
                              "--json").stdout)
    assert document["mde"] == pytest.approx(40.0)
    assert "breakeven" in document["mde_source"]


def test_results_folder_writes_design_and_figures(results_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "design.json"
    result = run(str(results_folder), "--looks", "3", "-o", str(out), "--per-segment")
    assert result.exit_code == 0, result.output
    design = load_design(out)
    assert design.strata == ("segment", "ps_region")
    assert design.r2 is not None and design.r2 > 0.2
    assert design.n_per_arm["control"] < design.n_per_arm_unadjusted["control"]
    assert len(design.looks) == 3 and design.max_inflation > 1
    assert design.phase(1).select_column == "target_conservative"
    assert design.phase(3).select_column == "target_breakeven"
    assert (out.parent / "design_power_curve.png").exists()
    assert (out.parent / "design_boundaries.png").exists()
    first = out.read_bytes()
    figure = (out.parent / "design_boundaries.png").read_bytes()
    assert run(str(results_folder), "--looks", "3", "-o", str(out),
               "--per-segment").exit_code == 0
    assert out.read_bytes() == first
    assert (out.parent / "design_boundaries.png").read_bytes() == figure


@pytest.mark.parametrize("test", ["policy", "heterogeneity"])
def test_results_folder_other_tests(results_folder: Path, test: str) -> None:
    result = run(str(results_folder), "--test", test, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["test"] == test
    assert document["mde_source"].startswith("model-predicted")


def test_json_is_one_document_and_warnings_go_to_stderr(results_folder: Path) -> None:
    result = run(str(results_folder), "--test", "policy", "--json")
    json.loads(result.stdout)
    assert "warning" in result.stderr


PLAIN = ["--sd", "180", "--mde", "34"]


@pytest.mark.parametrize("args,message", [
    (["--sd", "180", "--mde", "34", "--power", "1.2"], "power"),
    (["--sd", "180", "--mde", "34", "--power", "0"], "power"),
    (["--sd", "180", "--mde", "34", "--alpha", "0.5"], "alpha"),
    (["--sd", "180", "--mde", "34", "--alpha", "-0.1"], "alpha"),
    (["--sd", "180", "--mde", "0"], "MDE"),
    (["--sd", "180", "--mde", "-5"], "MDE"),
    (["--sd", "0", "--mde", "34"], "SD"),
    (["--sd", "-3", "--mde", "34"], "SD"),
    (["--sd", "180", "--mde", "34", "--n", "100", "--power", "0.8"], "leave one out"),
    (["--sd", "180"], "--mde"),
    (["--sd", "180", "--mde", "34", "--mde-from", "breakeven"], "not both"),
    (["--sd", "180", "--mde", "34", "--information-fractions", "0.5,0.4,1"], "increasing"),
    (["--sd", "180", "--mde", "34", "--information-fractions", "0.3,0.6"], "end at 1"),
    (["--sd", "180", "--mde", "34", "--information-fractions", "a,b"], "numbers"),
    (["--sd", "180", "--mde", "34", "--cost", "12"], "together"),
    (["--sd", "180", "--mde", "34", "--allocation", "treatment=0.8,control=0.3"], "sum"),
    (["--sd", "180", "--mde-from", "overlap"], "results folder"),
    (["--sd", "180", "--mde", "34", "--test", "policy"], "results folder"),
])
def test_bad_input_exits_2_and_writes_nothing(args: list[str], message: str,
                                              tmp_path: Path) -> None:
    out = tmp_path / "design.json"
    result = run(*args, "-o", str(out))
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def _break(results: Path, what: str) -> None:
    summary_path = results / "summary.json"
    summary = json.loads(summary_path.read_text())
    if what == "no summary":
        summary_path.unlink()
    elif what == "no customers":
        (results / "customers.parquet").unlink()
    elif what == "no cohort key":
        del summary["cohort"]
        summary_path.write_text(json.dumps(summary))
    elif what == "cohort file gone":
        (results.parent / "cohort.parquet").unlink()


@pytest.mark.parametrize("what,message", [
    ("no summary", "summary.json"),
    ("no customers", "customers.parquet"),
    ("no cohort key", "'cohort'"),
    ("cohort file gone", "cohort.parquet"),
])
def test_results_folder_missing_what_is_needed(results_folder: Path, what: str,
                                               message: str) -> None:
    _break(results_folder, what)
    out = results_folder.parent / "design.json"
    result = run(str(results_folder), "-o", str(out))
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not out.exists()


def test_missing_results_folder(tmp_path: Path) -> None:
    result = run(str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_stratum_column_that_does_not_exist(results_folder: Path) -> None:
    out = results_folder.parent / "design.json"
    result = run(str(results_folder), "--strata", "segment,region_typo", "-o", str(out))
    assert result.exit_code == 2
    assert "region_typo" in result.stderr and "customers.parquet" in result.stderr
    assert not out.exists()


def test_unknown_policy_column(results_folder: Path) -> None:
    result = run(str(results_folder), "--test", "policy", "--policy", "nope")
    assert result.exit_code == 2
    assert "target_nope" in result.stderr


