"""The breakeven sensitivity grid (``scenarios/breakeven.toml``): named cost x margin scenarios.

Targeting a customer pays when the campaign's effect on purchase amount, times the margin, exceeds
the cost of targeting: CATE > cost / margin. Cost and margin are never known exactly, so the
breakeven policy is re-evaluated over a few named scenarios (base, lower and higher margin, higher
and lower cost, worst, best). The file stores each scenario relative to the analysis' own base:
``cost_multiplier`` scales the base cost, and the margin is either ``margin_offset`` added to the
base margin or an absolute ``margin``. No dollar figure lives in the file.

A ``[grid]`` table makes a real grid instead of (or after) named scenarios: every
``cost_multipliers`` x ``margins`` cell (absolute margins), named ``cost_x<multiplier>_margin_
<margin>``, after a ``base`` scenario (x1, the base margin). The bundled grid runs the cost from a
tenth to three times the analysis' own and the margin from 0.15 to 0.45.

Examples
--------
>>> grid = load_breakeven_grid(base_cost=10.0, base_margin=0.30)
>>> grid["scenario"].tolist()[:2]
['base', 'cost_x0.1_margin_0.15']
>>> bool((grid["breakeven"] == grid["cost"] / grid["margin"]).all())
True
>>> float(grid["cost"].min()), float(grid["cost"].max()), sorted(set(grid["margin"]))[-1]
(1.0, 30.0, 0.45)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rollout.common.toml_files import TomlTable, check_identifier, read_toml, resolve_scenario_path
from rollout.errors import InputError

GRID_KIND = "breakeven_grid"
GRID_COLUMNS = ["scenario", "cost_multiplier", "margin_offset", "cost", "margin", "breakeven"]


def load_breakeven_grid(path_or_name: str | Path = "breakeven", base_cost: float = 1.0,
                        base_margin: float = 0.30) -> pd.DataFrame:
    """The grid's scenarios with cost, margin and breakeven computed from the base, in file order.

    Columns: ``scenario``, ``cost_multiplier``, ``margin_offset`` (margin minus base margin),
    ``cost``, ``margin``, ``breakeven``. Raises :class:`InputError` naming the file and field when
    a scenario is malformed or its margin falls outside (0, 1].
    """
    if base_cost < 0:
        raise InputError(f"base cost must be >= 0, got {base_cost:g}", argument="base_cost")
    if not 0 < base_margin <= 1:
        raise InputError(f"base margin must lie in (0, 1], got {base_margin:g}",
                         argument="base_margin")
    path = resolve_scenario_path(path_or_name)
    table = TomlTable(read_toml(path), "", str(path))
    kind = table.text("kind")
    if kind != GRID_KIND:
        raise table.fail("kind", f"expected {GRID_KIND!r}, got {kind!r}")
    table.text("name")
    table.text("description", required=False)
    rows = []
    names: set[str] = set()
    cells = table.table("grid", required=False)
    for entry in table.tables("scenarios", required=cells is None):
        name = entry.text("name")
        assert name is not None
        check_identifier(name, entry.path("name"), str(path))
        if name in names:
            raise entry.fail("name", f"duplicate scenario name {name!r}")
        names.add(name)
        multiplier = entry.number("cost_multiplier", required=False, default=1.0, low=0.0)
        if entry.has("margin") and entry.has("margin_offset"):
            raise entry.fail("margin", "give either margin or margin_offset, not both")
        if entry.has("margin"):
            margin = entry.number("margin", low=0.0, low_open=True, high=1.0)
        else:
            offset = entry.number("margin_offset", required=False, default=0.0)
            margin = base_margin + offset  # type: ignore[operator]
            if not 0 < margin <= 1:
                raise entry.fail("margin_offset", f"gives margin {margin:g} from base margin "
                                 f"{base_margin:g}; a margin must lie in (0, 1]")
        entry.done()
        assert multiplier is not None and margin is not None
        cost = base_cost * multiplier
        rows.append((name, multiplier, margin - base_margin, cost, margin, cost / margin))
    if cells is not None:
        rows.extend(_grid_cells(cells, base_cost, base_margin, names))
    table.done()
    return pd.DataFrame(rows, columns=GRID_COLUMNS)


def _numbers(table: TomlTable, key: str, low: float, high: float | None) -> list[float]:
    values = table.raw(key)
    if not isinstance(values, list) or not values or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise table.fail(key, "expected a non-empty list of numbers")
    for v in values:
        if v <= low or (high is not None and v > high):
            bound = f"in ({low:g}, {high:g}]" if high is not None else f"> {low:g}"
            raise table.fail(key, f"every value must be {bound}, got {v!r}")
    return [float(v) for v in values]


def _grid_cells(cells: TomlTable, base_cost: float, base_margin: float,
                names: set[str]) -> list[tuple[str, float, float, float, float, float]]:
    """The ``base`` scenario (unless named already) and every cost x margin cell."""
    multipliers = _numbers(cells, "cost_multipliers", 0.0, None)
    margins = _numbers(cells, "margins", 0.0, 1.0)
    cells.done()
    rows = []
    if "base" not in names:
        rows.append(("base", 1.0, 0.0, base_cost, base_margin, base_cost / base_margin))
    for multiplier in multipliers:
        for margin in margins:
            cost = base_cost * multiplier
            rows.append((f"cost_x{multiplier:g}_margin_{margin:g}", multiplier,
                         margin - base_margin, cost, margin, cost / margin))
    return rows
