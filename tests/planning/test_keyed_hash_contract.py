"""The keyed hash's edges: what canonical_ids accepts and refuses, and the two hash paths' seams."""

from __future__ import annotations

import hashlib
import math

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from rollout.errors import InputError
from rollout.planning import keyed_hash
from rollout.planning.keyed_hash import (
    SMALL_LIST,
    canonical_ids,
    keyed_integer_pair,
    keyed_integer_pairs,
    keyed_integer_pairs_duckdb,
    uniform_from_integers,
)

LIMIT = 2**53  # the first float above which not every whole number is representable


def reference_pair(key: str, text: str) -> tuple[int, int]:
    """The documented rule written out: hex digits 1-16 and 17-32 of SHA-256(key:text)."""
    digest = hashlib.sha256((key + ":" + text).encode("utf-8")).hexdigest()
    return int(digest[:16], 16), int(digest[16:32], 16)


def refused(ids: pd.Series, **where: str) -> InputError:
    with pytest.raises(InputError) as caught:
        canonical_ids(ids, **where)
    return caught.value


# canonical_ids: refusals, with the message and where (file, column, row)


def test_true_false_ids_are_refused_naming_file_and_column() -> None:
    err = refused(pd.Series([True, False]), source="c.csv", column="id")
    assert err.message == "customer ids must be integers or text, not true/false"
    assert (err.file, err.column, err.row) == ("c.csv", "id", None)


def test_the_column_is_named_customer_id_unless_told() -> None:
    err = refused(pd.Series([True]))
    assert (err.file, err.column) == (None, "customer_id")
    assert str(err) == "column 'customer_id': customer ids must be integers or text, not true/false"


@pytest.mark.parametrize(("ids", "row"), [
    (pd.Series(["a", None, "b"]), 1),
    (pd.Series(["a", "b", np.nan], dtype=object), 2),
    (pd.Series([None, 4], dtype=object), 0),
    (pd.Series([1, None, 3], dtype="Int64"), 1),
    (pd.Series([1, None], dtype="UInt64"), 1),
    (pd.Series([1.0, 2.0, np.nan]), 2),
])
def test_a_missing_id_is_refused_with_its_row_whatever_the_dtype(ids: pd.Series, row: int) -> None:
    err = refused(ids, source="c.csv", column="id")
    assert err.message == "missing customer id"
    assert (err.file, err.column, err.row) == ("c.csv", "id", row)


@pytest.mark.parametrize(("value", "row"), [
    (math.inf, 1), (-math.inf, 1), (2.5, 1), (-0.5, 1), (float(LIMIT), 1), (-float(LIMIT), 1),
    (1e300, 1),
])
def test_a_float_that_is_not_a_small_whole_number_is_refused_with_its_row(value: float,
                                                                          row: int) -> None:
    err = refused(pd.Series([4.0, value, 6.5]), source="c.csv", column="id")
    assert err.message == f"customer id {value!r} is not a whole number"
    assert (err.file, err.column, err.row) == ("c.csv", "id", row)


def test_mixed_integers_and_text_are_refused_with_the_reason() -> None:
    err = refused(pd.Series([1, "a"], dtype=object), source="c.csv", column="id")
    assert err.message.startswith("customer ids must be integers or text: ")
    assert "'a'" in err.message  # the value arrow could not convert
    assert (err.file, err.column, err.row) == ("c.csv", "id", None)
    assert isinstance(err.__cause__, (pa.ArrowInvalid, pa.ArrowTypeError))


@pytest.mark.parametrize(("ids", "arrow_type"), [
    (pd.Series([1.5, 2.0], dtype=object), "double"),
    (pd.Series([True, False], dtype=object), "bool"),
    (pd.Series([b"a", b"b"], dtype=object), "binary"),
])
def test_an_object_column_of_neither_integers_nor_text_is_refused_naming_its_type(
        ids: pd.Series, arrow_type: str) -> None:
    err = refused(ids, source="c.csv", column="id")
    assert err.message == f"customer ids must be integers or text, got {arrow_type}"
    assert (err.file, err.column, err.row) == ("c.csv", "id", None)


