"""The examples in the docstrings of rollout.simulation run and stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "rollout.simulation",
    "rollout.simulation.breakeven_grid",
    "rollout.simulation.expressions",
    "rollout.simulation.replicate",
    "rollout.simulation.returns",
    "rollout.simulation.scenario",
    "rollout.simulation.truth",
    "rollout.simulation.world",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
