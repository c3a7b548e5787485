"""Testing the ranking the analysis declined: ``design --score``, through assign and evaluate.

The fixture is an analysis that deployed a constant (heterogeneity not shown) while a T-learner
had the lowest out-of-sample R-loss: its predictions are kept as ``cate_t_learner``. A heterogeneity
test of the deployed CATE has no responders to compare; ``--score hypothesis`` tests the
T-learner's ranking instead, and every stage must read that same ranking.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rollout.cli import cli
from rollout.errors import InputError
from rollout.evaluation import calibration as cal
from rollout.evaluation.evaluate import evaluate
from rollout.evaluation.returned import load_returned
from rollout.planning.assignment import assign_customers, write_assignment
from rollout.planning.design import load_design, save_design
from rollout.planning.plan import DesignRequest, plan_design
from rollout.planning.score import ScoreChoice, apply_score, choose_score, declined_model
from tests.planning.conftest import COST, MARGIN, make_results

BREAKEVEN = COST / MARGIN


def _constant_results(folder: Path, n: int = 3000) -> Path:
    """A results folder whose deployed CATE is one value while ``cate_t_learner`` ranks."""
    folder.mkdir(parents=True, exist_ok=True)
    results = make_results(folder, n=n, seed=11)
    customers = pd.read_parquet(results / "customers.parquet")
    customers["cate_t_learner"] = customers["cate"]
    customers["cate_t_learner_lower"] = customers["cate"] - 5.0  # bounds of its own
    customers["cate_s_learner"] = 21.0  # a constant candidate
    customers["cate"] = 21.0
    customers["cate_lower"], customers["cate_upper"] = 11.0, 31.0
    customers["target_breakeven"] = 0  # 21 < the breakeven 40: everyone off the list
    customers.to_parquet(results / "customers.parquet", index=False)
    summary = json.loads((results / "summary.json").read_text())
    summary["cate_model"] = {"model": "average_effect", "file": "model.joblib"}
    summary["cate_selection"] = [{"outcome": "spend", "best_by_loss": "t_learner",
                                  "reason": "heterogeneity not shown"}]
    (results / "summary.json").write_text(json.dumps(summary))
    return results


def test_declined_model_is_the_loss_best_only_when_a_constant_was_deployed() -> None:
    summary = {"cate_model": {"model": "average_effect"},
               "cate_selection": [{"outcome": "a", "best_by_loss": "x_learner"},
                                  {"outcome": "b", "best_by_loss": "average_effect"}]}
    assert declined_model(summary, "a") == "x_learner"
    assert declined_model(summary, "b") is None  # the constant was best: nothing declined
    assert declined_model(summary | {"cate_model": {"model": "linear_dml"}}, "a") is None
    assert declined_model({}, "a") is None


def test_apply_score_swaps_the_cate_and_derives_the_responders() -> None:
    frame = pd.DataFrame({"cate": [7.0, 7.0, 7.0], "cate_lower": [1.0] * 3,
                          "cate_upper": [9.0] * 3, "cate_m": [1.0, 3.0, 5.0],
                          "cate_m_upper": [2.0, 4.0, 6.0]})
    choice = ScoreChoice("m", "cate_m", "target_score_m", 3.0, "given", "test")
    out = apply_score(frame, choice)
    assert out["cate"].tolist() == [1.0, 3.0, 5.0]
    assert out["target_score_m"].tolist() == [0, 0, 1]  # strictly above the threshold
    assert out["cate_upper"].tolist() == [2.0, 4.0, 6.0]
    assert out["cate_lower"].isna().all()  # the deployed model's bound does not apply
    assert apply_score(frame, None) is frame
    with pytest.raises(InputError, match="needs its predictions") as err:
        apply_score(frame.drop(columns="cate_m"), choice, source="c.parquet")
    assert err.value.column == "cate_m"
    with pytest.raises(InputError, match="missing prediction") as err:
        apply_score(frame.assign(cate_m=[1.0, None, 2.0]), choice)
    assert err.value.row == 1


def test_choose_score_refuses_what_cannot_rank(tmp_path: Path) -> None:
    results = _constant_results(tmp_path)
    customers = pd.read_parquet(results / "customers.parquet")
    summary = json.loads((results / "summary.json").read_text())
    chosen = choose_score("hypothesis", customers, summary, "spend", BREAKEVEN)
    assert (chosen.model, chosen.column, chosen.threshold) == ("t_learner", "cate_t_learner",
                                                               BREAKEVEN)
    assert choose_score("cate_t_learner", customers, summary, "spend", None).threshold == 0.0
    assert choose_score("deployed", customers, summary, "spend", BREAKEVEN) is None
    with pytest.raises(InputError, match="models: s_learner, t_learner") as err:
        choose_score("forest", customers, summary, "spend", BREAKEVEN)
    assert err.value.column == "cate_forest"
    with pytest.raises(InputError, match="one effect for everyone"):
        choose_score("s_learner", customers, summary, "spend", BREAKEVEN)
    with pytest.raises(InputError, match="declined no model"):
        choose_score("hypothesis", customers, {"cate_model": {"model": "t_learner"}}, "spend",
                     BREAKEVEN)
    bad = customers.assign(cate_t_learner=customers["cate_t_learner"].where(
        customers.index != 4, np.inf))
    with pytest.raises(InputError, match="infinite") as err:
        choose_score("t_learner", bad, summary, "spend", BREAKEVEN)
    assert err.value.row == 4


def test_design_of_the_declined_ranking(tmp_path: Path) -> None:
    """Without a score the constant has no responders (refused, naming the option); with it the
    design sizes the T-learner's responder contrast over its own ranking."""
    results = _constant_results(tmp_path)
    with pytest.raises(InputError, match="score 'hypothesis'"):
        plan_design(DesignRequest(results=results, test="heterogeneity"))
    design = plan_design(DesignRequest(results=results, test="heterogeneity",
                                       score="hypothesis", looks=2))
    customers = pd.read_parquet(results / "customers.parquet")
    s = customers["cate_t_learner"].to_numpy()
    responder = s > BREAKEVEN
    assert design.details["score"]["model"] == "t_learner"
    assert design.details["estimand"]["quantities"]["responder_column"] == \
        "target_score_t_learner"
    assert design.mde == pytest.approx(s[responder].mean() - s[~responder].mean())
    assert design.details["validation"]["cate_range_population"] == \
        pytest.approx([s.min(), s.max()])
    assert design.details["validation"]["calibration_slope"]["se"] > 0
    with pytest.raises(InputError, match="results folder"):
        plan_design(DesignRequest(sd=100, mde=10, score="hypothesis"))


