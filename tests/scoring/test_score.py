"""`rollout score` reproduces the analysis's own deployed columns and flags what it must."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rollout.scoring import score_table

from .conftest import run


def _score(results: Path, customers: Path, output: Path, *extra: str) -> pd.DataFrame:
    done = run("score", results, customers, "-o", output, "--json", *extra)
    assert done.exit_code == 0, done.output
    return pd.read_parquet(output)


def test_scores_reproduce_the_deployed_columns_of_the_analysis(analysed: Path,
                                                               tmp_path: Path) -> None:
    scored = _score(analysed / "results", analysed / "world" / "cohort.parquet",
                    tmp_path / "s.parquet")
    deployed = pd.read_parquet(analysed / "results" / "customers.parquet")
    assert scored["customer_id"].tolist() == deployed["customer_id"].tolist()
    for column in ("cate", "cate_lower", "cate_upper"):
        np.testing.assert_allclose(scored[column], deployed[column], rtol=0, atol=1e-9)
    targets = [c for c in scored.columns if c.startswith("target_")]
    # every per-customer rule and every tree the analysis deployed, each list the same
    assert set(targets) == {"target_breakeven", "target_cate_positive", "target_conservative",
                            "target_risk_adjusted", "target_everyone", "target_policy_tree",
                            "target_dr_policy_tree", "target_rule_tree"}
    for column in targets:
        assert (scored[column].to_numpy() == deployed[column].to_numpy()).all(), column
    assert scored["outside_fitted_range"].sum() == 0  # the customers it was fitted on


def test_summary_counts_the_flags_and_names_the_model(analysed: Path, tmp_path: Path) -> None:
    scored = _score(analysed / "results", analysed / "world" / "cohort.parquet",
                    tmp_path / "s.parquet")
    summary = json.loads((tmp_path / "s.summary.json").read_text())
    record = json.loads((analysed / "results" / "summary.json").read_text())["cate_model"]
    assert summary["model"]["sha256"] == record["sha256"]
    assert summary["model"]["model"] == "linear_dml"
    assert summary["engine"]["engine"] == "duckdb"
    assert summary["customers"] == len(scored)
    for flag, count in summary["flags"].items():
        assert count == int(scored[flag].sum()), flag
    assert set(summary["policies_not_scored"]) == {"top_10", "top_20", "top_30", "top_50",
                                                   "top_k", "current_practice"}


def test_the_fitted_range_is_the_cohorts_own(analysed: Path) -> None:
    record = json.loads((analysed / "results" / "summary.json").read_text())["cate_model"]
    cohort = pd.read_parquet(analysed / "world" / "cohort.parquet")
    for column in record["covariates"]:
        assert record["covariate_range"][column] == [cohort[column].min(),
                                                     cohort[column].max()], column


def test_outside_range_flags_match_a_hand_computation(analysed: Path, tmp_path: Path) -> None:
    cohort = pd.read_parquet(analysed / "world" / "cohort.parquet")
    covariates = json.loads((analysed / "results" / "summary.json").read_text()
                            )["cate_model"]["covariates"]
    a, b = covariates[0], covariates[3]
    new = cohort[["customer_id", *covariates]].head(50).copy()
    new.loc[[2, 7], a] = cohort[a].max() + 1.0        # above on a
    new.loc[[7, 11, 12], b] = cohort[b].min() - 0.5   # below on b (7: both)
    new.loc[20, a] = cohort[a].max()                  # on the edge: inside
    new.to_csv(tmp_path / "new.csv", index=False)
    scored = _score(analysed / "results", tmp_path / "new.csv", tmp_path / "s.parquet")
    expected = np.zeros(50, dtype=int)
    expected[[2, 7, 11, 12]] = 1
    assert scored["outside_fitted_range"].tolist() == expected.tolist()
    assert scored["outside_covariates"].iloc[7] == f"{a},{b}"
    assert scored["outside_covariates"].iloc[2] == a
    assert scored["outside_covariates"].iloc[20] == ""
    summary = json.loads((tmp_path / "s.summary.json").read_text())["outside_fitted_range"]
    assert summary["customers"] == 4
    assert summary["by_covariate"] == {a: 2, b: 3}


def test_csv_and_small_batches_give_the_same_scores(analysed: Path, tmp_path: Path) -> None:
    cohort = pd.read_parquet(analysed / "world" / "cohort.parquet")
    cohort.to_csv(tmp_path / "cohort.csv", index=False)
    score_table(analysed / "results", analysed / "world" / "cohort.parquet", tmp_path / "a.parquet")
    score_table(analysed / "results", tmp_path / "cohort.csv", tmp_path / "b.parquet",
                batch_rows=97)
    a, b = pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "b.parquet")
    assert_same_scores(a, b)


def assert_same_scores(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """The point CATE and every flag equal; the interval's last digits may differ (econml's
    interval of a row depends slightly on the other rows of the call)."""
    assert a.columns.tolist() == b.columns.tolist()
    for column in a.columns:
        if column in ("cate_lower", "cate_upper"):
            np.testing.assert_allclose(a[column], b[column], rtol=1e-12, atol=1e-12)
        else:
            assert a[column].tolist() == b[column].tolist(), column


def test_a_changed_model_file_is_refused_and_nothing_is_written(analysed: Path,
                                                               tmp_path: Path) -> None:
    results = tmp_path / "results"
    shutil.copytree(analysed / "results", results)
    model = results / "model.joblib"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    done = run("score", results, analysed / "world" / "cohort.parquet", "-o",
               tmp_path / "s.parquet")
    assert done.exit_code == 2
    assert "SHA-256" in done.output and "model.joblib" in done.output
    assert "Traceback" not in done.output
    assert not (tmp_path / "s.parquet").exists() and not (tmp_path / "s.summary.json").exists()


def test_a_missing_covariate_names_the_file_and_column(analysed: Path, tmp_path: Path) -> None:
    cohort = pd.read_parquet(analysed / "world" / "cohort.parquet")
    cohort.drop(columns=["recency_weeks"]).to_parquet(tmp_path / "short.parquet")
    done = run("score", analysed / "results", tmp_path / "short.parquet", "-o",
               tmp_path / "s.parquet")
    assert done.exit_code == 2
    assert "short.parquet" in done.output and "recency_weeks" in done.output
    assert not (tmp_path / "s.parquet").exists()


def test_a_missing_value_deep_in_the_table_names_its_row(analysed: Path,
                                                         tmp_path: Path) -> None:
    cohort = pd.read_parquet(analysed / "world" / "cohort.parquet")
    cohort.loc[1234, "frequency"] = np.nan
    cohort.to_parquet(tmp_path / "gap.parquet")
    with pytest.raises(Exception) as caught:
        score_table(analysed / "results", tmp_path / "gap.parquet", tmp_path / "s.parquet",
                    batch_rows=100)
    assert "row 1234" in str(caught.value) and "frequency" in str(caught.value)
    assert not (tmp_path / "s.parquet").exists()
