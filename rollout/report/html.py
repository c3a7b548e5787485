"""A report as a document: sections of typed blocks, rendered to one HTML page and a Markdown twin.

The page opens in any browser without a server or network: tables are plain HTML that scroll
inside their own box when wide, figures are PNG bytes embedded as data URIs with alt text, and a
print stylesheet keeps figures and tables whole on paper. The Markdown twin carries the same
numbers for a wiki, with the figures as files beside it. The same inputs give the same bytes (no
timestamps), so a report can be diffed between runs.

Blocks are data (:class:`Paragraph`, :class:`Callout`, :class:`Table`, :class:`Figure`,
:class:`KeyNumbers`, :class:`NotRun`); the two renderers are the only places that know HTML or
Markdown. A part of the loop that was not run is a :class:`NotRun` block with the command that
would produce it, never a silently missing section.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from rollout import __version__
from rollout.errors import InputError
from rollout.io import write_text
from rollout.report.format import label, readable

#: Largest page the report writes; a cohort of millions must not make a page of hundreds of MB.
SIZE_CAP_BYTES = 8 * 1024 * 1024

_STYLE = """
:root { --ink: #1f2328; --muted: #57606a; --line: #d0d7de; --soft: #f6f8fa;
        --treat: #0969da; --control: #8c959f; --good: #1a7f37; --bad: #cf222e; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto;
       max-width: 1040px; color: var(--ink); line-height: 1.5; padding: 1.2rem 1rem 3rem; }
h1 { font-size: 1.7rem; border-bottom: 2px solid var(--line); padding-bottom: .3rem;
     overflow-wrap: anywhere; }
h2 { font-size: 1.3rem; margin-top: 2.2rem; border-bottom: 1px solid var(--line);
     padding-bottom: .2rem; overflow-wrap: anywhere; }
