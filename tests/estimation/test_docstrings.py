"""The docstring examples of the estimation modules run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "rollout.estimation.ate",
    "rollout.estimation.assumptions",
    "rollout.estimation.balance",
    "rollout.estimation.crossfit",
    "rollout.estimation.propensity",
    "rollout.estimation.sensitivity",
    "rollout.estimation.trimming",
    "rollout.cli.analyze",
    "rollout.analysis",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
