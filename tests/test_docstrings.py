"""Every docstring example in the package runs and gives what it shows.

One runner for the whole package: each module is imported and its examples executed, so an
example that drifts from the code fails here. Modules whose purpose is best shown by example
must keep at least one (``MUST_HAVE_EXAMPLES``).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import rollout

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(rollout.__path__, prefix="rollout.")
    if not info.name.endswith("__main__")
)

MUST_HAVE_EXAMPLES = {
    "rollout.analysis", "rollout.cli.analyze", "rollout.data.contract", "rollout.errors",
    "rollout.estimation.ate", "rollout.estimation.assumptions", "rollout.estimation.balance",
    "rollout.estimation.crossfit", "rollout.estimation.propensity",
    "rollout.estimation.sensitivity", "rollout.estimation.trimming",
    "rollout.estimation.cate.learners", "rollout.estimation.cate.validation",
    "rollout.estimation.cate.selection", "rollout.estimation.cate.regions",
    "rollout.estimation.cate.fitting", "rollout.estimation.cate.persistence",
    "rollout.evaluation.effects", "rollout.evaluation.srm", "rollout.io",
    "rollout.planning.assignment", "rollout.planning.balance_report",
    "rollout.planning.dependent_rounding", "rollout.planning.design",
    "rollout.planning.estimands", "rollout.planning.keyed_hash", "rollout.planning.phases",
    "rollout.planning.plan", "rollout.planning.power", "rollout.planning.sequential",
    "rollout.planning.strata", "rollout.planning.variance_reduction",
    "rollout.report.html", "rollout.simulation", "rollout.simulation.breakeven_grid",
    "rollout.simulation.expressions", "rollout.simulation.replicate",
    "rollout.simulation.returns", "rollout.simulation.scenario", "rollout.simulation.truth",
    "rollout.simulation.world",
}


def test_the_required_modules_exist() -> None:
    assert MUST_HAVE_EXAMPLES <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    if name in MUST_HAVE_EXAMPLES:
        assert result.attempted > 0, f"{name} lost its docstring examples"
