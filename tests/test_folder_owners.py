"""One module owns each file format: only the owners parse the JSON documents the loop writes.

``summary.json`` of a results folder belongs to ``estimation/results_folder.py``, ``design.json``
to ``planning/design.py``, the evaluation folder's ``summary.json`` to ``evaluation/evaluate.py``,
the looks record to ``evaluation/interim.py``.
Everyone else reads them through those owners' typed readers. ``io.py`` is the generic layer: it
decodes the roles stored in a parquet file's metadata and recognises a previous output folder by
its schema key (nothing else). A new ``json.load`` anywhere else fails this test.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "rollout"

OWNERS = {
    "estimation/results_folder.py",  # the results folder's summary.json
    "planning/design.py",            # design.json
    "evaluation/evaluate.py",        # the evaluation folder's summary.json
    "evaluation/interim.py",         # the looks record (interim --record)
    "io.py",                         # parquet roles metadata; a folder's schema key
}


def _json_parsers(tree: ast.Module) -> list[int]:
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in ("load", "loads")
            and isinstance(node.value, ast.Name) and node.value.id == "json"]


def test_only_the_owners_parse_json_documents() -> None:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        lines = _json_parsers(ast.parse(path.read_text(encoding="utf-8")))
        if lines and relative not in OWNERS:
            found[relative] = lines
    assert found == {}, f"read these documents through their owners' readers: {found}"


def test_every_owner_still_parses_its_document() -> None:
    for relative in OWNERS:
        assert _json_parsers(ast.parse((PACKAGE / relative).read_text(encoding="utf-8"))), \
            relative


def test_the_check_sees_a_stray_parser() -> None:
    assert _json_parsers(ast.parse("import json\nd = json.loads(open('design.json').read())\n")) \
        == [2]
