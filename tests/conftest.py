"""Shared test configuration: puts this folder on the path for ``calibration``."""

import pytest


@pytest.fixture(scope="session")
def spark_session():
    """One local Spark session (2 cores) for every ``@pytest.mark.spark`` test of the run."""
    pytest.importorskip("pyspark")
    from rollout.common.engine import EngineSettings
    from rollout.common.engine import spark_session as start

    session = start(EngineSettings("spark", master="local[2]"))
    yield session
    session.stop()
