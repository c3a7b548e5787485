"""The loop's report: every stage present or "not run", numbers equal to the folders' after the
stated rounding, valid images, a Markdown twin with the same numbers, figures whose words fit,
and a page that lays out in a browser at desktop and phone widths."""

from __future__ import annotations

import base64
import html
import io
import itertools
import math
import re
from pathlib import Path

import matplotlib.image
import pytest
from click.testing import CliRunner

from rollout.cli import cli
from rollout.common.figures import text_outside
from rollout.estimation.results_folder import ResultsFolder
from rollout.evaluation.evaluate import read_evaluation
from rollout.planning.design import load_design
from rollout.report.build import Inputs, build_report, write_report
from rollout.report.inputs import load_inputs

from .browser import CHROMIUM, probe

STAGES = {
    "results": ("Positivity: could the campaign have gone either way?",
                "The observational analysis"),
    "design": ("The A/B design", None),
    "evaluation": ("The evaluated test", None),
}


def _visible(page: str) -> str:
    body = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    body = re.sub(r'src="data:[^"]*"', " ", body)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def _sections(page: str) -> dict[str, str]:
    parts = re.split(r'<h2 id="s\d+">', page)[1:]
    return {html.unescape(p.split("</h2>", 1)[0]): p.split("</h2>", 1)[1] for p in parts}


