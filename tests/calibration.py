"""Replication counts for the statistical simulations.

The slow simulations (``-m slow``) run their full replication counts. The calibration tier
(``-m calibration``, run by ``.ci/run`` with ``ROLLOUT_CALIBRATION=1``) runs a subset of them with
fewer replications; every tolerance is computed from the replication count actually used
(Monte Carlo standard errors), so a reduced run is still a valid, only less sensitive, check.
"""

from __future__ import annotations

import math
import os

CALIBRATION = os.environ.get("ROLLOUT_CALIBRATION", "") == "1"


def replications(full: int, calibration: int) -> int:
    """``calibration`` replications in the CI calibration tier, else ``full``."""
    return calibration if CALIBRATION else full


def mc_se(p: float, reps: int) -> float:
    """Monte Carlo standard error of a proportion ``p`` estimated from ``reps`` replications."""
    return math.sqrt(p * (1 - p) / reps)
