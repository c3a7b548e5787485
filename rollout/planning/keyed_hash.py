"""The keyed hash behind every assignment: SHA-256 of a salt and a customer id, read as a uniform.

An assignment must be reproducible by anyone, with any tool, from the salt and the customer list
alone, so the rule is spelled out here and nowhere depends on this package's internals:

1. ``text = key + ":" + id_text`` where ``id_text`` is the id as text: the decimal digits for an
   integer id (``-12``, ``40017``), the string itself for a text id;
2. ``h = SHA-256(text encoded as UTF-8)``, written as 64 lowercase hex digits;
3. ``x`` = the first 16 hex digits of ``h`` read as an unsigned 64-bit integer, and ``y`` the
   next 16 (digits 17 to 32): two independent draws from one digest;
4. ``u = floor(x / 2**11) / 2**53``: ``x / 2**64`` truncated to the 53 bits a double holds, so
   ``u`` is exact in every language and always below 1 (likewise for ``y``).

``key`` is the salt for the customer draws (``x`` for the arm, ``y`` for entry into the test) and
the salt followed by a purpose (``salt:stratum``, ``salt:rounding``) for the few other draws.
Orderings use the integers themselves. The columnar implementation runs in DuckDB (``sha256()``,
a few seconds for ten million ids); :func:`keyed_integer` is the same rule in plain Python with
:mod:`hashlib`, used for short lists and as the independent reference the tests compare against.
"""

from __future__ import annotations

import hashlib
import threading

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from rollout.errors import InputError

_TWO_POW_53 = float(2**53)
SMALL_LIST = 2048
_HASH_SQL = (
    "SELECT ('0x' || substr(h, 1, 16))::UBIGINT AS x, ('0x' || substr(h, 17, 16))::UBIGINT AS y "
    "FROM (SELECT sha256($key || ':' || CAST(id AS VARCHAR)) AS h FROM ids)"
)


_DATABASE: list[duckdb.DuckDBPyConnection] = []
_DATABASE_LOCK = threading.Lock()


