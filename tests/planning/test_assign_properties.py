"""The guarantees of `assign`, as properties over random customer lists, strata and designs."""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rollout.errors import InputError
from rollout.planning.assignment import (
    NOT_IN_TEST,
    PILOT,
    assign_customers,
    read_customers,
    write_assignment,
)

ALLOCATIONS = [
    {"treatment": 0.5, "control": 0.5},
    {"treatment": 0.3, "control": 0.7},
    {"low": 0.2, "high": 0.3, "control": 0.5},
]
SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def make_design(allocation: dict[str, float], n_total: int, strata: list[str],
                pilot_column: str | None = None, test_column: str | None = None,
                expansion_column: str | None = None) -> dict[str, Any]:
    return {
        "arms": list(allocation), "allocation": allocation, "n_total": n_total,
        "strata": strata, "seed": 11,
        "phases": [
            {"phase": 1, "name": "pilot", "role": "pilot_target", "select_column": pilot_column,
             "n": None},
            {"phase": 2, "name": "ab_test", "select_column": test_column},
            {"phase": 3, "name": "expansion", "rule": "flagged by the policy",
             "select_column": expansion_column},
        ],
    }


@st.composite
def customer_lists(draw: st.DrawFn, min_size: int = 1, max_size: int = 80) -> pd.DataFrame:
    n = draw(st.integers(min_value=min_size, max_value=max_size))
    if draw(st.booleans()):
        ids: list[Any] = draw(st.lists(st.integers(-10**12, 10**12), min_size=n, max_size=n,
                                       unique=True))
    else:
        ids = draw(st.lists(st.text(min_size=1, max_size=8), min_size=n, max_size=n, unique=True))
    segment = draw(st.lists(st.sampled_from("ABCD"), min_size=n, max_size=n))
    region = draw(st.lists(st.sampled_from(["overlap", "extreme"]), min_size=n, max_size=n))
    pilot = draw(st.lists(st.sampled_from([False, False, False, True]), min_size=n, max_size=n))
    expansion = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return pd.DataFrame({"customer_id": ids, "segment": segment, "ps_region": region,
                         "target_pilot": pilot, "target_policy": expansion,
                         "spend": rng.gamma(2.0, 50.0, n)})


