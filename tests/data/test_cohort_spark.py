"""The same cohort, sample and current features from DuckDB and from local Spark.

Every test runs the same SQL texts on both engines and holds the results equal: the feature SQL
on its own, the keyed draw bit for bit, the whole ``rollout cohort --engine spark`` on the
embedded data and on generated and CSV histories, the ``--sample`` households and
:func:`~rollout.data.features_as_of`. One local Spark session serves the whole module.

Skipped when pyspark is not installed (``pip install -e ".[spark]"``; needs Java 17). Marked
``spark`` (deselected by default) because starting a JVM takes several seconds: ``-m spark``.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rollout.cli import cli
from rollout.common.engine import DEFAULT_DRIVER_MEMORY, EngineSettings
from rollout.data import build_cohort, features_as_of
from rollout.data.cohort_design import keyed_uniform
from rollout.data.completejourney import CompleteJourneySource
from rollout.data.features import (
    CARRIED,
    COVARIATES,
    OUTCOMES,
    PRE_OUTCOMES,
    compute_features,
    feature_sql,
)
from rollout.errors import InputError
from rollout.io import read_parquet_metadata

from .synthetic_history import (
    FIRST_WEEK,
    load,
    make_history,
    make_index,
    write_parquet_history,
)
from .test_cohort_engines import IDS, _sql_uniforms

pytestmark = [pytest.mark.filterwarnings("ignore:PySpark does not yet fully support"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]

COLUMNS = [*OUTCOMES, *COVARIATES, *PRE_OUTCOMES.values(), *CARRIED]
SPARK = EngineSettings("spark")


@pytest.fixture(scope="module")
def spark():
    """The one local session of the module: every build below reuses it (getOrCreate)."""
    # skipped here, not at import: the module then counts as deselected (not skipped) in the
    # default and calibration runs, and only a by-hand ``-m spark`` without pyspark skips it
    pytest.importorskip("pyspark")
    from rollout.common.engine import spark_session

    session = spark_session(SPARK, app_name="rollout-tests")
    yield session
    session.stop()


def assert_same_cohort(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Every column equal to 1e-9 (relative and absolute), ids and types identical."""
    assert list(a.columns) == list(b.columns)
    assert a["customer_id"].tolist() == b["customer_id"].tolist()
    assert a.dtypes.to_dict() == b.dtypes.to_dict()
    for column in a.columns:
        np.testing.assert_allclose(a[column].to_numpy(dtype=float),
                                   b[column].to_numpy(dtype=float), rtol=1e-9, atol=1e-9,
                                   err_msg=column)


@pytest.mark.spark
def test_spark_runs_the_same_feature_sql(spark) -> None:
    history = make_history(seed=5)
    index, campaigns = make_index(history, seed=5)
    window_weeks = 2
    con = duckdb.connect()
    load(con, history)
    expected = compute_features(con, index, campaigns, window_weeks, FIRST_WEEK)
    con.close()

    tables = dict(history)
    tables["cohort_index"] = index[["customer_id", "treatment", "index_week", "index_day"]]
    tables["index_campaigns"] = campaigns
    tables["design_params"] = pd.DataFrame({"window_weeks": [window_weeks],
                                            "first_week": [FIRST_WEEK]})
    for name, frame in tables.items():
        spark.createDataFrame(frame.astype(object).where(frame.notna(), None)
                              if frame.isna().any().any() else frame).createOrReplaceTempView(name)
    got = spark.sql(feature_sql()).toPandas()

    assert got["customer_id"].tolist() == expected["customer_id"].tolist()
    for column in COLUMNS:
        np.testing.assert_allclose(got[column].to_numpy(dtype=float),
                                   expected[column].to_numpy(dtype=float), rtol=1e-12,
                                   atol=1e-12, err_msg=column)


@pytest.mark.spark
def test_the_keyed_uniform_is_the_same_double_on_spark(spark) -> None:
    from rollout.data.engines import SparkEngine

    engine = SparkEngine(spark)
    try:
        got = _sql_uniforms(engine, IDS, "rollout.cohort.v1")
    finally:
        engine.close()
    assert got.tobytes() == keyed_uniform(IDS, "rollout.cohort.v1").tobytes()


