"""Stage-wise inference: reduces to the fixed test at one look; median-unbiased by simulation."""

from __future__ import annotations

import numpy as np
import pytest
from calibration import mc_se, replications
from scipy import stats

from rollout.evaluation.sequential_inference import (
    ordering_floors,
    stagewise_inference,
    stagewise_p,
)
from rollout.planning.sequential import efficacy_boundaries, sequential_design


def test_single_look_is_the_fixed_sample_test() -> None:
    z, info = 2.3, 4.0
    res = stagewise_inference([1.0], [1.96], [-1.96], look=1, z=z, max_information=info)
    assert res.p_value_one_sided == pytest.approx(stats.norm.sf(z), abs=1e-6)
    assert res.estimate == pytest.approx(z / np.sqrt(info), abs=1e-5)
    assert res.ci_low == pytest.approx((z - 1.959964) / np.sqrt(info), abs=1e-4)


def test_p_value_at_first_look_equals_normal_tail() -> None:
    fr = [1 / 3, 2 / 3, 1.0]
    b = efficacy_boundaries(fr, 0.05, 2, "obf")
    p = stagewise_p(0.0, fr, b, -b, look=1, z=4.0)
    assert p == pytest.approx(stats.norm.sf(4.0), rel=1e-4)


def test_stopping_later_is_less_extreme() -> None:
    fr = [1 / 3, 2 / 3, 1.0]
    b = efficacy_boundaries(fr, 0.05, 2, "obf")
    p1 = stagewise_p(0.0, fr, b, -b, look=1, z=b[0] + 0.01)
    p2 = stagewise_p(0.0, fr, b, -b, look=2, z=b[1] + 0.01)
    assert p1 < p2 < 0.025


@pytest.mark.slow
@pytest.mark.calibration
@pytest.mark.parametrize("theta", [2.5, 0.0])
def test_median_unbiased_and_covering_by_simulation(theta: float) -> None:
    """Over all trials (whatever look they stop at), the stage-wise estimate is median-unbiased:
    P(estimate < truth) is 0.5 within 3 MC SE; the interval covers at 95% within 3 MC SE; and
    among trials stopping for efficacy, the naive estimate over-states the effect."""
    fr = np.array([1 / 3, 2 / 3, 1.0])
    b = efficacy_boundaries(fr, 0.05, 2, "obf")
    rng = np.random.default_rng(0 if theta else 1)
    info, reps = 1.0, replications(1000, 1000)
    increments = rng.normal(size=(reps, 3)) * np.sqrt(np.diff(np.concatenate([[0], fr])))
    brownian = np.cumsum(increments, axis=1) + theta * fr  # B(t) = Z_t sqrt(t)
    zs = brownian / np.sqrt(fr)
    covered = below = naive_over = early = 0
    for z_path in zs:
        crossed = np.flatnonzero((z_path >= b) | (z_path <= -b))
        look = int(crossed[0]) + 1 if crossed.size else 3
        res = stagewise_inference(fr, b, -b, look, float(z_path[look - 1]), info)
        covered += res.ci_low <= theta <= res.ci_high
        below += res.estimate < theta
        if look < 3:
            early += 1
            naive_over += z_path[look - 1] / np.sqrt(fr[look - 1]) > theta
    assert abs(below / reps - 0.5) <= 3 * mc_se(0.5, reps), below / reps
    assert abs(covered / reps - 0.95) <= 3 * mc_se(0.95, reps), covered / reps
    if theta:
        assert early > 50 and naive_over / early > 0.6  # naive reading over-states early stops


@pytest.mark.slow
@pytest.mark.calibration
def test_covers_when_futility_is_followed_at_the_design_drift() -> None:
    """Three OBF looks with beta-spending futility, the trial stopping at the first boundary it
    meets (futility followed), at the drift the design was sized for: the interval at the
    stopping look covers at 95% within 3 MC SE, futility stops ordered with the futility
    boundary they followed (:func:`ordering_floors`). With the harm boundary alone as the
    ordering's floor the same simulation covers 93.2% (3,000 trials), futility stops 65%."""
    design = sequential_design([1 / 3, 2 / 3, 1.0], alpha=0.05, power=0.8, sided=2,
                               spending="obf", futility="beta")
    fr = np.array(design.information_fractions)
    eff, harm = np.array(design.efficacy_z), np.array(design.harm_z)
    fut = np.array([-np.inf if f is None else f for f in design.futility_z])
    theta = design.drift
    rng = np.random.default_rng(7)
    reps = replications(3000, 1200)
    increments = rng.normal(size=(reps, 3)) * np.sqrt(np.diff(np.concatenate([[0], fr])))
    zs = (np.cumsum(increments, axis=1) + theta * fr) / np.sqrt(fr)
    covered = futility_stops = 0
    for z_path in zs:
        look, futile = 3, False
        for k in range(2):
            if z_path[k] >= eff[k] or z_path[k] <= harm[k]:
                look = k + 1
                break
            if z_path[k] <= fut[k]:
                look, futile = k + 1, True
                break
        floors = ordering_floors(harm, design.futility_z, futile)
        res = stagewise_inference(fr, eff, floors, look, float(z_path[look - 1]), 1.0)
        covered += res.ci_low <= theta <= res.ci_high
        futility_stops += futile
    assert futility_stops > 0.05 * reps  # the case this test is about happens
    assert covered / reps >= 0.95 - 3 * mc_se(0.95, reps), covered / reps


def test_ordering_floors_raise_every_look_but_the_last_and_only_after_a_futility_stop() -> None:
    """Four looks: after a futility stop, looks 1-3 take the larger of the harm and futility
    boundaries (integer harm bounds still give the exact futility values), look 4 keeps its
    harm bound, a look without a futility bound keeps its harm bound; after any other stop the
    floors are the harm bounds."""
    harm = [-4, -3, -2, -2]
    futility = [-0.5, None, 1.25, 1.9]
    raised = ordering_floors(harm, futility, True)
    assert raised.dtype == np.float64
    assert raised.tolist() == [-0.5, -3.0, 1.25, -2.0]
    assert ordering_floors(harm, futility, False).tolist() == [-4.0, -3.0, -2.0, -2.0]
    assert ordering_floors(harm, None, True).tolist() == [-4.0, -3.0, -2.0, -2.0]
    assert ordering_floors([-5.0, -2.0], [-6.0, 0.0], True).tolist() == [-5.0, -2.0]