def _key_numbers(page: str) -> dict[str, str]:
    table = page.split('<table class="key">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>(.*?)</td><td[^>]*>(.*?)</td>", table)
    return {html.unescape(a): html.unescape(b) for a, b in rows}


def _inputs(loop: Path, kinds: tuple[str, ...]) -> Inputs:
    paths = {"results": loop / "results", "design": loop / "design.json",
             "evaluation": loop / "evaluation"}
    return load_inputs([paths[k] for k in kinds])


COMBINATIONS = [c for r in range(1, 4) for c in itertools.combinations(STAGES, r)]


@pytest.mark.parametrize("kinds", COMBINATIONS, ids=["+".join(c) for c in COMBINATIONS])
def test_every_stage_is_shown_or_marked_not_run(loop, kinds) -> None:
    page = build_report(_inputs(loop, kinds)).render()
    sections = _sections(page)
    for stage, (title, absent_title) in STAGES.items():
        if stage in kinds:
            assert title in sections and "Not run" not in sections[title].split("<p")[1]
        else:
            body = sections[absent_title or title]
            assert "Not run:" in body and "<code>rollout " in body, (stage, body[:300])
    visible = _visible(page)
    for token in ("{'", "nan", "NaN", "None", "inf"):
        assert not re.search(rf"(?<![A-Za-z]){re.escape(token)}(?![A-Za-z])", visible), token


def test_images_are_valid_pngs_with_alt_text(loop) -> None:
    page = build_report(_inputs(loop, tuple(STAGES))).render()
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([^"]+)">', page)
    assert len(images) >= 8
    for alt, data in images:
        pixels = matplotlib.image.imread(io.BytesIO(base64.b64decode(data)), format="png")
        assert pixels.shape[0] > 50 and pixels.shape[1] > 50 and alt.strip()


def _decimals(se: float) -> int:
    """Two significant digits of the SE, computed here independently of the report's code."""
    return max(0, 1 - math.floor(math.log10(se)))


def test_key_numbers_equal_the_folders_after_rounding(loop) -> None:
    inputs = _inputs(loop, tuple(STAGES))
    page = build_report(inputs).render()
    shown = _key_numbers(page)
    results = ResultsFolder.open(loop / "results")
    auc = results.section("positivity")["ps_auc"]
    assert float(shown["Propensity AUC"]) == pytest.approx(auc, abs=5e-4)
    overlap = results.section("positivity")["overlap_share"]["0.1-0.9"]
    assert float(shown["Customers in overlap"].rstrip("%")) == pytest.approx(100 * overlap,
                                                                           abs=0.05)
    outcome = results.outcomes[0]
    rec = results.recommended(outcome)
    numbers = [float(v) for v in re.findall(r"-?[\d,]*\.?\d+", shown[f"Effect on {outcome}"]
                                            .replace(",", ""))]
    step = 10 ** -_decimals(rec["se"])
    for got, want in zip(numbers, (rec["estimate"], rec["ci_low"], rec["ci_high"]), strict=True):
        assert abs(got - want) <= step / 2 + 1e-9
    design = load_design(loop / "design.json")
    for arm, n in design.n_per_arm.items():
        assert f"{n:,} {arm}" in shown["Test size"]
    evaluation = read_evaluation(loop / "evaluation")
    effect = evaluation.effect("adjusted")
    tested = [float(v) for v in re.findall(r"-?\d+\.?\d*", shown["Tested effect"].replace(",", ""))]
    step = 10 ** -_decimals(effect["se"])
    for got, want in zip(tested, (effect["estimate"], effect["ci_low"], effect["ci_high"]),
                         strict=True):
        assert abs(got - want) <= step / 2 + 1e-9


def test_markdown_twin_has_the_same_key_numbers(loop, tmp_path) -> None:
    report = build_report(_inputs(loop, tuple(STAGES)))
    page = write_report(report, tmp_path / "r.html")
    markdown = (tmp_path / "r.md").read_text(encoding="utf-8")
    for name, value in _key_numbers(page.read_text(encoding="utf-8")).items():
        assert f"| {name} | {value} |" in markdown
    for link in re.findall(r"\]\((r_files/[^)]+)\)", markdown):
        assert (tmp_path / link).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_inputs_same_bytes(loop, tmp_path) -> None:
    a = write_report(build_report(_inputs(loop, tuple(STAGES))), tmp_path / "a.html")
    b = write_report(build_report(_inputs(loop, tuple(STAGES))), tmp_path / "b.html")
    assert a.read_bytes() == b.read_bytes()


def test_record_of_making_names_version_seeds_and_checksums(loop) -> None:
    page = build_report(_inputs(loop, tuple(STAGES))).render()
    footer = page.split("<footer>", 1)[1]
    assert "Generated by rollout" in footer and "analysis seed" in footer
    assert len(re.findall(r"sha256 of [^:]+: <code>[0-9a-f]{64}</code>", footer)) == 3


def test_commands_write_their_report_by_default(loop) -> None:
    for page in (loop / "results" / "report.html", loop / "design.report.html",
                 loop / "evaluation" / "report.html"):
        assert page.is_file() and page.with_suffix(".md").is_file()
    assert "The evaluated test" in _sections((loop / "evaluation" / "report.html").read_text())


def test_no_report_writes_none(loop, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(cli, ["design", "--sd", "100", "--mde", "10", "-o", "d.json",
                                    "--no-report"])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "d.json").is_file()
    assert [p.name for p in tmp_path.iterdir() if "report" in p.name] == []
    done = CliRunner().invoke(cli, ["design", "--sd", "100", "--mde", "10", "-o", "e.json"])
    assert (tmp_path / "e.report.html").is_file() and (tmp_path / "e.report.md").is_file()


def test_report_command_on_a_plain_user_table(plain_results, tmp_path) -> None:
    out = tmp_path / "plain.html"
    done = CliRunner().invoke(cli, ["report", str(plain_results), "-o", str(out)])
    assert done.exit_code == 0, done.output
    sections = _sections(out.read_text(encoding="utf-8"))
    policies = sections["Whom to target: predicted beside honest profit"]
    assert "Not run:" in policies and "--cost" in policies
    for title in ("The A/B design", "The evaluated test"):
        assert "Not run:" in sections[title] and "<code>rollout " in sections[title]
    assert "Not run:" not in sections["The average effect (observational)"]


def test_report_refuses_what_it_cannot_read(tmp_path) -> None:
    (tmp_path / "stray").mkdir()
    done = CliRunner().invoke(cli, ["report", str(tmp_path / "stray"), "-o",
                                    str(tmp_path / "r.html")])
    assert done.exit_code == 2 and "stray" in done.output and "Traceback" not in done.output
    assert not (tmp_path / "r.html").exists()


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
@pytest.mark.parametrize("width", [1280, 390])
def test_the_loop_report_fits_the_screen(loop, tmp_path, width) -> None:
    page = write_report(build_report(_inputs(loop, tuple(STAGES))), tmp_path / "r.html")
    facts = probe(page, width)
    assert facts["scroll_width"] <= facts["inner_width"] == width, facts
    assert facts["broken"] == 0 and facts["images"] >= 8


def test_every_figure_word_fits_inside_its_figure(loop) -> None:
    from rollout.analysis import analyze
    from rollout.data.contract import load_cohort
    from rollout.estimation.cate.stage import CateOptions
    from rollout.evaluation.evaluate import FIGURE_MAKERS, evaluate
    from rollout.evaluation.returned import load_returned
    from rollout.planning.figures import boundaries_figure, power_curve_figure
    from rollout.policy.stage import PolicySettings

    result = analyze(load_cohort(loop / "world" / "cohort.parquet"),
                     cate=CateOptions(models=("s_learner", "t_learner"), validate="none"),
                     policy=PolicySettings(cost=5.0, margin=0.3))
    figures = {name: make() for name, make in result.content().figures.items()}
    design = load_design(loop / "design.json")
    figures["power_curve"] = power_curve_figure(design)
    figures["boundaries"] = boundaries_figure(design)
    data = load_returned(loop / "returns" / "returns.parquet", design)
    evaluation = evaluate(design, data, results=loop / "results")
    for name, make in FIGURE_MAKERS.items():
        figure = make(evaluation)
        if figure is not None:
            figures[name] = figure
    assert len(figures) >= 10
    clipped = {name: text_outside(fig) for name, fig in figures.items()}
    assert {k: v for k, v in clipped.items() if v} == {}


def _html_table_after(page: str, caption_start: str) -> list[list[str]]:
    """The body cells of the table whose caption starts with ``caption_start``."""
    for chunk in page.split('<div class="table-wrap">')[1:]:
        table, _, rest = chunk.partition("</div>")
        if rest.startswith(f'<p class="caption">{caption_start}'):
            body = table.split("<tbody>", 1)[1]
            return [[html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
                    for row in re.findall(r"<tr>(.*?)</tr>", body)]
    raise AssertionError(f"no table captioned {caption_start!r}")


def test_the_effects_table_equals_the_parquet_after_rounding(loop) -> None:
    page = build_report(_inputs(loop, ("results",))).render()
    rows = _html_table_after(page, "Average effects by method")
    frame = ResultsFolder.open(loop / "results").table("ate")
    assert len(rows) == len(frame)
    for cells, (_, want) in zip(rows, frame.iterrows(), strict=True):
        outcome, method, _, est, se, low, high, n = cells
        assert (outcome, method) == (want["outcome"], want["method"])
        step = 10 ** -_decimals(want["se"])
        for text, value in ((est, want["estimate"]), (se, want["se"]), (low, want["ci_low"]),
                            (high, want["ci_high"])):
            assert abs(float(text.replace(",", "")) - value) <= step / 2 + 1e-9, (method, text)
        assert int(n.replace(",", "")) == want["n"]