p, li { overflow-wrap: anywhere; }
.table-wrap { max-width: 100%; overflow-x: auto; margin: .8rem 0; }
table { border-collapse: collapse; font-size: .9rem; }
th, td { border: 1px solid var(--line); padding: .25rem .55rem; vertical-align: top; }
th { background: var(--soft); text-align: left; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.key td:first-child { font-weight: 600; }
table.key td.num { white-space: normal; text-align: left; }
.caption { color: var(--muted); font-size: .85rem; margin: .2rem 0 1rem; }
.callout { padding: .55rem .85rem; margin: .8rem 0; border-left: 4px solid; }
.verdict { background: #ddf4ff; border-color: var(--treat); }
.warning { background: #fff8c5; border-color: #d4a72c; }
.caveat { background: var(--soft); border-color: var(--control); font-size: .92rem; }
.not-run { background: var(--soft); border-color: var(--control); color: var(--muted); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85em;
       background: var(--soft); padding: 0 .25rem; overflow-wrap: anywhere; }
figure { margin: 1rem 0; }
img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: .85rem; margin-top: .3rem; }
nav ul { columns: 2; padding-left: 1.2rem; }
@media (max-width: 600px) { nav ul { columns: 1; } body { padding: .8rem .6rem 2rem; }
  h1 { font-size: 1.35rem; } table { font-size: .8rem; } }
footer { color: var(--muted); font-size: .8rem; margin-top: 3rem; border-top: 1px solid var(--line);
         padding-top: .6rem; }
@media print { nav { display: none; } body { max-width: none; padding: 0; }
  figure, table, .callout { break-inside: avoid; } h2 { break-after: avoid; }
  .table-wrap { overflow: visible; } }
"""


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Callout:
    """A boxed sentence: ``verdict`` (the recommendation), ``warning`` or ``caveat``."""

    kind: str
    text: str


@dataclass(frozen=True)
class Table:
    """A table shown to people (:func:`rollout.report.format.readable`) with a caption."""

    frame: pd.DataFrame
    caption: str | None = None
    max_rows: int = 60
    labels: Mapping[str, str] | None = None
    raw: bool = False

    def shown(self) -> pd.DataFrame:
        head = self.frame.head(self.max_rows)
        if self.raw:
            return head.rename(columns=lambda c: label(str(c), self.labels))
        return readable(head, labels=self.labels)


@dataclass(frozen=True)
class Figure:
    """A PNG figure with the alt text a screen reader says and a caption."""

    name: str
    png: bytes
    alt: str
    caption: str | None = None


@dataclass(frozen=True)
class KeyNumbers:
    """The numbers a manager reads first: (what, value as shown, what it means)."""

    rows: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class NotRun:
    """A part of the loop that is not in the inputs, and the command that would produce it."""

    what: str
    command: str


Block = Paragraph | Callout | Table | Figure | KeyNumbers | NotRun


@dataclass
class Section:
    """One titled part of the report: its blocks, in order; ``appendix`` sections come last."""

    title: str
    blocks: list[Block] = field(default_factory=list)
    appendix: bool = False

    def text(self, paragraph: str) -> Section:
        self.blocks.append(Paragraph(paragraph))
        return self

    def warning(self, message: str) -> Section:
        self.blocks.append(Callout("warning", message))
        return self

    def verdict(self, message: str) -> Section:
        self.blocks.append(Callout("verdict", message))
        return self

    def caveat(self, message: str) -> Section:
        self.blocks.append(Callout("caveat", message))
        return self

    def table(self, frame: pd.DataFrame, caption: str | None = None, max_rows: int = 60,
              labels: Mapping[str, str] | None = None, raw: bool = False) -> Section:
        self.blocks.append(Table(frame, caption, max_rows, labels, raw))
        return self

    def figure(self, png: str | Path, caption: str | None = None,
               alt: str | None = None) -> Section:
        path = Path(png)
        return self.figure_bytes(path.name, path.read_bytes(), alt=alt or caption or path.stem,
                                 caption=caption)

    def figure_bytes(self, name: str, png: bytes, alt: str,
                     caption: str | None = None) -> Section:
        self.blocks.append(Figure(name, png, alt, caption))
        return self

    def key_numbers(self, rows: Sequence[tuple[str, str, str]]) -> Section:
        self.blocks.append(KeyNumbers(tuple(tuple(r) for r in rows)))  # type: ignore[misc]
        return self

    def not_run(self, what: str, command: str) -> Section:
        self.blocks.append(NotRun(what, command))
        return self


@dataclass
class Report:
    """An ordered list of sections rendered to one self-contained HTML page (and Markdown).

    ``provenance`` records how the report was made (commands, seeds, input checksums); it is
    printed in the footer, after the package version.

    Examples
    --------
    >>> import pandas as pd
    >>> report = Report("Demo")
    >>> _ = report.section("Effect").text("The campaign's effect.").table(pd.DataFrame({"n": [3]}))
    >>> "<h2 id=\\"s1\\">Effect</h2>" in report.render()
    True
    >>> "| Customers |" in report.markdown()[0]
    True
    """

    title: str
    subtitle: str | None = None
    sections: list[Section] = field(default_factory=list)
    provenance: list[tuple[str, str]] = field(default_factory=list)

    def section(self, title: str, appendix: bool = False) -> Section:
        new = Section(title, appendix=appendix)
        self.sections.append(new)
        return new

    def ordered(self) -> list[Section]:
        return [s for s in self.sections if not s.appendix] + \
            [s for s in self.sections if s.appendix]

    def render(self) -> str:
        """The page as one HTML string."""
        return render_html(self)

    def markdown(self, figure_folder: str = "report_files") -> tuple[str, dict[str, bytes]]:
        """The Markdown twin and its figure files (relative names under ``figure_folder``)."""
        return render_markdown(self, figure_folder)

    def write(self, path: str | Path) -> Path:
        """Write the HTML page atomically (refusing a page over :data:`SIZE_CAP_BYTES`)."""
        text = self.render()
        size = len(text.encode("utf-8"))
        if size > SIZE_CAP_BYTES:
            raise InputError(f"the report would be {size / 1e6:.1f} MB, over the "
                             f"{SIZE_CAP_BYTES / 1e6:.0f} MB cap; give it fewer inputs",
                             file=path)
        return write_text(path, text)


def _html_table(table: Table) -> str:
    shown = table.shown()
    numeric = [not pd.api.types.is_string_dtype(table.frame[c]) and
               not pd.api.types.is_object_dtype(table.frame[c]) for c in table.frame.columns]
    if not table.raw:
        numeric = [n and c not in ("outcome", "method") for n, c in
                   zip(numeric, table.frame.columns, strict=True)]
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = []
    for record in shown.itertuples(index=False):
        cells = [f'<td class="num">{html.escape(str(v))}</td>' if num else
                 f"<td>{html.escape(str(v))}</td>" for v, num in zip(record, numeric, strict=True)]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(table.frame) > table.max_rows:
        more = (f'<p class="caption">{len(table.frame) - table.max_rows:,} more rows are in '
                "the table's file.</p>")
    cap = f'<p class="caption">{html.escape(table.caption)}</p>' if table.caption else ""
    return (f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>'
            f"{''.join(rows)}</tbody></table></div>{cap}{more}")


def _html_block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return f"<p>{html.escape(block.text)}</p>"
    if isinstance(block, Callout):
        return f'<p class="callout {block.kind}">{html.escape(block.text)}</p>'
    if isinstance(block, Table):
        return _html_table(block)
    if isinstance(block, Figure):
        data = base64.b64encode(block.png).decode("ascii")
        cap = f"<figcaption>{html.escape(block.caption)}</figcaption>" if block.caption else ""
        return (f'<figure><img alt="{html.escape(block.alt, quote=True)}" '
                f'src="data:image/png;base64,{data}">{cap}</figure>')
    if isinstance(block, KeyNumbers):
        rows = "".join(f'<tr><td>{html.escape(a)}</td><td class="num">{html.escape(b)}</td>'
                       f"<td>{html.escape(c)}</td></tr>" for a, b, c in block.rows)
        return ('<div class="table-wrap"><table class="key"><thead><tr><th>Key number</th>'
                f"<th>Value</th><th>What it means</th></tr></thead><tbody>{rows}</tbody>"
                "</table></div>")
    return (f'<p class="callout not-run">Not run: {html.escape(block.what)}. To produce it: '
            f"<code>{html.escape(block.command)}</code></p>")


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page."""
    sections = report.ordered()
    nav = "".join(f'<li><a href="#s{i}">{html.escape(s.title)}</a></li>'
                  for i, s in enumerate(sections, start=1))
    body = "".join(
        f'<section><h2 id="s{i}">{html.escape(s.title)}</h2>'
        + "".join(_html_block(b) for b in s.blocks) + "</section>"
        for i, s in enumerate(sections, start=1)
    )
    sub = f"<p>{html.escape(report.subtitle)}</p>" if report.subtitle else ""
    made = "".join(f"<li>{html.escape(k)}: <code>{html.escape(v)}</code></li>"
                   for k, v in report.provenance)
    made = f"<ul>{made}</ul>" if made else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(report.title)}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>{html.escape(report.title)}</h1>{sub}</header>"
        f"<nav><ul>{nav}</ul></nav><main>{body}</main>"
        f"<footer>Generated by rollout {html.escape(__version__)}.{made}</footer>"
        "</body></html>\n"
    )


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(_md_escape(c) for c in frame.columns) + " |"
    rule = "|" + "|".join(" --- " for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(_md_escape(v) for v in r) + " |"
            for r in frame.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def _md_block(block: Block, folder: str, files: dict[str, bytes]) -> str:
    if isinstance(block, Paragraph):
        return block.text
    if isinstance(block, Callout):
        return f"> **{block.kind.capitalize()}:** {block.text}"
    if isinstance(block, Table):
        text = _md_table(block.shown())
        if block.caption:
            text += f"\n\n*{block.caption}*"
        return text
    if isinstance(block, Figure):
        digest = hashlib.sha256(block.png).hexdigest()[:8]
        name = f"{Path(block.name).stem}-{digest}.png"
        files[name] = block.png
        cap = f"\n\n*{block.caption}*" if block.caption else ""
        return f"![{_md_escape(block.alt)}]({folder}/{name}){cap}"
    if isinstance(block, KeyNumbers):
        return _md_table(pd.DataFrame(list(block.rows),
                                      columns=["Key number", "Value", "What it means"]))
    return f"> **Not run:** {block.what}. To produce it: `{block.command}`"


def render_markdown(report: Report, folder: str = "report_files") -> tuple[str, dict[str, bytes]]:
    """The report as Markdown, and the figure files it links to (``folder/<name>.png``)."""
    files: dict[str, bytes] = {}
    parts = [f"# {report.title}"]
    if report.subtitle:
        parts.append(report.subtitle)
    for section in report.ordered():
        parts.append(f"## {section.title}")
        parts.extend(_md_block(b, folder, files) for b in section.blocks)
    made = [f"Generated by rollout {__version__}."]
    made += [f"- {k}: `{v}`" for k, v in report.provenance]
    parts.append("\n".join(made))
    return "\n\n".join(parts) + "\n", files


def sections_from_tables(tables: Sequence[tuple[str, pd.DataFrame]]) -> list[Section]:
    """Convenience: one section per (title, table) pair."""
    return [Section(title).table(frame) for title, frame in tables]
