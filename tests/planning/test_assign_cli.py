"""`rollout assign` end to end: a design and a results folder, reproducible files, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

from rollout.cli import cli
from rollout.errors import InputError
from rollout.planning.assignment import AssignmentPlan


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["assign", *args])


@pytest.fixture(scope="module")
def base_design(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A valid design.json from `rollout design` (plain numbers), to edit per test."""
    path = tmp_path_factory.mktemp("design") / "design.json"
    result = CliRunner().invoke(cli, ["design", "--sd", "180", "--mde", "34", "-o", str(path)])
    assert result.exit_code == 0, result.output
    return json.loads(path.read_text())


def write_design(folder: Path, base: dict[str, Any], **changes: Any) -> Path:
    document = json.loads(json.dumps(base))
    document.update(changes)
    path = folder / "design.json"
    path.write_text(json.dumps(document))
    return path


def stratified(base: dict[str, Any], n_total: int = 40) -> dict[str, Any]:
    phases = json.loads(json.dumps(base["phases"]))
    phases[0]["select_column"] = "target_pilot"
    phases[2]["select_column"] = "target_policy"
    half = n_total // 2
    return {"strata": ["segment"], "phases": phases, "n_total": n_total,
            "n_per_arm": {"treatment": half, "control": half},
            "n_per_arm_unadjusted": {"treatment": half, "control": half}}


def customers(n: int = 100, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "customer_id": np.arange(1000, 1000 + n),
        "segment": rng.choice(["loyal", "lapsed", "bulk"], n),
        "target_pilot": (rng.random(n) < 0.1).astype(int),
        "target_policy": rng.random(n) < 0.4,
        "spend": rng.gamma(2.0, 50.0, n),
    })


