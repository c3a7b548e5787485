"""CATE figures: the distribution of predicted effects by model, and uplift curves with bands.

Drawn on the Agg backend without global state (like the core figures) so the same result gives
the same PNG bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from rollout.common.figures import new_figure
from rollout.estimation.cate.validation import uplift_curve

#: Each item of ``per_outcome`` is a :class:`rollout.estimation.cate.stage.OutcomeCate` (not
#: imported here: the stage module imports this one).
OutcomeCate = Any


def distributions(per_outcome: Sequence[OutcomeCate]) -> Figure:
    """Histogram of every customer's predicted CATE, one panel per outcome, one line per model.

    Flagged models are drawn dashed and named as flagged; their range is clipped to the
    unflagged models' so one divergent model does not flatten the others.
    """
    fig = new_figure(8, 3.2 * len(per_outcome) + 0.5)
    for i, oc in enumerate(per_outcome):
        ax = fig.add_subplot(len(per_outcome), 1, i + 1)
        good = [f.cate for f in oc.fits if f.cate is not None and not f.flagged]
        pool = np.concatenate(good) if good else np.array([0.0, 1.0])
        low, high = np.quantile(pool, [0.005, 0.995])
        if high <= low:
            low, high = low - 1, high + 1
        bins = np.linspace(low, high, 50)
        for fit in oc.fits:
            if fit.cate is None or not np.all(np.isfinite(fit.cate)):
                continue
            values = np.clip(fit.cate, low, high)
            label = fit.model + (" (selected)" if fit.model == oc.selection.selected else "")
            label += " (flagged)" if fit.flagged else ""
            ax.hist(values, bins=bins, histtype="step", linewidth=1.5,
                    linestyle="--" if fit.flagged else "-", label=label)
        ax.axvline(0, color="black", linewidth=1)
        ax.set_title(f"{oc.data.name}: predicted CATE by model (all customers)")
        ax.set_xlabel("predicted CATE")
        ax.set_ylabel("customers")
        ax.legend(fontsize=8)
    return fig


def uplift_curves(per_outcome: Sequence[OutcomeCate]) -> Figure:
    """Uplift curve of every unflagged model on held-out DR scores, with 95% pointwise bands."""
    fig = new_figure(8, 3.4 * len(per_outcome) + 0.5)
    for i, oc in enumerate(per_outcome):
        ax = fig.add_subplot(len(per_outcome), 1, i + 1)
        test = oc.split.test
        random_line = None
        for fit in oc.fits:
            if fit.cate is None or fit.flagged:
                continue
            curve = uplift_curve(fit.cate[test], oc.data.scores[test])
            label = fit.model + (" (selected)" if fit.model == oc.selection.selected else "")
            (line,) = ax.plot(curve["q"], curve["uplift"], label=label)
            ax.fill_between(curve["q"], curve["low"], curve["high"], alpha=0.12,
                            color=line.get_color())
            random_line = curve
        if random_line is not None:
            ax.plot(random_line["q"], random_line["random"], color="black", linestyle="--",
                    label="random targeting")
        ax.set_title(f"{oc.data.name}: uplift on held-out customers (doubly robust scores)")
        ax.set_xlabel("share targeted, highest predicted CATE first")
        ax.set_ylabel("gain per customer")
        ax.legend(fontsize=8)
    return fig


#: The figure files of the CATE stage.
CATE_FIGURES = ("cate_distributions.png", "cate_uplift.png")


def cate_figures(per_outcome: Sequence[OutcomeCate]) -> dict[str, Callable[[], Figure]]:
    """Figure makers of the CATE stage (file name -> maker)."""
    return {
        "cate_distributions.png": lambda: distributions(per_outcome),
        "cate_uplift.png": lambda: uplift_curves(per_outcome),
    }
