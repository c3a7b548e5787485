"""The cost x margin grid (``scenarios/breakeven.toml``) for breakeven sensitivity.

Targeting a customer pays when the campaign's effect on purchase amount, times the margin, exceeds
the cost of targeting: CATE > cost / margin. The grid file lists plausible costs and margins so
policies can be re-evaluated at every breakeven instead of one.

Examples
--------
>>> grid = load_breakeven_grid()
>>> list(grid.columns)
['cost', 'margin', 'breakeven']
>>> bool((grid["breakeven"] == grid["cost"] / grid["margin"]).all())
True
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rollout.errors import InputError
from rollout.simulation.scenario import _read_toml, _Table, resolve_scenario_path

GRID_KIND = "breakeven_grid"


def load_breakeven_grid(path_or_name: str | Path = "breakeven") -> pd.DataFrame:
    """Every (cost, margin) pair of a grid file with its breakeven CATE, costs varying slowest."""
    path = resolve_scenario_path(path_or_name)
    table = _Table(_read_toml(path), "", str(path))
    kind = table.text("kind")
    if kind != GRID_KIND:
        raise table.fail("kind", f"expected {GRID_KIND!r}, got {kind!r}")
    table.text("name")
    table.text("description", required=False)
    values = {}
    for key, low_open in (("costs", False), ("margins", True)):
        raw = table.raw(key)
        if (not isinstance(raw, list) or not raw
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw)):
            raise table.fail(key, "expected a non-empty list of numbers")
        for v in raw:
            if v < 0 or (low_open and v == 0) or (key == "margins" and v > 1):
                bound = "in (0, 1]" if key == "margins" else ">= 0"
                raise table.fail(key, f"every value must be {bound}, got {v}")
        values[key] = [float(v) for v in raw]
    table.done()
    rows = [(c, m, c / m) for c in values["costs"] for m in values["margins"]]
    if not rows:
        raise InputError("empty grid", file=path)
    return pd.DataFrame(rows, columns=["cost", "margin", "breakeven"])