def test_the_declined_ranking_from_design_to_evaluate(tmp_path: Path) -> None:
    """assign stratifies by the T-learner's responders; evaluate's calibration regresses the
    randomized effect on the T-learner's CATE and recovers the slope the world was given."""
    results = _constant_results(tmp_path)
    design = plan_design(DesignRequest(results=results, test="heterogeneity",
                                       score="hypothesis"))
    path = save_design(tmp_path / "design.json", design)
    design = load_design(path)
    customers = pd.read_parquet(results / "customers.parquet")
    assignment = assign_customers(customers, design, salt="score")
    write_assignment(assignment, tmp_path / "assignment.parquet")
    cohort = pd.read_parquet(tmp_path / "cohort.parquet")[["customer_id", "pre_spend", "x1"]]
    table = assignment.table.merge(customers, on="customer_id").merge(cohort, on="customer_id")
    tested = table[table["arm"].isin(["treatment", "control"])]
    assert (tested["responder"] == (tested["cate_t_learner"] > BREAKEVEN)).all()
    for _, arms in tested.groupby("responder")["arm"]:  # randomized within each side
        assert abs((arms == "treatment").mean() - 0.5) < 0.05
    # a world where the true effect is 5 + 0.6 x the T-learner's centred prediction
    rng = np.random.default_rng(3)
    s = tested["cate_t_learner"].to_numpy()
    t = (tested["arm"] == "treatment").to_numpy()
    effect = 5.0 + 0.6 * (s - s.mean())
    spend = 100 + 0.8 * tested["pre_spend"].to_numpy() + t * effect + rng.normal(0, 40, len(s))
    tested[["customer_id", "arm"]].assign(spend=spend).to_csv(tmp_path / "ret.csv", index=False)
    data = load_returned(tmp_path / "ret.csv", design,
                         join=[tmp_path / "assignment.parquet", tmp_path / "cohort.parquet"])
    evaluation = evaluate(design, data, results=results, seed=0)
    calibration = evaluation.calibration
    assert calibration["score"].startswith("t_learner (cate_t_learner")
    blp = calibration["blp"]
    assert blp["slope"] == pytest.approx(0.6, abs=4 * blp["slope_se"])
    # the same regression by hand on the T-learner's column, with the design's covariates
    order = np.argsort(tested["customer_id"].to_numpy())
    by_hand = cal.blp_test(s[order], spend[order], t[order].astype(float), 0.5,
                           baseline=tested[["pre_spend", "x1"]].to_numpy()[order])
    assert data.covariates == ["pre_spend", "x1"]
    assert blp["slope"] == pytest.approx(by_hand.slope, rel=1e-6)
    assert evaluation.headline["test"] == "heterogeneity"


