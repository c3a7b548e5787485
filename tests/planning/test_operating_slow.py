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
@pytest.mark.parametrize("name", list(SETTINGS))
def test_power_and_type_one_error_by_simulation(name: str) -> None:
    design = plan_design(DesignRequest(sd=180, mde=34, **SETTINGS[name]))
    at_mde = simulate_operating_characteristics(design, 34.0, REPLICATIONS, seed=101)
    at_null = simulate_operating_characteristics(design, 0.0, REPLICATIONS, seed=202)
    nominal_ignoring = design.spending.get("power_if_futility_ignored", design.power)
    power = at_mde.reject_ignoring_futility
    assert abs(power - nominal_ignoring) <= 3 * at_mde.mc_se(nominal_ignoring), name
    if design.spending.get("futility") == "beta":
        followed = at_mde.reject_following_futility
        assert abs(followed - design.power) <= 3 * at_mde.mc_se(design.power), name
    size = at_null.reject_ignoring_futility
    assert size <= design.alpha + 3 * at_null.mc_se(design.alpha), name
    assert at_null.reject_following_futility <= size


@pytest.mark.slow
def test_harm_boundary_stops_a_harmful_campaign() -> None:
    design = plan_design(DesignRequest(sd=180, mde=34, looks=3, sided=1, alpha=0.025,
                                      futility="none"))
    harmful = simulate_operating_characteristics(design, -34.0, REPLICATIONS, seed=303)
    assert harmful.reject_ignoring_futility == 0.0
    assert harmful.stopped_for_harm > 0.5