def _database() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per process; each call hashes through its own cursor (thread-safe).

    Opening a database costs tens of milliseconds, a cursor well under ten.
    """
    with _DATABASE_LOCK:
        if not _DATABASE:
            _DATABASE.append(duckdb.connect(":memory:"))
        return _DATABASE[0]


def keyed_integer(key: str, value: str) -> int:
    """The unsigned 64-bit integer ``x`` of ``value`` under ``key`` (plain Python).

    >>> keyed_integer("s", "1")
    1956237396230559035
    """
    return keyed_integer_pair(key, value)[0]


def keyed_integer_pair(key: str, value: str) -> tuple[int, int]:
    """Both draws ``(x, y)`` of ``value`` under ``key``: hex digits 1-16 and 17-32 (plain Python).

    >>> keyed_integer_pair("s", "1")[0] == keyed_integer("s", "1")
    True
    """
    digest = hashlib.sha256(f"{key}:{value}".encode()).hexdigest()
    return int(digest[:16], 16), int(digest[16:32], 16)


def keyed_uniform(key: str, value: str) -> float:
    """The uniform in [0, 1) of ``value`` under ``key`` (the rule above, in plain Python).

    >>> round(keyed_uniform("s", "1"), 6)
    0.106048
    """
    return (keyed_integer(key, value) >> 11) / _TWO_POW_53


def uniform_from_integers(integers: np.ndarray) -> np.ndarray:
    """Map keyed 64-bit integers to uniforms in [0, 1) exactly: ``floor(x / 2**11) / 2**53``.

    >>> uniform_from_integers(np.array([2**63], dtype=np.uint64))
    array([0.5])
    """
    return (np.asarray(integers, dtype=np.uint64) >> np.uint64(11)).astype(np.float64) / _TWO_POW_53


def canonical_ids(ids: pd.Series, source: str | None = None, column: str = "customer_id",
                  ) -> pa.Array:
    """The ids as the hash reads them: 64-bit integers (hashed as decimal text) or text.

    Floating-point ids are accepted only when every value is a whole number (a CSV column of
    integers with a gap is read as floats); they are hashed as the integer, so the same customer
    gets the same arm whether the list came as parquet or CSV. Anything else is an
    :class:`InputError`, because its text form would depend on the tool that printed it, and so
    is a missing id (with its row).
    Integers stay integers here (the decimal text is made inside the hash, which saves memory on
    long lists); :func:`id_text` gives the text itself.

    >>> canonical_ids(pd.Series([7.0, 12.0])).to_pylist()
    [7, 12]
    >>> id_text(canonical_ids(pd.Series(["a7", "b"])))
    ['a7', 'b']
    """
    if pd.api.types.is_bool_dtype(ids):
        raise InputError("customer ids must be integers or text, not true/false", file=source,
                         column=column)
    missing = ids.isna().to_numpy()
    if missing.any():  # neither an integer nor text; left in, the two hash paths would differ
        raise InputError("missing customer id", file=source, column=column,
                         row=int(np.flatnonzero(missing)[0]))
    if pd.api.types.is_unsigned_integer_dtype(ids):
        return pa.array(ids.to_numpy(dtype=np.uint64), type=pa.uint64())
    if pd.api.types.is_integer_dtype(ids):
        return pa.array(ids.to_numpy(dtype=np.int64), type=pa.int64())
    if pd.api.types.is_float_dtype(ids):
        values = ids.to_numpy(dtype=np.float64)
        whole = np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < 2**53)
        if not whole.all():
            row = int(np.flatnonzero(~whole)[0])
            raise InputError(f"customer id {float(values[row])!r} is not a whole number",
                             file=source, column=column, row=row)
        return pa.array(values.astype(np.int64), type=pa.int64())
    if pd.api.types.is_string_dtype(ids) or pd.api.types.is_object_dtype(ids):
        try:
            array = pa.array(ids, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InputError(f"customer ids must be integers or text: {exc}", file=source,
                             column=column) from exc
        except OverflowError as exc:
            raise InputError("customer ids must fit in a signed 64-bit integer when given as "
                             "numbers in a mixed column: store them as text, or as an unsigned "
                             "64-bit column", file=source, column=column) from exc
        if pa.types.is_integer(array.type):
            return array.cast(pa.int64())
        if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
            raise InputError(f"customer ids must be integers or text, got {array.type}",
                             file=source, column=column)
        return array
    raise InputError(f"customer ids must be integers or text, got {ids.dtype}", file=source,
                     column=column)


def id_text(ids: pa.Array) -> list[str]:
    """The text each id is hashed as (decimal digits for integers).

    >>> id_text(pa.array([-12, 40017]))
    ['-12', '40017']
    """
    return [str(value) for value in ids.to_pylist()]


def keyed_integers(ids: pa.Array, key: str) -> np.ndarray:
    """The keyed integer ``x`` of every id, in the order given (see :func:`keyed_integer_pairs`).

    >>> keyed_integers(pa.array(["1"]), "s").tolist() == [keyed_integer("s", "1")]
    True
    """
    return keyed_integer_pairs(ids, key)[0]


def keyed_integer_pairs(ids: pa.Array, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Both keyed integers ``(x, y)`` of every id, computed column-wise; one digest per id.

    ``ids`` come from :func:`canonical_ids`; the results are in the same order. Short
    lists are hashed with :mod:`hashlib` (opening a DuckDB cursor costs more than hashing a few
    thousand ids); both paths follow the same rule and the tests hold them equal.

    >>> x, y = keyed_integer_pairs(pa.array(["1"]), "s")
    >>> (int(x[0]), int(y[0])) == keyed_integer_pair("s", "1")
    True
    """
    if len(ids) <= SMALL_LIST:
        pairs = [keyed_integer_pair(key, text) for text in id_text(ids)]
        both = np.array(pairs, dtype=np.uint64).reshape(len(pairs), 2)
        return both[:, 0].copy(), both[:, 1].copy()
    return keyed_integer_pairs_duckdb(ids, key)


def keyed_integer_pairs_duckdb(ids: pa.Array, key: str) -> tuple[np.ndarray, np.ndarray]:
    """The columnar path of :func:`keyed_integer_pairs`, whatever the length (DuckDB)."""
    connection = _database().cursor()
    try:
        connection.execute("SET enable_progress_bar = false")
        connection.execute("SET preserve_insertion_order = true")
        connection.register("ids", pa.table({"id": ids}))
        result = connection.execute(_HASH_SQL, {"key": key}).fetchnumpy()
    finally:
        connection.close()
    return np.asarray(result["x"], dtype=np.uint64), np.asarray(result["y"], dtype=np.uint64)


def keyed_uniforms(ids: pa.Array, key: str) -> np.ndarray:
    """The keyed uniform in [0, 1) of every id (see the module docstring for the rule).

    >>> keyed_uniforms(pa.array(["1"]), "s").tolist() == [keyed_uniform("s", "1")]
    True
    """
    return uniform_from_integers(keyed_integers(ids, key))
