"""The one way figures are drawn and saved: a ``Figure`` on the Agg canvas, reproducible PNG bytes.

No module switches matplotlib's global backend or uses pyplot's global state: a figure is made
with :func:`new_figure` and written with :func:`save_png` (or :func:`png_bytes`), which leave the
software version out of the PNG metadata so that the same result gives the same bytes.
"""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: PNG metadata without the matplotlib version, so the bytes do not change with the library.
PNG_METADATA = {"Software": None}


def new_figure(width: float, height: float, dpi: int = 100) -> Figure:
    """A figure of ``width`` x ``height`` inches on its own Agg canvas, constrained layout.

    >>> fig = new_figure(4, 3)
    >>> fig.get_size_inches().tolist()
    [4.0, 3.0]
    """
    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(figure: Figure, dpi: int | None = None) -> bytes:
    """The figure as PNG bytes (no version metadata).

    >>> png_bytes(new_figure(1, 1))[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi if dpi is not None else figure.dpi,
                   metadata=PNG_METADATA)
    return buffer.getvalue()


def save_png(figure: Figure, path: str | Path, dpi: int | None = None) -> None:
    """Write the figure as a PNG file at ``path`` (no version metadata)."""
    figure.savefig(Path(path), format="png", dpi=dpi if dpi is not None else figure.dpi,
                   metadata=PNG_METADATA)


def text_outside(figure: Figure, tolerance: float = 1.0) -> list[str]:
    """The visible texts of ``figure`` (titles, labels, ticks, legends) that do not fit inside it.

    A clipped title ("effect by method, 95% interv") is a text whose drawn box runs past the
    figure's edge; this finds them, so a test can assert that every figure's words are whole.

    >>> fig = new_figure(2, 1)
    >>> ax = fig.add_subplot()
    >>> _ = ax.set_title("a title far too long to fit in a figure two inches wide, surely")
    >>> text_outside(fig)[:1]
    ['a title far too long to fit in a figure two inches wide, surely']
    """
    from matplotlib.text import Text

    canvas = figure.canvas
    canvas.draw()
    renderer = canvas.get_renderer()
    box = figure.bbox
    undrawn = _undrawn_tick_labels(figure)
    outside = []
    for text in figure.findobj(Text):
        if not text.get_visible() or not text.get_text().strip() or id(text) in undrawn:
            continue
        extent = text.get_window_extent(renderer)
        if (extent.x0 < box.x0 - tolerance or extent.y0 < box.y0 - tolerance
                or extent.x1 > box.x1 + tolerance or extent.y1 > box.y1 + tolerance):
            outside.append(text.get_text())
    return outside


def _undrawn_tick_labels(figure: Figure) -> set[int]:
    """Tick labels matplotlib keeps but does not draw (their ticks lie outside the view)."""
    undrawn: set[int] = set()
    for ax in figure.axes:
        for axis in ax._axis_map.values():
            drawn = {id(label) for tick in axis._update_ticks()
                     for label in (tick.label1, tick.label2)}
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                for label in (tick.label1, tick.label2):
                    if id(label) not in drawn:
                        undrawn.add(id(label))
    return undrawn
