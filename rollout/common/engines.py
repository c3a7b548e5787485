"""The engine names and Spark defaults, without the rest of :mod:`rollout.common.engine`.

Kept apart so that the command line can declare ``--engine`` at import time without loading
numpy and pandas (the command line starts at once, ``tests/test_startup.py``).
"""

ENGINES = ("duckdb", "spark")
DEFAULT_ENGINE = "duckdb"
#: Spark's master when none is given: local mode on every core of this machine.
LOCAL_MASTER = "local[*]"
#: The local driver's heap: the default 1 GB fails on the embedded promotions table.
DEFAULT_DRIVER_MEMORY = "4g"
#: Shuffle partitions in local mode (Spark's default 200 is tuned for clusters).
LOCAL_SHUFFLE_PARTITIONS = 8
