"""Designs deliver their stated power and size: thousands of simulated, analysed A/B tests.

Each setting is sized by ``plan_design`` and simulated with 4,000 seeded trials at the MDE
and at zero effect, analysed as designed (difference in means, or ANCOVA on a pre-period
covariate with the stated R^2). Tolerances are 3 Monte Carlo SEs.
"""

from __future__ import annotations

import pytest

from rollout.planning.operating import simulate_operating_characteristics
from rollout.planning.plan import DesignRequest, plan_design

REPLICATIONS = 4000
SETTINGS = {
    "fixed": {},
    "fixed, ANCOVA R2=0.5": {"r2": 0.5},
    "3 looks OBF, beta futility": {"looks": 3},
    "3 looks OBF, beta futility, ANCOVA R2=0.5": {"looks": 3, "r2": 0.5},
    "3 looks OBF, no futility": {"looks": 3, "futility": "none"},
    "4 looks Pocock, beta futility": {"looks": 4, "spending": "pocock"},
    "2 looks at 0.4, 1, ANCOVA R2=0.3": {"information_fractions": [0.4, 1.0], "looks": 2,
                                          "r2": 0.3},
}


@pytest.mark.slow
@pytest.mark.calibration
@pytest.mark.parametrize("name", list(SETTINGS))
def test_power_and_type_one_error_by_simulation(name: str) -> None:
    design = plan_design(DesignRequest(sd=180, mde=34, **SETTINGS[name]))
    at_mde = simulate_operating_characteristics(design, 34.0, REPLICATIONS, seed=101)
    at_null = simulate_operating_characteristics(design, 0.0, REPLICATIONS, seed=202)
    nominal_ignoring = design.spending.power_if_futility_ignored or design.power
    power = at_mde.reject_ignoring_futility
    assert abs(power - nominal_ignoring) <= 3 * at_mde.mc_se(nominal_ignoring), name
    if design.spending.futility == "beta":
        followed = at_mde.reject_following_futility
        assert abs(followed - design.power) <= 3 * at_mde.mc_se(design.power), name
    size = at_null.reject_ignoring_futility
    # the size is alpha, not merely at most alpha: two-sided
    assert abs(size - design.alpha) <= 3 * at_null.mc_se(design.alpha), (name, size)
    assert at_null.reject_following_futility <= size


@pytest.mark.slow
def test_harm_boundary_stops_a_harmful_campaign() -> None:
    design = plan_design(DesignRequest(sd=180, mde=34, looks=3, sided=1, alpha=0.025,
                                      futility="none"))
    harmful = simulate_operating_characteristics(design, -34.0, REPLICATIONS, seed=303)
    assert harmful.reject_ignoring_futility == 0.0
    assert harmful.stopped_for_harm > 0.5


@pytest.mark.slow
@pytest.mark.calibration
@pytest.mark.parametrize("effect_contrast", [0.0, 34.0])
def test_heterogeneity_design_power_and_size(effect_contrast: float) -> None:
    import numpy as np

    share = 0.3
    design = plan_design(DesignRequest(sd=180, mde=34, test="heterogeneity",
                                       responder_share=share, distribution="z"))
    n_arm = design.n_per_arm["control"]
    rng = np.random.default_rng(404)
    n1 = round(n_arm * share)          # stratified: the same responder share in both arms
    n0 = n_arm - n1
    cells = {}
    for arm, lift in (("t", 1.0), ("c", 0.0)):
        for group, size, effect in (("1", n1, 10.0 + effect_contrast), ("0", n0, 10.0)):
            y = rng.normal(lift * effect, 180.0, size=(REPLICATIONS, size))
            cells[arm + group] = (y.mean(axis=1), y.var(axis=1, ddof=1) / size)
    estimate = (cells["t1"][0] - cells["c1"][0]) - (cells["t0"][0] - cells["c0"][0])
    se = np.sqrt(sum(v for _, v in cells.values()))
    reject = np.abs(estimate / se) >= design.looks[-1].efficacy_z
    rate = reject.mean()
    if effect_contrast == 0:
        assert abs(rate - 0.05) <= 3 * np.sqrt(0.05 * 0.95 / REPLICATIONS), rate
    else:
        assert abs(rate - 0.8) <= 3 * np.sqrt(0.8 * 0.2 / REPLICATIONS)


@pytest.mark.slow
def test_policy_design_power_at_the_predicted_difference(tmp_path) -> None:
    import numpy as np

    from .conftest import make_results

    results = make_results(tmp_path, n=3000)
    design = plan_design(DesignRequest(results=results, test="policy",
                                       variance_reduction=False, distribution="z"))
    import pandas as pd

    customers = pd.read_parquet(results / "customers.parquet")
    cate = customers["cate"].to_numpy()
    margin, cost = design.margin, design.cost
    rng = np.random.default_rng(505)

    def mean_profit(rule: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean profit per customer of an arm and its squared standard error, per trial."""
        pick = rng.integers(0, len(customers), size=(REPLICATIONS, size))
        d = rule[pick]
        y = rng.normal(0.0, design.sd, size=pick.shape) + d * cate[pick]
        profit = margin * y - cost * d
        return profit.mean(axis=1), profit.var(axis=1, ddof=1) / size

    policy = customers["target_breakeven"].to_numpy(dtype=float)
    current = customers["treatment"].to_numpy(dtype=float)
    n_a, n_b = design.n_per_arm["treatment"], design.n_per_arm["control"]
    (mean_a, var_a), (mean_b, var_b) = mean_profit(policy, n_a), mean_profit(current, n_b)
    difference, se = mean_a - mean_b, np.sqrt(var_a + var_b)
    rate = (np.abs(difference / se) >= design.looks[-1].efficacy_z).mean()
    assert abs(rate - 0.8) <= 3 * np.sqrt(0.8 * 0.2 / REPLICATIONS)
