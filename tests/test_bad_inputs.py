"""Bad inputs across all nine commands: refused with exit 2, a located message, no traceback,
and nothing written, moved or left behind.

Every case runs in-process through click's test runner, in a fresh copy of a small workspace
(a simulated cohort, a finished results folder, a plain design, returned data, customers, a
scenario file), built once per session. A case whose output location can be chosen runs twice:
once where nothing was there, once over a previous output of the same command; either way the
whole workspace must be unchanged byte for byte afterwards.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import rollout.io
from rollout.cli import cli

COMMANDS = ("cohort", "analyze", "design", "assign", "score", "interim", "evaluate",
            "simulate", "demo")

# --- the workspace ------------------------------------------------------------------------


def _invoke(args: list[str]):
    return CliRunner().invoke(cli, args, catch_exceptions=True)


@pytest.fixture(scope="session")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Inputs every case starts from (built once: about 15 s)."""
    root = tmp_path_factory.mktemp("workspace")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        done = _invoke(["simulate", "homogeneous", "--n", "400", "-o", "sim"])
        assert done.exit_code == 0, done.output
        shutil.copy(root / "sim" / "cohort.parquet", root / "cohort.parquet")
        done = _invoke(["analyze", "cohort.parquet", "-o", "results", "--models", "s_learner",
                        "--validate", "none"])
        assert done.exit_code == 0, done.output
        done = _invoke(["design", "--sd", "100", "--mde", "10", "--looks", "3", "-o",
                        "design.json", "--figures", "design_figures"])
        assert done.exit_code == 0, done.output
    finally:
        os.chdir(cwd)
    rng = np.random.default_rng(0)
    n = 200
    returns = pd.DataFrame({
        "customer_id": np.arange(n),
        "arm": np.where(np.arange(n) % 2 == 0, "treatment", "control"),
        "outcome": rng.normal(100, 20, n).round(2),
        "x": rng.normal(size=n).round(3),
    })
    returns.to_csv(root / "returns.csv", index=False)
    returns.to_parquet(root / "returns.parquet")
    pd.DataFrame({"customer_id": np.arange(n), "x": returns["x"]}).to_parquet(
        root / "customers.parquet")
    ids = pd.read_parquet(root / "sim" / "cohort.parquet")["customer_id"]
    pd.DataFrame({"customer_id": ids, "arm": ["treatment", "control"] * (len(ids) // 2)}
                 ).to_csv(root / "assignment.csv", index=False)
    scenario = Path(str(__import__("importlib.resources").resources.files("rollout")
                        .joinpath("scenarios/homogeneous.toml")))
    shutil.copy(scenario, root / "world.toml")
    return root


@pytest.fixture
def ws(base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the workspace, as the current folder."""
    folder = tmp_path / "ws"
    shutil.copytree(base, folder)
    monkeypatch.chdir(folder)
    return folder


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes) and folder under ``folder``."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


# --- ways to break things -----------------------------------------------------------------


def unwritable(folder: str) -> Callable[[Path, pytest.MonkeyPatch], None]:
    """Make ``folder`` refuse new files, as a folder without write permission does.

    (The suite may run as root, who may write anywhere: the probe is what is refused.)
    """
    def setup(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        target = (ws / folder).resolve()
        target.mkdir(parents=True, exist_ok=True)
        real = rollout.io._probe

        def probe(where: Path) -> None:
            if Path(where).resolve() == target:
                raise PermissionError(errno.EACCES, "Permission denied", str(where))
            real(where)

        monkeypatch.setattr(rollout.io, "_probe", probe)
    return setup


def failing_rename(name: str, code: int = errno.ENOSPC) -> Callable[..., None]:
    """The first rename of a staged file onto ``name`` fails (a full disk, a vanished folder)."""
    def setup(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        real = os.replace
        failed: list[str] = []

        def replace(src, dst):
            if not failed and Path(dst).name == name and ".tmp" in str(src):
                failed.append(str(dst))
                raise OSError(code, os.strerror(code), str(src))
            return real(src, dst)

        monkeypatch.setattr(os, "replace", replace)
    return setup


def disk_full(module: str, function: str, which: int = 1) -> Callable[..., None]:
    """The ``which``-th call of a writer fails as Arrow does when the disk is full."""
    def setup(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        import importlib

        import pyarrow as pa

        target = importlib.import_module(module)
        real = getattr(target, function)
        calls = {"n": 0}

        def write(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == which:
                raise pa.ArrowIOError("[Errno 28] Error writing bytes to file. Detail: "
                                      "[errno 28] No space left on device")
            return real(*args, **kwargs)

        monkeypatch.setattr(target, function, write)
    return setup


def write_file(name: str, data: bytes) -> Callable[..., None]:
    def setup(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        path = ws / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return setup


def make_folder(name: str, *files: str) -> Callable[..., None]:
    def setup(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        (ws / name).mkdir(parents=True, exist_ok=True)
        for file in files:
            (ws / name / file).write_text("a user's file\n")
    return setup


def edit_returns(edit: Callable[[pd.DataFrame], pd.DataFrame], name: str = "bad.csv",
                 encoding: str = "utf-8") -> Callable[..., None]:
    def setup(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        frame = edit(pd.read_csv(ws / "returns.csv"))
        if name.endswith(".parquet"):
            frame.to_parquet(ws / name)
        else:
            frame.to_csv(ws / name, index=False, encoding=encoding)
    return setup


def edit_cohort(edit: Callable[[pd.DataFrame], pd.DataFrame], name: str = "bad.parquet",
                encoding: str = "utf-8") -> Callable[..., None]:
    def setup(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        from rollout.io import read_parquet_metadata, write_parquet

        frame = edit(pd.read_parquet(ws / "cohort.parquet"))
        if name.endswith(".parquet"):  # keeps the cohort's column roles
            write_parquet(ws / name, frame, metadata=read_parquet_metadata(ws / "cohort.parquet"))
        else:
            frame.to_csv(ws / name, index=False, encoding=encoding)
    return setup


def edit_design(edit: Callable[[dict], None], name: str = "bad.json") -> Callable[..., None]:
    def setup(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        import json

        document = json.loads((ws / "design.json").read_text())
        edit(document)
        (ws / name).write_text(json.dumps(document))
    return setup


def encode_file(source: str, name: str, encoding: str,
                replace: tuple[str, str] = ("", "")) -> Callable[..., None]:
    def setup(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        text = (ws / source).read_text(encoding="utf-8")
        if replace[0]:
            text = text.replace(*replace, 1)
        (ws / name).write_bytes(text.encode(encoding))
    return setup


def fake_cohort_build(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`cohort` without DuckDB: the build returns the workspace's small cohort at once."""
    import rollout.data.build as build
    from rollout.data.contract import load_cohort

    def fast(*args, **kwargs):
        return build.CohortBuild(
            cohort=load_cohort(ws / "cohort.parquet"),
            attrition=pd.DataFrame({"step": ["households"], "n": [400]}), campaign_type="A",
            window_weeks=4, salt="s", source="fake", first_week=1, last_week=10)

    monkeypatch.setattr(build, "build_cohort", fast)


def no_optuna(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)


def both(*setups: Callable[..., None]) -> Callable[..., None]:
    def setup(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        for one in setups:
            one(ws, monkeypatch)
    return setup


def dunnhumby_folder(encoding: str) -> Callable[..., None]:
    """A Dunnhumby folder whose transaction file is saved in ``encoding``."""
    def setup(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        from rollout.data.dunnhumby import SPECS

        folder = ws / "dunnhumby"
        folder.mkdir()
        for name, spec in SPECS.items():
            header = ",".join(spec.columns)
            row = ",".join("1" for _ in spec.columns)
            text = f"{header}\n{row}\n"
            if name == "transaction_data.csv":
                text += ",".join(["2", "caf\u00e9", *["1"] * (len(spec.columns) - 2)]) + "\n"
                (folder / name).write_bytes(text.encode(encoding))
            else:
                (folder / name).write_text(text)
    return setup


# --- the corpus ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad input: the command line, what the message must name, and how to set it up.

    ``outputs`` are the output locations the case may choose; the case then also runs over a
    previous output of the same command there (files: some bytes; folders: a previous output
    recognised by its ``summary.json`` schema, or a previous demo).
    """

    id: str
    args: tuple[str, ...]
    needles: tuple[str, ...]
    outputs: tuple[str, ...] = ()
    setup: Callable[[Path, pytest.MonkeyPatch], None] | None = None
    xfail: str | None = None

    @property
    def command(self) -> str:
        return self.args[0]


def C(id: str, args: str | list[str], *needles: str, outputs: tuple[str, ...] = (),
      setup=None, xfail: str | None = None) -> Case:
    parts = tuple(args.split()) if isinstance(args, str) else tuple(args)
    return Case(id, parts, needles, outputs, setup, xfail)


COVARIATE = "frequency"  # a covariate of the simulated cohort
A = ("a.parquet", "a.report.json", "a.pilot_target.csv", "a.treatment.csv", "a.control.csv",
     "a.not_in_test.csv")

CASES: list[Case] = [
    # cohort -------------------------------------------------------------------------------
    C("cohort-output-is-a-folder", "cohort -o existing", "existing", "folder",
      setup=make_folder("existing")),
    C("cohort-output-parent-is-a-file", "cohort -o afile/c.parquet", "afile",
      "not a folder", setup=write_file("afile", b"x")),
    C("cohort-output-unwritable", "cohort -o locked/c.parquet", "locked/c.parquet",
      "permission denied", outputs=("locked/c.parquet", "locked/c.attrition.parquet"),
      setup=unwritable("locked")),
    C("cohort-attrition-rename-fails", "cohort -o out/c.parquet", "out/c", "no space left",
      outputs=("out/c.parquet", "out/c.attrition.parquet"),
      setup=both(fake_cohort_build, failing_rename("c.attrition.parquet"))),
    C("cohort-cohort-rename-fails", "cohort -o out/c.parquet", "out/c", "no space left",
      outputs=("out/c.parquet", "out/c.attrition.parquet"),
      setup=both(fake_cohort_build, failing_rename("c.parquet"))),
    C("cohort-disk-full", "cohort -o out/c.parquet", "out/c", "no space left",
      outputs=("out/c.parquet", "out/c.attrition.parquet"),
      setup=both(fake_cohort_build, disk_full("pyarrow.parquet", "write_table", 2))),
    C("cohort-missing-dunnhumby-folder", "cohort --dunnhumby nowhere -o c.parquet", "nowhere",
      "does not exist", outputs=("c.parquet", "c.attrition.parquet")),
    C("cohort-dunnhumby-is-a-file", "cohort --dunnhumby returns.csv -o c.parquet",
      "returns.csv", "got a file", outputs=("c.parquet", "c.attrition.parquet")),
    C("cohort-dunnhumby-utf16", "cohort --dunnhumby dunnhumby -o c.parquet",
      "transaction_data.csv", "UTF-16", "save it as UTF-8",
      outputs=("c.parquet", "c.attrition.parquet"), setup=dunnhumby_folder("utf-16")),
    C("cohort-dunnhumby-cp1252", "cohort --dunnhumby dunnhumby -o c.parquet",
      "transaction_data.csv", "not UTF-8", "line 3", outputs=("c.parquet",),
      setup=dunnhumby_folder("cp1252")),
    C("cohort-source-and-dunnhumby", "cohort --source completejourney --dunnhumby x -o c.parquet",
      "--source", "--dunnhumby", outputs=("c.parquet",)),
    # analyze ------------------------------------------------------------------------------
    C("analyze-deletes-its-input", "analyze data/cohort.parquet -o data", "data",
      "holds an input", setup=make_folder("data", "notes.txt")),
    C("analyze-force-still-keeps-input", "analyze data/cohort.parquet -o data --force", "data",
      "holds an input", setup=make_folder("data", "notes.txt")),
    C("analyze-output-not-a-previous-output", "analyze cohort.parquet -o docs", "docs",
      "--force", setup=make_folder("docs", "thesis.txt")),
    C("analyze-output-is-evaluate-output", "analyze cohort.parquet -o ev", "ev",
      "rollout evaluate", setup=write_file("ev/summary.json",
                                          b'{"schema": "rollout.evaluation/1"}')),
    C("analyze-output-is-current-folder", "analyze cohort.parquet -o .", "current folder"),
    C("analyze-output-parent-is-a-file", "analyze cohort.parquet -o afile/res", "afile",
      "not a folder", setup=write_file("afile", b"x")),
    C("analyze-output-unwritable", "analyze cohort.parquet -o locked/res", "locked/res",
      "permission denied", outputs=("locked/res",), setup=unwritable("locked")),
    C("analyze-missing-cohort", "analyze nope.parquet -o res", "nope.parquet",
      "does not exist", outputs=("res",)),
    C("analyze-cohort-is-a-folder", "analyze results -o res", "COHORT", outputs=("res",)),
    C("analyze-bracketed-outcome", ["analyze", "cohort.parquet", "-o", "res", "--outcome",
                                    "spend [usd]"], "spend [usd]", outputs=("res",)),
    C("analyze-markup-in-outcome", ["analyze", "cohort.parquet", "-o", "res", "--outcome",
                                    "[/x]"], "[/x]", outputs=("res",)),
    C("analyze-tune-without-optuna", "analyze cohort.parquet -o res --tune 3", "--tune",
      "pip install 'rollout[tune]'", outputs=("res",), setup=no_optuna),
    C("analyze-cp1252-csv", "analyze bad.csv -o res", "bad.csv", "not UTF-8",
      "save it as UTF-8", outputs=("res",),
      setup=edit_cohort(lambda f: f.assign(region="Mâcon"), "bad.csv", "cp1252")),
    C("analyze-utf16-csv", "analyze bad.csv -o res", "bad.csv", "UTF-16", outputs=("res",),
      setup=edit_cohort(lambda f: f, "bad.csv", "utf-16")),
    C("analyze-non-binary-treatment", "analyze bad.parquet -o res", "treatment",
      outputs=("res",), setup=edit_cohort(lambda f: f.assign(treatment=f["treatment"] * 2))),
    C("analyze-duplicate-ids", "analyze bad.parquet -o res", "customer_id", outputs=("res",),
      setup=edit_cohort(lambda f: pd.concat([f, f.iloc[:1]]))),
    C("analyze-nan-covariate", "analyze bad.parquet -o res", "bad.parquet", "frequency",
      outputs=("res",), setup=edit_cohort(lambda f: f.assign(**{COVARIATE: np.nan}))),
    C("analyze-folds", "analyze cohort.parquet -o res --folds 1", "--folds", outputs=("res",)),
    C("analyze-margin", "analyze cohort.parquet -o res --margin 2", "--margin",
      outputs=("res",)),
    C("analyze-unknown-model", "analyze cohort.parquet -o res --models nosuch", "nosuch",
      outputs=("res",)),
    C("analyze-outcome-bounds", "analyze cohort.parquet -o res --outcome-bounds a,b",
      "--outcome-bounds", outputs=("res",)),
    # design -------------------------------------------------------------------------------
    C("design-output-is-a-folder", "design --sd 100 --mde 10 -o results", "results",
      "not a folder"),
    C("design-figures-is-a-file", "design --sd 100 --mde 10 -o d.json --figures returns.csv",
      "returns.csv", "a file, not a folder", outputs=("d.json",)),
    C("design-figures-unwritable", "design --sd 100 --mde 10 -o d.json --figures locked",
      "locked", "permission denied", outputs=("d.json", "locked/design_power_curve.png"),
      setup=unwritable("locked")),
    C("design-figure-rename-fails", "design --sd 100 --mde 10 -o d.json --figures figs",
      "figs", "no space left", outputs=("d.json", "figs/design_power_curve.png"),
      setup=failing_rename("design_boundaries.png")),
    C("design-json-rename-fails", "design --sd 100 --mde 10 -o d.json",
      "d.json", "no space left", outputs=("d.json", "d_power_curve.png"),
      setup=failing_rename("d.json")),
    C("design-negative-sd", "design --sd -1 --mde 10 -o d.json", "--sd", outputs=("d.json",)),
    C("design-power", "design --sd 100 --mde 10 --power 2 -o d.json", "--power",
      outputs=("d.json",)),
    C("design-fractions-not-numbers", "design --sd 100 --mde 10 --information-fractions a,b "
      "-o d.json", "--information-fractions", outputs=("d.json",)),
    C("design-fractions-vs-looks", "design --sd 100 --mde 10 --looks 3 --information-fractions "
      "0.5,1 -o d.json", "--information-fractions", outputs=("d.json",)),
    C("design-missing-results", "design nowhere -o d.json", "nowhere", "does not exist",
      outputs=("d.json",)),
    C("design-latin1-summary", "design res -o d.json", "summary.json", "not UTF-8",
      outputs=("d.json",), setup=both(
          lambda ws, mp: shutil.copytree(ws / "results", ws / "res"),
          encode_file("results/summary.json", "res/summary.json", "latin-1",
                      ('"schema"', '"note": "café", "schema"')))),
    C("design-markup-in-allocation", ["design", "--sd", "100", "--mde", "10", "--allocation",
                                      "[/x]", "-o", "d.json"], "[/x]", outputs=("d.json",)),
    # assign -------------------------------------------------------------------------------
    C("assign-missing-design", "assign nope.json customers.parquet -o a.parquet", "nope.json",
      "does not exist", outputs=A),
    C("assign-latin1-design", "assign bad.json customers.parquet -o a.parquet", "bad.json",
      "not UTF-8", outputs=A, setup=encode_file("design.json", "bad.json", "latin-1",
                                                ('"schema"', '"note": "café", "schema"'))),
    C("assign-truncated-design", "assign bad.json customers.parquet -o a.parquet", "bad.json",
      outputs=A, setup=lambda ws, mp: (ws / "bad.json").write_bytes(
          (ws / "design.json").read_bytes()[:300])),
    C("assign-missing-customers", "assign design.json nope.parquet -o a.parquet",
      "nope.parquet", outputs=A),
    C("assign-duplicate-customers", "assign design.json bad.csv -o a.parquet", "customer_id",
      outputs=A, setup=edit_returns(lambda f: pd.concat([f, f.iloc[:1]]))),
    C("assign-cp1252-customers", "assign design.json bad.csv -o a.parquet", "bad.csv",
      "not UTF-8", outputs=A,
      setup=edit_returns(lambda f: f.assign(city="Besançon"), encoding="cp1252")),
    C("assign-spark-option-without-spark",
      "assign design.json customers.parquet -o a.parquet --spark-conf a=b", "--spark-master",
      outputs=A),
    C("assign-output-not-parquet", "assign design.json customers.parquet -o a.csv", "a.csv",
      ".parquet", outputs=("a.csv",)),
    C("assign-output-is-a-folder", "assign design.json customers.parquet -o sim.parquet",
      "sim.parquet", "folder", setup=make_folder("sim.parquet")),
    C("assign-csv-dir-is-a-file",
      "assign design.json customers.parquet -o a.parquet --csv-dir returns.csv",
      "returns.csv", "not a folder", outputs=A[:2]),
    C("assign-csv-dir-unwritable",
      "assign design.json customers.parquet -o a.parquet --csv-dir lists", "lists",
      "permission denied", outputs=(*A[:2], "lists/a.treatment.csv"),
      setup=unwritable("lists")),
    C("assign-list-rename-fails", "assign design.json customers.parquet -o a.parquet",
      "a.treatment.csv", "no space left", outputs=A,
      setup=failing_rename("a.treatment.csv")),
    C("assign-disk-full-writing-lists", "assign design.json customers.parquet -o a.parquet",
      "a.control.csv", "no space left", outputs=A,
      setup=disk_full("pyarrow.csv", "write_csv", 3)),
    C("assign-table-rename-fails", "assign design.json customers.parquet -o a.parquet",
      "a.parquet", "no space left", outputs=A,
      setup=failing_rename("a.parquet")),
    # interim ------------------------------------------------------------------------------
    C("interim-missing-design", "interim nope.json returns.csv --look 1 --outcome outcome",
      "nope.json", "does not exist"),
    C("interim-missing-data", "interim design.json nope.csv --look 1 --outcome outcome",
      "nope.csv", "does not exist"),
    C("interim-arm-case", "interim design.json bad.csv --look 1 --outcome outcome", "bad.csv",
      "'Treatment'", "did you mean 'treatment'",
      setup=edit_returns(lambda f: f.assign(arm=f["arm"].replace({"treatment": "Treatment"})
                                            .where(f.index >= 12, f["arm"])))),
    C("interim-arm-unknown", "interim design.json bad.csv --look 1 --outcome outcome", "bad.csv",
      "'tratment'", "did you mean 'treatment'",
      setup=edit_returns(lambda f: f.assign(arm=f["arm"].where(f.index != 4, "tratment")))),
    C("interim-arm-missing", "interim design.json bad.csv --look 1 --outcome outcome", "bad.csv",
      "column 'arm'", setup=edit_returns(lambda f: f.drop(columns="arm"))),
    C("interim-look-zero", "interim design.json returns.csv --look 0 --outcome outcome",
      "--look"),
    C("interim-look-too-late", "interim design.json returns.csv --look 9 --outcome outcome",
      "--look"),
    C("interim-previous-fractions", "interim design.json returns.csv --look 2 --outcome outcome "
      "--previous-fractions x", "--previous-fractions"),
    C("interim-missing-outcome", "interim design.json returns.csv --look 1 --outcome sales",
      "sales"),
    C("interim-cp1252-data", "interim design.json bad.csv --look 1 --outcome outcome",
      "bad.csv", "not UTF-8",
      setup=edit_returns(lambda f: f.assign(city="Besançon"), encoding="cp1252")),
    C("interim-spending-drift-text", "interim bad.json returns.csv --look 1 --outcome outcome",
      "bad.json", "drift", setup=edit_design(lambda d: d["spending"].update(drift="high"))),
    # evaluate -----------------------------------------------------------------------------
    C("evaluate-arm-case", "evaluate design.json bad.csv --outcome outcome -o ev", "bad.csv",
      "'Treatment'", "did you mean 'treatment'", outputs=("ev",),
      setup=edit_returns(lambda f: f.assign(arm=f["arm"].replace({"treatment": "Treatment"})
                                            .where(f.index >= 12, f["arm"])))),
    C("evaluate-arm-blank", "evaluate design.json bad.parquet --outcome outcome -o ev",
      "bad.parquet", "arm must be a name", outputs=("ev",),
      setup=edit_returns(lambda f: f.assign(arm=f["arm"].where(f.index != 3, None)),
                         "bad.parquet")),
    C("evaluate-output-holds-data", "evaluate design.json ev/returns.csv --outcome outcome -o ev",
      "ev", "holds an input", setup=lambda ws, mp: (ws / "ev").mkdir() or shutil.copy(
          ws / "returns.csv", ws / "ev" / "returns.csv")),
    C("evaluate-output-is-results", "evaluate design.json returns.csv --outcome outcome "
      "--results results -o results", "results", "holds an input"),
    C("evaluate-output-not-a-previous-output", "evaluate design.json returns.csv --outcome "
      "outcome -o sim", "sim", "rollout simulate", "--force"),
    C("evaluate-output-is-a-file", "evaluate design.json returns.csv --outcome outcome "
      "-o returns.parquet", "returns.parquet", "is a file"),
    C("evaluate-output-unwritable", "evaluate design.json returns.csv --outcome outcome "
      "-o locked/ev", "locked/ev", "permission denied", outputs=("locked/ev",),
      setup=unwritable("locked")),
    C("evaluate-duplicate-ids", "evaluate design.json bad.csv --outcome outcome -o ev",
      "customer_id", outputs=("ev",), setup=edit_returns(lambda f: pd.concat([f, f.iloc[:1]]))),
    C("evaluate-missing-join", "evaluate design.json returns.csv --outcome outcome --join "
      "nope.parquet -o ev", "nope.parquet", outputs=("ev",)),
    C("evaluate-missing-customers", "evaluate design.json returns.csv --outcome outcome "
      "--customers nope.parquet -o ev", "nope.parquet", outputs=("ev",)),
    C("evaluate-results-not-results", "evaluate design.json returns.csv --outcome outcome "
      "--results sim -o ev", "sim", outputs=("ev",)),
    C("evaluate-outcome-not-numeric", "evaluate design.json bad.csv --outcome outcome -o ev",
      "outcome", outputs=("ev",), setup=edit_returns(lambda f: f.assign(outcome="high"))),
    C("evaluate-utf16-data", "evaluate design.json bad.csv --outcome outcome -o ev", "bad.csv",
      "UTF-16", outputs=("ev",), setup=edit_returns(lambda f: f, encoding="utf-16")),
    # score --------------------------------------------------------------------------------
    C("score-missing-results", "score nope cohort.parquet -o s.parquet", "nope",
      "does not exist", outputs=("s.parquet", "s.summary.json")),
    C("score-missing-covariate", "score results customers.parquet -o s.parquet",
      "customers.parquet", COVARIATE, "missing", outputs=("s.parquet", "s.summary.json")),
    C("score-model-checksum-differs", "score results cohort.parquet -o s.parquet",
      "model.joblib", "SHA-256", "refusing", outputs=("s.parquet", "s.summary.json"),
      setup=lambda ws, mp: (ws / "results" / "model.joblib").write_bytes(
          (ws / "results" / "model.joblib").read_bytes() + b"\0")),
    C("score-covariate-missing-value", "score results bad.parquet -o s.parquet", "bad.parquet",
      COVARIATE, "row 3", outputs=("s.parquet", "s.summary.json"),
      setup=edit_cohort(lambda f: f.assign(**{COVARIATE: f[COVARIATE].where(f.index != 3)}))),
    C("score-covariate-not-numeric", "score results bad.csv -o s.parquet", "bad.csv", COVARIATE,
      "numeric", outputs=("s.parquet",),
      setup=edit_cohort(lambda f: f.assign(**{COVARIATE: "many"}), "bad.csv")),
    C("score-cp1252-customers", "score results bad.csv -o s.parquet", "bad.csv", "not UTF-8",
      outputs=("s.parquet",), setup=edit_cohort(lambda f: f.assign(city="Besançon"),
                                                "bad.csv", "cp1252")),
    C("score-output-not-parquet", "score results cohort.parquet -o s.csv", "s.csv", ".parquet"),
    C("score-customers-is-a-folder", "score results sim -o s.parquet", "sim", "folder",
      outputs=("s.parquet",)),
    C("score-spark-option-without-spark",
      "score results cohort.parquet -o s.parquet --spark-master local[1]", "--spark-master",
      outputs=("s.parquet",)),
    C("score-output-unwritable", "score results cohort.parquet -o locked/s.parquet",
      "locked/s.parquet", "permission denied", outputs=("locked/s.parquet",),
      setup=unwritable("locked")),
    # simulate -----------------------------------------------------------------------------
    C("simulate-unknown-scenario", "simulate nosuch -o w", "nosuch", outputs=("w",)),
    C("simulate-latin1-toml", "simulate bad.toml -o w", "bad.toml", "not UTF-8",
      "save it as UTF-8", outputs=("w",),
      setup=encode_file("world.toml", "bad.toml", "latin-1", ("\n", "\n# café\n"))),
    C("simulate-utf16-toml", "simulate bad.toml -o w", "bad.toml", "UTF-16", outputs=("w",),
      setup=encode_file("world.toml", "bad.toml", "utf-16")),
    C("simulate-invalid-toml", "simulate bad.toml -o w", "bad.toml", "TOML", outputs=("w",),
      setup=write_file("bad.toml", b"[world\nn = 1\n")),
    C("simulate-output-holds-scenario", "simulate w/world.toml -o w", "holds an input",
      setup=lambda ws, mp: (ws / "w").mkdir() or shutil.copy(ws / "world.toml",
                                                             ws / "w" / "world.toml")),
    C("simulate-output-not-a-previous-output", "simulate homogeneous -o results", "results",
      "rollout analyze", "--force"),
    C("simulate-output-is-a-file", "simulate homogeneous -o returns.csv", "returns.csv"),
    C("simulate-output-unwritable", "simulate homogeneous -o locked/w", "locked/w",
      "permission denied", outputs=("locked/w",), setup=unwritable("locked")),
    C("simulate-rename-fails", "simulate homogeneous --n 100 -o w", "w:", "no space left",
      outputs=("w",), setup=failing_rename("w")),
    C("simulate-disk-full", "simulate homogeneous --n 100 -o w", "w/truth.parquet",
      "no space left",
      outputs=("w",), setup=disk_full("pyarrow.parquet", "write_table", 2)),
    C("simulate-assignment-arm-case", "simulate homogeneous --n 400 --assignment bad.csv -o w",
      "bad.csv", "did you mean 'treatment'", outputs=("w",),
      setup=lambda ws, mp: pd.read_csv(ws / "assignment.csv").assign(
          arm=lambda f: f["arm"].where(f.index != 5, "Treatment")).to_csv(ws / "bad.csv",
                                                                            index=False)),
    C("simulate-missing-assignment", "simulate homogeneous --assignment nope.csv -o w",
      "nope.csv", outputs=("w",)),
    C("simulate-too-few-customers", "simulate homogeneous --n 5 -o w", "--n", outputs=("w",)),
    # demo ---------------------------------------------------------------------------------
    C("demo-output-not-a-previous-output", "demo -o results", "results", "rollout analyze",
      "--force"),
    C("demo-output-user-folder", "demo -o docs", "docs", "--force",
      setup=make_folder("docs", "thesis.txt")),
    C("demo-output-is-a-file", "demo -o returns.csv", "returns.csv", "is a file"),
    C("demo-output-unwritable", "demo -o locked/demo", "locked/demo", "permission denied",
      outputs=("locked/demo",), setup=unwritable("locked")),
    C("demo-output-is-current-folder", "demo -o . --force", "current folder"),
    C("demo-output-parent-is-a-file", "demo -o afile/demo", "afile", "not a folder",
      setup=write_file("afile", b"x")),
    C("demo-bad-seed", "demo -o d --seed abc", "--seed", outputs=("d",)),
]

PREVIOUS_FOLDER = {
    "analyze": {"summary.json": b'{"schema": "rollout.results/1"}\n', "old.txt": b"old\n"},
    "evaluate": {"summary.json": b'{"schema": "rollout.evaluation/1"}\n', "old.txt": b"old\n"},
    "simulate": {"summary.json": b'{"schema": "rollout.simulation/1"}\n', "old.txt": b"old\n"},
    "demo": {"demo.json": b"{}\n", "report.html": b"<html></html>\n"},
}


def _previous_output(ws: Path, case: Case) -> None:
    for name in case.outputs:
        path = ws / name
        if path.suffix:  # a file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f"previous {name}\n".encode())
        else:
            path.mkdir(parents=True)
            for file, data in PREVIOUS_FOLDER[case.command].items():
                (path / file).write_bytes(data)


def _params():
    for case in CASES:
        marks = [pytest.mark.xfail(strict=False, reason=case.xfail)] if case.xfail else []
        for state in (("absent", "previous") if case.outputs else ("fixed",)):
            yield pytest.param(case, state, id=f"{case.id}[{state}]", marks=marks)


@pytest.mark.parametrize(("case", "state"), list(_params()))
def test_bad_input_is_refused(case: Case, state: str, ws: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    if state == "previous":
        _previous_output(ws, case)
    if case.setup is not None:
        case.setup(ws, monkeypatch)
    before = snapshot(ws)
    result = _invoke(list(case.args))
    monkeypatch.undo()  # restore any patched rename before looking at the files
    output = result.output
    assert result.exit_code == 2, output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output, output
    for needle in case.needles:
        assert needle in output, (needle, output)
    after = snapshot(ws)
    assert sorted(after) == sorted(before), "files appeared or vanished"
    assert after == before, "a file changed"


def test_corpus_covers_every_command() -> None:
    counts = {command: sum(case.command == command for case in CASES) for command in COMMANDS}
    assert all(n >= 5 for n in counts.values()), counts
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)


# --- beside the corpus: what must work -----------------------------------------------------


def test_a_previous_output_is_replaced_and_force_replaces_a_user_folder(ws: Path) -> None:
    first = _invoke(["simulate", "homogeneous", "--n", "100", "-o", "sim"])
    assert first.exit_code == 0, first.output
    (ws / "mine").mkdir()
    (ws / "mine" / "notes.txt").write_text("mine\n")
    refused = _invoke(["simulate", "homogeneous", "--n", "100", "-o", "mine"])
    assert refused.exit_code == 2 and "--force" in refused.output
    forced = _invoke(["simulate", "homogeneous", "--n", "100", "-o", "mine", "--force"])
    assert forced.exit_code == 0, forced.output
    assert sorted(p.name for p in (ws / "mine").iterdir()) == [
        "cohort.parquet", "summary.json", "truth.parquet"]
    assert (ws / "mine" / "cohort.parquet").read_bytes() == \
        (ws / "sim" / "cohort.parquet").read_bytes()


def test_utf8_with_a_byte_order_mark_is_read(ws: Path) -> None:
    (ws / "bom.csv").write_bytes(b"\xef\xbb\xbf" + (ws / "returns.csv").read_bytes())
    (ws / "bom.json").write_bytes(b"\xef\xbb\xbf" + (ws / "design.json").read_bytes())
    (ws / "bom.toml").write_bytes(b"\xef\xbb\xbf" + (ws / "world.toml").read_bytes())
    done = _invoke(["interim", "bom.json", "bom.csv", "--look", "1", "--outcome", "outcome"])
    assert done.exit_code == 0, done.output
    done = _invoke(["simulate", "bom.toml", "--n", "100", "-o", "w"])
    assert done.exit_code == 0, done.output


def test_rows_outside_the_test_are_counted_not_dropped_silently(ws: Path) -> None:
    frame = pd.read_csv(ws / "returns.csv")
    frame.loc[:9, "arm"] = "not_in_test"
    frame.to_csv(ws / "r.csv", index=False)
    done = _invoke(["interim", "design.json", "r.csv", "--look", "1", "--outcome", "outcome"])
    assert done.exit_code == 0, done.output
    assert "10 'not_in_test'" in done.output


@pytest.mark.parametrize("previous", [False, True], ids=["absent", "previous"])
def test_an_interrupt_leaves_the_workspace_as_it_was(ws: Path, monkeypatch: pytest.MonkeyPatch,
                                                     previous: bool) -> None:
    """Ctrl-C while the lists are written: exit 1 (click's Abort), nothing written or left."""
    import pyarrow.csv as pa_csv

    if previous:
        for name in A:
            (ws / name).write_bytes(b"previous\n")
    before = snapshot(ws)
    real = pa_csv.write_csv
    calls = {"n": 0}

    def write(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(pa_csv, "write_csv", write)
    done = _invoke(["assign", "design.json", "customers.parquet", "-o", "a.parquet"])
    monkeypatch.undo()
    assert done.exit_code == 1 and "Traceback" not in done.output
    assert snapshot(ws) == before


def test_evaluate_on_a_plain_design_and_the_simplest_returns(ws: Path) -> None:
    frame = pd.read_csv(ws / "returns.csv")[["customer_id", "arm", "outcome"]]
    frame.to_parquet(ws / "simple.parquet")
    done = _invoke(["evaluate", "design.json", "simple.parquet", "--outcome", "outcome",
                    "-o", "ev"])
    assert done.exit_code == 0, done.output
    assert "Traceback" not in done.output
    assert (ws / "ev" / "summary.json").is_file()
