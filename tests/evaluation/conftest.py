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
        "looks": [{"information_fraction": 1.0, "n_per_arm": 1000, "efficacy_z": 1.96,
                   "futility_z": None, "harm_z": -1.96, "alpha_spent": 0.05,
                   "efficacy_effect": 2.6, "futility_effect": None, "harm_effect": -2.6}],
        "spending": {"efficacy": "none"}, "max_inflation": 1.0, "phases": [],
        "cost": 1.0, "margin": 0.3, "seed": 0, "created_by": "rollout test",
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