def files_under(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def test_design_and_results_folder_end_to_end(results_folder: Path, tmp_path: Path) -> None:
    design_path = tmp_path / "design.json"
    made = CliRunner().invoke(cli, ["design", str(results_folder), "-o", str(design_path)])
    assert made.exit_code == 0, made.output
    out = tmp_path / "out" / "assignment.parquet"
    result = run(str(design_path), str(results_folder), "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # exactly one JSON document
    table = pd.read_parquet(out)
    population = pd.read_parquet(results_folder / "customers.parquet")
    assert table["customer_id"].tolist() == population["customer_id"].tolist()
    pilot = table["arm"] == "pilot_target"
    assert pilot.tolist() == (population["target_conservative"] == 1).tolist()
    assert sum(report["roles"].values()) == len(population)
    assert report["strata_columns"] == ["segment", "ps_region"]
    assert json.loads((out.parent / "assignment.report.json").read_text()) == {
        k: v for k, v in report.items() if k != "outputs"}
    for role in ("pilot_target", "treatment", "control", "not_in_test"):
        listed = pd.read_csv(out.parent / f"assignment.{role}.csv")
        assert listed["customer_id"].tolist() == table.loc[table["arm"] == role,
                                                           "customer_id"].tolist()


def test_tables_on_a_terminal_and_warnings_on_stderr(base_design: dict, tmp_path: Path) -> None:
    design = write_design(tmp_path, base_design, **stratified(base_design, n_total=500))
    customers().to_csv(tmp_path / "customers.csv", index=False)
    result = run(str(design), str(tmp_path / "customers.csv"), "-o",
                 str(tmp_path / "a.parquet"))
    assert result.exit_code == 0, result.output
    assert "Test entrants per stratum" in result.stdout
    assert "Randomization checks" in result.stdout
    assert "all of them enter" in result.stderr


def test_same_salt_same_bytes_different_salt_different_arms(base_design: dict,
                                                            tmp_path: Path) -> None:
    design = write_design(tmp_path, base_design, **stratified(base_design))
    customers().to_parquet(tmp_path / "customers.parquet")
    outputs = {}
    for run_name, salt in (("one", "spring"), ("two", "spring"), ("three", "autumn")):
        folder = tmp_path / run_name
        result = run(str(design), str(tmp_path / "customers.parquet"), "-o",
                     str(folder / "assignment.parquet"), "--salt", salt, "--rerandomize", "4")
        assert result.exit_code == 0, result.output
        outputs[run_name] = {name: (folder / name).read_bytes() for name in files_under(folder)}
    assert len(outputs["one"]) == 8  # table, report, a list per role, a contact list per arm
    assert outputs["one"] == outputs["two"]
    arms = {name: pd.read_parquet(tmp_path / name / "assignment.parquet")["arm"]
            for name in ("one", "three")}
    assert (arms["one"] != arms["three"]).any()


def test_csv_dir_and_hash_method(base_design: dict, tmp_path: Path) -> None:
    design = write_design(tmp_path, base_design, **stratified(base_design))
    customers().to_parquet(tmp_path / "customers.parquet")
    out = tmp_path / "out" / "assignment.parquet"
    result = run(str(design), str(tmp_path / "customers.parquet"), "-o", str(out),
                 "--method", "hash", "--csv-dir", str(tmp_path / "lists"), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["method"] == "hash"
    assert report["balance"]["allocation"]["test"].startswith("exact binomial")
    assert files_under(tmp_path / "lists") == sorted(
        [f"assignment.{r}.csv" for r in ("pilot_target", "treatment", "control", "not_in_test")]
        + [f"assignment.{arm}.contact.csv" for arm in ("treatment", "control")])
    assert files_under(out.parent) == ["assignment.parquet", "assignment.report.json"]


# --- bad input: exit 2, a message naming the file, column and row, and nothing written ---

def assert_rejected(result: Result, out_folder: Path, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert not out_folder.exists() or files_under(out_folder) == []


def bad_customer_run(base: dict, tmp_path: Path, frame: pd.DataFrame, *extra: str,
                     suffix: str = ".csv", **changes: Any) -> tuple[Result, Path]:
    design = write_design(tmp_path, base, **(changes or stratified(base)))
    path = tmp_path / f"customers{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)
    out = tmp_path / "out"
    return run(str(design), str(path), "-o", str(out / "assignment.parquet"), *extra), out


def test_duplicate_id_is_named_with_its_row(base_design: dict, tmp_path: Path) -> None:
    frame = customers()
    frame.loc[7, "customer_id"] = frame.loc[3, "customer_id"]
    result, out = bad_customer_run(base_design, tmp_path, frame)
    assert_rejected(result, out, "customers.csv", "'customer_id'", "row 7", "duplicate", "1003")


def test_missing_id_is_named_with_its_row(base_design: dict, tmp_path: Path) -> None:
    frame = customers().astype({"customer_id": "float"})
    frame.loc[5, "customer_id"] = np.nan
    result, out = bad_customer_run(base_design, tmp_path, frame)
    assert_rejected(result, out, "customers.csv", "'customer_id'", "row 5", "missing")


def test_missing_id_column(base_design: dict, tmp_path: Path) -> None:
    frame = customers().rename(columns={"customer_id": "id"})
    result, out = bad_customer_run(base_design, tmp_path, frame)
    assert_rejected(result, out, "customers.csv", "'customer_id'")


def test_missing_stratum_column(base_design: dict, tmp_path: Path) -> None:
    frame = customers().drop(columns="segment")
    result, out = bad_customer_run(base_design, tmp_path, frame)
    assert_rejected(result, out, "customers.csv", "'segment'", "stratum column")


def test_stratum_with_nulls(base_design: dict, tmp_path: Path) -> None:
    frame = customers()
    frame.loc[11, "segment"] = None
    result, out = bad_customer_run(base_design, tmp_path, frame, suffix=".parquet")
    assert_rejected(result, out, "customers.parquet", "'segment'", "row 11", "missing")


def test_flag_column_with_a_bad_value(base_design: dict, tmp_path: Path) -> None:
    frame = customers()
    frame.loc[4, "target_pilot"] = 2
    result, out = bad_customer_run(base_design, tmp_path, frame)
    assert_rejected(result, out, "'target_pilot'", "row 4", "0/1")


def test_allocation_not_summing_to_one(base_design: dict, tmp_path: Path) -> None:
    result, out = bad_customer_run(base_design, tmp_path, customers(),
                                   allocation={"treatment": 0.5, "control": 0.4})
    assert_rejected(result, out, "design.json", "allocation")


def test_arms_not_matching_allocation(base_design: dict, tmp_path: Path) -> None:
    result, out = bad_customer_run(base_design, tmp_path, customers(),
                                   allocation={"treatment": 0.5, "holdout": 0.5})
    assert_rejected(result, out, "design.json", "allocation")


def test_stratum_smaller_than_the_arms(base_design: dict, tmp_path: Path) -> None:
    frame = customers()
    frame.loc[frame.index[-1], "segment"] = "tiny"
    frame.loc[frame.index[-1], "target_pilot"] = 0
    result, out = bad_customer_run(base_design, tmp_path, frame)
    assert_rejected(result, out, "customers.csv", "'segment'", "segment=tiny", "fewer than",
                    "hash method")
    # The hash method has no such limit.
    result, _ = bad_customer_run(base_design, tmp_path, frame, "--method", "hash")
    assert result.exit_code == 0, result.output


def test_empty_customer_file(base_design: dict, tmp_path: Path) -> None:
    result, out = bad_customer_run(base_design, tmp_path, customers().iloc[:0])
    assert_rejected(result, out, "customers.csv", "empty")
    (tmp_path / "customers.csv").write_text("")
    result = run(str(tmp_path / "design.json"), str(tmp_path / "customers.csv"), "-o",
                 str(out / "assignment.parquet"))
    assert_rejected(result, out, "customers.csv")


def test_missing_design_file(tmp_path: Path) -> None:
    customers().to_csv(tmp_path / "customers.csv", index=False)
    out = tmp_path / "out"
    result = run(str(tmp_path / "nope.json"), str(tmp_path / "customers.csv"), "-o",
                 str(out / "a.parquet"))
    assert_rejected(result, out, "nope.json", "does not exist")


def test_invalid_json_design(tmp_path: Path) -> None:
    (tmp_path / "design.json").write_text('{"arms": ["treatment", ')
    customers().to_csv(tmp_path / "customers.csv", index=False)
    out = tmp_path / "out"
    result = run(str(tmp_path / "design.json"), str(tmp_path / "customers.csv"), "-o",
                 str(out / "a.parquet"))
    assert_rejected(result, out, "design.json", "JSON")


def test_missing_customer_file_and_bad_output_name(base_design: dict, tmp_path: Path) -> None:
    design = write_design(tmp_path, base_design)
    out = tmp_path / "out"
    result = run(str(design), str(tmp_path / "absent.csv"), "-o", str(out / "a.parquet"))
    assert_rejected(result, out, "absent.csv", "does not exist")
    customers().to_csv(tmp_path / "customers.csv", index=False)
    result = run(str(design), str(tmp_path / "customers.csv"), "-o", str(out / "a.csv"))
    assert_rejected(result, out, "a.csv", ".parquet")


def test_a_partial_design_json_is_refused(tmp_path: Path) -> None:
    """assign trusts only a validated design: a document with only assignment's fields fails."""
    (tmp_path / "design.json").write_text("not json")
    customers().to_csv(tmp_path / "customers.csv", index=False)
    out = tmp_path / "out"
    result = run(str(tmp_path / "design.json"), str(tmp_path / "customers.csv"), "-o",
                 str(out / "a.parquet"))
    assert_rejected(result, out, "design.json", "not a readable JSON document")
    minimal = {"arms": ["treatment", "control"], "n_total": 10, "seed": 1,
               "allocation": {"treatment": 0.6, "control": 0.6}}
    (tmp_path / "design.json").write_text(json.dumps(minimal))
    result = run(str(tmp_path / "design.json"), str(tmp_path / "customers.csv"), "-o",
                 str(out / "a.parquet"))
    assert_rejected(result, out, "design.json", "'schema'")


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"arms": ["treatment"]}, "'arms'"),
    ({"arms": ["treatment", "not_in_test"],
      "allocation": {"treatment": 0.5, "not_in_test": 0.5}}, "reserved"),
    ({"allocation": {"treatment": 0.5, "holdout": 0.5}}, "'allocation'"),
    ({"allocation": {"treatment": 0.5, "control": 0.4}}, "not 1"),
    ({"n_total": 0}, "'n_total'"),
    ({"strata": "segment"}, "'strata'"),
    ({"phases": [{"phase": 1, "name": "pilot", "select_column": 3}]}, "select_column"),
    ({"seed": "seven"}, "'seed'"),
])
def test_partial_design_fields_are_checked(changes: dict, fragment: str) -> None:
    design = {"arms": ["treatment", "control"], "n_total": 10, "seed": 1, "strata": [],
              "allocation": {"treatment": 0.5, "control": 0.5}, "phases": []}
    design.update(changes)
    with pytest.raises(InputError, match=fragment):
        AssignmentPlan.from_mapping(design, source="design.json")


