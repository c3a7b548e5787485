"""`rollout interim` and `rollout evaluate` from the command line: outputs and error paths."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from rollout.cli import cli
from rollout.io import write_json, write_parquet


@pytest.fixture
def files(tmp_path, make_returned, make_sequential):
    design = tmp_path / "design.json"
    write_json(design, make_sequential(n_per_arm=600) | {"strata": ["segment"]})
    frame = make_returned(7, n=2400).drop(columns="true_cate")
    returns = tmp_path / "returns.parquet"
    write_parquet(returns, frame)
    return design, returns, frame


def test_interim_json(files) -> None:
    design, returns, _ = files
    result = CliRunner().invoke(cli, ["interim", str(design), str(returns), "--look", "2",
                                      "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    # 2,400 customers reach 2.8 times the planned information (600 per arm): look 2 is the
    # final analysis; z = 5.44 crosses the remaining efficacy boundary.
    assert doc["decision"] == "stop_efficacy" and doc["final"]
    assert doc["z"] == pytest.approx(doc["estimate"] / doc["se"], rel=1e-9)
    assert doc["information"] == pytest.approx(1 / doc["se"] ** 2, rel=1e-9)
    assert doc["z"] > doc["efficacy_z"]
    for key in ("z", "information_fraction", "conditional_power", "efficacy_z", "futility_z",
                "harm_z"):
        assert key in doc


def test_evaluate_writes_folder_and_is_reproducible(files, tmp_path) -> None:
    design, returns, _ = files
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = CliRunner().invoke(cli, ["evaluate", str(design), str(returns), "-o", str(out),
                                          "--seed", "3", "--json"])
        assert result.exit_code == 0, result.output
        outs.append(out)
    doc = json.loads((outs[0] / "summary.json").read_text())
    assert {"srm", "effect", "reestimation"} <= set(doc)
    assert {"p_value", "flag"} <= set(doc["srm"])
    for rel in ("summary.json", "targets.parquet", "tables/effects.parquet"):
        assert (outs[0] / rel).read_bytes() == (outs[1] / rel).read_bytes(), rel


def test_evaluate_after_an_early_stop_reports_adjusted_inference(files, tmp_path) -> None:
    design, returns, _ = files
    out = tmp_path / "ev"
    result = CliRunner().invoke(cli, ["evaluate", str(design), str(returns), "-o", str(out),
                                      "--look", "1", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    seq = doc["sequential"]
    lin = next(e for e in doc["effect"] if e["method"] == "adjusted")
    # The returned data already exceed the planned maximum information (2.8 times it), so
    # look 1 is the final analysis at the fraction reached, and stage-wise inference reduces
    # to the fixed-sample normal test at the information reached: the Lin estimate, +- z_.975
    # of its SE.
    assert seq["look"] == 1 and len(seq["fractions_used"]) == 1
    assert seq["fractions_used"][0] == pytest.approx(seq["information_fraction"], rel=1e-9)
    assert seq["fractions_used"][0] > 2.5
    z975 = stats.norm.ppf(0.975)
    assert seq["z"] == pytest.approx(lin["estimate"] / lin["se"], rel=1e-9)
    assert seq["estimate"] == pytest.approx(lin["estimate"], rel=1e-5)
    assert seq["ci_low"] == pytest.approx(lin["estimate"] - z975 * lin["se"], rel=1e-5)
    assert seq["ci_high"] == pytest.approx(lin["estimate"] + z975 * lin["se"], rel=1e-5)
    assert seq["p_value_one_sided"] == pytest.approx(stats.norm.sf(seq["z"]), rel=1e-4)


def test_strict_srm_exits_2_and_writes_nothing(files, tmp_path) -> None:
    design, _, frame = files
    skewed = pd.concat([frame, frame[frame["arm"] == "treatment"].assign(
        customer_id=lambda f: f["customer_id"] + 100_000)])
    path = tmp_path / "skewed.parquet"
    write_parquet(path, skewed)
    out = tmp_path / "ev"
    result = CliRunner().invoke(cli, ["evaluate", str(design), str(path), "-o", str(out),
                                      "--strict-srm"])
    assert result.exit_code == 2
    assert "sample-ratio" in result.output
    assert not out.exists()
    loose = CliRunner().invoke(cli, ["evaluate", str(design), str(path), "-o", str(out)])
    assert loose.exit_code == 0 and out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--look", "9"], "look 9"),
        (["--look", "1", "--outcome", "nope"], "nope"),
        (["--look", "1", "--covariates", "ghost"], "ghost"),
        (["--look", "1", "--join", "missing.parquet"], "does not exist"),
        (["--look", "1", "--previous-fractions", "a,b"], "previous-fractions"),
    ],
)
def test_interim_bad_input(files, args, message) -> None:
    design, returns, _ = files
    result = CliRunner().invoke(cli, ["interim", str(design), str(returns), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_bad_design_file(tmp_path, files) -> None:
    _, returns, _ = files
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    out = tmp_path / "ev"
    for cmd in (["interim", str(bad), str(returns), "--look", "1"],
                ["evaluate", str(bad), str(returns), "-o", str(out)],
                ["evaluate", str(tmp_path / "none.json"), str(returns), "-o", str(out)]):
        result = CliRunner().invoke(cli, cmd)
        assert result.exit_code == 2, cmd
        assert not out.exists()


def test_evaluate_with_results_that_do_not_match(files, tmp_path) -> None:
    design, returns, _ = files
    results = tmp_path / "results"
    results.mkdir()
    write_parquet(results / "customers.parquet",
                  pd.DataFrame({"customer_id": [-1, -2], "cate": [1.0, 2.0]}))
    out = tmp_path / "ev"
    result = CliRunner().invoke(cli, ["evaluate", str(design), str(returns), "-o", str(out),
                                      "--results", str(results)])
    assert result.exit_code == 2
    assert "ids do not match" in result.output
    assert not out.exists()


def test_evaluate_plain_design_and_minimal_returns(tmp_path) -> None:
    """A plain sequential design and returns with only id, arm and outcome (no strata)."""
    import numpy as np

    design = tmp_path / "design.json"
    runner = CliRunner()
    made = runner.invoke(cli, ["design", "--sd", "100", "--mde", "10", "--looks", "3",
                               "-o", str(design)])
    assert made.exit_code == 0, made.output
    rng = np.random.default_rng(0)
    n = 400
    returns = tmp_path / "returns.parquet"
    write_parquet(returns, pd.DataFrame({
        "customer_id": np.arange(n), "arm": np.where(np.arange(n) % 2, "treatment", "control"),
        "outcome": rng.normal(100, 100, n)}))
    out = tmp_path / "ev"
    result = runner.invoke(cli, ["evaluate", str(design), str(returns), "--outcome", "outcome",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.exception is None
    strata = pd.read_parquet(out / "tables" / "strata.parquet")
    assert len(strata) == 0 and {"n_treatment", "n_control"} <= set(strata.columns)
    assert (out / "summary.json").exists()


@pytest.mark.parametrize(("key", "value"), [("drift", "2.8"), ("efficacy", "haybittle"),
                                            ("beta", "0.2")])
def test_interim_refuses_a_hand_edited_spending_record(files, key, value) -> None:
    """A string drift (or an unknown spending kind) is an input error naming file and field."""
    design, returns, _ = files
    document = json.loads(design.read_text())
    document["spending"][key] = value
    design.write_text(json.dumps(document))
    for command in (["interim", str(design), str(returns), "--look", "1"],
                    ["evaluate", str(design), str(returns), "-o", str(design.parent / "ev")]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 2, result.output
        assert "design.json" in result.stderr and f"spending.{key}" in result.stderr
        assert "Traceback" not in result.output
        assert not isinstance(result.exception, TypeError)
    assert not (design.parent / "ev").exists()


def test_interim_look_error_names_the_option(files) -> None:
    design, returns, _ = files
    result = CliRunner().invoke(cli, ["interim", str(design), str(returns), "--look", "9"])
    assert result.exit_code == 2
    assert "option --look" in result.stderr and "column" not in result.stderr


def test_the_evaluation_folder_is_read_back_by_its_owner(files, tmp_path) -> None:
    from rollout.evaluation.evaluate import read_evaluation

    design, returns, _ = files
    out = tmp_path / "ev"
    result = CliRunner().invoke(cli, ["evaluate", str(design), str(returns), "-o", str(out)])
    assert result.exit_code == 0, result.output
    folder = read_evaluation(out)
    assert folder.effect("difference_in_means") is not None
    assert list(folder.summary()["method"]) == [e["method"] for e in folder.document["effect"]]
    assert all(p.exists() for p in folder.figures)
    assert folder.srm["p_value"] >= 0 and folder.reestimation["n_scored"] > 0


@pytest.mark.parametrize(("args", "option"), [
    (["--groups", "1"], "option --groups"),
    (["--look", "7"], "option --look"),
    (["--srm-threshold", "2"], "option --srm-threshold"),
])
def test_evaluate_bad_options_name_the_option(files, tmp_path, args, option) -> None:
    design, returns, _ = files
    out = tmp_path / "ev"
    result = CliRunner().invoke(cli, ["evaluate", str(design), str(returns), "-o", str(out),
                                      *args])
    assert result.exit_code == 2, result.output
    assert option in result.stderr
    assert not out.exists()
