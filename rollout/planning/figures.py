"""Figures of a design: the power curve (n per arm against the MDE) and the boundaries.

PNG files drawn with matplotlib's Agg backend (no display needed), with no timestamp or
software tag in the metadata, so the same design draws the same bytes.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from rollout.planning.design import Design
from rollout.planning.power import solve_fixed

PNG_METADATA = {"Software": None}


def _write_png(figure: plt.Figure, path: Path) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, metadata=PNG_METADATA)
    plt.close(figure)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(buffer.getvalue())
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
    with_r2 = np.array([solve_fixed(sd=sd, mde=float(m), n=None, **settings)
                        .n_control_exact for m in mdes]) * design.max_inflation
    curves = {"mde": mdes, "n_control": np.ceil(with_r2)}
    if design.r2 and sd is not None:
        curves["n_control_unadjusted"] = np.ceil(with_r2 / (1 - design.r2))
    return curves


def draw_figures(design: Design, folder: str | Path, stem: str = "design") -> list[Path]:
    """Write ``<stem>_power_curve.png`` and ``<stem>_boundaries.png`` into ``folder``."""
    folder = Path(folder)
    curves = power_curve_data(design)
    fig, ax = plt.subplots(figsize=(6, 4))
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
    fig.tight_layout()
    paths = [_write_png(fig, folder / f"{stem}_power_curve.png")]

    looks = design.looks
    t = [look["information_fraction"] for look in looks]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(t, [look["efficacy_z"] for look in looks], marker="o", label="efficacy")
    ax.plot(t, [look["harm_z"] for look in looks], marker="o", label="harm")
    futility = [look["futility_z"] for look in looks]
    if any(f is not None for f in futility):
        ax.plot(t, [np.nan if f is None else f for f in futility], marker="o",
                label="futility (non-binding)")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("information fraction")
    ax.set_ylabel("z statistic")
    ax.set_xlim(0, 1.05)
    ax.set_title(f"boundaries: {design.spending.get('efficacy')} spending")
    ax.legend()
    fig.tight_layout()
    paths.append(_write_png(fig, folder / f"{stem}_boundaries.png"))
    return paths
