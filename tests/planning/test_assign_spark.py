"""`rollout assign --engine spark` writes the same files, byte for byte, as the local engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rollout.cli import cli

pytestmark = [pytest.mark.spark,
              pytest.mark.filterwarnings("ignore:PySpark does not yet fully support"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]


def _run(*args: object) -> None:
    done = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)
    assert done.exit_code == 0, done.output


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("assign-spark")
    rng = np.random.default_rng(5)
    n = 30_000
    frame = pd.DataFrame({"customer_id": rng.permutation(np.arange(1, 3 * n))[:n],
                          "segment": rng.choice(list("ABCD"), n), "region": rng.integers(0, 3, n),
                          "spend": rng.gamma(2, 50, n).round(2), "visits": rng.poisson(4, n)})
    frame.to_parquet(root / "customers.parquet", row_group_size=5_000)
    frame.to_csv(root / "customers.csv", index=False)
    _run("design", "--sd", "100", "--n", "6001", "--strata", "segment,region", "-o",
         root / "design.json")
    return root


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(("method", "rerandomize", "table"),
                         [("complete", 1, "customers.parquet"), ("complete", 5, "customers.csv"),
                          ("hash", 1, "customers.csv"), ("hash", 3, "customers.parquet")])
def test_spark_assignment_files_equal_the_local_ones(inputs: Path, tmp_path: Path, method: str,
                                                     rerandomize: int, table: str,
                                                     spark_session) -> None:
    args = [inputs / "design.json", inputs / table, "--method", method, "--rerandomize",
            rerandomize, "--salt", "spring"]
    _run("assign", *args, "-o", tmp_path / "local" / "a.parquet")
    _run("assign", *args, "-o", tmp_path / "spark" / "a.parquet", "--engine", "spark",
         "--spark-master", "local[2]")
    local, spark = _files(tmp_path / "local"), _files(tmp_path / "spark")
    assert len(local) == 8 and local.keys() == spark.keys()
    for name in local:
        assert local[name] == spark[name], name
    arms = pd.read_parquet(tmp_path / "spark" / "a.parquet")
    assert (arms["arm"] == "treatment").sum() > 2_000  # a real assignment, not an empty one