def test_cli_design_score_errors_and_success(tmp_path: Path) -> None:
    results = _constant_results(tmp_path)
    runner = CliRunner()
    bad = runner.invoke(cli, ["design", str(results), "--test", "heterogeneity",
                              "--score", "forest"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    assert "cate_forest" in bad.output and "t_learner" in bad.output
    plain = runner.invoke(cli, ["design", "--sd", "100", "--mde", "10", "--score", "t_learner"])
    assert plain.exit_code == 2 and "results folder" in plain.output
    out = tmp_path / "d" / "design.json"
    ok = runner.invoke(cli, ["design", str(results), "--test", "heterogeneity", "--score",
                             "hypothesis", "-o", str(out), "--no-report"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(out.read_text())["details"]["score"]["column"] == "cate_t_learner"
    assigned = runner.invoke(cli, ["assign", str(out), str(results), "-o",
                                   str(tmp_path / "d" / "a.parquet")])
    assert assigned.exit_code == 0, assigned.output
    table = pd.read_parquet(tmp_path / "d" / "a.parquet")
    assert "responder" in table.columns and table["responder"].nunique() == 2


def test_the_design_section_names_the_ranking_and_the_randomization(tmp_path: Path) -> None:
    """The report's design section says which ranking a test validates (when it is not the
    deployed CATE) and, for a policy test, how it randomizes and why."""
    from rollout.report.ab_sections import design_section
    from rollout.report.html import Report

    results = _constant_results(tmp_path / "a")
    scored = plan_design(DesignRequest(results=results, test="heterogeneity",
                                       score="hypothesis"))
    report = Report("r")
    design_section(report, scored)
    page = report.render()
    assert "Ranking tested: t_learner (cate_t_learner), not the deployed CATE" in page
    assert "Randomization:" not in page
    policy = plan_design(DesignRequest(results=make_results(tmp_path / "b", n=1500, seed=5),
                                       test="policy", policy_randomization="treat_control"))
    report = Report("r")
    design_section(report, policy)
    page = report.render()
    reason = policy.details["estimand"]["quantities"]["randomization_comparison"]["reason"]
    assert "Randomization: treat_control; " in page
    assert reason.split(":")[0].replace("'", "&#x27;") in page
    assert "Ranking tested" not in page
