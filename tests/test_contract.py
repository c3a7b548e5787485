"""The cohort contract: roles, validation, round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rollout.data.contract import Cohort, load_cohort, save_cohort
from rollout.errors import InputError


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": [1, 2, 3, 4],
        "treatment": [0, 1, 0, 1],
        "y": [1.0, 2.0, 3.0, 4.0],
        "x0": [0.1, 0.2, 0.3, 0.4],
        "x1": [5, 6, 7, 8],
        "segment": ["a", "b", "a", "b"],
    })


def test_generic_table_infers_covariates() -> None:
    cohort = Cohort.from_frame(_frame())
    assert cohort.roles.outcomes == ("y",)
    assert cohort.roles.covariates == ("x0", "x1")
    assert cohort.roles.segment == "segment"


def test_round_trip_keeps_roles(tmp_path) -> None:
    cohort = Cohort.from_frame(_frame(), outcomes=["y"], covariates=["x0"])
    save_cohort(tmp_path / "c.parquet", cohort)
    back = load_cohort(tmp_path / "c.parquet")
    assert back.roles == cohort.roles
    pd.testing.assert_frame_equal(back.frame, cohort.frame)


@pytest.mark.parametrize(
    ("change", "column", "message"),
    [
        (lambda f: f.assign(customer_id=[1, 1, 3, 4]), "customer_id", "duplicate"),
        (lambda f: f.assign(treatment=[0, 2, 0, 1]), "treatment", "0 or 1"),
        (lambda f: f.assign(treatment=[0, 0, 0, 0]), "treatment", "no treated"),
        (lambda f: f.assign(y=[1.0, np.nan, 3.0, 4.0]), "y", "missing or infinite"),
        (lambda f: f.assign(x0=["a", "b", "c", "d"]), "x0", "numeric"),
        (lambda f: f.drop(columns="treatment"), "treatment", "missing"),
        (lambda f: f.iloc[:0], None, "empty"),
    ],
)
def test_contract_violations_name_the_column(change, column, message) -> None:
    with pytest.raises(InputError, match=message) as info:
        Cohort.from_frame(change(_frame()), outcomes=["y"],
                          covariates=None if column != "x0" else ["x0"])
    assert info.value.column == column
