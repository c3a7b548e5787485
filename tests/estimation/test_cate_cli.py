"""`rollout analyze` CATE options end to end: outputs, determinism, model file, bad input."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rollout.cli import cli
from rollout.errors import InputError
from rollout.estimation.cate.persistence import load_cate_model, score_customers

FAST_MODELS = "t_learner,s_learner"


def small_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Two outcomes, three covariates; the spend effect grows with x1."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    t = rng.binomial(1, 1 / (1 + np.exp(-0.8 * X[:, 0])))
    spend = 50 + 10 * X[:, 0] + t * (5 + 6 * X[:, 1]) + rng.normal(scale=8, size=n)
    visits = np.round(np.clip(3 + X[:, 1] + t + rng.normal(size=n), 0, None))
    frame = pd.DataFrame({"customer_id": np.arange(1, n + 1), "treatment": t, "spend": spend,
                          "visits": visits})
    for j in range(3):
        frame[f"x{j}"] = X[:, j]
    return frame


@pytest.fixture(scope="module")
def cohort_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cohort") / "cohort.parquet"
    small_frame().to_parquet(path)
    return path


def _run(cohort: Path, out: Path, *extra: str):
    return CliRunner().invoke(cli, ["analyze", str(cohort), "-o", str(out), "--outcome",
                                    "spend,visits", "--seed", "3", "--models", FAST_MODELS,
                                    "--json", *extra])


@pytest.fixture(scope="module")
def results(cohort_file, tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("run") / "results"
    return out, _run(cohort_file, out)


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_summary_tables_and_customer_columns(results) -> None:
    out, run = results
    assert run.exit_code == 0, run.output
    summary = json.loads((out / "summary.json").read_text())
    assert json.loads(run.stdout) == summary
    records = summary["cate_models"]
    assert {(r["outcome"], r["model"]) for r in records} == {
        (o, m) for o in ("spend", "visits") for m in ("t_learner", "s_learner", "stacked")}
    for r in records:
        for key in ("mean", "sd", "share_positive", "r_loss", "blp_slope", "blp_se", "blp_p",
                    "auuc", "auuc_ci_low", "auuc_ci_high", "qini", "qini_ci_low",
                    "qini_ci_high", "selected", "flagged", "flag_reason"):
            assert key in r, key
        assert r["auuc_ci_low"] < r["auuc"] < r["auuc_ci_high"]
    for outcome in ("spend", "visits"):
        assert sum(r["selected"] for r in records if r["outcome"] == outcome) == 1
    selections = {s["outcome"]: s for s in summary["cate_selection"]}
    sel = selections["spend"]
    fitted = {"t_learner", "s_learner", "stacked"}
    assert sel["selected"] in fitted and "R-loss" in sel["rule"]
    assert sel["runner_up"] in fitted and sel["runner_up"] != sel["selected"]
    assert sum(sel["selection_frequency"].values()) == pytest.approx(1.0)
    assert sel["best_by_loss"] in sel["tied"]
    (stack,) = [s for s in summary["cate_stack"] if s["outcome"] == "spend"]
    assert set(stack["weights"]) == {"t_learner", "s_learner"}
    assert all(w >= 0 for w in stack["weights"].values())
    assert sel["margin_ci_low"] <= sel["margin"] <= sel["margin_ci_high"]
    assert {r["region"] for r in summary["cate_by_region"]} == {
        "overlap", "near_boundary", "extreme_low", "extreme_high"}
    (refutation,) = summary["refutation"]
    assert refutation["model"] == sel["selected"] and refutation["placebo_permutations"] >= 20
    assert isinstance(refutation["placebo_pass"], bool)
    customers = pd.read_parquet(out / "customers.parquet")
    for column in ("cate", "cate_lower", "cate_upper", "cate_t_learner", "cate_s_learner",
                   "cate_split"):
        assert column in customers.columns, column
    assert customers["cate"].notna().all()
    assert (customers["cate_split"] == "test").mean() == pytest.approx(0.2, abs=0.01)
    for name in ("cate_models", "cate_selection", "cate_by_region", "refutation",
                 "cate_uplift_curves"):
        assert (out / "tables" / f"{name}.parquet").exists()
    assert {"figures/cate_distributions.png", "figures/cate_uplift.png"} <= set(
        summary["files"]["figures"])


def test_same_seed_same_bytes(results, cohort_file, tmp_path) -> None:
    out, _ = results
    again = tmp_path / "again"
    assert _run(cohort_file, again).exit_code == 0
    assert _digest(again) == _digest(out)


def test_model_file_loads_only_with_its_checksum(results, tmp_path) -> None:
    out, _ = results
    summary = json.loads((out / "summary.json").read_text())
    record = summary["cate_model"]
    assert record["file"] == "model.joblib"
    assert hashlib.sha256((out / "model.joblib").read_bytes()).hexdigest() == record["sha256"]
    model, _ = load_cate_model(out)
    customers = pd.read_parquet(out / "customers.parquet")
    frame = small_frame()
    np.testing.assert_allclose(score_customers(out, frame), customers["cate"].to_numpy())
    assert model is not None
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    (tampered / "summary.json").write_text(json.dumps(summary))
    (tampered / "model.joblib").write_bytes((out / "model.joblib").read_bytes() + b"\0")
    with pytest.raises(InputError, match="SHA-256"):
        load_cate_model(tampered)


def test_linear_model_structure_is_plain_json(cohort_file, tmp_path) -> None:
    out = tmp_path / "r"
    run = _run(cohort_file, out, "--models", "linear_dml,t_learner", "--model", "linear_dml",
               "--validate", "none")
    assert run.exit_code == 0, run.output
    summary = json.loads((out / "summary.json").read_text())
    structure = summary["cate_model"]["structure"]
    assert [c["covariate"] for c in structure["coefficients"]] == ["x0", "x1", "x2"]
    frame = small_frame()
    by_hand = structure["intercept"] + sum(
        c["coefficient"] * frame[c["covariate"]] for c in structure["coefficients"])
    customers = pd.read_parquet(out / "customers.parquet")
    np.testing.assert_allclose(by_hand, customers["cate"], rtol=1e-6, atol=1e-6)
    low, high = customers["cate_linear_dml_lower"], customers["cate_linear_dml_upper"]
    assert (low <= customers["cate_linear_dml"]).all() and (customers["cate_linear_dml"]
                                                             <= high).all()
    spend = next(s for s in summary["cate_selection"] if s["outcome"] == "spend")
    assert spend["selected"] == "linear_dml" and spend["overridden"]
    assert summary["refutation"] == []
    # the effect grows with x1 by 6 per unit; the linear CATE should find it
    x1 = next(c for c in structure["coefficients"] if c["covariate"] == "x1")
    assert x1["ci_low"] < 6 < x1["ci_high"]
    assert abs(x1["coefficient"] - 6) < 1.5


@pytest.mark.parametrize(("args", "message"), [
    (["--models", "t_learner,magic_forest"], "magic_forest"),
    (["--model", "magic_forest"], "known models"),
    (["--models", "t_learner", "--model", "linear_dml"],
     "option --model: 'linear_dml' is not among"),
    (["--validate", "sometimes"], "selected, all, none"),
    (["--tune", "-1"], "--tune"),
])
def test_bad_cate_options_exit_2_and_write_nothing(cohort_file, tmp_path, args,
                                                   message) -> None:
    out = tmp_path / "never"
    run = CliRunner().invoke(cli, ["analyze", str(cohort_file), "-o", str(out), *args])
    assert run.exit_code == 2, run.output
    assert message in run.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_tune_without_optuna_says_how_to_install(cohort_file, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna now raises ImportError
    out = tmp_path / "never"
    run = CliRunner().invoke(cli, ["analyze", str(cohort_file), "-o", str(out), "--tune", "5"])
    assert run.exit_code == 2, run.output
    assert "pip install" in run.stderr and "optuna" in run.stderr
    assert not out.exists()


def test_terminal_output_shows_the_models_the_choice_and_the_regions(cohort_file,
                                                                     tmp_path) -> None:
    out = tmp_path / "r"
    run = CliRunner().invoke(cli, ["analyze", str(cohort_file), "-o", str(out), "--outcome",
                                   "spend", "--models", "s_learner,t_learner", "--validate",
                                   "none"])
    assert run.exit_code == 0, run.output
    assert "CATE models" in run.stdout and "CATE model for spend" in run.stdout
    assert "CATE by propensity region" in run.stdout
    assert "rule: lowest R-loss" in run.stdout


def test_validate_all_refutes_every_model_of_every_outcome(cohort_file, tmp_path) -> None:
    out = tmp_path / "r"
    run = _run(cohort_file, out, "--validate", "all")
    assert run.exit_code == 0, run.output
    summary = json.loads((out / "summary.json").read_text())
    refuted = {(r["outcome"], r["model"]) for r in summary["refutation"]}
    assert refuted == {(o, m) for o in ("spend", "visits")
                       for m in ("t_learner", "s_learner", "stacked")}
    for record in summary["refutation"]:
        assert len(record["placebo_sds"]) == record["placebo_permutations"] == 20
        assert len(record["stability_correlations"]) == record["stability_splits"]
