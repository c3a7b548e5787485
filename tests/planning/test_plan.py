"""Assembling designs: where each number comes from, and the relations between designs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rollout.errors import InputError
from rollout.planning.plan import DesignRequest, plan_design
from rollout.planning.power import solve_fixed
from rollout.planning.variance_reduction import cross_validated_r2

from .conftest import COST, MARGIN, make_results


def test_known_r2_gives_n_times_one_minus_r2() -> None:
    plain = plan_design(DesignRequest(sd=180, mde=34, distribution="z"))
    reduced = plan_design(DesignRequest(sd=180, mde=34, distribution="z", r2=0.4))
    exact = solve_fixed(sd=180, mde=34, distribution="z").n_control_exact
    assert plain.n_per_arm["control"] == math.ceil(exact) == 440
    assert reduced.n_per_arm["control"] == math.ceil(exact * (1 - 0.4))
    assert reduced.n_per_arm_unadjusted == plain.n_per_arm


def test_heterogeneity_needs_one_over_q_one_minus_q_times_the_ate() -> None:
    ate = plan_design(DesignRequest(sd=100, mde=20, distribution="z"))
    het = plan_design(DesignRequest(sd=100, mde=20, distribution="z", test="heterogeneity",
                                    responder_share=0.2))
    ratio = het.n_per_arm["control"] / ate.n_per_arm["control"]
    assert ratio == pytest.approx(1 / (0.2 * 0.8), rel=0.01)
    assert "whole range of predicted CATE" in het.details["estimand"]["randomization"]


def test_results_folder_numbers_come_from_the_analysis(results_folder: Path) -> None:
    design = plan_design(DesignRequest(results=results_folder))
    assert design.cost == COST and design.margin == MARGIN
    assert design.mde == pytest.approx(COST / MARGIN)
    assert "breakeven" in design.mde_source
    assert design.details["r2_source"].startswith("5-fold cross-validated")
    overlap = plan_design(DesignRequest(results=results_folder, mde_from="overlap"))
    assert overlap.mde == pytest.approx(30.0)
    assert "overlap" in overlap.mde_source
    ab = design.phase(2).record
    # from the model's per-customer gains, not one number twice (expected_profit was the
    # control opportunity cost for equal arms)
    customers = pd.read_parquet(results_folder / "customers.parquet")
    gain = MARGIN * customers["cate"].to_numpy() - COST
    assert ab["expected_profit"] == pytest.approx(design.n_per_arm["treatment"] * gain.mean())
    assert ab["control_opportunity_cost"] == pytest.approx(
        design.n_per_arm["control"] * np.maximum(gain, 0).mean())
    assert ab["expected_profit"] != pytest.approx(ab["control_opportunity_cost"])
    assert ab["duration_weeks"] == 8


def test_overlap_fallbacks(tmp_path: Path) -> None:
    results = make_results(tmp_path, with_breakeven=False, overlap_effect=None)
    design = plan_design(DesignRequest(results=results))
    assert design.mde_source.startswith("observational estimate in the overlap region")
    assert "mean CATE" in design.mde_source
    assert design.cost is None and design.phase(2).record["expected_profit"] is None


def test_targeted_population_warns_it_cannot_validate_the_model(results_folder: Path) -> None:
    design = plan_design(DesignRequest(results=results_folder, population="breakeven"))
    assert any("cannot validate the CATE model" in w for w in design.details["warnings"])


def test_small_strata_and_per_segment(results_folder: Path) -> None:
    design = plan_design(DesignRequest(results=results_folder, mde=60, per_segment=True))
    # strata too small to split are merged into their neighbours, and the design says so
    merged = design.details["strata_merged"]
    assert merged["strata_after"] < merged["strata_before"]
    assert not any(r.too_small for r in design.strata_sizes)
    assert any("are merged into" in w for w in design.details["warnings"])
    rare = next(r for r in design.details["per_segment"] if r["segment"] == "rare")
    assert rare["feasible"] is False
    total = sum(r.expected_n for r in design.strata_sizes)
    assert total == pytest.approx(design.n_total)


def test_policy_test_describes_its_randomization(results_folder: Path) -> None:
    design = plan_design(DesignRequest(results=results_folder, test="policy"))
    assert design.phase(2).record["arm_policies"]["control"].startswith("current practice")
    assert 0 < design.details["estimand"]["quantities"]["share_disagree"] < 1


def test_binary_and_multi_arm_designs() -> None:
    binary = plan_design(DesignRequest(baseline=0.2, mde=0.05))
    assert binary.details["outcome_type"] == "binary"
    assert binary.n_per_arm["control"] == 1094
    multi = plan_design(DesignRequest(sd=180, mde=34, arms=2, multiplicity="bonferroni"))
    assert multi.arms == ("treatment_1", "treatment_2", "control")
    assert multi.details["comparison_alpha"] == pytest.approx(0.025)


def test_sequential_with_given_n_keeps_n_as_the_maximum() -> None:
    design = plan_design(DesignRequest(sd=180, n=600, power=0.8, looks=3))
    assert design.n_per_arm == {"treatment": 600, "control": 600}
    assert [look.n_per_arm["control"] for look in design.looks] == [200, 400, 600]
    fixed = plan_design(DesignRequest(sd=180, n=600, power=0.8))
    assert design.mde > fixed.mde


def test_same_inputs_same_design(results_folder: Path) -> None:
    a = plan_design(DesignRequest(results=results_folder, looks=2, seed=5))
    b = plan_design(DesignRequest(results=results_folder, looks=2, seed=5))
    assert a.to_dict() == b.to_dict()


def test_missing_breakeven_for_breakeven_mde(tmp_path: Path) -> None:
    results = make_results(tmp_path, with_breakeven=False)
    with pytest.raises(InputError, match="breakeven"):
        plan_design(DesignRequest(results=results, mde_from="breakeven"))


@pytest.mark.parametrize("r2", [0.2, 0.5])
def test_cross_validated_r2_recovers_a_known_r2(r2: float) -> None:
    rng = np.random.default_rng(7)
    n = 20_000
    x = rng.normal(size=(n, 3))
    signal = x @ np.array([1.0, 0.5, 0.0])
    scale = np.sqrt(signal.var() * (1 - r2) / r2)
    arm = rng.integers(0, 2, size=n)
    y = signal + 3.0 * arm + rng.normal(0, scale, size=n)
    estimate = cross_validated_r2(y, x, arm)
    # SE of R^2 ~ 2 sqrt(r2) (1 - r2) / sqrt(n) < 0.01 here
    assert estimate.r2 == pytest.approx(r2, abs=0.02)


def test_noise_covariates_do_not_buy_r2() -> None:
    rng = np.random.default_rng(8)
    y = rng.normal(size=300)
    assert cross_validated_r2(y, rng.normal(size=(300, 40))).r2 == 0.0


def test_sequential_power_solved_from_n_and_mde_agrees_with_the_sized_design() -> None:
    sized = plan_design(DesignRequest(sd=180, mde=34, looks=3))
    solved = plan_design(DesignRequest(sd=180, mde=34, looks=3,
                                       n=sized.n_per_arm["control"]))
    assert solved.n_per_arm == sized.n_per_arm
    # same boundaries and n: power with futility ignored is the sized design's (n rounded up)
    assert solved.power == pytest.approx(sized.spending.power_if_futility_ignored, abs=0.003)
    assert solved.spending.futility == "none"


@pytest.mark.parametrize("looks", [1, 2])
def test_power_of_an_oversized_test_stays_a_valid_probability(looks: int) -> None:
    design = plan_design(DesignRequest(sd=1, mde=10, n=1000, looks=looks))
    assert 0.999 < design.power < 1
    assert any("far more than this MDE needs" in w for w in design.details["warnings"])
