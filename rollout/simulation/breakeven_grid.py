"""The breakeven sensitivity grid, read by the policy layer (``rollout.policy.breakeven_grid``).

Examples
--------
>>> grid = load_breakeven_grid(base_cost=10.0, base_margin=0.30)
>>> grid["scenario"].tolist()[:2]
['base', 'cost_x0.1_margin_0.15']
"""

from __future__ import annotations

from rollout.policy.breakeven_grid import GRID_COLUMNS, GRID_KIND, load_breakeven_grid

__all__ = ["GRID_COLUMNS", "GRID_KIND", "load_breakeven_grid"]
