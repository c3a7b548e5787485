"""Which engine runs the steps whose cost grows with the customer base: DuckDB or Spark.

DuckDB (the default) runs in this process; Spark runs the same definitions on a cluster, or in
local mode on this machine when no master is given. Everything that names an engine goes
through :class:`EngineSettings`, so the command line has one ``--engine``, ``--spark-master``
and ``--spark-driver-memory`` meaning the same thing on every command.

Local PySpark's default driver heap (1 GB) is too small for the embedded promotions table;
:data:`DEFAULT_DRIVER_MEMORY` (4 GB) works and is stated in every result that used Spark. On a
cluster the driver memory is what the cluster's own configuration says unless given.

>>> EngineSettings().name
'duckdb'
>>> EngineSettings("spark").to_dict()["spark_master"]
'local[*]'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rollout.common.display import DisplayMixin
from rollout.common.engines import (
    DEFAULT_DRIVER_MEMORY,
    DEFAULT_ENGINE,
    ENGINES,
    LOCAL_MASTER,
    LOCAL_SHUFFLE_PARTITIONS,
)
from rollout.errors import InputError


@dataclass(frozen=True)
class EngineSettings(DisplayMixin):
    """The engine and, for Spark, where it runs (``master``) and the driver's memory."""

    name: str = DEFAULT_ENGINE
    master: str | None = None
    driver_memory: str | None = None
    conf: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in ENGINES:
            raise InputError(f"unknown engine {self.name!r}; choose one of {', '.join(ENGINES)}",
                             argument="engine")
        if self.name != "spark" and (self.master or self.driver_memory or self.conf):
            raise InputError("Spark settings are given but the engine is "
                             f"{self.name!r}: choose the spark engine, or drop them",
                             argument="spark_master")

    @property
    def is_spark(self) -> bool:
        return self.name == "spark"

    @property
    def spark_master(self) -> str:
        return self.master or LOCAL_MASTER

    @property
    def local(self) -> bool:
        return self.spark_master.startswith("local")

    @property
    def spark_driver_memory(self) -> str | None:
        """The driver heap asked for: the default in local mode, the cluster's own otherwise."""
        if self.driver_memory:
            return self.driver_memory
        return DEFAULT_DRIVER_MEMORY if self.local else None

    def to_dict(self) -> dict[str, Any]:
        """What a result records of the engine that made it."""
        out: dict[str, Any] = {"engine": self.name}
        if self.is_spark:
            out.update({"spark_master": self.spark_master,
                        "spark_driver_memory": self.spark_driver_memory,
                        "spark_conf": dict(sorted(self.conf.items()))})
        return out


def require_pyspark() -> Any:
    """The pyspark module, or an :class:`InputError` saying how to install it."""
    try:
        import pyspark
    except ImportError:
        raise InputError("the Spark engine needs the optional package pyspark and Java 17: "
                         "pip install 'rollout[spark]' (and a Java 17 runtime), or use "
                         "engine 'duckdb'", argument="engine") from None
    return pyspark


def spark_session(settings: EngineSettings, app_name: str = "rollout") -> Any:
    """A Spark session for ``settings`` (started, or the running one reused).

    Local mode turns the web UI off and uses few shuffle partitions; the session's time zone is
    UTC so that timestamps mean the same on every machine. ``settings.conf`` is applied last, so
    a user's own Spark configuration wins.
    """
    require_pyspark()
    import warnings

    # pyspark warns on every pandas conversion that it does not yet know pandas 3; the
    # conversions used here (typed columns through Arrow) are checked by the tests
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support",
                            category=FutureWarning)
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", _python())
    builder = SparkSession.builder.master(settings.spark_master).appName(app_name)
    builder = (builder.config("spark.sql.session.timeZone", "UTC")
               # stdout may carry the one JSON document: no progress bar on the console
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true"))
    if settings.spark_driver_memory:
        builder = builder.config("spark.driver.memory", settings.spark_driver_memory)
    if settings.local:
        builder = (builder.config("spark.ui.enabled", "false")
                   .config("spark.sql.shuffle.partitions", str(LOCAL_SHUFFLE_PARTITIONS)))
    for key, value in sorted(settings.conf.items()):
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # no Java, or a cluster that cannot be reached
        raise InputError(f"could not start Spark at {settings.spark_master!r}: "
                         f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                         " (Spark needs a Java 17 runtime on PATH or JAVA_HOME)",
                         argument="spark_master") from None
    session.sparkContext.setLogLevel("ERROR")
    return session


def _python() -> str:
    import sys

    return sys.executable
