"""Scoring on Spark: the customer table is read and scored on the workers, in bounded memory.

The model's bytes (checked against the analysis's SHA-256 on the driver) are broadcast once; each
worker loads them once per Python process and scores the batches of its partitions with the same
:meth:`~rollout.scoring.scorer.Scorer.score_frame` the DuckDB path uses (``mapInPandas``: Arrow
batches of ``spark.sql.execution.arrow.maxRecordsPerBatch`` rows). The scored partitions are
written as parquet beside the output and streamed, partition by partition in input order, into
the one output file, so the driver holds one batch at a time. On a cluster the output's folder
must be storage that the driver and the workers both see.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from rollout.common.engine import EngineSettings, spark_session
from rollout.errors import InputError
from rollout.scoring.scorer import ID_COLUMN, Scorer, ScoringPlan, check_columns, id_type_of

#: Scorers already loaded in this (worker) process, by the model's SHA-256.
_LOADED: dict[str, Scorer] = {}
_NUMERIC = ("tinyint", "smallint", "int", "bigint", "float", "double", "decimal")


def _worker_scorer(model: Any, plan: ScoringPlan) -> Scorer:
    scorer = _LOADED.get(plan.sha256)
    if scorer is None:
        scorer = _LOADED[plan.sha256] = Scorer.from_bytes(model.value, plan)
    return scorer


def score_partition(batches: Iterator[Any], model: Any, plan: ScoringPlan) -> Iterator[Any]:
    """The ``mapInPandas`` function: every batch of a partition through the one scorer."""
    scorer = _worker_scorer(model, plan)
    for frame in batches:
        yield scorer.score_frame(frame, offset=None)


def _read(spark: Any, path: Path, kind: str) -> Any:
    try:
        if kind == "parquet":
            return spark.read.parquet(str(path))
        return spark.read.csv(str(path), header=True, inferSchema=True, encoding="UTF-8")
    except Exception as exc:  # the reader's own error: a damaged or unreadable file
        raise InputError(f"cannot be read by Spark: {str(exc).splitlines()[0]}",
                         file=path) from None


def _check_missing(frame: Any, plan: ScoringPlan, path: Path) -> None:
    """One pass counting missing ids and missing or non-finite covariates (named if any)."""
    from pyspark.sql import functions as F

    def bad(column: str) -> Any:
        value = F.col(f"`{column}`")
        test = value.isNull()
        if column != ID_COLUMN:
            number = value.cast("double")
            test = test | F.isnan(number) | (F.abs(number) == float("inf"))
        return F.sum(F.when(test, 1).otherwise(0)).alias(column)

    columns = [ID_COLUMN, *plan.covariates]
    counts = frame.agg(*[bad(c) for c in columns]).collect()[0].asDict()
    for column in columns:
        if counts[column]:
            what = "customer id" if column == ID_COLUMN else "covariate value"
            raise InputError(f"{what} is missing or not finite in {counts[column]} rows",
                             file=path, column=column)


def _spark_schema(plan: ScoringPlan, id_is_text: bool) -> Any:
    from pyspark.sql import types as T

    fields = []
    for column in plan.columns:
        if column == ID_COLUMN:
            kind = T.StringType() if id_is_text else T.LongType()
        elif column == "outside_covariates":
            kind = T.StringType()
        elif column.startswith("cate"):
            kind = T.DoubleType()
        else:
            kind = T.ByteType()
        fields.append(T.StructField(column, kind, True))
    return T.StructType(fields)


def spark_batches(scorer: Scorer, path: Path, kind: str, engine: EngineSettings,
                  scratch: Path) -> tuple[pa.DataType, Iterator[pa.RecordBatch]]:
    """The id type and the scored batches of ``path`` scored on Spark, in input order.

    ``scratch`` is the folder for the scored partitions (removed when the batches are read).
    """
    from pyspark.sql import functions as F

    spark = spark_session(engine, app_name="rollout-score")
    frame = _read(spark, path, kind)
    types = dict(frame.dtypes)
    check_columns({c: t.startswith(_NUMERIC) for c, t in types.items()}, scorer.plan, str(path))
    id_type = id_type_of(types[ID_COLUMN], path)
    _check_missing(frame, scorer.plan, path)
    frame = frame.select(
        F.col(f"`{ID_COLUMN}`").cast("string" if id_type == pa.string() else "long")
        .alias(ID_COLUMN),
        *[F.col(f"`{c}`").cast("double").alias(c) for c in scorer.plan.covariates])
    model = spark.sparkContext.broadcast(scorer.data)
    plan = scorer.plan
    scored = frame.mapInPandas(lambda batches: score_partition(batches, model, plan),
                               _spark_schema(plan, id_type == pa.string()))
    return id_type, _written_batches(scored, scratch, model)


def _written_batches(scored: Any, scratch: Path, model: Any) -> Iterator[pa.RecordBatch]:
    """Write the scored partitions into ``scratch``, then stream them back in input order."""
    scratch.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".rollout-score-", dir=scratch))
    try:
        target = folder / "scored"
        scored.write.mode("overwrite").parquet(str(target))
        for part in sorted(target.glob("part-*.parquet")):
            yield from pq.ParquetFile(part).iter_batches(batch_size=1 << 16)
    finally:
        model.unpersist()
        shutil.rmtree(folder, ignore_errors=True)
