"""The policy test under one stratified treat/control randomization (Imai & Li 2021): its
estimator against known potential outcomes, its variance formula, the design's choice between
the two randomizations, and the command line from design to evaluate."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rollout.cli import cli
from rollout.errors import InputError
from rollout.evaluation.statistic import test_effect, treat_control_effect
from rollout.planning.design import load_design, save_design
from rollout.planning.estimands import (
    cate_deciles,
    policy_estimand,
    policy_expected_difference,
    treat_control_estimand,
)
from rollout.planning.plan import DesignRequest, plan_design
from tests.planning.conftest import make_results

REPLICATIONS = 1500
MARGIN, COST, SD, MU = 0.3, 12.0, 60.0, 100.0
#: Customers per stratum: region 0 holds 40% of them, region 1 60%, ten CATE deciles each.
PER_STRATUM = {0: 32, 1: 48}


def _variance_tolerance(variance: float, replications: int) -> float:
    # SE of a sample variance of normal estimates: var * sqrt(2 / (R - 1)); allow 4 SE.
    return 4 * variance * np.sqrt(2 / (replications - 1))


def _effect(x: np.ndarray) -> np.ndarray:
    return -20 + 120 * x  # the campaign's effect on the outcome; breakeven 40 at x = 0.5


def _customers(rng: np.random.Generator, scale: int = 1) -> dict[str, np.ndarray]:
    """Customers stratum by stratum (a fixed count in each region x decile of x, as the
    assignment's proportional entry gives), with both rules and their potential outcomes."""
    region, x = [], []
    for r, size in PER_STRATUM.items():
        for k in range(10):
            region.append(np.full(size * scale, r))
            x.append((k + rng.uniform(size=size * scale)) / 10)
    region, x = np.concatenate(region), np.concatenate(x)
    tau = _effect(x)
    a = (tau > COST / MARGIN).astype(float)                                  # the CATE policy
    b = (rng.uniform(size=x.size) < np.where(region == 1, 0.7, 0.3)).astype(float)  # current
    y0 = MU + rng.normal(0, SD, size=x.size)
    strata = np.char.add(region.astype(str), np.char.add("|", np.floor(x * 10).astype(int)
                                                         .astype(str)))
    return {"region": region, "tau": tau, "a": a, "b": b, "y0": y0, "y1": y0 + tau,
            "strata": strata}


def _randomize(rng: np.random.Generator, strata: np.ndarray) -> np.ndarray:
    """Half of every stratum to the campaign (complete randomization within strata)."""
    t = np.zeros(strata.size, dtype=int)
    for label in np.unique(strata):
        rows = np.flatnonzero(strata == label)
        t[rng.permutation(rows)[: rows.size // 2]] = 1
    return t


DESIGN = SimpleNamespace(test="policy", policy_randomization="treat_control", margin=MARGIN,
                         cost=COST, details={}, strata=("ps_region", "cate_decile"))


def test_treat_control_estimator_is_unbiased_with_the_variance_the_design_sizes() -> None:
    """Known potential outcomes, two 0/1 rules, strata: the Imai-Li estimate is unbiased for
    the true policy difference, its SE matches the replications' SD, and the design's variance
    formula matches the simulated variance."""
    rng = np.random.default_rng(21)
    population = _customers(rng, scale=500)  # the superpopulation the design reads
    truth = policy_expected_difference(population["tau"], population["a"], population["b"],
                                       MARGIN, COST)
    estimand = treat_control_estimand(SD, MU, MARGIN, COST, population["a"], population["b"],
                                      population["tau"], population["strata"])
    n = sum(PER_STRATUM.values()) * 10
    formula = estimand.sd_effective ** 2 * (2 / n + 2 / n)
    estimates, ses = np.empty(REPLICATIONS), np.empty(REPLICATIONS)
    for k in range(REPLICATIONS):
        c = _customers(rng)
        t = _randomize(rng, c["strata"])
        y = np.where(t == 1, c["y1"], c["y0"])
        frame = pd.DataFrame({"stratum": c["strata"], "treat": t,
                              "rule_difference": c["a"] - c["b"]})
        effect = test_effect(DESIGN, frame, y, t)
        estimates[k], ses[k] = effect.estimate, effect.se
    sd = estimates.std(ddof=1)
    assert estimates.mean() == pytest.approx(truth, abs=4 * sd / math.sqrt(REPLICATIONS))
    assert estimates.var(ddof=1) == pytest.approx(formula,
                                                  abs=_variance_tolerance(formula, REPLICATIONS))
    # the mean SE against the replications' SD: both their Monte Carlo errors, 4 SE
    tolerance = 4 * math.sqrt(sd**2 / (2 * (REPLICATIONS - 1)) + ses.var() / REPLICATIONS)
    assert ses.mean() == pytest.approx(sd, abs=tolerance + 0.01 * sd)


def test_the_outcome_level_is_in_the_treat_control_variance() -> None:
    """Where the rules disagree on part of a stratum, (a - b) multiplies the whole spend: the
    variance grows with the outcome's mean (the level is no noise the design may ignore)."""
    rng = np.random.default_rng(22)
    c = _customers(rng, scale=50)
    low = treat_control_estimand(SD, 0.0, MARGIN, COST, c["a"], c["b"], c["tau"], c["strata"])
    high = treat_control_estimand(SD, MU, MARGIN, COST, c["a"], c["b"], c["tau"], c["strata"])
    assert high.sd_effective > 1.3 * low.sd_effective


def test_treat_control_estimate_by_hand() -> None:
    """Two strata with different treated shares, margin 0.5, cost 10.

    Stratum A (4 customers): a - b = 1, 0, 1, -1; arms T, T, C, C; spend 120, 50, 80, 60.
    Profit P = 0.5 spend - 10 treat = 50, 15, 40, 30; Z = (a - b) P = 50, 0, 40, -30.
    mean_T Z - mean_C Z = 25 - 5 = 20; var_T/n_T + var_C/n_C = 1250/2 + 2450/2 = 1850.
    Stratum B (6): a - b = 1, 1, 0, 1, 0, 1; arms T, T, C, C, C, C; spend 40, 20, 10, 30, 70, 30.
    P = 10, 0, 5, 15, 35, 15; Z = 10, 0, 0, 15, 0, 15: 5 - 7.5 = -2.5; 50/2 + 75/4 = 43.75.
    Weights 0.4 and 0.6: estimate 0.4 x 20 + 0.6 x (-2.5) = 6.5,
    SE^2 = 0.16 x 1850 + 0.36 x 43.75 = 311.75. (Unstratified it would be 15 - 20/3.)
    """
    frame = pd.DataFrame({
        "stratum": ["A"] * 4 + ["B"] * 6,
        "rule_difference": [1, 0, 1, -1, 1, 1, 0, 1, 0, 1],
        "treat": [1, 1, 0, 0, 1, 1, 0, 0, 0, 0]})
    y = np.array([120, 50, 80, 60, 40, 20, 10, 30, 70, 30], dtype=float)
    design = SimpleNamespace(**{**DESIGN.__dict__, "margin": 0.5, "cost": 10.0})
    effect = treat_control_effect(design, frame, y, frame["treat"].to_numpy(), [])
    assert effect.estimate == pytest.approx(6.5)
    assert effect.se == pytest.approx(math.sqrt(311.75))
    assert effect.method == "policy_profit_difference"
    # the rule columns stand in for rule_difference, and the arm for treat
    ruled = frame.drop(columns=["rule_difference", "treat"]).assign(
        target_breakeven=[1, 0, 1, 0, 1, 1, 0, 1, 0, 1], treatment=[0, 0, 0, 1, 0, 0, 0, 0, 0, 0])
    again = treat_control_effect(design, ruled, y, frame["treat"].to_numpy(), [])
    assert again.estimate == pytest.approx(6.5)


def _results_with(folder: Path, n: int = 3000, cate_scale: float = 1.0) -> Path:
    """A results folder whose predicted CATE is spread ``cate_scale`` times as wide (the CATE
    policy recomputed), with a current practice that is the CATE policy's opposite."""
    folder.mkdir(parents=True, exist_ok=True)
    results = make_results(folder, n=n, seed=5)
    customers = pd.read_parquet(results / "customers.parquet")
    customers["cate"] = 20 + cate_scale * (customers["cate"] - 20)
    customers["target_breakeven"] = (customers["cate"] > COST / MARGIN).astype(int)
    customers["opposite"] = 1 - customers["target_breakeven"]
    customers.to_parquet(results / "customers.parquet", index=False)
    return results


def _comparison(design: object) -> dict:
    return design.details["estimand"]["quantities"]["randomization_comparison"]  # type: ignore


def test_design_takes_treat_control_exactly_when_its_variance_is_smaller(tmp_path: Path) -> None:
    """Current practice = the historical flag: the rules disagree on part of every stratum and
    the spend's level makes treat/control the noisier. Current practice = the opposite of the
    CATE policy, with a wide CATE: the disagreement is fixed by the CATE decile, the profit
    gains spread widely, and treat/control wins. --policy-randomization overrides either way."""
    cases = {"treatment": (_results_with(tmp_path / "a"), "policy_vs_policy"),
             "opposite": (_results_with(tmp_path / "b", cate_scale=4.0), "treat_control")}
    for current, (results, expected) in cases.items():
        request = DesignRequest(results=results, test="policy", current=current,
                                variance_reduction=False)
        auto = plan_design(request)
        comparison = _comparison(auto)
        pp = comparison["variance_per_customer_policy_vs_policy"]
        tc = comparison["variance_per_customer_treat_control"]
        assert auto.policy_randomization == comparison["chosen"] == expected
        assert (tc < pp) == (expected == "treat_control")
        assert auto.details["sd_effective"] ** 2 * 4 == pytest.approx(min(pp, tc))
        assert "more precisely" in comparison["reason"]
        other = "treat_control" if expected == "policy_vs_policy" else "policy_vs_policy"
        forced = plan_design(DesignRequest(results=results, test="policy", current=current,
                                           variance_reduction=False, policy_randomization=other))
        assert forced.policy_randomization == other
        assert forced.details["sd_effective"] ** 2 * 4 == pytest.approx(max(pp, tc))
        assert sum(forced.n_per_arm.values()) > sum(auto.n_per_arm.values())
        assert "asked" in _comparison(forced)["reason"]
        tc_design = auto if expected == "treat_control" else forced
        assert tc_design.arms == ("treatment", "control")
        assert tc_design.strata == ("ps_region", "cate_decile")
        assert tc_design.phase(2).record["arm_policies"]["treatment"].startswith("campaign")


def test_policy_randomization_is_read_back_and_old_designs_are_policy_vs_policy(
        tmp_path: Path) -> None:
    results = _results_with(tmp_path / "r", n=1500)
    design = plan_design(DesignRequest(results=results, test="policy",
                                       policy_randomization="treat_control"))
    path = save_design(tmp_path / "design.json", design)
    assert load_design(path).policy_randomization == "treat_control"
    document = json.loads(path.read_text())
    del document["policy_randomization"]  # a design written before the choice existed
    path.write_text(json.dumps(document))
    assert load_design(path).policy_randomization == "policy_vs_policy"
    document["policy_randomization"] = "coin_flip"
    path.write_text(json.dumps(document))
    with pytest.raises(InputError, match="policy_randomization"):
        load_design(path)
    ate = plan_design(DesignRequest(sd=100, mde=10))
    assert "policy_randomization" not in ate.to_dict()
    with pytest.raises(InputError, match="policy test only"):
        plan_design(DesignRequest(sd=100, mde=10, policy_randomization="treat_control"))
    with pytest.raises(InputError, match="must be one of"):
        plan_design(DesignRequest(results=results, test="policy", policy_randomization="x"))


def _run(*args: str) -> object:
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_cli_treat_control_policy_test_from_design_to_evaluate(tmp_path: Path) -> None:
    results = make_results(tmp_path, n=3000, seed=5)
    design_path = tmp_path / "design.json"
    made = _run("design", results, "--test", "policy", "--policy-randomization",
                "treat_control", "--looks", "2", "-o", design_path)
    assert made.exit_code == 0, made.output
    assert "why treat_control" in made.output
    design = load_design(design_path)
    assert design.policy_randomization == "treat_control"
    out = tmp_path / "assign" / "assignment.parquet"
    assigned = _run("assign", design_path, results, "-o", out)
    assert assigned.exit_code == 0, assigned.output
    table = pd.read_parquet(out)
    customers = pd.read_parquet(results / "customers.parquet")
    tested = table[table["arm"].isin(["treatment", "control"])].merge(customers,
                                                                      on="customer_id")
    assert (tested["treat"] == (tested["arm"] == "treatment")).all()
    assert set(tested.loc[tested["arm"] == "control", "rule"]) == {
        "no campaign (treat/control across the ranking; both rules compared at evaluation)"}
    assert (tested["rule_difference"]
            == tested["target_breakeven"] - tested["treatment"]).all()
    for arm, treated in (("treatment", True), ("control", False)):
        contact = pd.read_csv(out.parent / f"assignment.{arm}.contact.csv")
        expected = tested.loc[(tested["arm"] == arm) & (tested["treat"] == 1), "customer_id"]
        assert set(contact["customer_id"]) == set(expected)
        assert bool(len(contact)) is treated
    assert set(tested["stratum"].str.split("|").str[0]).issuperset({"ps_region=overlap"})
    rng = np.random.default_rng(8)  # spend at the level and spread the design was sized for
    q = design.details["estimand"]["quantities"]
    spend = rng.normal(q["outcome_mean"], design.sd, len(tested)) + tested["treat"] * tested["cate"]
    returns = tested[["customer_id", "arm"]].assign(spend=spend.to_numpy())
    half = returns.sample(frac=0.5, random_state=1)
    half.to_csv(tmp_path / "look1.csv", index=False)
    returns.to_csv(tmp_path / "final.csv", index=False)
    look = _run("interim", design_path, tmp_path / "look1.csv", "--join", out, "--look", "1",
                "--json")
    assert look.exit_code == 0, look.output
    decision = json.loads(look.stdout)
    assert decision["test"] == "policy"
    assert decision["information_fraction"] == pytest.approx(0.5, abs=0.2)
    evaluated = _run("evaluate", design_path, tmp_path / "final.csv", "--join", out,
                     "--look", "2", "--record", tmp_path / "none.json", "-o", tmp_path / "ev")
    assert evaluated.exit_code == 0, evaluated.output
    summary = json.loads((tmp_path / "ev" / "summary.json").read_text())
    assert summary["test_effect"]["method"] == "policy_profit_difference"
    assert "Imai & Li" in summary["test_effect"]["se_type"]
    assert summary["estimand"]["test"] == "policy"
    assert summary["ate"]["estimand"].startswith("ATE")
    assert summary["ate"]["estimate"] == pytest.approx(20, abs=4 * summary["ate"]["se"] + 5)


def test_cli_refuses_a_bad_policy_randomization(tmp_path: Path) -> None:
    results = make_results(tmp_path, n=600, seed=5)
    bad = _run("design", results, "--test", "policy", "--policy-randomization", "coin")
    assert bad.exit_code == 2
    assert "--policy-randomization" in bad.output and "coin" in bad.output
    assert "Traceback" not in bad.output
    wrong_test = _run("design", "--sd", "100", "--mde", "10", "--policy-randomization",
                      "treat_control")
    assert wrong_test.exit_code == 2
    assert "policy test only" in wrong_test.output and "Traceback" not in wrong_test.output


def test_the_comparison_is_made_at_the_design_allocation(tmp_path: Path) -> None:
    """With 70% of the test in the campaign arm both variances are sd_eff^2 / (p (1 - p)) at
    p = 0.7 (treat/control's own sd_eff depends on p too), and the design sizes the smaller."""
    results = _results_with(tmp_path / "r", n=2000, cate_scale=4.0)
    customers = pd.read_parquet(results / "customers.parquet")
    design = plan_design(DesignRequest(results=results, test="policy", current="opposite",
                                       variance_reduction=False, allocation="0.7"))
    comparison = _comparison(design)
    a = customers["target_breakeven"].to_numpy(dtype=float)
    b = customers["opposite"].to_numpy(dtype=float)
    cate = customers["cate"].to_numpy(dtype=float)
    scale = 1 / (0.7 * 0.3)
    pp = scale * policy_estimand(design.sd, MARGIN, COST, a, b, cate).sd_effective ** 2
    assert comparison["variance_per_customer_policy_vs_policy"] == pytest.approx(pp)
    q = design.details["estimand"]["quantities"]
    strata = np.char.add(np.char.add(customers["ps_region"].astype(str).to_numpy(), "|"),
                         cate_deciles(cate, q["cate_decile_edges"]).astype(str))
    mean = design.details["baseline_mean"]
    tc = scale * treat_control_estimand(design.sd, mean, MARGIN, COST, a, b, cate, strata,
                                        share_treated=0.7).sd_effective ** 2
    assert comparison["variance_per_customer_treat_control"] == pytest.approx(tc)
    assert design.policy_randomization == "treat_control" and tc < pp
    assert design.details["sd_effective"] ** 2 * scale == pytest.approx(tc)
