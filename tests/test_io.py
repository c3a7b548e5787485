"""Atomic, deterministic files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rollout.errors import InputError
from rollout.io import (
    atomic_directory,
    read_parquet_metadata,
    read_table,
    to_json_text,
    write_json,
    write_parquet,
)


def test_json_is_deterministic_and_nan_safe(tmp_path) -> None:
    doc = {"b": np.float64(1.5), "a": [np.int64(3), float("nan")], "c": np.bool_(True)}
    text = to_json_text(doc)
    assert json.loads(text) == {"a": [3, None], "b": 1.5, "c": True}
    write_json(tmp_path / "x.json", doc)
    assert (tmp_path / "x.json").read_text() == text


def test_parquet_is_byte_identical_and_keeps_roles(tmp_path) -> None:
    frame = pd.DataFrame({"customer_id": [1, 2], "y": [0.5, 1.5]})
    a = write_parquet(tmp_path / "a.parquet", frame, metadata={"outcomes": ["y"]})
    b = write_parquet(tmp_path / "b.parquet", frame, metadata={"outcomes": ["y"]})
    assert a.read_bytes() == b.read_bytes()
    assert read_parquet_metadata(a) == {"outcomes": ["y"]}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_atomic_directory_leaves_nothing_on_failure(tmp_path) -> None:
    target = tmp_path / "results"
    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:
        (tmp / "half.json").write_text("{}")
        raise RuntimeError("boom")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_directory_replaces_whole_folder(tmp_path) -> None:
    target = tmp_path / "results"
    target.mkdir()
    (target / "old.json").write_text("{}")
    with atomic_directory(target) as tmp:
        (tmp / "new.json").write_text("{}")
    assert sorted(p.name for p in target.iterdir()) == ["new.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["results"]


def test_read_table_errors_name_the_file(tmp_path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_table(tmp_path / "missing.parquet")
    bad = tmp_path / "x.xlsx"
    bad.write_text("")
    with pytest.raises(InputError, match="unknown file type"):
        read_table(bad)


def test_outputs_get_ordinary_permissions(tmp_path) -> None:
    import os
    import stat

    umask = os.umask(0o022)
    try:
        path = write_json(tmp_path / "x.json", {"a": 1})
        with atomic_directory(tmp_path / "folder") as tmp:
            (tmp / "f.txt").write_text("x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "folder").stat().st_mode) == 0o755
