"""Every public result of planning and evaluation shows the same way: dict, table, summary, HTML."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rollout.evaluation import calibration as cal
from rollout.evaluation.effects import adjusted, difference_in_means
from rollout.evaluation.evaluate import evaluate
from rollout.evaluation.interim import interim_decision
from rollout.evaluation.reestimate import dr_learner
from rollout.evaluation.returned import ReturnedData
from rollout.evaluation.sequential_inference import stagewise_inference
from rollout.evaluation.srm import srm_check
from rollout.io import to_json_text
from rollout.planning.assignment import AssignmentPlan, assign_customers
from rollout.planning.design import Design
from rollout.planning.estimands import ate_estimand
from rollout.planning.operating import simulate_operating_characteristics
from rollout.planning.plan import DesignRequest, plan_design
from rollout.planning.power import solve_fixed
from rollout.planning.sequential import sequential_design
from rollout.planning.variance_reduction import cross_validated_r2


def _data(frame: pd.DataFrame, covariates: list[str]) -> ReturnedData:
    return ReturnedData(frame=frame, outcome="purchase_amount", treatment_arm="treatment",
                        control_arm="control", covariates=covariates, source="test")


def _results(make_returned, make_sequential) -> dict[str, object]:
    frame = make_returned(5, n=600)
    design = Design.from_dict(make_sequential(n_per_arm=300))
    data = _data(frame, ["pre_purchase_amount"])
    y, t = data.y, data.t
    sequential = sequential_design([0.5, 1.0])
    planned = plan_design(DesignRequest(sd=100, mde=10, looks=3))
    customers = pd.DataFrame({"customer_id": range(1, 41), "x": np.arange(40.0)})
    score = frame["true_cate"].to_numpy()
    return {
        "Design": planned,
        "SpendingPlan": planned.spending,
        "Look": planned.looks[0],
        "Phase": planned.phases[1],
        "TestEstimand": planned.estimand,
        "Boundaries": planned.spending.boundaries([0.4, 1.0], 0.05, 2),
        "SequentialDesign": sequential,
        "FixedSizing": solve_fixed(sd=100, mde=10),
        "Estimand": ate_estimand(100.0),
        "R2Estimate": cross_validated_r2(y, frame[["pre_purchase_amount"]].to_numpy(), t,
                                         ["pre_purchase_amount"]),
        "OperatingCharacteristics": simulate_operating_characteristics(planned, 10.0,
                                                                       replications=20),
        "AssignmentPlan": AssignmentPlan.from_design(planned),
        "Assignment": assign_customers(customers, {
            "arms": ["treatment", "control"], "allocation": {"treatment": 0.5, "control": 0.5},
            "n_total": 20, "seed": 1}),
        "SRMResult": srm_check({"treatment": 300, "control": 300},
                               {"treatment": 0.5, "control": 0.5}),
        "Effect": difference_in_means(y, t),
        "BLPResult": cal.blp_test(score, y, t, 0.5),
        "RATEResult": cal.rate(score, cal.transformed_outcome(y, t, 0.5)),
        "SequentialEstimate": stagewise_inference([0.5, 1.0], sequential.efficacy_z,
                                                  sequential.harm_z, 1, 3.2, 400.0),
        "InterimDecision": interim_decision(design, data, look=1),
        "Reestimate": dr_learner(data.X, y, t, 0.5, covariates=data.covariates, seed=0),
        "EvaluationResult": evaluate(design, data),
        "adjusted Effect": adjusted(y, t, data.X),
    }


@pytest.fixture(scope="module")
def results() -> dict[str, object]:
    from conftest import returned_frame, sequential_document

    return _results(returned_frame, sequential_document)


NAMES = ["Design", "SpendingPlan", "Look", "Phase", "TestEstimand", "Boundaries",
         "SequentialDesign", "FixedSizing", "Estimand", "R2Estimate",
         "OperatingCharacteristics", "AssignmentPlan", "Assignment", "SRMResult", "Effect",
         "BLPResult", "RATEResult", "SequentialEstimate", "InterimDecision", "Reestimate",
         "EvaluationResult", "adjusted Effect"]


@pytest.mark.parametrize("name", NAMES)
def test_display_contract(results: dict[str, object], name: str) -> None:
    result = results[name]
    document = result.to_dict()
    assert isinstance(document, dict)
    to_json_text(document)  # plain enough to write
    assert isinstance(result.to_pandas(), pd.DataFrame)
    summary = result.summary()
    assert isinstance(summary, pd.DataFrame) and len(summary.columns) > 0
    assert "<table" in result._repr_html_()


def test_evaluation_summary_is_a_table_and_to_dict_the_document(results) -> None:
    result = results["EvaluationResult"]
    assert list(result.summary()["method"]) == [e.method for e in result.effects]
    document = result.to_dict()
    assert document["schema"] == "rollout.evaluation/1"
    assert isinstance(document["strata"], list)
