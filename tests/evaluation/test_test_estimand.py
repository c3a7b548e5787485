"""The test's own estimand from design to evaluate, sequential inference at the last look, and
safe covariate adjustment (issue: policy and heterogeneity tests end to end)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rollout.cli import cli
from rollout.evaluation.evaluate import evaluate
from rollout.evaluation.interim import interim_decision
from rollout.evaluation.returned import load_returned
from rollout.io import write_parquet
from rollout.planning.assignment import assign_customers, write_assignment
from rollout.planning.design import load_design
from rollout.planning.plan import DesignRequest, plan_design
from rollout.planning.sequential import crossing_probabilities, final_efficacy_boundaries
from tests.planning.conftest import make_results


def _design(tmp_path: Path, *args: str, name: str = "design.json") -> Path:
    path = tmp_path / name
    made = CliRunner().invoke(cli, ["design", *args, "-o", str(path)])
    assert made.exit_code == 0, made.output
    return path


def _z_data(n: int, z: float, sd: float = 100.0) -> pd.DataFrame:
    """Two arms of n customers whose difference in means has exactly this z (Welch SE)."""
    rng = np.random.default_rng(0)
    arms = []
    for _ in range(2):
        y = rng.normal(size=n)
        arms.append((y - y.mean()) / y.std(ddof=1) * sd)
    shift = z * sd * np.sqrt(2 / n)
    return pd.DataFrame({"customer_id": np.arange(2 * n),
                         "arm": ["treatment"] * n + ["control"] * n,
                         "outcome": np.r_[arms[0] + shift, arms[1]]})


def _evaluate(tmp_path: Path, design: Path, data: Path, *args: str) -> dict:
    """``rollout evaluate`` on a returned file; its summary.json."""
    out = tmp_path / "ev"
    result = CliRunner().invoke(cli, ["evaluate", str(design), str(data), "--outcome", "outcome",
                                      *args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads((out / "summary.json").read_text())


def test_last_look_z_below_the_final_boundary_is_not_significant(tmp_path: Path) -> None:
    """z = 1.975 at the last of three OBF looks (bound 1.993): not significant in evaluate."""
    design = _design(tmp_path, "--sd", "100", "--mde", "10", "--looks", "3")
    n = load_design(design).n_per_arm["treatment"]
    data = tmp_path / "returns.csv"
    _z_data(n, 1.975).to_csv(data, index=False)
    summary = _evaluate(tmp_path, design, data, "--look", "3", "--previous-fractions",
                        "0.3333333,0.6666667")
    sequential = summary["sequential"]
    assert sequential["decision_at_look"] == "not_shown"
    assert sequential["efficacy_z"] == pytest.approx(1.993, abs=2e-3)
    assert sequential["p_value_two_sided"] > 0.05
    assert sequential["ci_low"] < 0 < sequential["ci_high"]
    assert summary["estimand"]["significant"] is False
    assert summary["estimand"]["p_value"] > 0.05


def test_final_look_spends_the_remaining_alpha_when_information_under_runs() -> None:
    for last in (0.85, 1.0, 1.2):
        fractions = [1 / 3, 2 / 3, last]
        bounds = final_efficacy_boundaries(fractions, 0.025)
        scaled = [f / last for f in fractions]
        _, above = crossing_probabilities(scaled, [-20.0] * 3, bounds, 0.0)
        assert above.sum() == pytest.approx(0.025, abs=2e-5)
    assert final_efficacy_boundaries([1 / 3, 2 / 3, 0.85], 0.025)[-1] < 1.993


def _heterogeneity_data(n_per_arm: int, share: float, ate: float, contrast: float,
                        seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 2 * n_per_arm
    responder = (rng.uniform(size=n) < share).astype(int)
    arm = np.where(np.arange(n) % 2 == 0, "treatment", "control")
    t = arm == "treatment"
    effect = ate + contrast * (responder - share)
    return pd.DataFrame({"customer_id": np.arange(n), "arm": arm, "responder": responder,
                         "outcome": rng.normal(100, 100, n) + t * effect})


def test_heterogeneity_interim_is_on_the_contrast_scale(tmp_path: Path) -> None:
    """A large average effect with no responder contrast does not stop a heterogeneity test."""
    design = _design(tmp_path, "--test", "heterogeneity", "--sd", "100", "--mde", "30",
                     "--responder-share", "0.3", "--looks", "3")
    n_first = load_design(design).looks[0].n_per_arm["treatment"]
    data = tmp_path / "look1.csv"
    _heterogeneity_data(n_first, 0.3, ate=40.0, contrast=0.0).to_csv(data, index=False)
    result = CliRunner().invoke(cli, ["interim", str(design), str(data), "--outcome", "outcome",
                                      "--look", "1", "--json"])
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert decision["test"] == "heterogeneity"
    assert decision["decision"] != "stop_efficacy"
    assert decision["information_fraction"] == pytest.approx(decision["sample_fraction"],
                                                             rel=0.25)
    assert decision["information_fraction"] < 0.5


def test_interim_warns_when_information_and_sample_fractions_disagree(tmp_path: Path) -> None:
    design = _design(tmp_path, "--sd", "100", "--mde", "10", "--looks", "3")
    d = load_design(design)
    n = d.looks[0].n_per_arm["treatment"]
    frame = _z_data(n, 1.0, sd=200.0)  # twice the SD the design was sized with
    data = tmp_path / "look1.csv"
    frame.to_csv(data, index=False)
    result = CliRunner().invoke(cli, ["interim", str(design), str(data), "--outcome", "outcome",
                                      "--look", "1", "--json"])
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert decision["sample_fraction"] == pytest.approx(1 / 3, abs=0.01)
    assert any("times the sample fraction" in w for w in decision["warnings"])


def test_interim_record_is_read_back_by_the_next_look_and_evaluate(tmp_path: Path) -> None:
    design = _design(tmp_path, "--sd", "100", "--mde", "10", "--looks", "3")
    n = load_design(design).n_per_arm["treatment"]
    record = tmp_path / "looks.json"
    for look, share in ((1, 0.4), (2, 0.7)):
        data = tmp_path / f"look{look}.csv"
        _z_data(round(n * share), 0.5).to_csv(data, index=False)
        result = CliRunner().invoke(cli, ["interim", str(design), str(data), "--outcome",
                                          "outcome", "--look", str(look), "--record",
                                          str(record), "--json"])
        assert result.exit_code == 0, result.output
    looks = json.loads(record.read_text())["looks"]
    assert [r["look"] for r in looks] == [1, 2]
    assert looks[0]["information_fraction"] == pytest.approx(0.4, abs=0.01)
    data = tmp_path / "final.csv"
    _z_data(n, 2.1).to_csv(data, index=False)
    out = tmp_path / "ev"
    result = CliRunner().invoke(cli, ["evaluate", str(design), str(data), "--outcome", "outcome",
                                      "--look", "3", "--record", str(record), "-o", str(out)])
    assert result.exit_code == 0, result.output
    sequential = json.loads((out / "summary.json").read_text())["sequential"]
    assert sequential["fractions_used"][:2] == pytest.approx([looks[0]["information_fraction"],
                                                              looks[1]["information_fraction"]])


def test_post_treatment_column_is_not_a_default_covariate(tmp_path: Path) -> None:
    """The design names the pre-period covariates its R^2 used; clicks is left out, by name."""
    design = _design(tmp_path, "--sd", "100", "--mde", "10", "--r2", "0.3",
                     "--covariates", "pre_spend")
    rng = np.random.default_rng(3)
    n = 600
    t = np.arange(n) % 2
    pre = rng.gamma(2, 50, n)
    y = 0.8 * pre + 5 * t + rng.normal(0, 60, n)
    clicks = y / 10 + 30 * t + rng.normal(0, 1, n)  # measured during the campaign
    data = tmp_path / "returns.csv"
    pd.DataFrame({"customer_id": np.arange(n), "arm": np.where(t, "treatment", "control"),
                  "outcome": y, "pre_spend": pre, "clicks": clicks}).to_csv(data, index=False)
    out = tmp_path / "ev"
    result = CliRunner().invoke(cli, ["evaluate", str(design), str(data), "--outcome", "outcome",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert [c["covariate"] for c in summary["covariates"]] == ["pre_spend"]
    assert abs(summary["covariates"][0]["smd"]) < 0.3
    assert any("clicks" in w and "left out" in w for w in summary["warnings"])
    adjusted = next(e for e in summary["effect"] if e["method"] == "adjusted")
    assert "1 centred covariates" in adjusted["se_type"]
    # --covariates still overrides
    forced = CliRunner().invoke(cli, ["evaluate", str(design), str(data), "--outcome", "outcome",
                                      "--covariates", "pre_spend,clicks", "-o",
                                      str(tmp_path / "ev2")])
    assert forced.exit_code == 0, forced.output


def test_design_sized_with_r2_but_no_covariates_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["design", "--sd", "100", "--mde", "10", "--r2", "0.3"])
    assert result.exit_code == 0, result.output
    assert "no covariates named" in result.output


def _policy_world(tmp_path: Path, test: str, n: int = 4000
                  ) -> tuple[Path, pd.DataFrame, object]:
    results = make_results(tmp_path, n=n, seed=5)
    design = plan_design(DesignRequest(results=results, test=test, looks=3,
                                       strata=["ps_region"]))
    customers = pd.read_parquet(results / "customers.parquet")
    return results, customers, design


def test_policy_test_assign_writes_whom_each_rule_treats(tmp_path: Path) -> None:
    _, customers, design = _policy_world(tmp_path, "policy")
    assignment = assign_customers(customers, design)
    table = assignment.table.merge(customers, on="customer_id")
    arm_t = table[table["arm"] == "treatment"]
    arm_c = table[table["arm"] == "control"]
    assert (arm_t["treat"] == arm_t["target_breakeven"]).all()
    assert (arm_c["treat"] == arm_c["treatment"]).all()
    assert (table["rules_disagree"] == (table["target_breakeven"] != table["treatment"])).all()
    assert set(arm_t["rule"]) == {"CATE policy (target_breakeven)"}
    paths = write_assignment(assignment, tmp_path / "out" / "assignment.parquet")
    contact = pd.read_csv(paths["treatment.contact"])
    assert set(contact["customer_id"]) == set(arm_t.loc[arm_t["treat"] == 1, "customer_id"])


def test_policy_evaluate_reports_the_profit_difference(tmp_path: Path) -> None:
    _, customers, design = _policy_world(tmp_path, "policy")
    assignment = assign_customers(customers, design)
    table = assignment.table.merge(customers[["customer_id", "cate"]], on="customer_id")
    tested = table[table["arm"].isin(["treatment", "control"])].reset_index(drop=True)
    rng = np.random.default_rng(7)
    y = rng.normal(100, 80, len(tested)) + tested["treat"] * tested["cate"]
    returns = tested[["customer_id", "arm"]].assign(spend=y.to_numpy())
    write_parquet(tmp_path / "returns.parquet", returns)
    write_assignment(assignment, tmp_path / "assignment.parquet")
    data = load_returned(tmp_path / "returns.parquet", design,
                         join=[tmp_path / "assignment.parquet"])
    result = evaluate(design, data, seed=0)
    head = result.headline
    assert head["test"] == "policy" and result.test_effect.method == "policy_profit_difference"
    assert "share disagreeing" in result.test_effect.se_type
    m, c = design.margin, design.cost
    d = tested["rules_disagree"].to_numpy() == 1
    assert result.test_effect.estimate == pytest.approx(
        d.mean() * (np.mean((m * y - c * tested["treat"])[d & (tested["arm"] == "treatment")])
                    - np.mean((m * y - c * tested["treat"])[d & (tested["arm"] == "control")])))
    decision = interim_decision(design, data, look=3)
    assert decision.estimate == pytest.approx(result.test_effect.estimate)
    assert result.sequential is not None and result.sequential["look"] == 3


def test_heterogeneity_pilot_customers_are_randomized_too(tmp_path: Path) -> None:
    _, customers, design = _policy_world(tmp_path, "heterogeneity")
    assignment = assign_customers(customers, design)
    table = assignment.table.merge(customers, on="customer_id")
    in_test = table["arm"].isin(["treatment", "control"])
    top = table["target_conservative"] == 1
    assert (in_test & top).sum() > 0
    assert "target_breakeven" in assignment.report["strata_columns"]
    assert (table.loc[in_test, "responder"] == table.loc[in_test, "target_breakeven"]).all()
    validation = design.details["validation"]
    assert len(validation["per_decile"]) == 10
    assert 0 < validation["calibration_slope"]["power_at_slope_1"] <= 1


def test_per_segment_sizes_are_on_the_test_scale_with_the_sequential_inflation(
        tmp_path: Path) -> None:
    results = make_results(tmp_path, n=3000, seed=5)
    design = plan_design(DesignRequest(results=results, test="heterogeneity", looks=3,
                                       per_segment=True, strata=["ps_region"]))
    rows = [r for r in design.details["per_segment"] if r["n_per_arm"] is not None]
    assert rows
    for row in rows:
        assert row["sd_effective"] > 2 * row["sd"] * 0.9  # 1 / sqrt(q (1 - q)) >= 2
        assert row["sequential_inflation"] == pytest.approx(design.max_inflation)


def test_policy_design_compares_the_two_randomizations(tmp_path: Path) -> None:
    results = make_results(tmp_path, n=3000, seed=5)
    design = plan_design(DesignRequest(results=results, test="policy", strata=["ps_region"]))
    q = design.details["estimand"]["quantities"]
    comparison = q["randomization_comparison"]
    pp = comparison["variance_per_customer_policy_vs_policy"]
    tc = comparison["variance_per_customer_treat_control"]
    assert comparison["smaller"] == ("policy_vs_policy" if pp <= tc else "treat_control")
    assert comparison["reason"]
    assert pp == pytest.approx(4 * design.details["sd_effective"] ** 2)
    assert "historical treatment flag" in q["current_source"]


def test_evaluate_a_heterogeneity_design_on_a_file_without_responders(tmp_path: Path) -> None:
    """Any returned file with customer_id, arm and the outcome evaluates, never a traceback."""
    design = _design(tmp_path, "--test", "heterogeneity", "--sd", "100", "--mde", "30",
                     "--responder-share", "0.3", "--looks", "3")
    data = tmp_path / "returns.csv"
    _z_data(300, 1.0).to_csv(data, index=False)
    out = tmp_path / "ev"
    result = CliRunner().invoke(cli, ["evaluate", str(design), str(data), "--outcome", "outcome",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["test_effect"] is None and summary["sequential"] is None
    assert any("cannot be estimated" in w for w in summary["warnings"])


def test_a_futility_stop_is_ordered_with_the_futility_boundary_it_followed(tmp_path: Path
                                                                            ) -> None:
    """Stopping for futility at look 2 of 3: the stage-wise p-value counts as "continuing" only
    the paths the futility rule continued, P(Z1 >= e1) + P(f1 < Z1 < e1, Z2 >= z), by scipy's
    bivariate normal (corr sqrt(t1 / t2)); the non-binding ordering would start Z1 at the harm
    boundary instead."""
    from scipy import stats

    design = _design(tmp_path, "--sd", "100", "--mde", "10", "--looks", "3")
    d = load_design(design)
    n = d.looks[1].n_per_arm["treatment"]
    data = tmp_path / "look2.csv"
    _z_data(n, 0.4).to_csv(data, index=False)
    seq = _evaluate(tmp_path, design, data, "--look", "2", "--previous-fractions",
                    "0.3333333")["sequential"]
    assert seq["decision_at_look"] == "stop_futility"
    t1, t2 = seq["fractions_used"][:2]
    bounds = d.spending.boundaries(seq["fractions_used"], d.alpha, d.sided)
    e1, f1, h1 = bounds.efficacy_z[0], bounds.futility_z[0], bounds.harm_z[0]
    z = seq["z"]
    corr = np.sqrt(t1 / t2)
    neg = stats.multivariate_normal(mean=[0, 0], cov=[[1, -corr], [-corr, 1]])

    def continue_then_above(low: float) -> float:
        # P(low < Z1 < e1, Z2 >= z) = P(Z1 < e1, -Z2 <= -z) - P(Z1 < low, -Z2 <= -z)
        return float(neg.cdf([e1, -z]) - neg.cdf([low, -z]))

    binding = stats.norm.sf(e1) + continue_then_above(f1)
    non_binding = stats.norm.sf(e1) + continue_then_above(h1)
    assert abs(binding - non_binding) > 0.02  # the two orderings differ here
    assert seq["p_value_one_sided"] == pytest.approx(binding, abs=2e-4)
