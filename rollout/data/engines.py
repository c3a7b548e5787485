"""The SQL engines the data layer runs on: DuckDB in this process, or Spark (local or a cluster).

Every definition of the data layer (the tidy staging of a source, the cohort design, the
features) is one SQL text that both engines run unchanged. The text is written in the common
subset of the two dialects, with Spark SQL's names for the three functions DuckDB spells
differently; a DuckDB connection opened here defines them as macros:

=================================  =========================================================
``sha2(text, 256)``                SHA-256 of the text as 64 lowercase hex digits
``from_utc_timestamp(ts, zone)``   the wall-clock time in ``zone`` of the UTC timestamp ``ts``
``unix_date(date)``                days since 1970-01-01
=================================  =========================================================

A :class:`SqlEngine` holds named tables (DuckDB tables or views; Spark temporary views), reads
parquet and CSV files itself (Spark reads them in its executors, never through pandas), runs a
query and returns a pandas frame. Only small results (attrition counts, the finished cohort)
come back to this process.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from rollout.common.engine import EngineSettings, spark_session
from rollout.errors import InputError

#: The macros that give DuckDB the Spark SQL names the portable texts use.
DUCKDB_MACROS = (
    "CREATE OR REPLACE MACRO sha2(text, bits) AS sha256(text)",
    "CREATE OR REPLACE MACRO from_utc_timestamp(ts, zone) AS timezone(zone, timezone('UTC', ts))",
    "CREATE OR REPLACE MACRO unix_date(d) AS "
    "CAST(date_diff('day', DATE '1970-01-01', CAST(d AS DATE)) AS INTEGER)",
)


def duckdb_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB set up for the data layer (no network, no progress bar, macros)."""
    con = duckdb.connect(":memory:")
    # No network at run time: never fetch an extension.
    con.execute("SET autoinstall_known_extensions = false")
    # DuckDB's own progress bar writes to stdout, which may carry the one JSON document.
    con.execute("SET enable_progress_bar = false")
    for macro in DUCKDB_MACROS:
        con.execute(macro)
    return con


class SqlEngine(ABC):
    """Named tables and queries on one engine; see the module docstring."""

    name: str
    #: Whether tables keep the order of their file, so that a row can be named by its number.
    row_numbers: bool = False

    @abstractmethod
    def register(self, name: str, frame: pd.DataFrame) -> None:
        """Make a (small) pandas frame a table called ``name``."""

    @abstractmethod
    def create_table(self, name: str, sql: str, *, order_by: str | None = None,
                     keep: bool = False) -> None:
        """Make the result of ``sql`` a table called ``name``.

        ``order_by`` keeps the rows in that order where the engine numbers rows (DuckDB);
        ``keep`` asks a lazy engine (Spark) to keep the result once computed, for a table that
        several later steps read.
        """

    @abstractmethod
    def create_view(self, name: str, sql: str) -> None:
        """Make ``sql`` a view called ``name``: computed where it is read, never stored."""

    @abstractmethod
    def read_parquet(self, name: str, path: str | Path, *, row_numbers: bool = False) -> None:
        """A table ``name`` reading the parquet file (or folder of part files) at ``path``."""

    @abstractmethod
    def read_csv_text(self, name: str, path: str | Path) -> None:
        """A table ``name`` reading a CSV file with a header row, every column as text."""

    @abstractmethod
    def columns(self, name: str) -> dict[str, str]:
        """Each column of table ``name`` and its type in upper case (``BIGINT``, ``DOUBLE``)."""

    @abstractmethod
    def query(self, sql: str) -> pd.DataFrame:
        """Run ``sql`` and return its result as a pandas frame."""

    def fetchone(self, sql: str) -> tuple | None:
        """The first row of ``sql`` as a tuple, or None when it has no rows."""
        frame = self.query(sql)
        if frame.empty:
            return None
        return tuple(None if pd.isna(v) else v for v in frame.iloc[0].tolist())

    @abstractmethod
    def drop(self, name: str) -> None:
        """Forget table ``name`` (nothing happens when there is none)."""

    def close(self) -> None:  # noqa: B027 (an engine with nothing to release keeps this)
        """Release what this engine holds."""


