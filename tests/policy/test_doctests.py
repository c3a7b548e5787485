"""The examples in the docstrings of rollout.policy run and stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "rollout.policy",
    "rollout.policy.cost",
    "rollout.policy.curves",
    "rollout.policy.policies",
    "rollout.policy.segments",
    "rollout.policy.trees",
    "rollout.policy.value",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
