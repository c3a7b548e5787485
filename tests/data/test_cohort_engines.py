"""The engine-side steps on DuckDB: the keyed draw in SQL, the sample, features as of a week.

The Spark side of each is in ``test_cohort_spark.py``; here the SQL texts are held to the plain
Python reference (``hashlib``) and every error path is checked without a JVM.
"""

from __future__ import annotations

import builtins
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rollout.cli import cli
from rollout.common.engine import EngineSettings
from rollout.data import build_cohort, features_as_of
from rollout.data.cohort_design import (
    design_first_campaign,
    draw_index_weeks,
    keyed_uniform,
    keyed_uniform_sql,
)
from rollout.data.completejourney import CompleteJourneySource
from rollout.data.engines import DuckDBEngine, open_engine
from rollout.data.features import COVARIATES
from rollout.data.sampling import STEP_SAMPLE, allocate, sample_key
from rollout.errors import InputError
from rollout.io import read_parquet_metadata

#: Ids whose keyed integers sit where a rounding slip would show: many leading f's (u near 1),
#: many leading zeros, and ordinary ones.
IDS = sorted([*range(-50, 5000), 2**40 + 7, 2**62, 10**15 + 3])


def _sql_uniforms(engine, ids: list[int], salt: str) -> np.ndarray:
    engine.register("ids", pd.DataFrame({"customer_id": np.asarray(ids, dtype=np.int64)}))
    digest = f"sha2(CONCAT('{salt}', ':', CAST(customer_id AS STRING)), 256)"
    frame = engine.query(f"SELECT customer_id, {keyed_uniform_sql(digest)} AS u FROM ids "
                         "ORDER BY customer_id")
    return frame["u"].to_numpy()


def _near_one(salt: str, count: int = 3) -> list[int]:
    """Ids whose digest starts with 'fff' (u within 2**-12 of 1), found by search."""
    found = []
    i = 0
    while len(found) < count:
        if hashlib.sha256(f"{salt}:{i}".encode()).hexdigest().startswith("fff"):
            found.append(i)
        i += 1
    return found


def test_the_sql_uniform_is_the_python_uniform_bit_for_bit() -> None:
    salt = "rollout.cohort.v1"
    ids = sorted(set(IDS + _near_one(salt)))
    with open_engine() as engine:
        got = _sql_uniforms(engine, ids, salt)
    expected = keyed_uniform(ids, salt)
    assert got.tobytes() == expected.tobytes()  # the same doubles, not merely close
    assert got.max() > 1 - 2**-12


def test_the_design_draws_the_reference_weeks_for_controls() -> None:
    rng = np.random.default_rng(4)
    n = 3000
    households = pd.DataFrame({"customer_id": np.arange(1, n + 1),
                               "first_purchase_week": np.ones(n, dtype=np.int64)})
    campaigns = pd.DataFrame({"campaign_id": [1, 2, 3, 4], "campaign_type": ["A", "A", "B", "A"],
                              "start_week": [12, 20, 15, 31]})
    targeted = rng.choice(households["customer_id"], 600, replace=False)
    members = pd.DataFrame({"campaign_id": rng.choice([1, 2, 3, 4], 600),
                            "customer_id": targeted})
    design = design_first_campaign(households, campaigns, members, campaign_type="A",
                                   window_weeks=2, first_week=1, last_week=40, salt="pepper")
    index = design.index
    treated = index[index["treatment"] == 1]
    controls = index[index["treatment"] == 0]
    expected = draw_index_weeks(controls["customer_id"], treated["index_week"].to_numpy(),
                                salt="pepper")
    assert controls["index_week"].tolist() == expected.tolist()
    assert len(treated) > 300 and len(controls) > 2000


def test_allocation_is_proportional_and_refuses_what_cannot_be_drawn() -> None:
    assert allocate(100, 300, 700) == (30, 70)
    assert allocate(5, 1000, 1000) == (3, 2)  # half up
    assert allocate(2000, 1000, 1000) == (1000, 1000)
    with pytest.raises(InputError, match="at least 4; got 3"):
        allocate(3, 10, 10)
    with pytest.raises(InputError, match="more than the cohort's 20") as info:
        allocate(21, 10, 10)
    assert info.value.argument == "sample"
    with pytest.raises(InputError, match=r"keeps 0 control.*use a sample of 70 or more"):
        allocate(20, 1000, 22)
    assert min(allocate(70, 1000, 22)) == 2
    with pytest.raises(InputError, match="keeps 1 control"):
        allocate(69, 1000, 22)
    with pytest.raises(InputError, match="1 control household"):
        allocate(10, 100, 1)


