"""Interim decisions: boundaries at the actual information, conditional power, error rates."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from calibration import replications
from scipy import stats

from rollout.errors import InputError
from rollout.evaluation.effects import difference_in_means
from rollout.evaluation.interim import conditional_power, interim_decision, look_fractions
from rollout.evaluation.returned import ReturnedData
from rollout.planning.design import Design


def _data(n_per_arm: int, effect: float, seed: int, sd: float = 30.0,
          control_share: float = 0.5) -> ReturnedData:
    rng = np.random.default_rng(seed)
    n = 2 * n_per_arm
    n_c = round(n * control_share)
    arm = np.array(["control"] * n_c + ["treatment"] * (n - n_c))
    y = rng.normal(100, sd, n) + effect * (arm == "treatment")
    frame = pd.DataFrame({"customer_id": np.arange(n), "arm": arm, "purchase_amount": y})
    return ReturnedData(frame=frame, outcome="purchase_amount", treatment_arm="treatment",
                        control_arm="control", covariates=[], source="test")


def test_look_fractions() -> None:
    planned = [1 / 3, 2 / 3, 1.0]
    assert look_fractions(planned, 1, 0.30) == [0.30, 2 / 3, 1.0]
    assert look_fractions(planned, 2, 0.80) == [1 / 3, 0.80, 1.0]
    assert look_fractions(planned, 1, 0.70) == [0.70, 1.0]
    assert look_fractions(planned, 2, 1.20) == [1 / 3, 1.0]
    assert look_fractions(planned, 2, 0.5, previous=[0.4]) == [0.4, 0.5, 1.0]
    with pytest.raises(InputError, match="not above"):
        look_fractions(planned, 2, 0.2, previous=[0.4])


def test_conditional_power_matches_brownian_motion_simulation() -> None:
    rng = np.random.default_rng(0)
    z, t, c, drift = 1.1, 0.4, 1.99, 2.5
    w = rng.normal(size=400_000)
    # B(1) = B(t) + drift (1 - t) + sqrt(1 - t) W, with B(t) = z sqrt(t); final Z = B(1)
    final = z * np.sqrt(t) + drift * (1 - t) + np.sqrt(1 - t) * w
    assert conditional_power(z, t, c, drift) == pytest.approx((final >= c).mean(), abs=0.004)


def test_decisions_on_clear_cases(make_sequential) -> None:
    design = Design.from_dict(make_sequential())
    n_max = design.n_per_arm["treatment"]
    strong = interim_decision(design, _data(n_max * 2 // 3, effect=15, seed=1), look=2)
    assert strong.decision == "stop_efficacy"
    harmful = interim_decision(design, _data(n_max // 3, effect=-15, seed=2), look=1)
    assert harmful.decision == "stop_harm"
    null_final = interim_decision(design, _data(n_max, effect=0, seed=3), look=3)
    # a failed final analysis is "not_shown", never "stop_futility"
    assert null_final.final and null_final.decision in {"not_shown", "stop_harm"}
    assert 0.9 < null_final.information_fraction < 1.1


def test_boundaries_at_planned_fraction_equal_design(make_sequential) -> None:
    """Data whose information is exactly the planned 1/3 get the design's first boundary."""
    from rollout.evaluation.interim import max_information

    design = Design.from_dict(make_sequential())
    data = _data(design.n_per_arm["treatment"] // 3, effect=0, seed=4)
    frame = data.frame
    y = frame["purchase_amount"].to_numpy()
    arm_mean = frame.groupby("arm")["purchase_amount"].transform("mean").to_numpy()
    current_se = difference_in_means(y, data.t).se
    target_se = 1 / np.sqrt(max_information(design) / 3)
    frame["purchase_amount"] = arm_mean + (y - arm_mean) * target_se / current_se
    result = interim_decision(design, data, look=1)
    assert result.information_fraction == pytest.approx(1 / 3, rel=1e-9)
    planned = design.looks[0]
    assert result.efficacy_z == pytest.approx(planned.efficacy_z, abs=1e-6)
    # published: gsDesign sfLDOF, k = 3, equal spacing, 0.025 per side: 3.7103 at look 1
    assert result.efficacy_z == pytest.approx(3.7103, abs=5e-4)
    assert result.futility_z == pytest.approx(planned.futility_z, abs=1e-4)
    assert result.harm_z == pytest.approx(-result.efficacy_z)
    assert result.efficacy_effect == pytest.approx(result.efficacy_z * result.se)
    # an earlier look than planned spends less alpha: a higher boundary
    early = interim_decision(design, _data(design.n_per_arm["treatment"] // 4, 0, 4), look=1)
    assert early.information_fraction < 1 / 3 and early.efficacy_z > result.efficacy_z
    # the first boundary spends exactly a(t) = 2 - 2 Phi(z_{1-0.025/2} / sqrt(t)) per side
    t1 = early.information_fraction
    spent = 2 - 2 * stats.norm.cdf(stats.norm.ppf(1 - 0.025 / 2) / np.sqrt(t1))
    assert early.efficacy_z == pytest.approx(stats.norm.isf(spent), abs=1e-6)


def test_srm_at_interim_is_reported(make_sequential) -> None:
    design = Design.from_dict(make_sequential())
    result = interim_decision(design, _data(3000, effect=0, seed=5, control_share=0.45), look=1)
    assert result.srm["flag"]
    assert "sample-ratio" in result.reason


def test_look_beyond_design(make_sequential) -> None:
    design = Design.from_dict(make_sequential())
    with pytest.raises(InputError, match="look 4"):
        interim_decision(design, _data(100, 0, 6), look=4)


def _one_null_trial(seed: int, design_doc: dict) -> tuple[str, str, str]:
    design = Design.from_dict(design_doc)
    n_max = design.n_per_arm["treatment"]
    rng = np.random.default_rng(seed)
    y_t, y_c = rng.normal(100, 30, n_max), rng.normal(100, 30, n_max)
    out = []
    for look, frac in enumerate((1 / 3, 2 / 3, 1.0), start=1):
        m = round(n_max * frac)
        frame = pd.DataFrame({
            "customer_id": np.arange(2 * m), "arm": ["treatment"] * m + ["control"] * m,
            "purchase_amount": np.concatenate([y_t[:m], y_c[:m]])})
        data = ReturnedData(frame=frame, outcome="purchase_amount", treatment_arm="treatment",
                            control_arm="control", covariates=[], source="sim")
        out.append(interim_decision(design, data, look=look).decision)
    return tuple(out)


@pytest.mark.slow
@pytest.mark.calibration
def test_type_one_error_over_looks(make_sequential) -> None:
    """No effect: efficacy or harm stops, at any look, at most alpha/2 each (+3 MC SE)."""
    from rollout.simulation import replicate

    doc = make_sequential(n_per_arm=300, futility="none")
    reps = replications(2000, 2000)
    runs = replicate(functools.partial(_one_null_trial, design_doc=doc), reps, seed=11, n_jobs=2)
    up = np.mean([any(d == "stop_efficacy" for d in r) for r in runs])
    down = np.mean([any(d == "stop_harm" for d in r) for r in runs])
    mc = np.sqrt(0.025 * 0.975 / reps)
    # an exact-level test: each side's rate is within 3 MC SE of alpha/2, not merely below it
    assert abs(up - 0.025) <= 3 * mc and abs(down - 0.025) <= 3 * mc, (up, down)
