"""`rollout analyze` policy options: bad input exits 2 and writes nothing; a run writes lists."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from rollout.cli import cli
from rollout.simulation import simulate_world


@pytest.fixture(scope="module")
def cohort_csv(tmp_path_factory) -> str:
    world = simulate_world("good_overlap", seed=1, n=400)
    frame = world.cohort.frame.drop(columns=["purchase_count", "pre_purchase_amount"])
    path = tmp_path_factory.mktemp("cohort") / "cohort.csv"
    frame.to_csv(path, index=False)
    return str(path)


def run(args: list[str]):
    return CliRunner().invoke(cli, ["analyze", *args])


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--margin", "0"], "--margin"),
        (["--margin", "1.5"], "--margin"),
        (["--margin", "-0.2"], "--margin"),
        (["--cost", "-1"], "--cost"),
        (["--contact-cost", "-1"], "--contact-cost"),
        (["--cost-method", "total_discount"], "--cost-method"),
        (["--segments", "1"], "--segments"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(cohort_csv, tmp_path, options, words) -> None:
    out = tmp_path / "results"
    result = run([cohort_csv, "-o", str(out), "--outcome", "purchase_amount", *options])
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert not out.exists()


def test_segment_with_nulls_exits_2(cohort_csv, tmp_path) -> None:
    frame = pd.read_csv(cohort_csv)
    frame.loc[7, "segment"] = None
    path = tmp_path / "nulls.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "results"
    result = run([str(path), "-o", str(out), "--outcome", "purchase_amount"])
    assert result.exit_code == 2, result.output
    assert "segment" in result.output and "row 7" in result.output and str(path) in result.output
    assert not out.exists()


@pytest.mark.slow
def test_run_writes_breakeven_and_target_lists(cohort_csv, tmp_path) -> None:
    out = tmp_path / "results"
    result = run([cohort_csv, "-o", str(out), "--outcome", "purchase_amount", "--models",
                  "linear_dml", "--validate", "none", "--cost", "10", "--margin", "0.25",
                  "--folds", "3", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["breakeven"]["breakeven_cate"] == 40.0
    assert {p["policy"] for p in doc["policies"]} >= {"breakeven", "conservative", "top_k"}
    customers = pd.read_parquet(out / "customers.parquet")
    assert {"segment", "target_breakeven", "target_top_k", "target_policy_tree"} <= set(
        customers.columns)
    assert customers["target_breakeven"].tolist() == (customers["cate"] > 40.0).astype(
        int).tolist()
