"""The results folder of ``rollout analyze``: the one module that writes and reads it.

Layout (schema ``rollout.results/1``, docs/results-schema.md)::

    RESULTS/summary.json           every number, with its uncertainty and estimand
    RESULTS/customers.parquet      one row per customer
    RESULTS/tables/<name>.parquet  every table of summary.json as a plain table
    RESULTS/figures/<name>.png     the figures
    RESULTS/model.joblib           the selected CATE model (an artifact, checksummed)

:func:`write_results_folder` writes it atomically from what the stages produced;
:class:`ResultsFolder` reads it back once and answers with typed accessors (the breakeven, the
recommended estimate of an outcome, the CATE columns, a policy's target list, the figures as
written, the options). Every other module (design, evaluate, the demo and its report, the
command line) goes through it, so a renamed key is found in one place.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rollout.common.display import DisplayMixin
from rollout.common.figures import save_png
from rollout.errors import InputError
from rollout.io import atomic_directory, read_table, read_text, write_json, write_parquet

RESULTS_SCHEMA = "rollout.results/1"
SUMMARY_FILE = "summary.json"
CUSTOMERS_FILE = "customers.parquet"
TABLES_DIR = "tables"
FIGURES_DIR = "figures"

FigureMaker = Callable[[], Any]


@dataclass(frozen=True, eq=False)
class ResultsContent:
    """Everything a results folder holds, in memory: what :func:`write_results_folder` writes.

    ``document`` is ``summary.json`` without its ``files`` key (the writer adds it), ``figures``
    maps file names to makers of a matplotlib ``Figure``, ``artifacts`` file names to bytes.
    """

    document: Mapping[str, Any]
    tables: Mapping[str, pd.DataFrame]
    customers: pd.DataFrame
    figures: Mapping[str, FigureMaker] = field(default_factory=dict)
    artifacts: Mapping[str, bytes] = field(default_factory=dict)


def write_results_folder(folder: str | Path, content: ResultsContent,
                         figures: bool = True,
                         finish: Callable[[ResultsFolder], None] | None = None) -> ResultsFolder:
    """Write the results folder atomically; the same content gives the same bytes.

    The folder is assembled under a temporary name and renamed into place only when complete.
    ``finish``, when given, is called with the assembled folder before it is renamed (a report
    written into it lands with the rest, or not at all). Returns the folder as written (its
    ``document`` is the ``summary.json`` just written).
    """
    folder = Path(folder)
    tables = dict(content.tables)
    with atomic_directory(folder) as tmp:
        (tmp / TABLES_DIR).mkdir()
        for name, table in sorted(tables.items()):
            write_parquet(tmp / TABLES_DIR / f"{name}.parquet", table)
        write_parquet(tmp / CUSTOMERS_FILE, content.customers)
        figure_names = _write_figures(content.figures, tmp / FIGURES_DIR) if figures else []
        for name, data in sorted(content.artifacts.items()):
            (tmp / name).write_bytes(data)
        document = dict(content.document)
        document["files"] = {
            "summary": SUMMARY_FILE,
            "customers": CUSTOMERS_FILE,
            "tables": {name: f"{TABLES_DIR}/{name}.parquet" for name in sorted(tables)},
            "figures": [f"{FIGURES_DIR}/{name}" for name in figure_names],
            "artifacts": sorted(content.artifacts),
        }
        write_json(tmp / SUMMARY_FILE, document)
        if finish is not None:
            finish(ResultsFolder(path=tmp, document=document))
    return ResultsFolder(path=folder, document=document)


def _write_figures(makers: Mapping[str, FigureMaker], folder: Path) -> list[str]:
    """Draw every figure into ``folder`` in name order; returns the file names written."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for name, make in sorted(makers.items()):
        save_png(make(), folder / name)
        names.append(name)
    return names


@dataclass(frozen=True)
class Breakeven(DisplayMixin):
    """The campaign economics recorded by the policy stage: target when CATE > cost / margin."""

    cost: float
    margin: float
    breakeven_cate: float


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
        return float(value)
    return None


