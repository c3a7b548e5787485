"""The report document: self-contained, escaped, deterministic, with a Markdown twin."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from rollout.common.figures import new_figure, png_bytes
from rollout.errors import InputError
from rollout.report import Report
from rollout.report import html as report_html


def _png() -> bytes:
    fig = new_figure(2, 2)
    fig.add_subplot().plot([0, 1], [0, 1])
    return png_bytes(fig)


def _report() -> Report:
    report = Report("T <&>", provenance=[("command", "rollout analyze c.parquet -o r")])
    (report.section("Numbers")
        .text("a < b")
        .table(pd.DataFrame({"estimate": [30.4127, float("nan")], "se": [15.83, 1.0],
                             "name": ["<b>", "c"]}))
        .figure_bytes("f.png", _png(), alt="a line", caption="line"))
    report.section("Full tables", appendix=True).text("appendix")
    report.section("Later").not_run("the A/B design", "rollout design results -o design.json")
    return report


def test_report_escapes_and_embeds() -> None:
    text = _report().render()
    assert "<b>" not in text.replace("<body>", "")
    assert "&lt;b&gt;" in text and "T &lt;&amp;&gt;" in text
    assert "data:image/png;base64," in text
    assert "http://" not in text and "https://" not in text
    assert 'alt="a line"' in text


def test_report_is_byte_identical(tmp_path) -> None:
    a = _report().write(tmp_path / "a.html").read_bytes()
    b = _report().write(tmp_path / "b.html").read_bytes()
    assert a == b


def test_numbers_are_rounded_and_missing_is_a_dash() -> None:
    text = _report().render()
    assert ">30<" in text and "30.41" not in text
    visible = re.sub(r"<[^>]+>", " ", text)
    for token in ("nan", "NaN", "None", "{'"):
        assert token not in visible


def test_appendix_comes_last_and_not_run_names_the_command() -> None:
    text = _report().render()
    assert text.index("Later") < text.index("Full tables")
    assert "Not run: the A/B design" in text
    assert "<code>rollout design results -o design.json</code>" in text


def test_markdown_twin_has_the_same_numbers_and_links_its_figures() -> None:
    markdown, files = _report().markdown("report_files")
    assert "| 30 | 16 |" in markdown
    (name,) = files
    assert f"](report_files/{name})" in markdown
    assert files[name][:8] == b"\x89PNG\r\n\x1a\n"
    assert "`rollout design results -o design.json`" in markdown
    assert markdown.index("## Later") < markdown.index("## Full tables")


def test_a_page_over_the_cap_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(report_html, "SIZE_CAP_BYTES", 1000)
    with pytest.raises(InputError, match="over the"):
        _report().write(tmp_path / "big.html")
    assert not (tmp_path / "big.html").exists()


def test_wide_tables_sit_in_a_scroll_box() -> None:
    frame = pd.DataFrame(np.ones((2, 30)), columns=[f"column_{i}" for i in range(30)])
    report = Report("wide")
    report.section("Wide").table(frame)
    assert '<div class="table-wrap"><table>' in report.render()


def test_a_large_table_does_not_grow_the_page() -> None:
    big = pd.DataFrame({"customer_id": np.arange(200_000), "estimate": np.zeros(200_000),
                        "se": np.ones(200_000)})
    small = Report("size")
    small.section("t").table(big.head(60))
    large = Report("size")
    large.section("t").table(big)
    size_small, size_large = len(small.render()), len(large.render())
    assert size_large - size_small < 200  # only the "more rows are in the file" line
    assert size_large < report_html.SIZE_CAP_BYTES


def _evaluation(test: str, low: float, high: float):
    from pathlib import Path

    from rollout.evaluation.evaluate import EvaluationFolder

    effect = {"method": "adjusted", "estimate": 20.0, "se": 10.0, "ci_low": 0.4, "ci_high": 39.6}
    estimand = {"test": test, "estimand": "the test's estimand", "estimate": (low + high) / 2,
                "se": (high - low) / 3.92, "ci_low": low, "ci_high": high,
                "significant": low > 0, "inference": "stage-wise"}
    return EvaluationFolder(path=Path("ev"), document={"effect": [effect], "srm": {},
                                                       "reestimation": {},
                                                       "estimand": estimand}, figures=())


@pytest.mark.parametrize(("test", "low", "high", "words"), [
    ("heterogeneity", -53.0, 97.0, "does not confirm the targeting"),
    ("heterogeneity", 5.0, 40.0, "confirms the targeting"),
    ("policy", -1.0, 2.0, "does not confirm the targeting"),
    ("ate", 1.0, 44.0, "confirms a positive effect"),
    ("ate", -2.0, 42.0, "does not confirm an effect"),
])
def test_the_recommendation_rests_on_the_tests_own_estimand(test, low, high, words) -> None:
    from rollout.report.build import Inputs, key_numbers, recommendation

    inputs = Inputs(evaluation=_evaluation(test, low, high))
    text, reasons = recommendation(inputs)
    assert words in text and f"the {test} test's 95% interval" in reasons[0]
    names = [row[0] for row in key_numbers(inputs)]
    assert "Tested effect" in names and f"Tested {test} estimand" in names
    shown = {row[0]: row[1] for row in key_numbers(inputs)}
    assert f"{high:.0f}" in shown[f"Tested {test} estimand"].replace(",", "")
