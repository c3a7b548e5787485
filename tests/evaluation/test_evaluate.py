"""The evaluate pipeline end to end on returned data with known truth."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rollout.errors import InputError
from rollout.evaluation.evaluate import evaluate, write_evaluation
from rollout.evaluation.returned import load_returned
from rollout.io import write_parquet


def _results_folder(tmp_path, frame: pd.DataFrame, informative: bool):
    folder = tmp_path / "results"
    folder.mkdir()
    # A random score passes the BLP test by chance 5% of the time (size checked in
    # test_calibration); seed 1 is not one of those draws.
    rng = np.random.default_rng(1)
    cate = frame["true_cate"] + rng.normal(0, 2, len(frame)) if informative else \
        rng.normal(0, 5, len(frame))
    write_parquet(folder / "customers.parquet", pd.DataFrame({
        "customer_id": frame["customer_id"], "cate": cate,
        "target_breakeven": (cate > 1 / 0.3).astype(int),
        "treatment": rng.integers(0, 2, len(frame))}))
    return folder


def test_evaluate_recovers_effect_and_validates_a_good_model(
        tmp_path, design, make_returned) -> None:
    frame = make_returned(1).drop(columns="true_cate")
    truth = make_returned(1)["true_cate"].mean()
    path = tmp_path / "returns.parquet"
    write_parquet(path, frame)
    data = load_returned(path, design)
    assert data.covariates == ["pre_purchase_amount"]
    result = evaluate(design, data, results=_results_folder(tmp_path, make_returned(1), True))
    by_method = {e.method: e for e in result.effects}
    assert set(by_method) == {"difference_in_means", "adjusted", "stratified"}
    for e in by_method.values():
        assert e.ci_low < truth < e.ci_high
    assert by_method["adjusted"].se < by_method["difference_in_means"].se
    assert not result.srm.flag
    assert result.calibration["verdict"] == "validated"
    assert result.reestimation["n_scored"] == len(frame)
    out = write_evaluation(result, tmp_path / "eval")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["srm"]["flag"] is False
    assert {r["method"] for r in summary["effect"]} == set(by_method)
    assert (out / "figures" / "calibration.png").exists()
    assert pd.read_parquet(out / "targets.parquet")["customer_id"].is_unique


def test_uninformative_model_is_not_validated(tmp_path, design, make_returned) -> None:
    frame = make_returned(2)
    path = tmp_path / "returns.parquet"
    write_parquet(path, frame.drop(columns="true_cate"))
    result = evaluate(design, load_returned(path, design),
                      results=_results_folder(tmp_path, frame, informative=False))
    assert result.calibration["verdict"] == "not_validated"


def test_a_constant_observational_cate_is_not_estimable_not_a_crash(
        tmp_path, design, make_returned) -> None:
    frame = make_returned(2)
    path = tmp_path / "returns.parquet"
    write_parquet(path, frame.drop(columns="true_cate"))
    folder = _results_folder(tmp_path, frame, informative=False)
    customers = pd.read_parquet(folder / "customers.parquet").assign(cate=12.0)
    write_parquet(folder / "customers.parquet", customers)
    result = evaluate(design, load_returned(path, design), results=folder)
    assert result.calibration["verdict"] == "not_estimable"
    assert result.calibration["blp"]["slope"] is None
    summary = json.loads((write_evaluation(result, tmp_path / "eval") / "summary.json")
                         .read_text())
    assert summary["calibration"]["blp"]["estimable"] is False


def test_srm_is_loud_but_completes(tmp_path, design, make_returned) -> None:
    frame = make_returned(3, n=4000).drop(columns="true_cate")
    drop = frame.index[(frame["arm"] == "control")][:300]
    path = tmp_path / "returns.parquet"
    write_parquet(path, frame.drop(index=drop))
    result = evaluate(design, load_returned(path, design))
    assert result.srm.flag
    assert any("suspect" in w for w in result.warnings)


def test_outcomes_declared_in_metadata_are_never_covariates(
        tmp_path, design, make_returned) -> None:
    frame = make_returned(4).drop(columns="true_cate")
    frame["purchase_count"] = np.arange(len(frame)) % 7
    path = tmp_path / "returns.parquet"
    write_parquet(path, frame, metadata={"outcomes": ["purchase_amount", "purchase_count"]})
    assert load_returned(path, design).covariates == ["pre_purchase_amount"]


@pytest.mark.parametrize(
    ("change", "column"),
    [
        (lambda f: f.drop(columns="arm"), "arm"),
        (lambda f: f.drop(columns="purchase_amount"), "purchase_amount"),
        (lambda f: f.assign(customer_id=1), "customer_id"),
        (lambda f: f.assign(pre_purchase_amount=np.nan), "pre_purchase_amount"),
        (lambda f: f.assign(arm="holdout"), "arm"),
    ],
)
def test_bad_returned_data(tmp_path, design, make_returned, change, column) -> None:
    path = tmp_path / "returns.parquet"
    write_parquet(path, change(make_returned(5).drop(columns="true_cate")))
    with pytest.raises(InputError) as info:
        load_returned(path, design)
    assert info.value.column == column
