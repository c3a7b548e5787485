"""The examples in the docstrings of the assignment modules run and stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "rollout.planning.assignment",
    "rollout.planning.balance_report",
    "rollout.planning.dependent_rounding",
    "rollout.planning.keyed_hash",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