def _reference_sample(frame: pd.DataFrame, key: str, n_treated: int,
                      n_control: int) -> set[int]:
    digest = frame["customer_id"].map(
        lambda i: hashlib.sha256(f"{key}:{i}".encode()).hexdigest())
    ranked = frame.assign(digest=digest).sort_values(["digest", "customer_id"])
    treated = ranked[ranked["treatment"] == 1].head(n_treated)
    control = ranked[ranked["treatment"] == 0].head(n_control)
    return set(treated["customer_id"]) | set(control["customer_id"])


@pytest.fixture(scope="module")
def slice_build(slice_dirs: tuple[Path, Path]):
    return build_cohort(CompleteJourneySource(slice_dirs[0]))


def test_the_sample_is_the_keyed_reference_and_is_recorded(slice_dirs, slice_build) -> None:
    full = slice_build.cohort.frame
    sampled = build_cohort(CompleteJourneySource(slice_dirs[0]), sample=60, seed=7)
    n_treated, n_control = allocate(60, slice_build.cohort.n_treated,
                                    slice_build.cohort.n_control)
    expected = _reference_sample(full, sample_key(slice_build.salt, 7), n_treated, n_control)
    frame = sampled.cohort.frame
    assert set(frame["customer_id"]) == expected
    assert (sampled.cohort.n_treated, sampled.cohort.n_control) == (n_treated, n_control)
    # A sampled household's row is its row in the full cohort: the sample only selects.
    pd.testing.assert_frame_equal(
        frame.reset_index(drop=True),
        full[full["customer_id"].isin(expected)].reset_index(drop=True))
    last = sampled.attrition.iloc[-1]
    assert last["step"] == STEP_SAMPLE and last["n_total"] == 60
    assert last["dropped"] == slice_build.cohort.n - 60
    record = sampled.to_dict()["sample"]
    assert record["population"] == {"treated": slice_build.cohort.n_treated,
                                    "control": slice_build.cohort.n_control}
    assert record["sample"] == {"treated": n_treated, "control": n_control}
    other = build_cohort(CompleteJourneySource(slice_dirs[0]), sample=60, seed=8)
    assert set(other.cohort.frame["customer_id"]) != expected


