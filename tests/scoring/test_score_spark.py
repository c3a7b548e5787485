"""Scoring on Spark gives the scores DuckDB gives, across partitions and Arrow batches."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rollout.common.engine import EngineSettings
from rollout.scoring import score_table

from .test_score import assert_same_scores

pytestmark = [pytest.mark.spark,
              pytest.mark.filterwarnings("ignore:PySpark does not yet fully support"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]

SPARK = EngineSettings("spark", master="local[2]")


def _customers(analysed: Path, n: int) -> pd.DataFrame:
    """``n`` new customers drawn from the cohort's rows, a few pushed outside the range."""
    cohort = pd.read_parquet(analysed / "world" / "cohort.parquet")
    covariates = json.loads((analysed / "results" / "summary.json").read_text()
                            )["cate_model"]["covariates"]
    rng = np.random.default_rng(3)
    frame = cohort[covariates].iloc[rng.integers(0, len(cohort), n)].reset_index(drop=True)
    frame = frame * rng.uniform(0.97, 1.03, size=frame.shape)
    frame.insert(0, "customer_id", np.arange(10_000, 10_000 + n))
    return frame


@pytest.fixture
def small_partitions(spark_session):
    """Several partitions and Arrow batches per partition, so batch edges fall mid-table."""
    conf = spark_session.conf
    old = {k: conf.get(k) for k in ("spark.sql.files.maxPartitionBytes",
                                    "spark.sql.execution.arrow.maxRecordsPerBatch")}
    conf.set("spark.sql.files.maxPartitionBytes", "65536")
    conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "3000")
    yield spark_session
    for key, value in old.items():
        conf.set(key, value)


def test_spark_scores_equal_duckdb_scores(analysed: Path, tmp_path: Path,
                                          small_partitions) -> None:
    frame = _customers(analysed, 40_000)
    frame.to_parquet(tmp_path / "new.parquet", row_group_size=4_000)
    local = score_table(analysed / "results", tmp_path / "new.parquet", tmp_path / "d.parquet")
    spark = score_table(analysed / "results", tmp_path / "new.parquet", tmp_path / "s.parquet",
                        engine=SPARK)
    a, b = pd.read_parquet(tmp_path / "d.parquet"), pd.read_parquet(tmp_path / "s.parquet")
    assert len(a) == 40_000 and a["customer_id"].tolist() == frame["customer_id"].tolist()
    assert_same_scores(a, b)
    assert a["outside_fitted_range"].sum() > 0  # the check saw both kinds of rows
    for key in ("flags", "outside_fitted_range", "customers", "model"):
        assert local.document[key] == spark.document[key], key
    assert spark.document["engine"]["engine"] == "spark"
    assert not list(tmp_path.glob(".rollout-score-*"))  # the scratch partitions are gone


def test_spark_reads_csv_like_duckdb_and_refuses_a_missing_value(analysed: Path,
                                                                 tmp_path: Path,
                                                                 spark_session) -> None:
    frame = _customers(analysed, 2_000)
    frame.to_csv(tmp_path / "new.csv", index=False)
    score_table(analysed / "results", tmp_path / "new.csv", tmp_path / "d.parquet")
    score_table(analysed / "results", tmp_path / "new.csv", tmp_path / "s.parquet",
                engine=SPARK)
    assert_same_scores(pd.read_parquet(tmp_path / "d.parquet"),
                       pd.read_parquet(tmp_path / "s.parquet"))
    frame.loc[[5, 9], "frequency"] = np.nan
    frame.to_csv(tmp_path / "gap.csv", index=False)
    with pytest.raises(Exception, match=r"frequency.*2 rows"):
        score_table(analysed / "results", tmp_path / "gap.csv", tmp_path / "g.parquet",
                    engine=SPARK)
    assert not (tmp_path / "g.parquet").exists()
