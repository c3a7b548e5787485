"""The breakeven sensitivity grid, read by the policy layer (rollout.policy.breakeven_grid)."""

from __future__ import annotations

from rollout.policy.breakeven_grid import GRID_COLUMNS, GRID_KIND, load_breakeven_grid

__all__ = ["GRID_COLUMNS", "GRID_KIND", "load_breakeven_grid"]
