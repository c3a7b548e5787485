"""What ``rollout report`` reads: each path given is recognised and read by its folder's owner.

A results folder (``rollout analyze``), a design file (``rollout design``), an evaluation folder
(``rollout evaluate``) or a demo folder (all three inside) may be given in any order; the report
lays them out in the loop's order. Anything else is refused, naming the path.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rollout.errors import InputError
from rollout.estimation.results_folder import ResultsFolder
from rollout.evaluation.evaluate import read_evaluation
from rollout.io import output_kind
from rollout.planning.design import load_design
from rollout.report.build import Inputs


def _parts(path: Path) -> list[tuple[str, Path]]:
    if path.is_file():
        return [("design", path)]
    if not path.is_dir():
        raise InputError("does not exist", file=path)
    kind = output_kind(path)
    if kind == "analyze":
        return [("results", path)]
    if kind == "evaluate":
        return [("evaluation", path)]
    if kind == "demo":
        return [(name, path / sub) for name, sub in
                (("results", "results"), ("design", "design.json"),
                 ("evaluation", "evaluation")) if (path / sub).exists()]
    raise InputError("not a results folder, design file, evaluation folder or demo folder "
                     "(give what rollout analyze, design, evaluate or demo wrote)", file=path)


def load_inputs(paths: Iterable[str | Path]) -> Inputs:
    """Read every path given into :class:`rollout.report.build.Inputs` (one of each kind)."""
    found: dict[str, Path] = {}
    for raw in paths:
        for kind, path in _parts(Path(raw)):
            if kind in found:
                raise InputError(f"a second {kind} ({found[kind]} was given already); a report "
                                 "covers one loop", file=path)
            found[kind] = path
    results = ResultsFolder.open(found["results"]) if "results" in found else None
    design = load_design(found["design"]) if "design" in found else None
    evaluation = read_evaluation(found["evaluation"]) if "evaluation" in found else None
    files = []
    if results is not None:
        files.append(results.summary_path)
    if design is not None:
        files.append(found["design"])
    if evaluation is not None:
        files.append(evaluation.summary_path)
    return Inputs(results=results, design=design, evaluation=evaluation, files=tuple(files))