@pytest.mark.parametrize("ids", [
    pd.Series(pd.to_datetime(["2024-01-01", "2024-02-01"])),
    pd.Series(pd.to_timedelta([1, 2], unit="D")),
    pd.Series([3, 5], dtype="category"),
    pd.Series([1 + 2j, 3j]),
    pd.Series(pd.period_range("2024-01", periods=2, freq="M")),
])
def test_other_dtypes_are_refused_naming_the_dtype(ids: pd.Series) -> None:
    err = refused(ids, source="c.csv", column="id")
    assert err.message == f"customer ids must be integers or text, got {ids.dtype}"
    assert (err.file, err.column, err.row) == ("c.csv", "id", None)


def test_a_categorical_of_text_is_refused_as_arrow_sees_it() -> None:
    err = refused(pd.Series(["a", "b"], dtype="category"), source="c.csv", column="id")
    assert err.message.startswith("customer ids must be integers or text, got dictionary<")
    assert (err.file, err.column) == ("c.csv", "id")


# canonical_ids: what each accepted dtype becomes


def test_unsigned_ids_stay_unsigned_64_bit() -> None:
    for dtype in ("uint64", "uint32", "uint8", "UInt64"):
        got = canonical_ids(pd.Series([0, 5, 255], dtype=dtype))
        assert got.type == pa.uint64() and got.to_pylist() == [0, 5, 255]
    top = canonical_ids(pd.Series(np.array([2**64 - 1, 2**63], dtype=np.uint64)))
    assert top.type == pa.uint64() and top.to_pylist() == [2**64 - 1, 2**63]


def test_signed_ids_become_int64() -> None:
    for dtype in ("int64", "int32", "int8", "Int64"):
        got = canonical_ids(pd.Series([-12, 0, 7], dtype=dtype))
        assert got.type == pa.int64() and got.to_pylist() == [-12, 0, 7]
    extremes = canonical_ids(pd.Series([-(2**63), 2**63 - 1], dtype="int64"))
    assert extremes.type == pa.int64() and extremes.to_pylist() == [-(2**63), 2**63 - 1]


def test_whole_floats_become_int64_up_to_the_limit() -> None:
    for dtype in ("float64", "float32", "Float64"):
        got = canonical_ids(pd.Series([7.0, -3.0, 0.0, -0.0], dtype=dtype))
        assert got.type == pa.int64() and got.to_pylist() == [7, -3, 0, 0]
    edge = canonical_ids(pd.Series([float(LIMIT - 1), -float(LIMIT - 1), 107.0]))
    assert edge.type == pa.int64() and edge.to_pylist() == [LIMIT - 1, -(LIMIT - 1), 107]


def test_an_object_column_of_integers_becomes_int64() -> None:
    got = canonical_ids(pd.Series([3, -12, 2**62], dtype=object))
    assert got.type == pa.int64() and got.to_pylist() == [3, -12, 2**62]


@pytest.mark.parametrize("ids", [
    pd.Series(["a7", "b", ""], dtype=object),
    pd.Series(["a7", "b", ""]),  # pandas' default text dtype
    pd.Series(["a7", "b", ""], dtype="string"),
    pd.Series(["a7", "b", ""], dtype=pd.ArrowDtype(pa.large_string())),
    pd.Series(["a7", "b", ""], dtype=pd.ArrowDtype(pa.string())),
])
def test_text_ids_stay_text(ids: pd.Series) -> None:
    got = canonical_ids(ids)
    assert pa.types.is_string(got.type) or pa.types.is_large_string(got.type)
    assert got.to_pylist() == ["a7", "b", ""]


# uniform_from_integers on inputs that are not already uint64 arrays


def test_uniforms_from_python_integers_and_signed_arrays() -> None:
    expected = [0.0, 1 / 2**53, 2**51 / 2**53, 0.5, (2**53 - 1) / 2**53]
    values = [0, 2**11, 2**62, 2**63, 2**64 - 1]  # a list numpy alone would not type as uint64
    got = uniform_from_integers(values)
    assert got.dtype == np.float64 and got.tolist() == expected
    assert uniform_from_integers([2**12]).tolist() == [2 / 2**53]
    signed = uniform_from_integers(np.array([2**11, 2**62], dtype=np.int64))
    assert signed.dtype == np.float64 and signed.tolist() == [1 / 2**53, 0.25]
    assert uniform_from_integers([]).tolist() == []


