"""Atomic, deterministic reading and writing of the plain files every command produces.

Two promises rest here. Nothing half-written: every file is written under a temporary name in
the destination folder and renamed into place, and a folder of results is assembled in a
temporary sibling folder and renamed as a whole. Same inputs, same bytes: JSON is written with
sorted keys and a fixed float rendering, parquet without timestamps or library-dependent
metadata that would change between runs.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from rollout.errors import InputError

ROLES_METADATA_KEY = b"rollout.roles"


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _publish_mode(path: Path, directory: bool = False) -> None:
    """Give a temporary file or folder the permissions a normal one would have.

    ``mkstemp``/``mkdtemp`` create private (0600/0700) entries; results are meant to be opened
    by anyone the user's umask allows, like any file the user writes.
    """
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def _jsonable(value: Any) -> Any:
    """Convert numpy/pandas scalars and containers into plain JSON types (NaN becomes null)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, pd.DataFrame):
        return [_jsonable(r) for r in value.to_dict(orient="records")]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(value, Path):
        return str(value)
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def to_json_text(document: Any) -> str:
    """Render a document as deterministic JSON text (sorted keys, NaN as null, trailing newline).

    >>> to_json_text({"b": 1, "a": float("nan")})
    '{\\n  "a": null,\\n  "b": 1\\n}\\n'
    """
    return json.dumps(_jsonable(document), indent=2, sort_keys=True, allow_nan=False) + "\n"


@contextlib.contextmanager
def _temporary_sibling(path: Path, suffix: str = "") -> Iterator[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _publish_mode(tmp_path)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_json(path: str | Path, document: Any) -> Path:
    """Write a JSON document atomically; returns the path written."""
    path = Path(path)
    with _temporary_sibling(path) as tmp:
        tmp.write_text(to_json_text(document), encoding="utf-8")
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write a text file atomically; returns the path written."""
    path = Path(path)
    with _temporary_sibling(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_parquet(
    path: str | Path,
    frame: pd.DataFrame,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write a table as parquet atomically and byte-reproducibly.

    ``metadata`` (a JSON-able mapping) is stored under the schema key ``rollout.roles`` so that a
    cohort remembers which columns are outcomes, covariates and so on. pandas' own schema metadata
    is dropped: it is not needed to read the file back and it records library versions.
    """
    path = Path(path)
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    schema_meta: dict[bytes, bytes] = {}
    if metadata is not None:
        schema_meta[ROLES_METADATA_KEY] = to_json_text(metadata).encode("utf-8")
    table = table.replace_schema_metadata(schema_meta or None)
    with _temporary_sibling(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=True)
    return path


def write_csv(path: str | Path, frame: pd.DataFrame) -> Path:
    """Write a table as CSV atomically and byte-reproducibly (columnar, fast for large lists).

    Header first, one row per line, text quoted, numbers as written by Arrow; categorical
    columns are written as their values.
    """
    path = Path(path)
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    columns = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c
               for c in table.columns]
    table = pa.table(columns, names=table.column_names)
    with _temporary_sibling(path) as tmp:
        pa_csv.write_csv(table, tmp)
    return path


def read_parquet_metadata(path: str | Path) -> dict[str, Any] | None:
    """The ``rollout.roles`` document stored in a parquet file, or None when absent."""
    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(ROLES_METADATA_KEY)
    return json.loads(raw.decode("utf-8")) if raw else None


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a user's table from parquet or CSV, with a clear error for a missing or bad file."""
    path = Path(path)
    if not path.exists():
        raise InputError("file does not exist", file=path)
    if path.is_dir():
        raise InputError("expected a file (parquet or CSV), got a folder", file=path)
    suffix = path.suffix.lower()
    try:
        if suffix in {".parquet", ".pq"}:
            return pd.read_parquet(path)
        if suffix in {".csv", ".txt"} or path.name.lower().endswith(".csv.gz"):
            return pd.read_csv(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise InputError(f"cannot be read: {exc}", file=path) from exc
    raise InputError("unknown file type; use .parquet or .csv", file=path)


@contextlib.contextmanager
def atomic_directory(path: str | Path, overwrite: bool = True) -> Iterator[Path]:
    """Build an output folder under a temporary name and move it into place only on success.

    Yields the temporary folder to write into. If the block raises, the temporary folder is
    removed and any existing folder at ``path`` is left exactly as it was.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError("output path exists and is not a folder", file=path)
    if path.exists() and not overwrite:
        raise InputError("output folder exists; choose another or allow overwrite", file=path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        _publish_mode(tmp, directory=True)
        if path.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            backup.rmdir()
            os.replace(path, backup)
            os.replace(tmp, path)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
