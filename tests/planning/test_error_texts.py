"""The planning and evaluation libraries name their own arguments, never a command-line option.

An ``InputError`` raised by the library says ``argument="looks"`` (the keyword the caller used)
and its text has no ``--flag``: the command line maps arguments to its options in one place
(``rollout.cli.option_for``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import rollout

PACKAGE = Path(rollout.__file__).parent
#: ``returned.py`` (the returned-data contract) and ``results.py`` (the analysis results folder)
#: are restructured with the command line and the analysis stage respectively.
MODULES = sorted(p for folder in ("planning", "evaluation") for p in (PACKAGE / folder).glob("*.py")
                 if p.name not in {"returned.py", "results.py"})

#: ``InputError`` and the helpers that build one for a field of design.json.
ERROR_MAKERS = {"InputError", "field_error", "_fail", "_spending_error"}


def _input_errors(path: Path) -> list[ast.Call]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) in ERROR_MAKERS]


def _texts(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_library_errors_name_arguments_not_options(path: Path) -> None:
    for call in _input_errors(path):
        keywords = {k.arg for k in call.keywords}
        assert "option" not in keywords, f"{path.name}:{call.lineno} passes option="
        for keyword in call.keywords:
            if keyword.arg in {"column", "argument"} and isinstance(keyword.value, ast.Constant):
                assert not str(keyword.value.value).startswith("-"), \
                    f"{path.name}:{call.lineno} names {keyword.value.value!r}"
        for text in [t for arg in call.args for t in _texts(arg)]:
            assert "--" not in text, f"{path.name}:{call.lineno}: {text!r}"
