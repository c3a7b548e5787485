"""The HTML report is self-contained, escaped and deterministic."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from rollout.report import Report


def _report(tmp_path) -> Report:
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    png = tmp_path / "f.png"
    fig.savefig(png, metadata={"Software": None})
    plt.close(fig)
    report = Report("T <&>")
    (report.section("Numbers")
        .text("a < b")
        .table(pd.DataFrame({"x": [1.5, float("nan")], "name": ["<b>", "c"]}))
        .figure(png, caption="line"))
    return report


def test_report_escapes_and_embeds(tmp_path) -> None:
    text = _report(tmp_path).render()
    assert "<b>" not in text.replace("<body>", "")
    assert "&lt;b&gt;" in text and "T &lt;&amp;&gt;" in text
    assert "data:image/png;base64," in text
    assert "http://" not in text and "https://" not in text


def test_report_is_byte_identical(tmp_path) -> None:
    a = _report(tmp_path).write(tmp_path / "a.html").read_bytes()
    b = _report(tmp_path).write(tmp_path / "b.html").read_bytes()
    assert a == b
