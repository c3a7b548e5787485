"""Every function fits in a reader's head: none is longer than 80 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import rollout

MAX_LINES = 80
PACKAGE = Path(rollout.__file__).parent


def _long_functions() -> dict[str, int]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_LINES:
                    found[f"{path.relative_to(PACKAGE).as_posix()}::{node.name}"] = lines
    return found


def test_no_function_is_longer_than_80_lines() -> None:
    long = _long_functions()
    assert long == {}, f"functions over {MAX_LINES} lines: {long}"
