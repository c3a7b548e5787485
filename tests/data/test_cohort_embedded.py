"""`rollout cohort --json` on the embedded Complete Journey data: one build shared by every test."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rollout.cli import cli
from rollout.data.completejourney import embedded_data_dir
from rollout.data.contract import load_cohort
from rollout.data.features import COVARIATE_GROUPS, COVARIATES
from rollout.io import read_parquet_metadata


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("embedded") / "cohort.parquet"
    result = CliRunner().invoke(cli, ["cohort", "--json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), out


def test_both_arms_are_non_empty_with_unique_ids(built) -> None:
    doc, path = built
    cohort = load_cohort(path)
    assert cohort.n_treated > 0 and cohort.n_control > 0
    assert (doc["n"], doc["n_treated"], doc["n_control"]) == (cohort.n, cohort.n_treated,
                                                              cohort.n_control)
    assert cohort.frame["customer_id"].is_unique


def test_21_covariates_in_four_groups_without_missing_values(built) -> None:
    doc, path = built
    cohort = load_cohort(path)
    assert len(cohort.roles.covariates) == 21 == len(doc["covariates"])
    assert {k: len(v) for k, v in cohort.roles.covariate_groups.items()} == {
        "rfm": 9, "behavioural": 5, "category": 5, "exposure": 2}
    assert cohort.roles.covariate_groups == COVARIATE_GROUPS
    frame = cohort.frame
    columns = [*COVARIATES, *cohort.roles.outcomes, *cohort.roles.pre_outcomes.values(),
               *cohort.roles.carried]
    assert frame[columns].notna().all().all()
    assert np.isfinite(frame[columns].to_numpy(dtype=float)).all()
    # Shares and rates lie in [0, 1]; counts are at least 1 before the index week.
    rates = ["share_grocery", "share_fresh", "share_health_beauty", "share_fuel",
             "share_frozen", "display_exposure_rate", "mailer_exposure_rate", "discount_rate",
             "coupon_rate", "private_label_ratio", "purchase_regularity"]
    assert ((frame[rates] >= 0) & (frame[rates] <= 1)).all().all()
    assert (frame[["frequency", "active_weeks", "n_stores", "recency_weeks"]] >= 1).all().all()


def test_roles_in_the_metadata(built) -> None:
    doc, path = built
    meta = read_parquet_metadata(path)
    assert meta["outcomes"] == ["purchase_amount", "purchase_count"] == doc["outcomes"]
    assert meta["pre_outcomes"] == {"purchase_amount": "pre_purchase_amount",
                                    "purchase_count": "pre_purchase_count"}
    assert meta["index_week"] == "index_week"
    assert meta["carried"] == ["window_retail_disc", "window_coupon_disc",
                               "window_campaign_coupon_disc"]


def test_attrition_adds_up(built) -> None:
    doc, path = built
    attrition = pd.read_parquet(path.with_name("cohort.attrition.parquet"))
    assert attrition.to_dict(orient="records") == doc["attrition"]
    assert (attrition["n_total"] == attrition["n_treated"] + attrition["n_control"]).all()
    assert attrition["n_total"].iloc[0] - attrition["dropped"].sum() == doc["n"]
    assert attrition["n_treated"].iloc[-1] == doc["n_treated"]
    households = duckdb.execute(
        "SELECT COUNT(DISTINCT household_id) FROM read_parquet(?)",
        [str(embedded_data_dir() / "transactions.parquet")]).fetchone()[0]
    assert attrition["n_total"].iloc[0] == households  # every household of the embedded data


def test_treated_are_indexed_at_campaign_starts_and_controls_share_those_weeks(built) -> None:
    _, path = built
    frame = load_cohort(path).frame
    treated_weeks = set(frame.loc[frame["treatment"] == 1, "index_week"])
    control_weeks = set(frame.loc[frame["treatment"] == 0, "index_week"])
    assert control_weeks <= treated_weeks
    assert len(treated_weeks) >= 2
