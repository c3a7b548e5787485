"""The examples in the docstrings of the CATE modules run and stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "rollout.estimation.cate.learners",
    "rollout.estimation.cate.validation",
    "rollout.estimation.cate.selection",
    "rollout.estimation.cate.regions",
    "rollout.estimation.cate.fitting",
    "rollout.estimation.cate.persistence",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
