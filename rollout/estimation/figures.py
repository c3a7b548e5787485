"""The analysis figures as PNG files: propensity by arm, love plot, effects by method, trimming.

Figures are drawn with :func:`rollout.common.figures.new_figure` (the Agg canvas, no pyplot
global state); the results folder saves them without the software version in the PNG metadata,
so the same result gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from rollout.common.figures import new_figure
from rollout.estimation.ate import METHODS
from rollout.estimation.balance import BALANCE_THRESHOLD

if TYPE_CHECKING:
    from rollout.estimation.core import CoreResult


def ps_histogram(result: CoreResult) -> Figure:
    """Cross-fitted propensity score by arm, with the [0.1, 0.9] overlap window marked."""
    fig = new_figure(7, 4)
    ax = fig.add_subplot()
    e, t = result.nuisances.e_hat, result.cohort.treatment
    bins = np.linspace(0, 1, 41)
    ax.hist(e[t == 0], bins=bins, alpha=0.6, label=f"control (n={int((t == 0).sum())})")
    ax.hist(e[t == 1], bins=bins, alpha=0.6, label=f"treated (n={int((t == 1).sum())})")
    for edge in (0.1, 0.9):
        ax.axvline(edge, color="black", linestyle="--", linewidth=1)
    auc = result.positivity.auc
    ax.set_title(f"Propensity score by arm (AUC {auc.auc:.3f} [{auc.ci_low:.3f}, "
                 f"{auc.ci_high:.3f}])")
    ax.set_xlabel("cross-fitted propensity score")
    ax.set_ylabel("customers")
    ax.legend()
    return fig


def love_plot(result: CoreResult) -> Figure:
    """|SMD| of every covariate before and after IPW weighting."""
    table = result.balance.table.sort_values("smd_unweighted", key=np.abs)
    fig = new_figure(7, max(3.0, 0.28 * len(table) + 1.2))
    ax = fig.add_subplot()
    pos = np.arange(len(table))
    ax.scatter(table["smd_unweighted"].abs(), pos, label="unweighted", marker="o")
    ax.scatter(table["smd_weighted"].abs(), pos, label="IPW-weighted", marker="x")
    ax.axvline(BALANCE_THRESHOLD, color="black", linestyle="--", linewidth=1)
    ax.set_yticks(pos, table["covariate"].tolist())
    ax.set_xlabel("|standardized mean difference| (pooled SD)")
    ax.set_title("Covariate balance")
    ax.legend()
    return fig


def effects_by_method(result: CoreResult) -> Figure:
    """Estimate and 95% interval by method, one panel per outcome."""
    outcomes = result.outcomes
    fig = new_figure(9, 2.8 * len(outcomes) + 0.5)
    frame = result.effects_table()
    for i, outcome in enumerate(outcomes):
        ax = fig.add_subplot(len(outcomes), 1, i + 1)
        rows = frame[frame["outcome"] == outcome].set_index("method").loc[list(METHODS)]
        pos = np.arange(len(rows))
        ax.errorbar(rows["estimate"], pos,
                    xerr=[rows["estimate"] - rows["ci_low"], rows["ci_high"] - rows["estimate"]],
                    fmt="o", capsize=3)
        ax.axvline(0, color="black", linewidth=1)
        ax.set_yticks(pos, [f"{m} ({rows.loc[m, 'estimand']})" for m in rows.index])
        # the long method labels push the axes right: align the title with the figure's left
        ax.set_title(f"{outcome}: effect by method, 95% intervals", loc="left")
    return fig


def trimming_plot(result: CoreResult) -> Figure:
    """AIPW estimate and 95% interval by propensity window, one panel per outcome."""
    outcomes = result.outcomes
    fig = new_figure(7, 2.8 * len(outcomes) + 0.5)
    table = result.trimming.table
    for i, outcome in enumerate(outcomes):
        ax = fig.add_subplot(len(outcomes), 1, i + 1)
        rows = table[table["outcome"] == outcome]
        pos = np.arange(len(rows))
        ax.errorbar(pos, rows["estimate"],
                    yerr=[rows["estimate"] - rows["ci_low"], rows["ci_high"] - rows["estimate"]],
                    fmt="o", capsize=3)
        ax.axhline(0, color="black", linewidth=1)
        ax.set_xticks(pos, [f"{w}\nn={n}" for w, n in zip(rows["trim"], rows["n"], strict=True)])
        ax.set_title(f"{outcome}: AIPW by propensity window (each a different population)")
    return fig


CORE_FIGURES = {
    "ps_histogram.png": ps_histogram,
    "love_plot.png": love_plot,
    "effects_by_method.png": effects_by_method,
    "trimming.png": trimming_plot,
}


def core_figures(core: CoreResult) -> dict[str, Callable[[], Figure]]:
    """The core stage's figure makers (file name -> maker)."""
    return {name: (lambda make=make: make(core)) for name, make in CORE_FIGURES.items()}

