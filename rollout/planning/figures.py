"""Figures of a design: the power curve (n per arm against the MDE) and the boundaries.

Drawn the package's one way (:mod:`rollout.common.figures`: a ``Figure`` on the Agg canvas, no
timestamp or software tag in the PNG), so the same design draws the same bytes.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from rollout.common.figures import new_figure, png_bytes
from rollout.planning.design import Design
from rollout.planning.power import solve_fixed

DPI = 110


def _write_png(figure: Figure, path: Path) -> Path:
    """Write the figure atomically (a temporary sibling renamed into place)."""
    data = png_bytes(figure, dpi=DPI)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def power_curve_data(design: Design, points: int = 40) -> dict[str, np.ndarray]:
    """n per arm (control arm, maximum over looks) needed at MDEs around the design's MDE."""
    d = design.details
    outcome_type = d.get("outcome_type", "continuous")
    low, high = 0.5 * design.mde, 2.0 * design.mde
    if outcome_type == "binary":
        baseline = d["baseline"]
        high = min(high, 0.999 * (1 - baseline))
    mdes = np.linspace(low, high, points)
    settings = dict(power=design.power, alpha=design.alpha, sided=design.sided,
                    allocation=design.allocation, n_treatment_arms=len(design.arms) - 1,
                    multiplicity=d.get("multiplicity") or "dunnett",
                    outcome_type=outcome_type, distribution=d.get("distribution", "z"),
                    baseline=d.get("baseline"))
    sd = d.get("sd_effective")
    if sd is None and outcome_type != "binary" and design.sd is not None:
        # a design written without its details: the effective SD from the outcome SD and R^2
        sd = design.sd * float(np.sqrt(1 - (design.r2 or 0.0)))
    with_r2 = np.array([solve_fixed(sd=sd, mde=float(m), n=None, **settings)
                        .n_control_exact for m in mdes]) * design.max_inflation
    curves = {"mde": mdes, "n_control": np.ceil(with_r2)}
    if design.r2 and sd is not None:
        curves["n_control_unadjusted"] = np.ceil(with_r2 / (1 - design.r2))
    return curves


def power_curve_figure(design: Design) -> Figure:
    """Customers per arm against the minimum detectable effect, the design's MDE marked."""
    curves = power_curve_data(design)
    fig = new_figure(6, 4)
    ax = fig.subplots()
    ax.plot(curves["mde"], curves["n_control"], label="with variance reduction"
            if "n_control_unadjusted" in curves else "n per arm (control)")
    if "n_control_unadjusted" in curves:
        ax.plot(curves["mde"], curves["n_control_unadjusted"], linestyle="--",
                label="without variance reduction")
    ax.axvline(design.mde, color="grey", linewidth=0.8)
    ax.set_xlabel("minimum detectable effect")
    ax.set_ylabel("customers per arm (control)")
    ax.set_yscale("log")
    ax.set_title(f"{design.test}: power {design.power:.2f}, alpha {design.alpha:g}, "
                 f"{design.sided}-sided")
    ax.legend()
    return fig


def boundaries_figure(design: Design) -> Figure:
    """The efficacy, harm and futility boundaries (z) at each look's information fraction."""
    looks = design.looks
    t = [look.information_fraction for look in looks]
    fig = new_figure(6, 4)
    ax = fig.subplots()
    ax.plot(t, [look.efficacy_z for look in looks], marker="o", label="efficacy")
    ax.plot(t, [look.harm_z for look in looks], marker="o", label="harm")
    futility = [look.futility_z for look in looks]
    if any(f is not None for f in futility):
        ax.plot(t, [np.nan if f is None else f for f in futility], marker="o",
                label="futility (non-binding)")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("information fraction")
    ax.set_ylabel("z statistic")
    ax.set_xlim(0, 1.05)
    ax.set_title(f"boundaries: {design.spending.efficacy} spending")
    ax.legend()
    return fig


def draw_figures(design: Design, folder: str | Path, stem: str = "design") -> list[Path]:
    """Write ``<stem>_power_curve.png`` and ``<stem>_boundaries.png`` into ``folder``."""
    folder = Path(folder)
    return [_write_png(power_curve_figure(design), folder / f"{stem}_power_curve.png"),
            _write_png(boundaries_figure(design), folder / f"{stem}_boundaries.png")]
