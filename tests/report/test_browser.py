"""The report in a real browser: no sideways scrolling at desktop and phone widths, images load.

Runs headless Chromium (Debian's ``chromium``); skipped only where it is not installed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rollout.common.figures import new_figure, png_bytes
from rollout.report import Report

from .browser import CHROMIUM, probe

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")


def _page(tmp_path):
    fig = new_figure(9, 4)
    fig.add_subplot().plot(np.arange(10), np.arange(10) ** 2)
    report = Report("A report title long enough to wrap on a narrow phone screen, surely")
    section = report.section("Key numbers and a wide table")
    section.key_numbers([("Average effect", "30 [-1, 61]", "dollars per customer")])
    section.table(pd.DataFrame(np.random.default_rng(0).normal(size=(5, 24)),
                               columns=[f"a_rather_long_column_name_{i}" for i in range(24)]))
    section.text("averyveryverylongwordwithoutanyspacesthatmustwrapratherthanpushthepage" * 2)
    section.figure_bytes("wide.png", png_bytes(fig), alt="a wide figure")
    section.not_run("the evaluation", "rollout evaluate design.json returns.parquet -o ev")
    return report.write(tmp_path / "report.html")


@pytest.mark.parametrize("width", [1280, 390])
def test_no_sideways_scroll_and_every_image_loads(tmp_path, width) -> None:
    facts = probe(_page(tmp_path), width)
    assert facts["inner_width"] == width
    assert facts["scroll_width"] <= facts["inner_width"], facts
    assert facts["images"] == 1 and facts["broken"] == 0
    assert facts["wide"] == []


def test_the_probe_sees_a_page_that_does_scroll(tmp_path) -> None:
    page = tmp_path / "bad.html"
    page.write_text("<html><body><div style='width:3000px'>x</div>"
                    "<img src='missing.png'></body></html>", encoding="utf-8")
    facts = probe(page, 1280)
    assert facts["scroll_width"] > facts["inner_width"]
    assert facts["broken"] == 1
