"""A self-contained, deterministic HTML report.

The demo and the analysis write one ``report.html`` that opens in any browser without a server or
network: tables are plain HTML, figures are PNG files embedded as data URIs. The same inputs give
the same bytes (no timestamps), so a report can be diffed between runs.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rollout import __version__
from rollout.io import write_text

_STYLE = """
body { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; margin: 2rem auto;
       max-width: 1100px; color: #1f2328; line-height: 1.45; padding: 0 1rem; }
h1 { border-bottom: 2px solid #d0d7de; padding-bottom: .3rem; }
h2 { margin-top: 2.2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .9rem; }
th, td { border: 1px solid #d0d7de; padding: .25rem .55rem; }
th { background: #f6f8fa; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.caption { color: #57606a; font-size: .85rem; margin-top: -.4rem; }
.warning { background: #fff8c5; border-left: 4px solid #d4a72c; padding: .5rem .8rem; }
.verdict { background: #ddf4ff; border-left: 4px solid #0969da; padding: .5rem .8rem; }
img { max-width: 100%; border: 1px solid #d0d7de; margin: .5rem 0; }
nav ul { columns: 2; }
footer { color: #57606a; font-size: .8rem; margin-top: 3rem; }
"""


def _cell(value: Any) -> tuple[str, bool]:
    if isinstance(value, bool):
        return ("yes" if value else "no"), False
    if isinstance(value, int):
        return f"{value:,}", True
    if isinstance(value, float):
        if value != value:
            return "—", True
        if abs(value) >= 1000:
            return f"{value:,.0f}", True
        return f"{value:.4g}", True
    if value is None:
        return "—", False
    return html.escape(str(value)), False


def table_html(frame: pd.DataFrame, caption: str | None = None, max_rows: int = 60) -> str:
    """Render a frame as an HTML table (numbers right-aligned, at most ``max_rows`` rows)."""
    shown = frame.head(max_rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = []
    for record in shown.itertuples(index=False):
        cells = []
        for value in record:
            text, numeric = _cell(value.item() if hasattr(value, "item") else value)
            cells.append(f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(frame) > max_rows:
        more = f'<p class="caption">… {len(frame) - max_rows:,} more rows in the parquet file.</p>'
    cap = f'<p class="caption">{html.escape(caption)}</p>' if caption else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{cap}{more}"


@dataclass
class Section:
    """One titled part of the report: paragraphs, tables, figures and callouts, in order."""

    title: str
    blocks: list[str] = field(default_factory=list)

    def text(self, paragraph: str) -> Section:
        self.blocks.append(f"<p>{html.escape(paragraph)}</p>")
        return self

    def warning(self, message: str) -> Section:
        self.blocks.append(f'<p class="warning">{html.escape(message)}</p>')
        return self

    def verdict(self, message: str) -> Section:
        self.blocks.append(f'<p class="verdict">{html.escape(message)}</p>')
        return self

    def table(self, frame: pd.DataFrame, caption: str | None = None,
              max_rows: int = 60) -> Section:
        self.blocks.append(table_html(frame, caption=caption, max_rows=max_rows))
        return self

    def figure(self, png: str | Path, caption: str | None = None) -> Section:
        data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
        alt = html.escape(caption or Path(png).stem)
        self.blocks.append(f'<img alt="{alt}" src="data:image/png;base64,{data}">')
        if caption:
            self.blocks.append(f'<p class="caption">{html.escape(caption)}</p>')
        return self


@dataclass
class Report:
    """An ordered list of sections rendered to one self-contained HTML page.

    Examples
    --------
    >>> import pandas as pd
    >>> report = Report("Demo")
    >>> _ = report.section("Effect").text("The campaign's effect.").table(pd.DataFrame({"n": [3]}))
    >>> "<h2 id=\\"s1\\">Effect</h2>" in report.render()
    True
    """

    title: str
    subtitle: str | None = None
    sections: list[Section] = field(default_factory=list)

    def section(self, title: str) -> Section:
        new = Section(title)
        self.sections.append(new)
        return new

    def render(self) -> str:
        nav = "".join(
            f'<li><a href="#s{i}">{html.escape(s.title)}</a></li>'
            for i, s in enumerate(self.sections, start=1)
        )
        body = "".join(
            f'<h2 id="s{i}">{html.escape(s.title)}</h2>' + "".join(s.blocks)
            for i, s in enumerate(self.sections, start=1)
        )
        sub = f"<p>{html.escape(self.subtitle)}</p>" if self.subtitle else ""
        return (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1>{sub}<nav><ul>{nav}</ul></nav>{body}"
            f"<footer>Generated by rollout {html.escape(__version__)}.</footer>"
            "</body></html>\n"
        )

    def write(self, path: str | Path) -> Path:
        """Write the report atomically."""
        return write_text(path, self.render())


def sections_from_tables(tables: Sequence[tuple[str, pd.DataFrame]]) -> list[Section]:
    """Convenience: one section per (title, table) pair."""
    return [Section(title).table(frame) for title, frame in tables]