@pytest.mark.spark
def test_the_embedded_cohort_is_the_same_on_spark(spark, tmp_path: Path) -> None:
    """The issue's done-criterion: `rollout cohort --engine spark` equals the DuckDB cohort."""
    runs = {}
    for engine in ("duckdb", "spark"):
        out = tmp_path / f"{engine}.parquet"
        result = CliRunner().invoke(cli, ["cohort", "--engine", engine, "-o", str(out),
                                          "--json"])
        assert result.exit_code == 0, result.output
        runs[engine] = (json.loads(result.stdout), out)
    (duck_doc, duck_path), (spark_doc, spark_path) = runs["duckdb"], runs["spark"]
    assert_same_cohort(pd.read_parquet(duck_path), pd.read_parquet(spark_path))
    assert duck_doc["attrition"] == spark_doc["attrition"]
    assert spark_doc["engine"] == {"engine": "spark", "spark_master": "local[*]",
                                   "spark_driver_memory": DEFAULT_DRIVER_MEMORY,
                                   "spark_conf": {}}
    assert read_parquet_metadata(spark_path)["build"]["engine"] == spark_doc["engine"]
    assert read_parquet_metadata(spark_path.with_name("spark.attrition.parquet"))[
        "build"]["engine"] == spark_doc["engine"]


@pytest.mark.spark
def test_a_generated_history_gives_the_same_cohort(spark, tmp_path: Path) -> None:
    folder = tmp_path / "generated"
    write_parquet_history(folder, 1500, 30, seed=11)
    duck = build_cohort(CompleteJourneySource(folder))
    on_spark = build_cohort(CompleteJourneySource(folder), engine=SPARK)
    assert duck.cohort.n_treated > 100 and duck.cohort.n_control > 100
    assert_same_cohort(duck.cohort.frame, on_spark.cohort.frame)
    pd.testing.assert_frame_equal(duck.attrition, on_spark.attrition)


@pytest.mark.spark
def test_the_dunnhumby_csvs_give_the_same_cohort_on_spark(spark, slice_dirs) -> None:
    duck = build_cohort(slice_dirs[1], campaign_type="TypeB")
    on_spark = build_cohort(slice_dirs[1], campaign_type="TypeB", engine=SPARK)
    assert_same_cohort(duck.cohort.frame, on_spark.cohort.frame)
    pd.testing.assert_frame_equal(duck.attrition, on_spark.attrition)


@pytest.mark.spark
def test_a_bad_csv_value_is_named_on_spark_too(spark, csv_copy: Path) -> None:
    path = csv_copy / "transaction_data.csv"
    frame = pd.read_csv(path, dtype=str)
    frame.loc[7, "DAY"] = "1.5"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match=r"'1\.5' is not an integer") as info:
        build_cohort(csv_copy, engine=SPARK)
    assert info.value.row == 8 and info.value.column == "DAY"


@pytest.mark.spark
def test_the_sample_is_the_same_households_on_spark(spark, slice_dirs) -> None:
    source = CompleteJourneySource(slice_dirs[0])
    duck = build_cohort(source, sample=80, seed=5)
    on_spark = build_cohort(source, sample=80, seed=5, engine=SPARK)
    assert_same_cohort(duck.cohort.frame, on_spark.cohort.frame)
    pd.testing.assert_frame_equal(duck.attrition, on_spark.attrition)
    assert duck.sample == on_spark.sample


@pytest.mark.spark
def test_features_as_of_are_the_same_on_spark(spark, slice_dirs) -> None:
    source = CompleteJourneySource(slice_dirs[0])
    weeks = pd.DataFrame({"customer_id": [5, 17, 29, 41, 53, 65, 77],
                          "as_of_week": [20, 30, 40, 54, 12, 33, 47]})
    for kwargs in ({"as_of_week": 30}, {"as_of": weeks}):
        duck = features_as_of(source, **kwargs)
        on_spark = features_as_of(source, engine=SPARK, **kwargs)
        assert len(duck) > 0
        assert_same_cohort(duck, on_spark)


@pytest.mark.spark
def test_a_history_at_a_url_is_read_by_spark(spark, slice_dirs, tmp_path: Path) -> None:
    """A URL with a scheme (here file://, read through the same Hadoop file-system layer as
    s3a://) is handed to Spark as it is: the same cohort as the local folder. A table missing
    at the URL is named; a scheme without a connector says what the session needs."""
    url = slice_dirs[0].resolve().as_uri()
    local = build_cohort(CompleteJourneySource(slice_dirs[0]), engine=SPARK)
    remote = build_cohort(CompleteJourneySource(url + "/"), engine=SPARK)
    assert_same_cohort(local.cohort.frame, remote.cohort.frame)
    out = tmp_path / "c.parquet"
    result = CliRunner().invoke(cli, ["cohort", "--parquet", url, "--engine", "spark",
                                      "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert_same_cohort(local.cohort.frame, pd.read_parquet(out))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="file not found") as info:
        build_cohort(CompleteJourneySource(empty.resolve().as_uri()), engine=SPARK)
    assert str(info.value.file).startswith("file://") and "transactions" in str(info.value.file)
    with pytest.raises(InputError, match="connector"):
        build_cohort(CompleteJourneySource("nosuchscheme://lake/journey"), engine=SPARK)
