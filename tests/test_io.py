"""Atomic, deterministic files."""

from __future__ import annotations

import json
import os
import threading

import numpy as np
import pandas as pd
import pytest

from rollout import console
from rollout.errors import InputError
from rollout.io import (
    atomic_directory,
    check_output_folder,
    check_writable,
    decode_utf8,
    output_set,
    read_parquet_metadata,
    read_table,
    read_text,
    to_json_text,
    write_json,
    write_parquet,
    write_text,
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


# --- output sets, locks, output folders, text inputs, plain messages ---------------------


def _files(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_output_set_renames_the_primary_last(tmp_path, monkeypatch) -> None:
    order: list[str] = []
    real = os.replace

    def replace(src, dst):
        order.append(os.path.basename(dst))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with output_set(tmp_path / "main.parquet"):
        write_text(tmp_path / "main.parquet", "main")
        write_text(tmp_path / "lists" / "a.csv", "a")
        write_json(tmp_path / "report.json", {})
    assert order == ["a.csv", "report.json", "main.parquet"]
    assert _files(tmp_path) == {"lists/a.csv": b"a", "main.parquet": b"main",
                                "report.json": b"{}\n"}


@pytest.mark.parametrize("fail", ["second", "primary", "interrupt"])
def test_output_set_rolls_back_to_the_previous_set(tmp_path, monkeypatch, fail) -> None:
    for name in ("main.txt", "side.txt"):
        (tmp_path / name).write_text(f"old {name}")
    before = _files(tmp_path)
    real = os.replace

    def replace(src, dst):
        if ".tmp" in str(src) and os.path.basename(dst) == {"second": "side.txt",
                                                              "primary": "main.txt"}.get(fail):
            raise OSError(28, "No space left on device", str(src))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(KeyboardInterrupt if fail == "interrupt" else InputError) as caught:
        with output_set(tmp_path / "main.txt"):
            write_text(tmp_path / "side.txt", "new side")
            write_text(tmp_path / "new" / "more.txt", "new more")
            write_text(tmp_path / "main.txt", "new main")
            if fail == "interrupt":
                raise KeyboardInterrupt
    if fail != "interrupt":
        assert "no space left" in str(caught.value)
    assert _files(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["main.txt", "side.txt"]


def test_two_runs_cannot_write_the_same_output_at_once(tmp_path) -> None:
    holding, release = threading.Event(), threading.Event()

    def first_run() -> None:
        with output_set(tmp_path / "a.parquet"):
            write_text(tmp_path / "a.parquet", "first")
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=first_run)
    thread.start()
    holding.wait(10)
    try:
        with pytest.raises(InputError, match="another run is writing"), \
                output_set(tmp_path / "a.parquet"):
            write_text(tmp_path / "a.parquet", "second")
    finally:
        release.set()
        thread.join()
    assert (tmp_path / "a.parquet").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.parquet"]
    with output_set(tmp_path / "a.parquet"):  # the lock is gone with its run
        write_text(tmp_path / "a.parquet", "third")
    assert (tmp_path / "a.parquet").read_text() == "third"


def test_a_folder_joins_the_set(tmp_path) -> None:
    with pytest.raises(RuntimeError), output_set(tmp_path / "design.json"):
        with atomic_directory(tmp_path / "figures") as folder:
            (folder / "a.png").write_bytes(b"png")
        write_json(tmp_path / "design.json", {})
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_output_folder_rules(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cohort.parquet").write_bytes(b"x")
    with pytest.raises(InputError, match="holds an input"):
        check_output_folder("data", "analyze", inputs=["data/cohort.parquet"], force=True)
    with pytest.raises(InputError, match="argument 'force'"):
        check_output_folder("data", "analyze")
    check_output_folder("data", "analyze", force=True)
    with pytest.raises(InputError, match="current folder"):
        check_output_folder(".", "demo", force=True)
    write_json(tmp_path / "res" / "summary.json", {"schema": "rollout.results/1"})
    check_output_folder("res", "analyze")
    with pytest.raises(InputError, match="previous output of `rollout analyze`"):
        check_output_folder("res", "evaluate")
    (tmp_path / "empty").mkdir()
    check_output_folder("empty", "simulate")
    check_output_folder("new/deeper", "simulate")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "empty", "res"]
    with pytest.raises(InputError, match="not a folder"):
        check_writable("data/cohort.parquet/x.json")


def test_text_inputs_are_utf8_only(tmp_path) -> None:
    assert decode_utf8("\ufeffcafé".encode()) == "café"
    with pytest.raises(InputError, match="UTF-16"):
        decode_utf8("café".encode("utf-16"))
    with pytest.raises(InputError, match=r"line 2.*save it as UTF-8"):
        decode_utf8("a\ncafé".encode("cp1252"), "x.toml")
    (tmp_path / "x.csv").write_bytes("customer_id,name\n1,Zoë\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"x\.csv: is not UTF-8"):
        read_table(tmp_path / "x.csv")
    (tmp_path / "y.csv").write_bytes("\ufeffcustomer_id,name\n1,Zoë\n".encode())
    assert read_table(tmp_path / "y.csv").columns.tolist() == ["customer_id", "name"]
    with pytest.raises(InputError, match="got a folder"):
        read_text(tmp_path)


def test_messages_print_as_plain_text(capsys) -> None:
    console.error("column 'spend [usd]' [/x] [bold]pip install 'rollout[tune]'")
    console.warn("[red]not red[/red]")
    console.show_table([{"spend [usd]": 1.5, "arm": "[b]x"}], title="[/oops]")
    out, err = capsys.readouterr()
    assert "error: column 'spend [usd]' [/x] [bold]pip install 'rollout[tune]'" in err
    assert "warning: [red]not red[/red]" in err
    assert "spend [usd]" in out and "[b]x" in out and "[/oops]" in out


def test_a_set_that_writes_nothing_for_its_primary_leaves_it(tmp_path) -> None:
    (tmp_path / "main.txt").write_text("old")
    with output_set(tmp_path / "main.txt"):
        write_text(tmp_path / "side.txt", "side")
    assert _files(tmp_path) == {"main.txt": b"old", "side.txt": b"side"}