def reference_uniform(key: str, id_value: Any, digits: slice = slice(0, 16)) -> float:
    """The documented keyed uniform: hex digits 1-16 (arm) or 17-32 (entry) of the SHA-256."""
    digest = hashlib.sha256(f"{key}:{id_value}".encode()).hexdigest()
    return (int(digest[digits], 16) // 2**11) / 2**53


def small_strata(frame: pd.DataFrame, strata: list[str], eligible: pd.Series, n_arms: int) -> bool:
    if not strata:
        sizes = pd.Series([int(eligible.sum())])
    else:
        sizes = frame[eligible].groupby(strata).size()
    return bool(((sizes > 0) & (sizes < n_arms)).any())


@SETTINGS
@given(customers=customer_lists(), allocation=st.sampled_from(ALLOCATIONS),
       n_total=st.integers(1, 100), strata=st.sampled_from([[], ["segment"],
                                                             ["segment", "ps_region"]]),
       method=st.sampled_from(["complete", "hash"]), use_pilot=st.booleans())
def test_every_customer_gets_exactly_one_role(customers: pd.DataFrame, allocation: dict,
                                              n_total: int, strata: list[str], method: str,
                                              use_pilot: bool) -> None:
    design = make_design(allocation, n_total, strata,
                         pilot_column="target_pilot" if use_pilot else None,
                         expansion_column="target_policy")
    pilot = customers["target_pilot"] if use_pilot else pd.Series(False, index=customers.index)
    arms = list(allocation)
    if method == "complete" and small_strata(customers, strata, ~pilot, len(arms)):
        with pytest.raises(InputError, match="fewer than the"):
            assign_customers(customers, design, method=method)
        return
    result = assign_customers(customers, design, method=method)
    table = result.table

    # No customer lost, none duplicated, order kept.
    assert table["customer_id"].tolist() == customers["customer_id"].tolist()
    assert set(table["arm"].astype(str)) <= {PILOT, NOT_IN_TEST, *arms}
    # The pilot list is exactly the flagged customers.
    assert (table["arm"] == PILOT).tolist() == pilot.tolist()
    # Phases agree with roles.
    in_test = table["arm"].isin(arms)
    assert ((table["phase"] == 1) == (table["arm"] == PILOT)).all()
    assert ((table["phase"] == 2) == in_test).all()
    outside = table["arm"] == NOT_IN_TEST
    assert (table.loc[outside, "phase"].isin([0, 3])).all()
    assert ((table["phase"] == 3) == (outside & customers["target_policy"])).all()
    # u is the documented keyed uniform of the id under the salt.
    salt = result.report["arm_salt"]
    assert table["u"].tolist() == [reference_uniform(salt, i) for i in customers["customer_id"]]
    # Labels carry the strata values.
    if strata:
        expected = customers[strata].astype(str).apply(
            lambda r: "|".join(f"{c}={r[c]}" for c in strata), axis=1)
        assert table["stratum"].astype(str).tolist() == expected.tolist()

    eligible = int((~pilot).sum())
    entered = int(in_test.sum())
    if method == "complete":
        assert entered == min(n_total, eligible)
        _check_complete_counts(table, customers, strata, arms, allocation, pilot, n_total)
    else:
        if n_total >= eligible:
            assert entered == eligible
        rate = min(1.0, n_total / eligible) if eligible else 0.0
        entry = np.array([reference_uniform("11", i, slice(16, 32))
                          for i in customers["customer_id"]])
        assert in_test.tolist() == ((entry < rate) & ~pilot.to_numpy()).tolist()
        cumulative = np.cumsum([allocation[a] for a in arms])
        expected_arm = [arms[min(int(np.searchsorted(cumulative, u, side="right")),
                                 len(arms) - 1)] for u in table["u"]]
        assert (table.loc[in_test, "arm"].astype(str)
                == pd.Series(expected_arm)[in_test.to_numpy()].to_numpy()).all()


def _check_complete_counts(table: pd.DataFrame, customers: pd.DataFrame, strata: list[str],
                           arms: list[str], allocation: dict, pilot: pd.Series,
                           n_total: int) -> None:
    eligible = ~pilot
    total_eligible = int(eligible.sum())
    in_test = table["arm"].isin(arms)
    groups = table["stratum"].astype(str)
    for label in groups.unique():
        rows = groups == label
        n_eligible = int((rows & eligible).sum())
        n_entered = int((rows & in_test).sum())
        quota = min(n_total, total_eligible) * n_eligible / total_eligible
        assert abs(n_entered - quota) < 1  # proportional allocation across strata
        for arm in arms:
            n_arm = int((rows & (table["arm"] == arm)).sum())
            assert abs(n_arm - n_entered * allocation[arm]) < 1  # within one of target
    for arm in arms:
        total = int((table["arm"] == arm).sum())
        assert abs(total - int(in_test.sum()) * allocation[arm]) < 1


@SETTINGS
@given(customers=customer_lists(min_size=40), salts=st.tuples(st.text(min_size=1, max_size=6),
                                                                st.text(min_size=1, max_size=6)),
       method=st.sampled_from(["complete", "hash"]))
def test_a_different_salt_gives_a_different_assignment(customers: pd.DataFrame,
                                                       salts: tuple[str, str],
                                                       method: str) -> None:
    assume(salts[0] != salts[1])
    design = make_design(ALLOCATIONS[0], 10**6, [])
    first = assign_customers(customers, design, salt=salts[0], method=method).table
    second = assign_customers(customers, design, salt=salts[1], method=method).table
    # 40 or more customers: identical arms under two salts has probability below 1e-11.
    assert (first["arm"] != second["arm"]).any()


@SETTINGS
@given(customers=customer_lists(min_size=2), split=st.floats(0.1, 0.9),
       strata=st.sampled_from([[], ["segment", "ps_region"]]), shuffle_seed=st.integers(0, 99))
def test_hash_mode_appending_customers_moves_nobody(customers: pd.DataFrame, split: float,
                                                    strata: list[str], shuffle_seed: int) -> None:
    cut = max(1, int(len(customers) * split))
    earlier = customers.iloc[:cut]
    grown = customers.sample(frac=1.0, random_state=shuffle_seed)  # appended, and reordered
    design = make_design(ALLOCATIONS[2], 10**6, strata, pilot_column="target_pilot")
    before = assign_customers(earlier, design, method="hash").table.set_index("customer_id")
    after = assign_customers(grown, design, method="hash").table.set_index("customer_id")
    pd.testing.assert_frame_equal(before, after.loc[before.index].astype(before.dtypes),
                                  check_categorical=False)


@SETTINGS
@given(customers=customer_lists(min_size=10), split=st.floats(0.2, 0.8),
       n_total=st.integers(2, 30))
def test_hash_mode_with_a_fixed_test_size_never_switches_arms(customers: pd.DataFrame,
                                                              split: float,
                                                              n_total: int) -> None:
    cut = max(1, int(len(customers) * split))
    design = make_design(ALLOCATIONS[0], n_total, ["segment"])
    before = assign_customers(customers.iloc[:cut], design, method="hash").table
    after = assign_customers(customers, design, method="hash").table.iloc[:cut]
    arms = ["treatment", "control"]
    both = before["arm"].isin(arms) & after["arm"].isin(arms)
    assert (before.loc[both, "arm"] == after.loc[both, "arm"]).all()
    # A larger list lowers the entry rate: nobody outside the test is brought in.
    assert not (~before["arm"].isin(arms) & after["arm"].isin(arms)).any()


@SETTINGS
@given(customers=customer_lists(min_size=8), shuffle_seed=st.integers(0, 99))
def test_complete_mode_depends_on_the_set_not_the_file_order(customers: pd.DataFrame,
                                                             shuffle_seed: int) -> None:
    design = make_design(ALLOCATIONS[0], 7, [])
    first = assign_customers(customers, design).table.set_index("customer_id")
    shuffled = customers.sample(frac=1.0, random_state=shuffle_seed)
    second = assign_customers(shuffled, design).table.set_index("customer_id")
    pd.testing.assert_frame_equal(first, second.loc[first.index])


def test_files_are_byte_identical_for_a_salt(tmp_path: Any) -> None:
    rng = np.random.default_rng(5)
    n = 500
    customers = pd.DataFrame({"customer_id": np.arange(n) * 3 + 1,
                              "segment": rng.choice(list("ABC"), n),
                              "target_pilot": rng.random(n) < 0.05,
                              "spend": rng.normal(100, 20, n)})
    design = make_design(ALLOCATIONS[0], 201, ["segment"], pilot_column="target_pilot")
    written = []
    for run in ("one", "two"):
        result = assign_customers(customers, design, salt="fixed", rerandomize=3)
        written.append(write_assignment(result, tmp_path / run / "assignment.parquet"))
    assert written[0].keys() == written[1].keys()
    assert len(written[0]) == 2 + 4 + 2  # table, report, a list per role, a contact list per arm
    for key in written[0]:
        assert written[0][key].read_bytes() == written[1][key].read_bytes(), key
    lists = pd.concat([pd.read_csv(written[0][role]) for role in result.roles])
    assert sorted(lists["customer_id"]) == sorted(customers["customer_id"])


def test_a_results_folder_is_read_through_its_customer_table(tmp_path: Any) -> None:
    frame = pd.DataFrame({"customer_id": [1, 2, 3, 4], "segment": list("AABB")})
    frame.to_parquet(tmp_path / "customers.parquet")
    loaded, source = read_customers(tmp_path)
    assert source.name == "customers.parquet"
    assert loaded["customer_id"].tolist() == [1, 2, 3, 4]
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no customers\.parquet"):
        read_customers(tmp_path / "empty")


def test_more_test_places_than_customers_takes_everyone_and_warns() -> None:
    customers = pd.DataFrame({"customer_id": range(10), "segment": list("AAAAABBBBB")})
    result = assign_customers(customers, make_design(ALLOCATIONS[0], 50, ["segment"]))
    assert result.table["arm"].isin(["treatment", "control"]).all()
    assert any("only 10 are eligible" in w for w in result.warnings)
    assert result.report["warnings"] == list(result.warnings)


def test_the_test_phase_column_limits_who_can_enter() -> None:
    customers = pd.DataFrame({"customer_id": range(12), "segment": ["A"] * 12,
                              "target_test": [True, False] * 6})
    design = make_design(ALLOCATIONS[0], 100, [], test_column="target_test")
    table = assign_customers(customers, design).table
    assert (table["arm"].isin(["treatment", "control"]) == customers["target_test"]).all()


def test_rerandomization_keeps_the_best_of_its_candidate_salts() -> None:
    # Independent check: assign with each candidate salt on its own and take the best.
    rng = np.random.default_rng(9)
    n = 60
    customers = pd.DataFrame({"customer_id": np.arange(n), "segment": rng.choice(list("AB"), n),
                              "spend": rng.gamma(2.0, 50.0, n), "visits": rng.poisson(4, n)})
    design = make_design(ALLOCATIONS[0], n, ["segment"])  # everyone enters
    result = assign_customers(customers, design, salt="base", rerandomize=6)
    singles = [assign_customers(customers, design, salt=s).report["balance"]["worst_abs_smd"]
               for s in ["base"] + [f"base#{k}" for k in range(1, 6)]]
    rerand = result.report["rerandomization"]
    assert rerand["worst_abs_smd_by_candidate"] == pytest.approx(singles)
    assert result.report["balance"]["worst_abs_smd"] == pytest.approx(min(singles))
    assert rerand["chosen_salt"] == ["base", *[f"base#{k}" for k in range(1, 6)]][
        int(np.argmin(singles))]
    assert "condition on this acceptance rule" in rerand["caveat"]
    assert result.report["arm_salt"] == rerand["chosen_salt"]
    assert math.isclose(result.table["u"].iloc[0], reference_uniform(rerand["chosen_salt"], 0))


def test_covariates_with_gaps_and_nullable_types_are_balanced_where_known() -> None:
    customers = pd.DataFrame({
        "customer_id": np.arange(40),
        "visits": pd.array([1, None, 3, 4] * 10, dtype="Int64"),
        "spend": [10.0, np.nan, 30.0, 12.0] * 10,
    })
    result = assign_customers(customers, make_design(ALLOCATIONS[0], 40, []))
    smd = {row["covariate"]: row["smd"] for row in result.report["balance"]["smd"]}
    assert set(smd) == {"visits", "spend"}
    assert all(value is not None and np.isfinite(value) for value in smd.values())


def test_rerandomization_on_a_long_list_records_u_under_the_chosen_salt() -> None:
    rng = np.random.default_rng(3)
    n = 3000  # beyond the short-list path: hashed in DuckDB
    customers = pd.DataFrame({"customer_id": np.arange(n) * 11, "x": rng.normal(size=n),
                              "segment": rng.choice(list("AB"), n)})
    result = assign_customers(customers, make_design(ALLOCATIONS[0], 2000, ["segment"]),
                              salt="long", rerandomize=4)
    record = result.report["rerandomization"]
    assert result.report["balance"]["worst_abs_smd"] == min(record["worst_abs_smd_by_candidate"])
    salt = record["chosen_salt"]
    assert result.table["u"].tolist() == [reference_uniform(salt, i)
                                          for i in customers["customer_id"]]
    assert int(result.table["arm"].isin(["treatment", "control"]).sum()) == 2000