def test_csv_dir_that_is_a_file_and_rerandomize_zero(base_design: dict, tmp_path: Path) -> None:
    design = write_design(tmp_path, base_design, **stratified(base_design))
    customers().to_parquet(tmp_path / "customers.parquet")
    (tmp_path / "lists").write_text("not a folder")
    out = tmp_path / "out"
    result = run(str(design), str(tmp_path / "customers.parquet"), "-o",
                 str(out / "assignment.parquet"), "--csv-dir", str(tmp_path / "lists"))
    assert_rejected(result, out, "lists", "not a folder")
    result = run(str(design), str(tmp_path / "customers.parquet"), "-o",
                 str(tmp_path / "lists" / "assignment.parquet"))
    assert_rejected(result, out, "lists", "not a folder")
    result = run(str(design), str(tmp_path / "customers.parquet"), "-o",
                 str(out / "assignment.parquet"), "--rerandomize", "0")
    assert result.exit_code == 2
    assert not out.exists()


def test_pilot_size_differing_from_the_design_is_a_warning(base_design: dict,
                                                           tmp_path: Path) -> None:
    changes = stratified(base_design)
    changes["phases"][0]["n"] = 3
    design = write_design(tmp_path, base_design, **changes)
    frame = customers()
    frame.to_parquet(tmp_path / "customers.parquet")
    result = run(str(design), str(tmp_path / "customers.parquet"), "-o",
                 str(tmp_path / "out" / "assignment.parquet"), "--json")
    assert result.exit_code == 0, result.output
    flagged = int(frame["target_pilot"].sum())
    assert f"expected 3 pilot customers; column 'target_pilot' flags {flagged}" in result.stderr
    assert json.loads(result.stdout)["roles"]["pilot_target"] == flagged
