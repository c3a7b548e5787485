"""Assignment with the keyed hash computed on Spark: the same arms as in this process.

The hash rule (:mod:`rollout.planning.keyed_hash`) is SHA-256 of ``key:id``, which Spark SQL's
``sha2`` computes on the workers: this module reads the customer file in Spark, hashes every id
under each key assignment asks for, and hands the draws back in input order as the unsigned
64-bit integers the local rule gives (two 32-bit halves, as a ``bigint`` holds no unsigned 64-bit
value). Every decision made from the draws (who enters, the per-stratum counts and their
dependent rounding, the rank -> arm cut, re-randomization) is the one code of
:func:`rollout.planning.assignment.assign_customers`, so the arms are byte-for-byte those of the
local engine. The ids Spark read are checked against the driver's, in order, before any draw is
used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from rollout.common.engine import EngineSettings, spark_session
from rollout.errors import InputError

ID = "customer_id"


class SparkHasher:
    """A hasher for :func:`~rollout.planning.assignment.assign_customers` that runs on Spark."""

    def __init__(self, ids: pa.Array, path: Path, engine: EngineSettings) -> None:
        from pyspark.sql import functions as F

        self.ids = ids
        self.spark = spark_session(engine, app_name="rollout-assign")
        frame = _read(self.spark, path)
        if ID not in frame.columns:
            raise InputError("missing the customer id column", file=path, column=ID)
        self.is_text = pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)
        column = F.col(f"`{ID}`")
        integral = dict(frame.dtypes)[ID] in ("tinyint", "smallint", "int", "bigint")
        # integer ids are hashed as their decimal digits (a CSV's 7.0 as 7, like the local rule)
        key_id = (column.cast("string") if self.is_text
                  else column.cast("long") if integral else column.cast("decimal(38,6)")
                  .cast("long"))
        self.frame = frame.select(key_id.alias("key_id"))
        self.cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.checked = False

    def _hash(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        from pyspark.sql import functions as F

        if key in self.cache:
            return self.cache[key]
        digest = F.sha2(F.concat(F.lit(key + ":"), F.col("key_id").cast("string")), 256)
        halves = [F.conv(F.substring(digest, 1 + 8 * i, 8), 16, 10).cast("long").alias(f"h{i}")
                  for i in range(4)]
        got = self.frame.select(F.col("key_id"), *halves).toPandas()
        if not self.checked:
            self._check_order(got["key_id"])
        parts = [got[f"h{i}"].to_numpy(dtype=np.uint64) for i in range(4)]
        x = (parts[0] << np.uint64(32)) | parts[1]
        y = (parts[2] << np.uint64(32)) | parts[3]
        self.cache = {key: (x, y)}  # keep only the latest key: two arrays per customer
        return x, y

    def _check_order(self, key_id: Any) -> None:
        if self.is_text:
            same = key_id.tolist() == self.ids.to_pylist()
        else:
            same = np.array_equal(key_id.to_numpy(dtype=np.int64),
                                  self.ids.to_numpy(zero_copy_only=False).astype(np.int64))
        if not same:  # pragma: no cover - Spark keeps a single file's row order
            raise RuntimeError("Spark read the customers in another order than the driver")
        self.checked = True

    def pairs(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        return self._hash(key)

    def integers(self, key: str, rows: np.ndarray | None = None) -> np.ndarray:
        x = self._hash(key)[0]
        return x if rows is None else x[rows]


def _read(spark: Any, path: Path) -> Any:
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return spark.read.parquet(str(path))
        return spark.read.csv(str(path), header=True, inferSchema=False, encoding="UTF-8")
    except Exception as exc:  # the reader's own error: a damaged or unreadable file
        raise InputError(f"cannot be read by Spark: {str(exc).splitlines()[0]}",
                         file=path) from None


def spark_hasher(path: Path, engine: EngineSettings) -> Any:
    """The ``hasher`` argument of ``assign_customers`` for the customer file at ``path``."""
    return lambda ids: SparkHasher(ids, path, engine)
