"""Policy figures: profit and ROI curves, segment effects with intervals, the breakeven grid."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rollout.common.figures import new_figure


def profit_curves(tables: Mapping[str, pd.DataFrame]) -> Figure:
    """Predicted and honest profit per customer (left) and ROI (right) against share targeted."""
    curve = tables["profit_curve"]
    fig = new_figure(10, 4)
    left, right = fig.subplots(1, 2)
    share = curve["share"]
    left.plot(share, curve["predicted_profit"], marker="o", label="model-predicted")
    left.plot(share, curve["value"], marker="s", label="honest (doubly robust, held-out)")
    left.fill_between(share, curve["value_ci_low"], curve["value_ci_high"], alpha=0.2)
    for column, style in (("predicted_optimum", "C0"), ("honest_optimum", "C1")):
        best = curve.loc[curve[column], "share"].iloc[0]
        left.axvline(best, color=style, linestyle="--", linewidth=1)
    left.axhline(0, color="black", linewidth=0.8)
    left.set_xlabel("share of customers targeted (by predicted CATE)")
    left.set_ylabel("profit per customer vs targeting nobody")
    left.legend()
    right.plot(share, curve["predicted_roi"], marker="o", label="model-predicted")
    right.plot(share, curve["value_roi"], marker="s", label="honest")
    right.axhline(0, color="black", linewidth=0.8)
    right.set_xlabel("share of customers targeted")
    right.set_ylabel("ROI (profit / campaign cost)")
    right.legend()
    return fig


def segment_effects(tables: Mapping[str, pd.DataFrame], be: float | None) -> Figure:
    """Doubly robust mean CATE per segment with 95% intervals, zero and breakeven marked."""
    table = tables["segments"].sort_values("mean_cate")
    fig = new_figure(7, max(3.0, 0.45 * len(table) + 1.2))
    ax = fig.add_subplot()
    pos = np.arange(len(table))
    ax.errorbar(table["mean_cate"], pos,
                xerr=[table["mean_cate"] - table["ci_low"], table["ci_high"] - table["mean_cate"]],
                fmt="o", capsize=3)
    ax.axvline(0, color="black", linewidth=0.8)
    if be is not None:
        ax.axvline(be, color="C3", linestyle="--", label=f"breakeven {be:.3g}")
        ax.legend()
    ax.set_yticks(pos, [f"{s} ({a})" for s, a in zip(table["segment"], table["action"],
                                                       strict=True)])
    ax.set_xlabel("mean CATE (doubly robust), 95% interval")
    return fig


def breakeven_grid(tables: Mapping[str, pd.DataFrame]) -> Figure:
    """Honest value of the breakeven policy over the cost x margin grid (a heat map; each cell
    shows its value and share targeted, hatched where the 95% interval spans zero)."""
    grid = tables["breakeven_grid"]
    cells = grid[grid["scenario"] != "base"]
    if cells.empty:
        cells = grid
    costs = sorted(set(cells["cost"]))
    margins = sorted(set(cells["margin"]))
    value = np.full((len(margins), len(costs)), np.nan)
    share = np.full_like(value, np.nan)
    spans = np.zeros_like(value, dtype=bool)
    for row in cells.itertuples(index=False):
        i, j = margins.index(row.margin), costs.index(row.cost)
        value[i, j], share[i, j] = row.value, row.share_targeted
        spans[i, j] = row.value_ci_low <= 0 <= row.value_ci_high
    fig = new_figure(8, 4.5)
    ax = fig.add_subplot()
    limit = float(np.nanmax(np.abs(value))) if np.isfinite(value).any() else 1.0
    image = ax.imshow(value, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto",
                      origin="lower")
    for i in range(len(margins)):
        for j in range(len(costs)):
            if np.isfinite(value[i, j]):
                ax.text(j, i, f"{value[i, j]:.2g}\n{share[i, j]:.0%}" + ("*" if spans[i, j]
                                                                        else ""),
                        ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(costs)), [f"{c:.3g}" for c in costs], fontsize=8)
    ax.set_yticks(range(len(margins)), [f"{m:.2f}" for m in margins], fontsize=8)
    ax.set_xlabel("cost per targeted household")
    ax.set_ylabel("margin")
    ax.set_title("honest value per identified customer of CATE > cost / margin "
                 "(share targeted; * interval spans 0)", fontsize=9)
    fig.colorbar(image, ax=ax)
    return fig


#: The figure files of the profit part of the stage, and of the segments.
PROFIT_FIGURES = ("policy_profit_curves.png", "breakeven_grid.png")
SEGMENT_FIGURES = ("segment_cate.png",)


def policy_figures(tables: Mapping[str, pd.DataFrame],
                   breakeven: float | None) -> dict[str, Callable[[], Figure]]:
    """The figure makers of the policy stage (file name -> maker), from its tables."""
    return {"policy_profit_curves.png": lambda: profit_curves(tables),
            "segment_cate.png": lambda: segment_effects(tables, breakeven),
            "breakeven_grid.png": lambda: breakeven_grid(tables)}
