"""``rollout score``: the deployed CATE model and the policies' lists applied to a customer table.

The customer table (parquet or CSV: ``customer_id`` and the covariates the analysis recorded) is
read in batches and never held whole: DuckDB reads it in this process, or Spark reads it on its
workers (:mod:`rollout.scoring.spark`). Every batch is scored by the one
:meth:`~rollout.scoring.scorer.Scorer.score_frame`, and the scored rows are streamed into one
parquet file in input order with fixed row groups, so both engines write the same bytes. A
small JSON summary lands beside it (``<name>.summary.json``): the customers, how many each flag
marks, who lies outside the covariate range the model was fitted on and on which covariates, the
model and its checksum, the engine. Both files land as a set, or neither does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rollout.common.display import DisplayMixin
from rollout.common.engine import EngineSettings
from rollout.errors import InputError
from rollout.io import check_utf8_file, output_set, parquet_stream, write_json
from rollout.scoring.scorer import (
    ID_COLUMN,
    OUTSIDE,
    OUTSIDE_COVARIATES,
    Scorer,
    ScoringPlan,
    check_columns,
    id_type_of,
)

SCORES_SCHEMA = "rollout.scores/1"
#: Customers per batch in this process (a batch of covariates and its scores: a few MB).
BATCH_ROWS = 1 << 16
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv",)


def summary_path_for(output: str | Path) -> Path:
    """Where the summary of a scored table goes: beside it, ``<stem>.summary.json``.

    >>> summary_path_for("out/scores.parquet").name
    'scores.summary.json'
    """
    output = Path(output)
    return output.with_name(f"{output.stem}.summary.json")


@dataclass(frozen=True)
class ScoreResult(DisplayMixin):
    """A scored customer table as written: where, and its summary document."""

    output: Path
    summary_path: Path
    document: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The summary document (as written beside the table)."""
        return dict(self.document)

    def summary(self) -> pd.DataFrame:
        """Customers each flag marks."""
        n = max(int(self.document["customers"]), 1)
        flags = self.document["flags"]
        return pd.DataFrame({"flag": list(flags), "customers": list(flags.values()),
                             "share": [v / n for v in flags.values()]})

    def to_pandas(self) -> pd.DataFrame:
        return self.summary()


def output_schema(plan: ScoringPlan, id_type: pa.DataType) -> pa.Schema:
    """The Arrow schema of a scored table (both engines cast to it before writing)."""
    types = {ID_COLUMN: id_type, OUTSIDE_COVARIATES: pa.string()}
    return pa.schema([(c, types.get(c, pa.float64() if c.startswith("cate") else pa.int8()))
                      for c in plan.columns])


def check_customers_file(path: Path) -> str:
    """The file's kind (``parquet`` or ``csv``), or an :class:`InputError` naming it."""
    if not path.exists():
        raise InputError("file does not exist", file=path)
    if path.is_dir():
        raise InputError("expected a file (parquet or CSV), got a folder", file=path)
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in CSV_SUFFIXES:
        check_utf8_file(path)
        return "csv"
    raise InputError("unknown file type; use .parquet or .csv", file=path)


class Tally:
    """Counts over the scored rows as they stream past: customers, each flag, each covariate
    outside the fitted range."""

    def __init__(self, plan: ScoringPlan) -> None:
        self.flags = [c for c in plan.columns if c.startswith("target_")] + [OUTSIDE]
        self.n = 0
        self.counts = dict.fromkeys(self.flags, 0)
        self.by_covariate = dict.fromkeys(plan.covariates, 0)

    def add(self, table: pa.Table) -> None:
        self.n += table.num_rows
        for flag in self.flags:
            self.counts[flag] += int(pc.sum(table[flag]).as_py() or 0)
        which = table[OUTSIDE_COVARIATES]
        named = pc.filter(which, pc.not_equal(which, ""))
        if len(named):
            parts = pc.list_flatten(pc.split_pattern(named, ","))
            for item in pc.value_counts(parts).to_pylist():
                self.by_covariate[item["values"]] += int(item["counts"])


def _local_batches(scorer: Scorer, path: Path, kind: str, batch_rows: int,
                   ) -> tuple[pa.DataType, Iterator[pd.DataFrame]]:
    """The scored batches of a file read by DuckDB in this process, in input order."""
    import duckdb

    source = str(path)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    try:
        rel = (con.read_parquet(source) if kind == "parquet"
               else con.read_csv(source, header=True, sample_size=-1))
    except duckdb.Error as exc:
        raise InputError(f"cannot be read: {exc}", file=path) from None
    numeric = {c: _duckdb_numeric(str(t)) for c, t in zip(rel.columns, rel.types, strict=True)}
    check_columns(numeric, scorer.plan, source)
    id_type = id_type_of(str(dict(zip(rel.columns, rel.types, strict=True))[ID_COLUMN]), path)
    wanted = [ID_COLUMN, *scorer.plan.covariates]
    reader = rel.project(", ".join(_quote(c) for c in wanted)).to_arrow_reader(batch_rows)

    def batches() -> Iterator[pd.DataFrame]:
        offset = 0
        try:
            for batch in reader:
                frame = batch.to_pandas()
                missing = frame[ID_COLUMN].isna().to_numpy()
                if missing.any():
                    raise InputError("missing customer id", file=source, column=ID_COLUMN,
                                     row=offset + int(np.flatnonzero(missing)[0]))
                yield scorer.score_frame(frame, offset, source)
                offset += len(frame)
        except duckdb.Error as exc:
            raise InputError(f"cannot be read: {exc}", file=path) from None
        finally:
            con.close()

    return id_type, batches()


