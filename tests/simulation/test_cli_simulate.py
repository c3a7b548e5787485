"""`rollout simulate`: files, byte-reproducibility, JSON, and clean failures with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from rollout.cli import cli
from rollout.data.contract import load_cohort
from rollout.io import read_parquet_metadata


def run(*args: str | Path):
    return CliRunner().invoke(cli, ["simulate", *map(str, args)])


def test_writes_cohort_truth_and_summary(tmp_path: Path) -> None:
    out = tmp_path / "world"
    result = run("overlap_violation", "-o", out, "--seed", "5", "--n", "400")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["cohort.parquet", "summary.json",
                                                     "truth.parquet"]
    cohort = load_cohort(out / "cohort.parquet")
    assert cohort.n == 400
    assert cohort.roles.outcomes == ("purchase_amount", "purchase_count")
    assert cohort.roles.segment == "segment"
    assert cohort.roles.pre_outcomes == {"purchase_amount": "pre_purchase_amount"}
    truth = pd.read_parquet(out / "truth.parquet")
    assert list(truth.columns[:5]) == ["customer_id", "true_cate", "propensity", "mu0", "mu1"]
    assert (truth["customer_id"] == cohort.frame["customer_id"]).all()
    assert "ps_auc" in result.output


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        assert run("good_overlap", "-o", tmp_path / folder, "--seed", "7", "--n", "300"
                   ).exit_code == 0
    for name in ("cohort.parquet", "truth.parquet", "summary.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert run("good_overlap", "-o", tmp_path / "c", "--seed", "8", "--n", "300").exit_code == 0
    assert ((tmp_path / "a" / "cohort.parquet").read_bytes()
            != (tmp_path / "c" / "cohort.parquet").read_bytes())


def test_json_is_one_document_with_the_summary(tmp_path: Path) -> None:
    result = run("homogeneous", "-o", tmp_path / "w", "--n", "200", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    world = document["world"]
    assert world["n"] == 200 and world["ate"] == pytest.approx(15.0)
    for key in ("ps_auc", "share_positive", "oracle_policy_value", "att", "ato"):
        assert key in world


def _assignment(tmp_path: Path, ids: list, arms: list, name: str = "assignment.csv") -> Path:
    path = tmp_path / name
    pd.DataFrame({"customer_id": ids, "arm": arms, "stratum": ["s1"] * len(ids)}).to_csv(
        path, index=False)
    return path


def test_returns_for_an_assignment(tmp_path: Path) -> None:
    arms = ["treatment", "control", "not_in_test", "holdout"] * 50
    path = _assignment(tmp_path, list(range(1, 201)), arms)
    out = tmp_path / "returns"
    result = run("overlap_violation", "-o", out, "--n", "300", "--assignment", path, "--json")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["returns.parquet", "returns_truth.parquet",
                                                     "summary.json"]
    data = pd.read_parquet(out / "returns.parquet")
    truth = pd.read_parquet(out / "returns_truth.parquet")
    assert len(data) == 100 and set(data["arm"]) == {"treatment", "control"}
    assert (data["customer_id"] == truth["customer_id"]).all()
    assert {"stratum", "purchase_amount", "pre_purchase_amount", "segment", "monetary_sales"
            } <= set(data.columns)
    meta = read_parquet_metadata(out / "returns.parquet")
    assert meta["outcomes"] == ["purchase_amount", "purchase_count"]
    assert json.loads(result.stdout)["returns"]["n_treatment"] == 50
    again = tmp_path / "again"
    assert run("overlap_violation", "-o", again, "--n", "300", "--assignment", path
               ).exit_code == 0
    assert (out / "returns.parquet").read_bytes() == (again / "returns.parquet").read_bytes()


BAD_ASSIGNMENTS = [
    ([1, 2, 9999], ["treatment", "control", "control"], "customer_id", "9999"),
    ([1, 2, None], ["treatment", "control", "control"], "customer_id", "missing customer id"),
    ([1, 2, 2], ["treatment", "control", "control"], "customer_id", "duplicate"),
    ([1, 2, 3], ["treatment", "control", None], "arm", "row 2"),
    ([1, 2, 3], ["treatment", "control", "Treatment"], "arm", "did you mean 'treatment'"),
    ([1, 2, 3], ["treatment", "control", " control"], "arm", "did you mean 'control'"),
    ([1, 2, 3], ["treatment", "holdout", "holdout"], "arm", "no customer in arm 'control'"),
    ([1, 2, 3], [1, 0, 1], "arm", "must be a name"),
]


@pytest.mark.parametrize(("ids", "arms", "column", "words"), BAD_ASSIGNMENTS)
def test_bad_assignment_fails_cleanly(tmp_path: Path, ids: list, arms: list, column: str,
                                      words: str) -> None:
    path = _assignment(tmp_path, ids, arms)
    out = tmp_path / "out"
    result = run("homogeneous", "-o", out, "--n", "100", "--assignment", path)
    assert result.exit_code == 2
    assert str(path) in result.stderr and f"column '{column}'" in result.stderr
    assert words in result.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_assignment_without_arm_column(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    pd.DataFrame({"customer_id": [1, 2]}).to_csv(path, index=False)
    result = run("homogeneous", "-o", tmp_path / "out", "--n", "100", "--assignment", path)
    assert result.exit_code == 2 and "column 'arm'" in result.stderr


def test_missing_assignment_file(tmp_path: Path) -> None:
    result = run("homogeneous", "-o", tmp_path / "out", "--assignment", tmp_path / "none.csv")
    assert result.exit_code == 2 and "does not exist" in result.stderr


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ('cate = "10 - 20 * share_fresh"', 'cate = "10 - 20 * share_fish"', "'share_fish'"),
        ("treated_share = 0.5", "treated_share = 1.2", "treated_share"),
        ('score = "log(spend)"', 'score = "logg(spend)"', "unknown function 'logg'"),
        ('mu0 = "0.5 * spend"\n', "", "missing required field"),
        ("n = 200", 'n = "two hundred"', "expected an integer"),
        ("mean = 0.3", "mean = 1.3", "outside (0, 1)"),
    ],
)
def test_bad_scenario_exits_2_and_writes_nothing(tmp_path: Path, write_world, old: str, new: str,
                                                 words: str) -> None:
    path = write_world(old=old, new=new)
    out = tmp_path / "out"
    result = run(path, "-o", out)
    assert result.exit_code == 2
    assert str(path) in result.stderr and words in result.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_existing_output_is_left_alone_on_failure(tmp_path: Path, write_world) -> None:
    out = tmp_path / "out"
    assert run("no_effect", "-o", out, "--n", "100").exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = write_world(old="treated_share = 0.5", new="treated_share = 7")
    assert run(bad, "-o", out).exit_code == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize("args", [["no_such_world"], ["homogeneous", "--n", "5"],
                                  ["homogeneous", "--seed", "-1"]])
def test_usage_errors(tmp_path: Path, args: list[str]) -> None:
    result = run(*args, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert not (tmp_path / "out").exists()


def test_missing_output_option() -> None:
    assert run("homogeneous").exit_code == 2


def test_grid_file_is_not_a_world(tmp_path: Path) -> None:
    result = run("breakeven", "-o", tmp_path / "out")
    assert result.exit_code == 2 and "expected 'world'" in result.stderr


def test_cohort_option_replaces_the_resampled_file(tmp_path: Path) -> None:
    source = tmp_path / "source"
    assert run("good_overlap", "-o", source, "--n", "150").exit_code == 0
    scenario = tmp_path / "resampled.toml"
    scenario.write_text('''
kind = "world"
name = "resampled"
n = 300

[covariates]
source = "cohort"
cohort = "somewhere_else.parquet"

[targeting]
score = "log(monetary_sales)"
strength = 2.0
treated_share = 0.5

[[outcomes]]
name = "purchase_amount"
mu0 = "monetary_sales / 10"
cate = "5"
scale = 10.0
''')
    missing = run(scenario, "-o", tmp_path / "w")
    assert missing.exit_code == 2 and "somewhere_else.parquet" in missing.stderr
    result = run(scenario, "-o", tmp_path / "w", "--cohort", source / "cohort.parquet", "--json")
    assert result.exit_code == 0, result.output
    cohort = load_cohort(tmp_path / "w" / "cohort.parquet")
    assert cohort.n == 300 and "monetary_sales" in cohort.roles.covariates
