"""The docstring examples of the design modules run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "rollout.planning.design",
    "rollout.planning.estimands",
    "rollout.planning.phases",
    "rollout.planning.plan",
    "rollout.planning.power",
    "rollout.planning.sequential",
    "rollout.planning.strata",
    "rollout.planning.variance_reduction",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
