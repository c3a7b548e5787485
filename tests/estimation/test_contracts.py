"""Package-wide contracts, checked by reading the code.

- one module owns the results folder: only it names ``summary.json`` as a file;
- every public result class has the display contract (``to_dict``, ``to_pandas``,
  ``_repr_html_``, and a ``summary()`` that returns a DataFrame);
- library errors name the caller's argument, never a command-line ``--option``;
- no function is longer than 80 lines.

The display contract and the error rule are checked for every module of the package (the error
rule outside the command line, which maps arguments to its options); the summary-file rule too.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
from pathlib import Path

import pandas as pd
import pytest

import rollout
from rollout.common.display import DisplayMixin

PACKAGE = Path(rollout.__file__).resolve().parent

RESULTS_FOLDER_OWNER = "estimation/results_folder.py"
#: Modules that name the ``summary.json`` of another folder, not of the results folder, and
#: which. The folder name must appear on the line, unless the module writes only that folder.
OTHER_SUMMARIES = {
    "evaluation/evaluate.py": None,      # writes the evaluation folder's summary
    "cli/simulate.py": None,             # writes the simulation folder's summary
    "io.py": None,                       # recognises a previous output by its schema key only
}

#: Public dataclasses that are inputs or containers, not results: they need no display.
NOT_RESULTS = {
    "rollout.planning.estimands.TestColumns",          # where a test's inputs live (names)
    "rollout.simulation.pipeline.World",               # a simulated test's inputs and truth
    "rollout.estimation.core.AnalyzeOptions",          # options of the core stage
    "rollout.estimation.cate.stage.CateOptions",       # options of the CATE stage
    "rollout.estimation.cate.learners.LearnerSettings",  # a learner's fixed settings
    "rollout.estimation.cate.fitting.OutcomeData",     # arrays a model is fitted on
    "rollout.estimation.cate.fitting.Split",           # index arrays of the 80/20 split
    "rollout.estimation.results_folder.ResultsContent",  # what the writer is given
    "rollout.estimation.results_folder.ResultsFolder",   # the reader itself
    "rollout.policy.stage.PolicySettings",             # options of the policy stage
    "rollout.policy.stage.CateView",                   # the policy stage's view of its input
    "rollout.policy.policies.HoldoutPlan",             # which customers value a policy
    "rollout.policy.policies.PolicyInputs",            # arrays the policies are built from
    "rollout.planning.results.AnalysisResults",        # the design's view of a results folder
    "rollout.planning.request.DesignRequest",          # what the caller asks the design for
    "rollout.planning.request.Inputs",                 # the request's resolved inputs
    "rollout.planning.request.Notes",                  # notes gathered while resolving them
    "rollout.planning.request.Target",                 # the sizing target a request resolves to
    "rollout.evaluation.returned.ReturnedData",        # the returned data a test is evaluated on
    "rollout.data.contract.Cohort",                    # the cohort table every stage is given
    "rollout.scoring.scorer.Scorer",                   # a loaded model and what it applies
    "rollout.scoring.scorer.ScoringPlan",              # the scorer's settings sent to workers
    "rollout.data.contract.CohortRoles",               # the column roles stored with a cohort
    "rollout.data.dunnhumby.CsvSpec",                  # the layout of one source CSV
    "rollout.data.history.History",                    # the loaded source tables
    "rollout.data.history.StagedFile",                 # one source file staged for loading
    "rollout.data.weeks.WeekCalendar",                 # the data's own week numbering
    "rollout.simulation.expressions.Expression",       # a compiled formula of a scenario
    "rollout.simulation.scenario.Scenario",            # a parsed scenario file and its parts:
    "rollout.simulation.scenario.ABTestSpec",
    "rollout.simulation.scenario.CovariateSpec",
    "rollout.simulation.scenario.CovariatesSpec",
    "rollout.simulation.scenario.Expectation",
    "rollout.simulation.scenario.OutcomeSpec",
    "rollout.simulation.scenario.SegmentRule",
    "rollout.simulation.scenario.SegmentsSpec",
    "rollout.simulation.scenario.TargetingSpec",
    "rollout.simulation.world.Customers",              # the drawn covariates a world is built from
    # The report's layout: what a report is assembled from, not a result of a stage.
    "rollout.report.build.Inputs",                     # the folders a report is made from
    "rollout.report.html.Report",                      # the page
    "rollout.report.html.Section",                     # a section of the page
    "rollout.report.html.Paragraph",                   # the blocks of a section:
    "rollout.report.html.Callout",
    "rollout.report.html.Table",
    "rollout.report.html.Figure",
    "rollout.report.html.KeyNumbers",
    "rollout.report.html.NotRun",
}

def _sources() -> dict[str, ast.Module]:
    return {str(p.relative_to(PACKAGE)): ast.parse(p.read_text(encoding="utf-8"))
            for p in sorted(PACKAGE.rglob("*.py"))}


SOURCES = _sources()


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the string constants that are docstrings (a module's, class's or function's)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def _names_summary_file(tree: ast.Module) -> list[ast.Constant]:
    """String constants that name ``summary.json`` as a file (a path part, not prose)."""
    skip = _docstrings(tree)
    return [node for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in skip
            and (node.value == "summary.json" or node.value.endswith("/summary.json"))]


def test_the_owner_names_the_summary_file() -> None:
    assert _names_summary_file(SOURCES[RESULTS_FOLDER_OWNER])


@pytest.mark.parametrize("module", sorted(set(SOURCES) - {RESULTS_FOLDER_OWNER}))
def test_only_the_owner_opens_summary_json(module: str) -> None:
    hits = _names_summary_file(SOURCES[module])
    if module in OTHER_SUMMARIES:
        folder = OTHER_SUMMARIES[module]
        if folder is not None:  # allowed only beside the other folder's name
            text = (PACKAGE / module).read_text(encoding="utf-8").splitlines()
            stray = [h.lineno for h in hits if f'"{folder}"' not in text[h.lineno - 1]]
            assert stray == [], f"{module} names the results' summary.json at lines {stray}"
        return
    lines = [h.lineno for h in hits]
    assert lines == [], (f"{module} names summary.json as a file (lines {lines}); read the "
                         f"results folder through rollout.estimation.results_folder")


def test_the_rule_catches_a_path_and_ignores_prose() -> None:
    tree = ast.parse('"""Reads summary.json."""\n'
                     'p = folder / "summary.json"\n'
                     'msg = "see summary.json ate"\n')
    assert [n.lineno for n in _names_summary_file(tree)] == [2]


# -- the display contract ------------------------------------------------------------------

def _public_dataclasses() -> list[tuple[str, type]]:
    found = []
    for info in pkgutil.walk_packages(rollout.__path__, prefix="rollout."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and dataclasses.is_dataclass(obj)
                    and obj.__module__ == info.name and not name.startswith("_")
                    and not issubclass(obj, BaseException)):
                found.append((f"{info.name}.{name}", obj))
    return sorted(found, key=lambda item: item[0])


RESULTS = [(q, c) for q, c in _public_dataclasses() if q not in NOT_RESULTS]


@pytest.mark.parametrize(("qualified", "cls"), RESULTS, ids=[q for q, _ in RESULTS])
def test_public_results_have_the_display_contract(qualified: str, cls: type) -> None:
    for method in ("to_dict", "to_pandas", "_repr_html_", "summary"):
        assert callable(getattr(cls, method, None)), f"{qualified} has no {method}()"
    returns = inspect.signature(cls.summary).return_annotation
    assert returns in (pd.DataFrame, "pd.DataFrame", "DataFrame"), (
        f"{qualified}.summary() must return a DataFrame, is annotated {returns!r}")
    assert issubclass(cls, DisplayMixin) or "_repr_html_" in vars(cls)


def test_the_skip_lists_name_real_classes() -> None:
    names = {q for q, _ in _public_dataclasses()}
    assert NOT_RESULTS <= names, sorted(NOT_RESULTS - names)


# -- library errors and function length ------------------------------------------------------

def _literal_text(node: ast.expr) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_literal_text(v) for v in node.values)
    if isinstance(node, ast.BinOp):
        return _literal_text(node.left) + _literal_text(node.right)
    return ""


def _library_sources() -> list[str]:
    """Every module outside the command line, which maps arguments to its options."""
    return [m for m in SOURCES if not m.startswith("cli/")]


@pytest.mark.parametrize("module", _library_sources())
def test_library_errors_name_arguments_not_options(module: str) -> None:
    bad = []
    for node in ast.walk(SOURCES[module]):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "InputError"):
            continue
        text = "".join(_literal_text(a) for a in node.args)
        if "--" in text or any(k.arg == "option" for k in node.keywords):
            bad.append(node.lineno)
    assert bad == [], f"{module}: InputError names a command-line option at lines {bad}"


@pytest.mark.parametrize("module", sorted(SOURCES))
def test_no_function_longer_than_80_lines(module: str) -> None:
    long = [(node.name, node.end_lineno - node.lineno + 1)
            for node in ast.walk(SOURCES[module])
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.end_lineno - node.lineno + 1 > 80]
    assert long == [], f"{module}: functions over 80 lines: {long}"