def test_cohort_cli_sample_and_engine_in_the_files(slice_dirs, tmp_path: Path) -> None:
    out = tmp_path / "c.parquet"
    result = CliRunner().invoke(cli, ["cohort", "--parquet", str(slice_dirs[0]), "--sample",
                                      "50", "--seed", "2", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["n"] == 50 and doc["engine"] == {"engine": "duckdb"}
    assert doc["sample"]["seed"] == 2 and doc["attrition"][-1]["step"] == STEP_SAMPLE
    for path in (out, out.with_name("c.attrition.parquet")):
        build = read_parquet_metadata(path)["build"]
        assert build["engine"] == {"engine": "duckdb"} and build["sample"] == doc["sample"]
    attrition = pd.read_parquet(out.with_name("c.attrition.parquet"))
    assert attrition.to_dict(orient="records") == doc["attrition"]


@pytest.mark.parametrize(("args", "message"), [
    (["--sample", "3"], "option --sample: a sample needs at least 2 households per arm"),
    (["--sample", "100000"], "more than the cohort's"),
    (["--spark-master", "local[2]"], "option --spark-master: Spark settings are given"),
    (["--dunnhumby", "x"], "give one of --source, --dunnhumby and --parquet"),
])
def test_cohort_cli_refuses(slice_dirs, tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = CliRunner().invoke(cli, ["cohort", "--parquet", str(slice_dirs[0]), *args,
                                      "-o", str(out / "c.parquet")])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert list(out.iterdir()) == []


def test_spark_without_pyspark_is_a_clear_input_error(slice_dirs, tmp_path: Path,
                                                      monkeypatch) -> None:
    real_import = builtins.__import__

    def no_pyspark(name, *args, **kwargs):
        if name == "pyspark" or name.startswith("pyspark."):
            raise ImportError("No module named 'pyspark'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyspark)
    with pytest.raises(InputError, match=r"pip install 'rollout\[spark\]'"):
        build_cohort(CompleteJourneySource(slice_dirs[0]), engine=EngineSettings("spark"))
    with pytest.raises(InputError, match="needs the optional package pyspark"):
        features_as_of(CompleteJourneySource(slice_dirs[0]), engine=EngineSettings("spark"))
    result = CliRunner().invoke(cli, ["cohort", "--parquet", str(slice_dirs[0]), "--engine",
                                      "spark", "-o", str(tmp_path / "c.parquet")])
    assert result.exit_code == 2 and "option --engine" in result.output
    assert "pyspark" in result.output and not (tmp_path / "c.parquet").exists()


def test_features_as_of_the_index_week_are_the_cohort_covariates(slice_dirs,
                                                                 slice_build) -> None:
    frame = slice_build.cohort.frame
    treated = frame.loc[frame["treatment"] == 1, ["customer_id", "index_week"]]
    got = features_as_of(CompleteJourneySource(slice_dirs[0]),
                         as_of=treated.rename(columns={"index_week": "as_of_week"}))
    assert got["customer_id"].tolist() == treated["customer_id"].tolist()
    assert got["as_of_week"].tolist() == treated["index_week"].tolist()
    expected = frame.set_index("customer_id").loc[got["customer_id"], COVARIATES]
    np.testing.assert_array_equal(got[COVARIATES].to_numpy(), expected.to_numpy())
    assert list(got.columns) == ["customer_id", "as_of_week", *COVARIATES]


def test_features_as_of_one_week_for_everyone(slice_dirs, slice_build) -> None:
    source = CompleteJourneySource(slice_dirs[0])
    now = features_as_of(source)
    assert (now["as_of_week"] == slice_build.last_week + 1).all()
    assert now["customer_id"].is_unique and now["recency_weeks"].min() >= 1
    early = features_as_of(source, as_of_week=10)
    assert len(early) < len(now)  # only those with a purchase before week 10
    assert (early["recency_weeks"] <= 9).all()
    assert np.isfinite(early[COVARIATES].to_numpy(dtype=float)).all()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"as_of_week": 1}, "leaves no week of data before it"),
    ({"as_of_week": 60}, "is past the data"),
    ({"as_of_week": 10, "as_of": pd.DataFrame({"customer_id": [1], "as_of_week": [5]})},
     "not both"),
    ({"as_of": pd.DataFrame({"customer_id": [1]})}, "needs the column(s) as_of_week"),
    ({"as_of": pd.DataFrame({"customer_id": [1, 1], "as_of_week": [5, 6]})},
     "appears more than once"),
    ({"as_of": pd.DataFrame({"customer_id": [1], "as_of_week": [5.5]})}, "whole numbers"),
    ({"as_of": pd.DataFrame({"customer_id": [1], "as_of_week": [99]})},
     "the last as-of week, 99, is past the data"),
])
def test_features_as_of_refuses(slice_dirs, kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        features_as_of(CompleteJourneySource(slice_dirs[0]), **kwargs)


def test_duckdb_gets_the_spark_names_it_lacks() -> None:
    engine = DuckDBEngine()
    try:
        row = engine.fetchone("SELECT sha2('a', 256), unix_date(DATE '1970-01-11'), "
                              "CAST(from_utc_timestamp(TIMESTAMP '2017-07-03 03:40:00', "
                              "'America/New_York') AS DATE)")
    finally:
        engine.close()
    assert row[0] == hashlib.sha256(b"a").hexdigest()
    assert row[1] == 10 and str(row[2]) == "2017-07-02"


def test_a_url_is_refused_by_duckdb_naming_the_table(tmp_path: Path) -> None:
    """DuckDB reads local files: an object-store URL is refused before anything is read,
    naming the table's URL and the engine that reads it, with no traceback or output."""
    with pytest.raises(InputError, match="Spark engine only") as info:
        build_cohort(CompleteJourneySource("s3a://lake/journey/"))
    assert info.value.file == "s3a://lake/journey/transactions.parquet"
    out = tmp_path / "c.parquet"
    result = CliRunner().invoke(cli, ["cohort", "--parquet", "s3a://lake/journey", "-o",
                                      str(out)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "s3a://lake/journey/transactions.parquet" in result.output
    assert not out.exists()
