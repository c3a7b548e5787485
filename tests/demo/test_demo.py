"""`rollout demo` runs the whole loop on the embedded data and writes a readable folder."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from rollout.cli import cli


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo") / "out"
    result = CliRunner().invoke(cli, ["demo", "-o", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    return folder, json.loads(result.stdout)


def test_every_stage_wrote_its_files(demo_folder) -> None:
    folder, _ = demo_folder
    for rel in ("cohort.parquet", "results/summary.json", "results/customers.parquet",
                "design.json", "assignment.parquet", "returns.parquet", "interim_look1.json",
                "evaluation/summary.json", "evaluation/targets.parquet", "report.html"):
        assert (folder / rel).exists(), rel
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]


def test_headline_is_consistent_with_the_files(demo_folder) -> None:
    folder, headline = demo_folder
    cohort = pd.read_parquet(folder / "cohort.parquet")
    assert headline["cohort"]["n"] == len(cohort)
    assignment = pd.read_parquet(folder / "assignment.parquet")
    assert set(assignment["customer_id"]) == set(cohort["customer_id"])
    design = json.loads((folder / "design.json").read_text())
    # The design sizes for the customers the analysis labels randomize_in_test (all of them
    # enrolled for identification, the others for power): the arms hold the design's n exactly.
    in_test = assignment["arm"].isin(design["arms"])
    assert in_test.sum() == design["n_total"]
    for arm, n in design["n_per_arm"].items():
        assert (assignment["arm"] == arm).sum() == n
    enrolment = design["details"]["enrolment"]
    customers = pd.read_parquet(folder / "results" / "customers.parquet")
    assert enrolment["groups"][0]["enrolled"] == customers["randomize_in_test"].sum() == \
        assignment.loc[in_test, "randomize_in_test"].sum()
    # the calibration slope: the design's SE and power, stated again in the headline and page
    # (or, when the analysis deployed a constant CATE, that there is no slope to test)
    planned = design["details"]["validation"]["calibration_slope"]
    slope = headline["calibration_slope"]
    page = (folder / "report.html").read_text()
    if planned["se"] is None:
        assert customers["cate"].nunique() == 1 and slope["design_se"] is None
        assert "Calibration slope: not tested" in page and "one effect for everyone" in page
    else:
        assert slope["design_se"] == planned["se"] and slope["power_at_slope_1"] == \
            pytest.approx(stats.norm.sf(stats.norm.isf(0.05) - 1 / planned["se"]), rel=1e-9)
        assert "Calibration slope" in page
    returns = pd.read_parquet(folder / "returns.parquet")
    assert len(returns) == in_test.sum()
    # The first look's decision follows from its z (the look's estimate over its SE) and the
    # look's boundaries.
    look = json.loads((folder / "interim_look1.json").read_text())
    assert headline["interim"]["decision"] == look["decision"]
    assert look["z"] == pytest.approx(look["estimate"] / look["se"], rel=1e-9)
    expected = ("stop_futility" if look["z"] < look["futility_z"] else "stop_efficacy"
                if look["z"] > look["efficacy_z"] else "continue")
    assert look["decision"] == expected
    assert look["efficacy_effect"] == pytest.approx(look["efficacy_z"] * look["se"], rel=1e-9)
    # The headline evaluation is the Lin-adjusted row of the evaluation summary: a normal
    # interval of half-width z_.975 SE around it, and a p-value from the same z.
    ev = headline["evaluation"]
    effects = json.loads((folder / "evaluation" / "summary.json").read_text())["effect"]
    lin = next(e for e in effects if e["method"] == "adjusted")
    z975 = stats.norm.ppf(0.975)
    assert ev["adjusted_estimate"] == pytest.approx(lin["estimate"], rel=1e-12)
    assert (ev["ci_low"], ev["ci_high"]) == pytest.approx(
        (lin["estimate"] - z975 * lin["se"], lin["estimate"] + z975 * lin["se"]), rel=1e-9)
    assert lin["p_value"] == pytest.approx(
        2 * stats.norm.sf(abs(lin["estimate"] / lin["se"])), rel=1e-9)


def test_report_is_self_contained(demo_folder) -> None:
    folder, _ = demo_folder
    html = (folder / "report.html").read_text()
    for title in ("Summary: key numbers and what to do next", "The study cohort", "Positivity",
                  "The A/B design", "Assignment and the interim look", "The evaluated test"):
        assert title in html
    assert "data:image/png;base64," in html
    assert "http://" not in html and "https://" not in html
    assert (folder / "report.md").is_file() and (folder / "report_files").is_dir()


@pytest.mark.slow
def test_demo_is_byte_reproducible(demo_folder, tmp_path) -> None:
    folder, _ = demo_folder
    again = tmp_path / "again"
    assert CliRunner().invoke(cli, ["demo", "-o", str(again)]).exit_code == 0
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            rel = path.relative_to(folder)
            assert (again / rel).read_bytes() == path.read_bytes(), rel


def test_terminal_leads_evaluate_with_the_tests_own_estimand(demo_folder) -> None:
    """The terminal's evaluate lines: the test's estimand (what the recommendation rests on)
    before the average effect, then the calibration verdict when there is one."""
    from rollout.cli.demo import _evaluation_rows

    _, headline = demo_folder
    rows = _evaluation_rows(headline)
    test = headline["evaluation_test"]
    assert rows[0]["stage"] == f"evaluate ({test['test']} test)"
    assert rows[0]["result"].startswith(f"{test['estimand']}: {test['estimate']:.2f} ")
    assert rows[1]["stage"] == "evaluate (average effect)"
    assert f"vs true {headline['truth']['true_ate_tested']:.1f}" in rows[1]["result"]
    verdict = headline["evaluation"]["calibration"]
    assert rows[-1]["result"].startswith(verdict) if verdict else len(rows) == 2
    power = (headline.get("calibration_slope") or {}).get("verdict_power") or {}
    if verdict and power.get("power") is not None:
        assert f"power {power['power']:.2f}" in rows[-1]["result"]


def test_demo_tests_the_ranking_it_can_validate(demo_folder) -> None:
    """The embedded analysis deploys a constant (heterogeneity not shown), so the demo tests
    the ranking the analysis declined, and its calibration verdict has the power the done
    criterion asks of it in the demo's own world (at least 80%), stated in the page."""
    folder, headline = demo_folder
    summary = json.loads((folder / "results" / "summary.json").read_text())
    design = json.loads((folder / "design.json").read_text())
    deployed = summary["cate_model"]["model"]
    if deployed != "average_effect":  # a heterogeneous model: its own ranking is tested
        assert headline["design"]["score"] == "deployed" and "score" not in design["details"]
        return
    declined = summary["cate_selection"][0]["best_by_loss"]
    assert headline["design"]["test"] == design["test"] == "heterogeneity"
    assert headline["design"]["score"] == design["details"]["score"]["model"] == declined
    slope = headline["calibration_slope"]
    assert slope["score"] == declined
    verdict = slope["verdict_power"]
    assert verdict["power"] >= 0.8
    page = (folder / "report.html").read_text()
    assert f"heterogeneity test of the {declined} ranking" in page
    assert "The verdict this world calls for" in page
    evaluation = json.loads((folder / "evaluation" / "summary.json").read_text())
    assert evaluation["calibration"]["score"].startswith(declined)
