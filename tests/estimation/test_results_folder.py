"""The stages' typed results, the results folder's owner, and old model files."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import types

import joblib
import numpy as np
import pandas as pd
import pytest

from rollout.analysis import AnalysisResult, analyze, write_results
from rollout.data.contract import Cohort
from rollout.errors import InputError
from rollout.estimation.cate.persistence import load_cate_model
from rollout.estimation.cate.stage import CateOptions, CateResult
from rollout.estimation.core import CoreResult
from rollout.estimation.results_folder import (
    Breakeven,
    ResultsFolder,
    cate_columns,
    policy_targets,
)
from rollout.policy.stage import PolicySettings, PolicyStageResult


def small_cohort(n: int = 400, seed: int = 0) -> Cohort:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    t = rng.binomial(1, 1 / (1 + np.exp(-X[:, 0])))
    spend = 50 + 10 * X[:, 0] + (5 + 4 * X[:, 1]) * t + rng.normal(scale=10, size=n)
    frame = pd.DataFrame({"customer_id": np.arange(n), "treatment": t, "spend": spend})
    for j in range(3):
        frame[f"x{j}"] = X[:, j]
    return Cohort.from_frame(frame, outcomes=["spend"])


@pytest.fixture(scope="module")
def result() -> AnalysisResult:
    return analyze(small_cohort(), seed=3, folds=3,
                   cate=CateOptions(models=("t_learner", "linear_dml"), validate="none"),
                   policy=PolicySettings(cost=1.0, margin=0.3, trees=()))


@pytest.fixture(scope="module")
def folder(result, tmp_path_factory) -> ResultsFolder:
    return write_results(result, tmp_path_factory.mktemp("r") / "results")


def test_stages_return_frozen_typed_results(result) -> None:
    assert isinstance(result.core, CoreResult)
    assert isinstance(result.cate, CateResult)
    assert isinstance(result.policy, PolicyStageResult)
    with pytest.raises(AttributeError):
        result.cate.model_record = None  # type: ignore[misc]
    # the policy stage read the CATE stage's arrays: its deployed list is CATE > breakeven
    breakeven = result.policy.breakeven_cate
    assert breakeven == pytest.approx(1.0 / 0.3)
    np.testing.assert_array_equal(result.policy.targets["breakeven"],
                                  (result.cate.columns.cate > breakeven).astype(np.int64))


def test_every_result_shows_as_a_table(result) -> None:
    core, cate, policy = result.core, result.cate, result.policy
    parts = [result, core, cate, policy, core.positivity, core.balance, core.effects[0],
             core.trimming, core.bounds[0], core.evalues[0], core.assumptions,
             cate.outcomes[0], cate.outcomes[0].selection, cate.outcomes[0].fits[0],
             core.nuisances, core.nuisances.outcomes["spend"], cate.columns]
    for part in parts:
        assert isinstance(part.summary(), pd.DataFrame), type(part).__name__
        assert isinstance(part.to_pandas(), pd.DataFrame), type(part).__name__
        assert "<table" in part._repr_html_(), type(part).__name__
    assert set(result.summary()["outcome"]) == {"spend"}
    assert "cate_models" in cate.to_dict() and "policies" in policy.to_dict()


def test_the_cli_document_is_the_file_written(result, folder) -> None:
    on_disk = json.loads(folder.summary_path.read_text(encoding="utf-8"))
    assert json.loads(json.dumps(folder.document, default=str)).keys() == on_disk.keys()
    assert ResultsFolder.open(folder.path).document == on_disk


def test_typed_accessors(result, folder) -> None:
    again = ResultsFolder.open(folder.path)
    assert again.breakeven() == Breakeven(cost=1.0, margin=0.3, breakeven_cate=1.0 / 0.3)
    assert again.recommended("spend")["estimate"] == result.core.recommended[0]["estimate"]
    assert again.estimate("ate", "spend", method="aipw") == next(
        e.estimate for e in result.effects if e.method == "aipw")
    customers = again.customers()
    assert cate_columns(customers)[:3] == ["cate", "cate_lower", "cate_upper"]
    np.testing.assert_array_equal(policy_targets(customers, "breakeven"),
                                  result.policy.targets["breakeven"])
    assert policy_targets(customers, "no_such_policy") is None
    assert [p.name for p in again.figures()] == sorted(p.name for p in again.figures())
    assert {"ps_histogram.png", "cate_uplift.png", "segment_cate.png"} <= {
        p.name for p in again.figures()}
    assert again.options["folds"] == 3 and again.outcomes == ["spend"]
    assert again.cate_model()["model"] == result.cate.selected
    assert "breakeven" in again.policy_names()


def test_a_folder_without_summary_is_refused(tmp_path) -> None:
    with pytest.raises(InputError, match=r"missing summary\.json"):
        ResultsFolder.open(tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        ResultsFolder.open(tmp_path / "nothing")


def _with_model_bytes(folder: ResultsFolder, target, data: bytes):
    """A copy of the results folder whose model file is ``data``, its checksum recorded."""
    summary = dict(folder.document)
    summary["cate_model"] = {**summary["cate_model"], "sha256": hashlib.sha256(data).hexdigest()}
    target.mkdir()
    (target / "summary.json").write_text(json.dumps(summary, default=str), encoding="utf-8")
    (target / "model.joblib").write_bytes(data)
    return target


def _pickle_naming(module_name: str, class_name: str) -> bytes:
    """The pickle of an object whose class lives in ``module_name`` (gone once this returns)."""
    module = types.ModuleType(module_name)
    cls = type(class_name, (), {"__module__": module_name})
    setattr(module, class_name, cls)
    real = sys.modules.get(module_name)  # a real module is put back, never dropped
    sys.modules[module_name] = module
    try:
        buffer = io.BytesIO()
        joblib.dump(cls(), buffer, compress=0)
        return buffer.getvalue()
    finally:
        if real is not None:
            sys.modules[module_name] = real
        else:
            del sys.modules[module_name]


def test_the_current_model_file_loads(folder) -> None:
    model, record = load_cate_model(folder.path)
    assert record["model"] == folder.document["cate_model"]["model"]
    assert model is not None


@pytest.mark.parametrize(("module_name", "class_name"), [
    ("rollout.estimation.cate.step_models_of_old", "LinearDmlModel"),  # a module that moved
    ("rollout.estimation.cate.learners", "RenamedLearner"),            # a class that moved
])
def test_an_old_model_file_is_refused_with_advice(folder, tmp_path, module_name,
                                                  class_name) -> None:
    data = _pickle_naming(module_name, class_name)
    if module_name in sys.modules:  # the real module: drop the planted class again
        assert not hasattr(sys.modules[module_name], class_name)
    old = _with_model_bytes(folder, tmp_path / "old", data)
    with pytest.raises(InputError, match="re-run rollout analyze") as info:
        load_cate_model(old)
    assert "model.joblib" in str(info.value)


def test_a_damaged_model_file_is_refused(folder, tmp_path) -> None:
    old = _with_model_bytes(folder, tmp_path / "damaged", b"not a pickle at all")
    with pytest.raises(InputError, match="re-run rollout analyze"):
        load_cate_model(old)