class DuckDBEngine(SqlEngine):
    """DuckDB in this process; tables keep their file order, so ``rowid`` is the file row."""

    name = "duckdb"
    row_numbers = True

    def __init__(self, con: duckdb.DuckDBPyConnection | None = None) -> None:
        self.owned = con is None
        self.con = duckdb_connection() if con is None else con
        if con is not None:
            for macro in DUCKDB_MACROS:
                con.execute(macro)

    def register(self, name: str, frame: pd.DataFrame) -> None:
        view = f"__frame_{name}"
        self.con.register(view, frame)
        try:
            self.drop(name)
            self.con.execute(f"CREATE TABLE {name} AS SELECT * FROM {view}")
        finally:
            self.con.unregister(view)

    def create_table(self, name: str, sql: str, *, order_by: str | None = None,
                     keep: bool = False) -> None:
        text = sql if order_by is None else f"{sql}\nORDER BY {order_by}"
        # Build under a temporary name first: ``sql`` may read the table it replaces.
        self.con.execute(f"CREATE OR REPLACE TABLE __next_{name} AS {text}")
        self.drop(name)
        self.con.execute(f"ALTER TABLE __next_{name} RENAME TO {name}")

    def create_view(self, name: str, sql: str) -> None:
        self.drop(name)
        self.con.execute(f"CREATE VIEW {name} AS {sql}")

    def read_parquet(self, name: str, path: str | Path, *, row_numbers: bool = False) -> None:
        target = Path(path)
        files = str(target / "**" / "*.parquet") if target.is_dir() else str(target)
        numbered = ", file_row_number = true" if row_numbers else ""
        self.drop(name)
        self.con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet("
                         f"{_literal(files)}{numbered})")

    def read_csv_text(self, name: str, path: str | Path) -> None:
        self.drop(name)
        self.con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_csv({_literal(str(path))}, "
                         "header = true, all_varchar = true)")

    def columns(self, name: str) -> dict[str, str]:
        described = self.con.execute(f"DESCRIBE SELECT * FROM {name}").fetchall()
        return {row[0]: str(row[1]).upper() for row in described}

    def query(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).df()

    def fetchone(self, sql: str) -> tuple | None:
        return self.con.execute(sql).fetchone()

    def drop(self, name: str) -> None:
        kinds = {row[0] for row in self.con.execute(
            "SELECT table_type FROM information_schema.tables WHERE table_name = ?",
            [name]).fetchall()}
        if "VIEW" in kinds:
            self.con.execute(f"DROP VIEW {name}")
        elif kinds:
            self.con.execute(f"DROP TABLE {name}")

    def close(self) -> None:
        if self.owned:
            self.con.close()


class SparkEngine(SqlEngine):
    """Spark SQL: tables are temporary views of the session; files are read by Spark itself."""

    name = "spark"

    def __init__(self, session: Any) -> None:
        self.spark = session
        self._views: set[str] = set()
        self._kept: list[Any] = []

    def _view(self, name: str, frame: Any) -> None:
        frame.createOrReplaceTempView(name)
        self._views.add(name)

    def register(self, name: str, frame: pd.DataFrame) -> None:
        if len(frame) == 0:
            # An empty pandas frame carries no types Spark can read: give the schema by hand.
            schema = ", ".join(f"`{c}` {_spark_type(frame[c])}" for c in frame.columns)
            self._view(name, self.spark.createDataFrame([], schema))
            return
        clean = frame.astype(object).where(frame.notna(), None) \
            if frame.isna().any().any() else frame
        self._view(name, self.spark.createDataFrame(clean))

    def create_table(self, name: str, sql: str, *, order_by: str | None = None,
                     keep: bool = False) -> None:
        frame = self.spark.sql(sql)
        if keep:
            from pyspark import StorageLevel

            frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
            self._kept.append(frame)
        self._view(name, frame)

    def create_view(self, name: str, sql: str) -> None:
        self._view(name, self.spark.sql(sql))

    def read_parquet(self, name: str, path: str | Path, *, row_numbers: bool = False) -> None:
        try:
            frame = self.spark.read.parquet(str(path))
        except Exception as exc:  # Spark's AnalysisException or a Java error through py4j
            raise InputError(_spark_read_problem(exc), file=path) from None
        self._view(name, frame)

    def read_csv_text(self, name: str, path: str | Path) -> None:
        frame = (self.spark.read.option("header", "true").option("inferSchema", "false")
                 .option("encoding", "UTF-8").csv(str(path)))
        self._view(name, frame)

    def columns(self, name: str) -> dict[str, str]:
        return {column: kind.upper() for column, kind in self.spark.table(name).dtypes}

    def query(self, sql: str) -> pd.DataFrame:
        return self.spark.sql(sql).toPandas()

    def drop(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)
        self._views.discard(name)

    def close(self) -> None:
        for frame in self._kept:
            with contextlib.suppress(Exception):
                frame.unpersist()
        for name in sorted(self._views):
            with contextlib.suppress(Exception):
                self.spark.catalog.dropTempView(name)
        self._kept.clear()
        self._views.clear()


def _spark_read_problem(exc: Exception) -> str:
    """What went wrong when Spark opened a file, in words (the first line of its message)."""
    text = str(exc)
    if "PATH_NOT_FOUND" in text or "does not exist" in text:
        return "file not found"
    if "No FileSystem for scheme" in text or "UnsupportedFileSystem" in text:
        return ("Spark has no file system for this URL's scheme: the session needs the "
                "store's connector and credentials (for s3a://, the hadoop-aws package and "
                "its fs.s3a settings as Spark configuration)")
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)
    return f"Spark could not read it: {first[:300]}"


def _spark_type(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values):
        return "boolean"
    if pd.api.types.is_integer_dtype(values):
        return "bigint"
    if pd.api.types.is_float_dtype(values):
        return "double"
    return "string"


def _literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def as_engine(con: SqlEngine | duckdb.DuckDBPyConnection) -> SqlEngine:
    """``con`` as an engine: a DuckDB connection is wrapped (and not closed by the wrapper)."""
    if isinstance(con, SqlEngine):
        return con
    return DuckDBEngine(con)


@contextlib.contextmanager
def open_engine(settings: EngineSettings | None = None) -> Iterator[SqlEngine]:
    """The engine ``settings`` name, closed on leaving (a Spark session stays up for reuse).

    >>> with open_engine() as engine:
    ...     engine.query("SELECT 1 AS one")["one"].tolist()
    [1]
    """
    settings = settings or EngineSettings()
    engine: SqlEngine
    if settings.is_spark:
        engine = SparkEngine(spark_session(settings, app_name="rollout-data"))
    else:
        engine = DuckDBEngine()
    try:
        yield engine
    finally:
        engine.close()
