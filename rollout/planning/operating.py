"""A design's operating characteristics by simulation: power and type I error, as analysed.

Simulates many A/B tests of a continuous outcome with the design's arm sizes at each look and
analyses them as the design says: a difference in means, or ANCOVA on a pre-period covariate
whose R^2 with the outcome is the design's (``y = sd (rho x + sqrt(1 - rho^2) e)``,
``rho^2 = R^2``). At each look the z statistic (estimate / estimated SE on the data so far) is
compared with the boundaries; the trial stops at the first efficacy or harm crossing, and, when
futility is followed, at the first futility crossing. Everything is vectorized over
replications, so thousands of trials take seconds. This is how ``tests/planning`` and
``benchmarks/design_operating.py`` check that a design delivers its stated power and size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rollout.common.display import DisplayMixin
from rollout.planning.design import Design


@dataclass(frozen=True)
class OperatingCharacteristics(DisplayMixin):
    """Rejection rates over ``replications`` simulated trials, with Monte Carlo SEs."""

    effect: float
    replications: int
    reject_ignoring_futility: float
    reject_following_futility: float
    stopped_for_futility: float
    stopped_for_harm: float
    expected_n_fraction_following_futility: float

    def mc_se(self, rate: float) -> float:
        """Monte Carlo standard error of a rate estimated from the replications."""
        return float(np.sqrt(max(rate * (1 - rate), 1e-12) / self.replications))


def _look_statistics(y_t: np.ndarray, y_c: np.ndarray, x_t: np.ndarray | None,
                     x_c: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Estimate and SE per replication (rows) from the data so far."""
    n_t, n_c = y_t.shape[1], y_c.shape[1]
    mean_t, mean_c = y_t.mean(axis=1), y_c.mean(axis=1)
    if x_t is None or x_c is None:
        ss = ((y_t - mean_t[:, None]) ** 2).sum(axis=1) + ((y_c - mean_c[:, None]) ** 2).sum(
            axis=1)
        s2 = ss / (n_t + n_c - 2)
        return mean_t - mean_c, np.sqrt(s2 * (1 / n_t + 1 / n_c))
    xm_t, xm_c = x_t.mean(axis=1), x_c.mean(axis=1)
    dx_t, dx_c = x_t - xm_t[:, None], x_c - xm_c[:, None]
    dy_t, dy_c = y_t - mean_t[:, None], y_c - mean_c[:, None]
    sxx = (dx_t**2).sum(axis=1) + (dx_c**2).sum(axis=1)
    sxy = (dx_t * dy_t).sum(axis=1) + (dx_c * dy_c).sum(axis=1)
    slope = sxy / sxx
    sse = ((dy_t - slope[:, None] * dx_t) ** 2).sum(axis=1) + (
        (dy_c - slope[:, None] * dx_c) ** 2).sum(axis=1)
    s2 = sse / (n_t + n_c - 3)
    gap = xm_t - xm_c
    estimate = (mean_t - mean_c) - slope * gap
    return estimate, np.sqrt(s2 * (1 / n_t + 1 / n_c + gap**2 / sxx))


def simulate_operating_characteristics(design: Design, effect: float, replications: int = 2000,
                                       seed: int = 0, r2: float | None = None,
                                       batch: int = 500) -> OperatingCharacteristics:
    """Simulate the design's trials at a true ``effect`` (0 for the type I error).

    ``r2`` defaults to the design's; with ``r2`` the analysis is ANCOVA on the simulated
    pre-period covariate, otherwise a difference in means.
    """
    r2 = design.r2 if r2 is None else r2
    rho = float(np.sqrt(r2)) if r2 else 0.0
    sd = design.sd
    treatment_arm = next(a for a in design.arms if a != "control")
    sizes = [(look.n_per_arm[treatment_arm], look.n_per_arm["control"])
             for look in design.looks]
    efficacy = np.array([look.efficacy_z for look in design.looks])
    harm = np.array([look.harm_z for look in design.looks])
    futility = np.array([-np.inf if look.futility_z is None else look.futility_z
                         for look in design.looks])
    max_t, max_c = sizes[-1]
    rng = np.random.default_rng(seed)
    totals = np.zeros(5)
    done = 0
    while done < replications:
        m = min(batch, replications - done)
        e_t = rng.standard_normal((m, max_t))
        e_c = rng.standard_normal((m, max_c))
        if rho:
            x_t = rng.standard_normal((m, max_t))
            x_c = rng.standard_normal((m, max_c))
            y_t = sd * (rho * x_t + np.sqrt(1 - rho**2) * e_t) + effect
            y_c = sd * (rho * x_c + np.sqrt(1 - rho**2) * e_c)
        else:
            x_t = x_c = None
            y_t, y_c = sd * e_t + effect, sd * e_c
        active_ignore = np.ones(m, bool)
        active_follow = np.ones(m, bool)
        reject_ignore = np.zeros(m, bool)
        reject_follow = np.zeros(m, bool)
        futile = np.zeros(m, bool)
        harmed = np.zeros(m, bool)
        used = np.zeros(m)
        for k, (n_t, n_c) in enumerate(sizes):
            est, se = _look_statistics(
                y_t[:, :n_t], y_c[:, :n_c],
                None if x_t is None else x_t[:, :n_t], None if x_c is None else x_c[:, :n_c])
            z = est / se
            up = z >= efficacy[k]
            down = z <= harm[k]
            two_sided_reject = up | (down if design.sided == 2 else np.zeros(m, bool))
            reject_ignore |= active_ignore & two_sided_reject
            active_ignore &= ~(up | down)
            used = np.where(active_follow, n_t + n_c, used)
            reject_follow |= active_follow & two_sided_reject
            harmed |= active_follow & down
            stop_futility = active_follow & ~up & ~down & (z <= futility[k])
            futile |= stop_futility
            active_follow &= ~(up | down | stop_futility)
        totals += [reject_ignore.sum(), reject_follow.sum(), futile.sum(), harmed.sum(),
                   (used / (max_t + max_c)).sum()]
        done += m
    rates = totals / replications
    return OperatingCharacteristics(
        effect=effect, replications=replications,
        reject_ignoring_futility=float(rates[0]), reject_following_futility=float(rates[1]),
        stopped_for_futility=float(rates[2]), stopped_for_harm=float(rates[3]),
        expected_n_fraction_following_futility=float(rates[4]))