def _duckdb_numeric(type_name: str) -> bool:
    name = type_name.upper()
    return (name in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                     "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE"}
            or name.startswith("DECIMAL"))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def score_table(results: str | Path, customers: str | Path, output: str | Path, *,
                engine: EngineSettings | None = None, batch_rows: int = BATCH_ROWS,
                on_step: Callable[[str], None] | None = None) -> ScoreResult:
    """Score every customer of ``customers`` with the deployed model of ``results``.

    Writes ``output`` (parquet: ``customer_id``, ``cate``, ``cate_lower``/``cate_upper`` when the
    model has intervals, one ``target_<policy>`` 0/1 column per policy that is a rule on a
    customer's own values, ``outside_fitted_range`` and ``outside_covariates``) and its summary
    beside it (:func:`summary_path_for`). ``engine`` says where the batches are scored (DuckDB in
    this process by default, or Spark). Raises :class:`InputError` for a model whose checksum
    does not match, a table without a covariate, and other bad input; nothing is written then.
    """
    engine = engine or EngineSettings()
    output, customers = Path(output), Path(customers)
    if output.suffix.lower() not in PARQUET_SUFFIXES:
        raise InputError("the output must be a .parquet file", file=output)
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
        raise InputError(f"must be a positive integer, got {batch_rows!r}",
                         argument="batch_rows")
    step = on_step or (lambda _name: None)
    step("loading the model")
    scorer = Scorer.open(results)
    kind = check_customers_file(customers)
    step("scoring customers")
    if engine.is_spark:
        from rollout.scoring.spark import spark_batches

        id_type, batches = spark_batches(scorer, customers, kind, engine,
                                          output.parent)
    else:
        id_type, batches = _local_batches(scorer, customers, kind, batch_rows)
    schema = output_schema(scorer.plan, id_type)
    tally = Tally(scorer.plan)
    summary_path = summary_path_for(output)
    with output_set(output):
        with parquet_stream(output, schema) as sink:
            for batch in batches:
                table = (pa.Table.from_pandas(batch, preserve_index=False)
                         if isinstance(batch, pd.DataFrame) else pa.Table.from_batches([batch]))
                table = table.select(schema.names).cast(schema)
                sink.write(table)
                tally.add(table)
        document = _document(scorer, results, customers, engine, tally)
        write_json(summary_path, document)
    return ScoreResult(output=output, summary_path=summary_path, document=document)


def _document(scorer: Scorer, results: str | Path, customers: Path, engine: EngineSettings,
              tally: Tally) -> dict[str, Any]:
    plan, record = scorer.plan, scorer.record
    warnings = []
    if plan.ranges is None:
        warnings.append("the results record no fitted covariate range (written by an older "
                        "rollout analyze): no customer is flagged outside it; re-run the "
                        "analysis to record it")
    if plan.breakeven is None:
        warnings.append("the results record no breakeven (no campaign cost): no policy list "
                        "is written")
    outside = tally.counts[OUTSIDE]
    return {
        "schema": SCORES_SCHEMA,
        "results": str(results), "customers_file": str(customers),
        "model": {"model": record.get("model"), "outcome": record.get("outcome"),
                  "sha256": plan.sha256, "file": record.get("file"),
                  "covariates": list(plan.covariates), "intervals": plan.has_interval},
        "engine": engine.to_dict(),
        "customers": tally.n,
        "columns": list(plan.columns),
        "breakeven_cate": plan.breakeven,
        "policies": {name: kind for name, (kind, _) in plan.rules.items()},
        "policies_not_scored": dict(plan.not_scored),
        "flags": dict(tally.counts),
        "outside_fitted_range": {
            "customers": outside, "share": outside / tally.n if tally.n else 0.0,
            "by_covariate": {c: n for c, n in tally.by_covariate.items() if n},
            "fitted_range": None if plan.ranges is None
            else {c: list(v) for c, v in plan.ranges.items()},
            "rule": "a customer is outside when any covariate lies below the minimum or above "
                    "the maximum over the customers the model was fitted on"},
        "warnings": warnings,
    }
