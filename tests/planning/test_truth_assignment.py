"""Complete-mode assignment recomputed from the rule in docs/assignment.md alone.

Nothing from the package is used to recompute: the hash is hashlib's SHA-256 of
``key + ":" + id``, ``x`` its hex digits 1-16 and ``y`` digits 17-32, ``u = (x >> 11) / 2**53``.
"""

from __future__ import annotations

import hashlib
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from rollout.planning.assignment import assign_customers


def _xy(key: str, value: str) -> tuple[int, int]:
    h = hashlib.sha256(f"{key}:{value}".encode()).hexdigest()
    return int(h[:16], 16), int(h[16:32], 16)


def _u(key: str, value: str) -> float:
    return (_xy(key, value)[0] >> 11) / 2**53


def _customers(n: int = 97) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"customer_id": np.arange(1001, 1001 + n),
                         "segment": rng.choice(["loyal", "new", "lapsed"], n, p=[.5, .3, .2])})


def _design(n_total: int, allocation: dict[str, float]) -> dict:
    return {"arms": list(allocation), "n_total": n_total, "strata": ["segment"],
            "allocation": allocation, "phases": [], "seed": 7}


@pytest.mark.parametrize(("n_total", "allocation", "salt"), [
    (41, {"treatment": 0.5, "control": 0.5}, "spring"),
    (50, {"treatment": 0.3, "control": 0.7}, "s2"),
    (61, {"a": 0.2, "b": 0.3, "control": 0.5}, "autumn-27"),
])
def test_entrants_and_arms_follow_the_documented_rule(n_total, allocation, salt) -> None:
    customers = _customers()
    table = assign_customers(customers, _design(n_total, allocation), salt=salt).table
    labels = "segment=" + customers["segment"]
    ids = customers["customer_id"].astype(str)
    # who enters: n_total split across strata by eligible counts, largest remainder, ties to
    # the smaller x(salt + ":stratum", label); the smallest y within each stratum enter
    sizes = labels.value_counts()
    strata = sorted(sizes.index)
    exact = {s: Fraction(int(sizes[s]) * n_total, len(customers)) for s in strata}
    counts = {s: math.floor(exact[s]) for s in strata}
    leftover = n_total - sum(counts.values())
    order = sorted(strata, key=lambda s: (-(exact[s] - counts[s]),
                                          _xy(f"{salt}:stratum", s)[0]))
    for s in order[:leftover]:
        counts[s] += 1
    entrants = set()
    for s in strata:
        members = ids[labels == s]
        ranked = sorted(members, key=lambda i: _xy(salt, i)[1])
        entrants |= set(ranked[: counts[s]])
    in_test = table["arm"].isin(list(allocation))
    assert set(table.loc[in_test, "customer_id"].astype(str)) == entrants
    assert (table.loc[~in_test, "arm"] == "not_in_test").all()
    # which arm: entrants ordered by x(salt, id), cut at the stratum's counts in arm order,
    # every count within one of entrants x share, arm totals within one of their targets
    table = table.assign(label=labels.to_numpy(), sid=ids.to_numpy())
    arms = list(allocation)
    for s in strata:
        part = table[in_test & (table["label"] == s)]
        cell = part["arm"].value_counts().reindex(arms, fill_value=0)
        for arm in arms:
            target = counts[s] * allocation[arm]
            assert math.floor(target + 1e-9) <= cell[arm] <= math.ceil(target - 1e-9)
        ranked = sorted(part["sid"], key=lambda i: _xy(salt, i)[0])
        expected_arm = np.repeat(arms, cell.to_numpy())
        got = part.set_index("sid").loc[ranked, "arm"].to_numpy()
        assert list(got) == list(expected_arm), s
        # u is the arm-draw uniform of the documented rule
        np.testing.assert_array_equal(part["u"].to_numpy(),
                                      [_u(salt, i) for i in part["sid"]])
    totals = table.loc[in_test, "arm"].value_counts()
    for arm in arms:
        assert abs(totals[arm] - n_total * allocation[arm]) < 1


def test_the_remainder_customer_is_decided_by_the_documented_rounding_coin() -> None:
    """One stratum, 50:50, an odd test size: which arm gets the extra customer is a fixed
    function of coin 0 = u(arm_salt + ":rounding", 0) (a half-half threshold), salt by salt."""
    customers = pd.DataFrame({"customer_id": np.arange(1, 41)})
    design = {"arms": ["treatment", "control"], "n_total": 21, "strata": [],
              "allocation": {"treatment": 0.5, "control": 0.5}, "phases": [], "seed": 1}
    first_gets_extra, coin_low = [], []
    for k in range(40):
        salt = f"salt{k}"
        table = assign_customers(customers, design, salt=salt).table
        first_gets_extra.append(int((table["arm"] == "treatment").sum()) == 11)
        coin_low.append(_u(f"{salt}:rounding", "0") < 0.5)
    agree = np.array(first_gets_extra) == np.array(coin_low)
    assert agree.all() or (~agree).all()
    assert 5 < sum(first_gets_extra) < 35  # both arms get the extra customer for some salts


@pytest.mark.parametrize("salt", ["a", "b", "c", "d"])
def test_equal_remainders_go_to_the_smaller_stratum_hash(salt) -> None:
    """Three strata of 30 and 31 test places: each stratum's share is 10 1/3, so the one place
    left goes to the stratum with the smallest x(salt + ":stratum", label)."""
    customers = pd.DataFrame({"customer_id": np.arange(90),
                              "segment": np.repeat(["p", "q", "r"], 30)})
    design = {"arms": ["treatment", "control"], "n_total": 31, "strata": ["segment"],
              "allocation": {"treatment": 0.5, "control": 0.5}, "phases": [], "seed": 3}
    table = assign_customers(customers, design, salt=salt).table
    entered = customers.loc[table["arm"] != "not_in_test", "segment"].value_counts()
    # the label is the stratum column as written in the output, "segment=p"
    winner = min("pqr", key=lambda s: _xy(f"{salt}:stratum", f"segment={s}")[0])
    assert entered[winner] == 11
    assert sorted(entered.to_numpy()) == [10, 10, 11]
