"""Shared builders for returned-test data with known truth."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from rollout.planning.design import DESIGN_SCHEMA, Design


def design_document(**overrides: Any) -> dict[str, Any]:
    """A complete, valid design.json document for a 50:50 test of ``purchase_amount``."""
    doc: dict[str, Any] = {
        "schema": DESIGN_SCHEMA, "test": "ate", "outcome": "purchase_amount",
        "arms": ["treatment", "control"], "allocation": {"treatment": 0.5, "control": 0.5},
        "n_per_arm": {"treatment": 1000, "control": 1000}, "n_total": 2000,
        "alpha": 0.05, "power": 0.8, "sided": 2, "mde": 5.0, "mde_source": "given",
        "sd": 30.0, "r2": None,
        "n_per_arm_unadjusted": {"treatment": 1000, "control": 1000},
        "strata": ["segment"], "strata_sizes": None,
        "looks": [{"look": 1, "information_fraction": 1.0,
                   "n_per_arm": {"treatment": 1000, "control": 1000}, "efficacy_z": 1.96,
                   "futility_z": None, "harm_z": -1.96, "alpha_spent": 0.05,
                   "efficacy_effect": 2.6, "futility_effect": None, "harm_effect": -2.6}],
        "spending": {"efficacy": "none", "futility": "none",
                     "harm": "efficacy boundary mirrored", "method": "single analysis"},
        "max_inflation": 1.0, "phases": [],
        "cost": 1.0, "margin": 0.3, "seed": 0, "created_by": "rollout test",
        # the pre-period covariates the design's R^2 was computed on: evaluate's default
        "details": {"covariates": ["pre_purchase_amount"]},
    }
    doc.update(overrides)
    return doc


@pytest.fixture
def design() -> Design:
    return Design.from_dict(design_document())


def returned_frame(seed: int, n: int = 2000, effect_scale: float = 1.0) -> pd.DataFrame:
    """A randomized test: the effect is large for 'light' shoppers, negative for 'heavy' ones."""
    rng = np.random.default_rng(seed)
    pre = rng.gamma(2.0, 50.0, n)
    segment = np.where(pre > 120, "heavy", "light")
    tau = effect_scale * np.where(segment == "light", 12.0, -6.0)
    arm = rng.permutation(np.repeat(["treatment", "control"], n // 2))
    y = 20 + 0.8 * pre + (arm == "treatment") * tau + rng.normal(0, 25, n)
    return pd.DataFrame({"customer_id": np.arange(1, n + 1), "arm": arm, "segment": segment,
                         "pre_purchase_amount": pre, "purchase_amount": y, "true_cate": tau})


@pytest.fixture
def make_returned():
    """The :func:`returned_frame` builder, as a fixture (test folders are not packages)."""
    return returned_frame


def sequential_document(n_per_arm: int = 600, sd: float = 30.0, mde: float = 5.0,
                        futility: str = "beta") -> dict[str, Any]:
    """A valid three-look O'Brien-Fleming design with beta-spending futility."""
    from rollout.planning.sequential import sequential_design

    seq = sequential_design([1 / 3, 2 / 3, 1], alpha=0.05, power=0.8, sided=2, spending="obf",
                            futility=futility)
    looks = [
        {"look": k, "information_fraction": f,
         "n_per_arm": {"treatment": round(n_per_arm * f), "control": round(n_per_arm * f)},
         "efficacy_z": e, "futility_z": fz, "harm_z": h, "alpha_spent": a,
         "efficacy_effect": None, "futility_effect": None, "harm_effect": None}
        for k, (f, e, fz, h, a) in enumerate(zip(
            seq.information_fractions, seq.efficacy_z, seq.futility_z, seq.harm_z,
            seq.alpha_spent, strict=True), start=1)
    ]
    # the maximum information the drift implies, expressed as n per arm for this sd
    n = int(np.ceil(2 * sd**2 * (seq.drift / mde) ** 2))
    return design_document(
        n_per_arm={"treatment": n, "control": n}, n_total=2 * n,
        n_per_arm_unadjusted={"treatment": n, "control": n}, sd=sd, mde=mde, looks=looks,
        spending=seq.spending_record(), max_inflation=seq.max_inflation, strata=[])


@pytest.fixture
def make_sequential():
    """The :func:`sequential_document` builder, as a fixture."""
    return sequential_document
