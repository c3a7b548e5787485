"""The feature SQL is portable: Spark SQL runs the same text and gets the same numbers.

Skipped when pyspark is not installed (``pip install -e ".[spark]"``; needs Java 17). Marked
``spark`` (deselected by default) because starting a JVM takes several seconds: ``-m spark``.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from rollout.data.features import (
    CARRIED,
    COVARIATES,
    OUTCOMES,
    PRE_OUTCOMES,
    compute_features,
    feature_sql,
)

from .synthetic_history import FIRST_WEEK, load, make_history, make_index

pytestmark = [pytest.mark.filterwarnings("ignore:PySpark does not yet fully support"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]

COLUMNS = [*OUTCOMES, *COVARIATES, *PRE_OUTCOMES.values(), *CARRIED]


@pytest.fixture(scope="module")
def spark():
    # skipped here, not at import: the module then counts as deselected (not skipped) in the
    # default and calibration runs, and only a by-hand ``-m spark`` without pyspark skips it
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[1]").appName("rollout-feature-sql")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .getOrCreate())
    yield session
    session.stop()


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