# the two hash paths


@pytest.mark.parametrize("ids", [
    pa.array(["a7", "", "ümlaut", "x" * 40]),
    pa.array([0, -12, 2**62, 40017], type=pa.int64()),
    pa.array([2**64 - 1, 5], type=pa.uint64()),
])
def test_the_duckdb_path_equals_the_reference_on_both_draws_as_uint64(ids: pa.Array) -> None:
    x, y = keyed_integer_pairs_duckdb(ids, "salt:rounding")
    expected = [reference_pair("salt:rounding", str(v)) for v in ids.to_pylist()]
    assert isinstance(x, np.ndarray) and isinstance(y, np.ndarray)
    assert x.dtype == np.uint64 and y.dtype == np.uint64
    assert [int(v) for v in x] == [e[0] for e in expected]
    assert [int(v) for v in y] == [e[1] for e in expected]
    small_x, small_y = keyed_integer_pairs(ids, "salt:rounding")  # hashlib: a short list
    assert small_x.dtype == np.uint64 and small_y.dtype == np.uint64
    assert (small_x == x).all() and (small_y == y).all()


def test_the_duckdb_path_on_no_ids_gives_empty_uint64_arrays() -> None:
    for both in (keyed_integer_pairs_duckdb(pa.array([], type=pa.int64()), "k"),
                 keyed_integer_pairs(pa.array([], type=pa.int64()), "k")):
        assert [(a.dtype, a.shape) for a in both] == [(np.uint64, (0,)), (np.uint64, (0,))]


@pytest.mark.parametrize("n", [SMALL_LIST, SMALL_LIST + 1])
def test_both_sides_of_the_small_list_boundary_give_the_reference(n: int) -> None:
    ids = pa.array(np.arange(n, dtype=np.int64) * 7 - 100)
    x, y = keyed_integer_pairs(ids, "k")
    assert x.dtype == np.uint64 and y.dtype == np.uint64 and len(x) == len(y) == n
    for i in (0, n // 2, n - 1):
        assert (int(x[i]), int(y[i])) == reference_pair("k", str(ids[i].as_py()))


def test_up_to_small_list_ids_are_hashed_without_duckdb(monkeypatch: pytest.MonkeyPatch) -> None:
    # The documented split: a DuckDB cursor costs more than hashing a short list in Python.
    calls: list[int] = []
    columnar = keyed_integer_pairs_duckdb

    def spy(ids: pa.Array, key: str) -> tuple[np.ndarray, np.ndarray]:
        calls.append(len(ids))
        return columnar(ids, key)

    monkeypatch.setattr(keyed_hash, "keyed_integer_pairs_duckdb", spy)
    keyed_integer_pairs(pa.array(np.arange(SMALL_LIST)), "k")
    assert calls == []
    keyed_integer_pairs(pa.array(np.arange(SMALL_LIST + 1)), "k")
    assert calls == [SMALL_LIST + 1]


def test_the_database_is_opened_in_memory_once(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(keyed_hash, "_DATABASE", [])
    first = keyed_hash._database()
    try:
        assert isinstance(first, duckdb.DuckDBPyConnection)
        assert keyed_hash._DATABASE == [first]
        assert keyed_hash._database() is first
        assert first.execute("SELECT current_database()").fetchone() == ("memory",)
        assert [row[1:] for row in first.execute("PRAGMA database_list").fetchall()] == [
            ("memory", None)]
        x, _ = keyed_integer_pairs_duckdb(pa.array(["1"]), "s")  # hashes through it
        assert int(x[0]) == keyed_integer_pair("s", "1")[0]
        assert list(tmp_path.iterdir()) == []  # no database file written
    finally:
        first.close()


def test_an_object_column_of_huge_integers_is_refused_not_overflowed() -> None:
    """Python integers past 2**63 - 1 in an object column: a located refusal, not a crash."""
    with pytest.raises(InputError) as caught:
        canonical_ids(pd.Series([2**64 + 5, 3], dtype=object), source="ids.csv")
    assert caught.value.message == (
        "customer ids must fit in a signed 64-bit integer when given as numbers in a mixed "
        "column: store them as text, or as an unsigned 64-bit column")
    assert caught.value.file == "ids.csv" and caught.value.column == "customer_id"
