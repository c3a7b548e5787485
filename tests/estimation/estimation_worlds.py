"""Small data-generating processes with known propensity and effect, for the estimation tests.

Each world returns a cohort frame and the truth per customer (true propensity ``e``, true effect
``tau``), so every estimand's truth can be computed exactly on the drawn sample:
ATE = mean(tau), ATO = sum(e(1-e) tau) / sum(e(1-e)), trimmed ATE = mean(tau) over the kept set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rollout.data.contract import Cohort


@dataclass(frozen=True)
class World:
    frame: pd.DataFrame
    e: np.ndarray
    tau: np.ndarray

    @property
    def cohort(self) -> Cohort:
        return Cohort.from_frame(self.frame, outcomes=["y"])

    @property
    def ate(self) -> float:
        return float(np.mean(self.tau))

    @property
    def ato(self) -> float:
        h = self.e * (1 - self.e)
        return float(np.sum(h * self.tau) / np.sum(h))


def _frame(X: np.ndarray, t: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"customer_id": np.arange(1, len(t) + 1), "treatment": t, "y": y})
    for j in range(X.shape[1]):
        frame[f"x{j}"] = X[:, j]
    return frame


def heterogeneous_world(seed: int, n: int = 1000, k: int = 4, noise: float = 2.0) -> World:
    """Moderate overlap; the effect grows with x0, which also drives treatment.

    The score is centred off 0.5 so that overlap weights e(1-e) favour high x0: in the population
    ATE = 2 and ATO ≈ 2.26, far enough apart to tell which one an estimator targets.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, k))
    e = 1 / (1 + np.exp(-(-1.0 + 1.0 * X[:, 0] - 0.5 * X[:, 1] + 0.3 * X[:, 2])))
    t = rng.binomial(1, e)
    tau = 2.0 + 1.0 * X[:, 0]
    mu0 = 1.0 + 1.5 * X[:, 0] + 1.0 * X[:, 1] + 0.5 * np.sin(2 * X[:, 2])
    y = mu0 + t * tau + rng.normal(scale=noise, size=n)
    return World(_frame(X, t, y), e, tau)


def linear_constant_world(seed: int, n: int = 1000, k: int = 4, effect: float = 1.5) -> World:
    """Constant effect and linear confounding: OLS with covariates is unbiased for the ATE."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, k))
    e = 1 / (1 + np.exp(-(0.7 * X[:, 0] + 0.4 * X[:, 1])))
    t = rng.binomial(1, e)
    tau = np.full(n, effect)
    y = 2.0 + 2.0 * X[:, 0] + 1.0 * X[:, 1] - 0.5 * X[:, 3] + t * tau + rng.normal(scale=2, size=n)
    return World(_frame(X, t, y), e, tau)


def severe_violation_world(seed: int, n: int = 1500, k: int = 4) -> World:
    """Targeting almost fully determined by x0 (PS AUC well above 0.95)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, k))
    e = 1 / (1 + np.exp(-(6.0 * X[:, 0] + 1.0 * X[:, 1])))
    t = rng.binomial(1, e)
    tau = 1.0 + 0.5 * X[:, 1]
    y = 3.0 + 4.0 * X[:, 0] + X[:, 1] + t * tau + rng.normal(scale=1.5, size=n)
    return World(_frame(X, t, y), e, tau)
