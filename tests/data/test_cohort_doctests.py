"""The docstring examples of the data layer run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["rollout.data.weeks", "rollout.data.history", "rollout.data.cohort_design",
           "rollout.data.features", "rollout.data.build", "rollout.data.sources",
           "rollout.data.completejourney", "rollout.data.dunnhumby"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