@dataclass(frozen=True, eq=False)
class ResultsFolder:
    """A results folder read back: ``summary.json`` parsed once, the rest read on demand."""

    path: Path
    document: Mapping[str, Any]

    @classmethod
    def open(cls, path: str | Path) -> ResultsFolder:
        """Read ``summary.json`` of the folder at ``path``; :class:`InputError` if it cannot."""
        path = Path(path)
        if not path.is_dir():
            raise InputError("results folder does not exist", file=path)
        summary_path = path / SUMMARY_FILE
        if not summary_path.exists():
            raise InputError("missing summary.json in the results folder", file=summary_path)
        try:
            document = json.loads(read_text(summary_path))
        except json.JSONDecodeError as exc:
            raise InputError(f"not a readable JSON document: {exc}", file=summary_path) from exc
        if not isinstance(document, dict):
            raise InputError("must be a JSON object", file=summary_path)
        return cls(path=path, document=document)

    @classmethod
    def at(cls, path: str | Path) -> ResultsFolder:
        """The folder at ``path`` without reading its summary (for its tables and customers)."""
        return cls(path=Path(path), document={})

    # -- files ------------------------------------------------------------------------------
    @property
    def summary_path(self) -> Path:
        return self.path / SUMMARY_FILE

    @property
    def customers_path(self) -> Path:
        return self.path / CUSTOMERS_FILE

    def customers(self) -> pd.DataFrame:
        """``customers.parquet`` as written."""
        if not self.customers_path.exists():
            raise InputError("missing customers.parquet in the results folder",
                             file=self.customers_path)
        return read_table(self.customers_path)

    def figures(self) -> list[Path]:
        """The figures as the analysis listed them in ``files.figures``, in that order."""
        files = self.document.get("files")
        names = files.get("figures") if isinstance(files, dict) else None
        return [self.path / str(n) for n in names or [] if (self.path / str(n)).is_file()]

    def table(self, name: str) -> pd.DataFrame | None:
        """``tables/<name>.parquet`` (None when the analysis wrote no such table)."""
        path = self.path / TABLES_DIR / f"{name}.parquet"
        return read_table(path) if path.is_file() else None

    # -- the summary, by meaning --------------------------------------------------------------
    def records(self, key: str) -> list[dict[str, Any]]:
        """The records of a list-valued key (``ate``, ``trimming``, ``policies``, ...), or []."""
        value = self.document.get(key)
        return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []

    def section(self, key: str) -> dict[str, Any]:
        """An object-valued key (``positivity``, ``breakeven``, ...), or {} when absent."""
        value = self.document.get(key)
        return value if isinstance(value, dict) else {}

    @property
    def cohort(self) -> dict[str, Any]:
        """The ``cohort`` record (``path``, ``outcomes``, ``covariates``, ...)."""
        return self.section("cohort")

    @property
    def outcomes(self) -> list[str]:
        outcomes = self.cohort.get("outcomes")
        return [str(o) for o in outcomes] if isinstance(outcomes, list) else []

    @property
    def options(self) -> dict[str, Any]:
        """The analysis' options (seed, folds, clip, ...)."""
        return self.section("options")

    @property
    def warnings(self) -> list[str]:
        return [str(w) for w in self.document.get("warnings") or []]

    @property
    def verdict(self) -> str | None:
        return self.section("verdict").get("verdict")

    def cohort_path(self) -> Path | None:
        """The cohort the analysis read: as recorded, else relative to the results folder."""
        raw = self.cohort.get("path")
        if not raw:
            return None
        candidate = Path(raw)
        if not candidate.is_absolute():
            # as written by the analysis (relative to where it ran), else beside the results
            options = [candidate, self.path / candidate, self.path.parent / candidate]
            candidate = next((c for c in options if c.exists()), candidate)
        return candidate

    def has_breakeven(self) -> bool:
        return bool(self.section("breakeven"))

    def breakeven(self) -> Breakeven:
        """Cost, margin and breakeven CATE; :class:`InputError` naming the key when absent."""
        record = self.document.get("breakeven")
        if not isinstance(record, dict):
            raise InputError("key 'breakeven' missing (needed for cost, margin and the "
                             "breakeven CATE)", file=self.summary_path)
        out = {}
        for key in ("cost", "margin", "breakeven_cate"):
            value = record.get(key)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise InputError(f"key 'breakeven.{key}' missing or not a number",
                                 file=self.summary_path)
            out[key] = float(value)
        return Breakeven(**out)

    def estimate(self, key: str, outcome: str, **match: Any) -> float | None:
        """The finite ``estimate`` of the first record of ``key`` for ``outcome`` matching
        ``match`` (a record without an ``outcome`` field matches every outcome)."""
        for record in self.records(key):
            if record.get("outcome", outcome) != outcome:
                continue
            if all(record.get(k) == v for k, v in match.items()):
                value = _number(record.get("estimate"))
                if value is not None:
                    return value
        return None

    def recommended(self, outcome: str) -> dict[str, Any] | None:
        """The analysis' recommended estimate of ``outcome`` (method, trim, estimate, ...)."""
        for record in self.records("recommended"):
            if record.get("outcome", outcome) == outcome \
                    and _number(record.get("estimate")) is not None:
                return record
        return None

    def cate_model(self) -> dict[str, Any] | None:
        """The record of the kept CATE model (file, sha256, model, covariates), or None."""
        record = self.document.get("cate_model")
        return record if isinstance(record, dict) and record.get("file") else None

    def policy_names(self) -> list[str]:
        """The policies the analysis evaluated, in the order recorded."""
        return [str(r.get("policy")) for r in self.records("policies")]


def cate_columns(customers: pd.DataFrame) -> list[str]:
    """The CATE columns of ``customers.parquet`` (``cate``, bounds, per-model fits), in order."""
    return [c for c in map(str, customers.columns) if c == "cate" or c.startswith("cate_")]


def target_column(policy: str) -> str:
    """The ``customers.parquet`` column holding a policy's 0/1 target list."""
    return f"target_{policy}"


def policy_targets(customers: pd.DataFrame, policy: str) -> np.ndarray | None:
    """A policy's target list (0/1 per customer), or None when the analysis wrote none."""
    column = target_column(policy)
    return customers[column].to_numpy() if column in customers.columns else None
