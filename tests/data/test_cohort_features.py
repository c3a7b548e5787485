"""The feature SQL against an independent pandas computation and against hand-worked cases."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from rollout.data.features import CARRIED, COVARIATES, OUTCOMES, PRE_OUTCOMES, compute_features

from .synthetic_history import (
    CALENDAR,
    FIRST_WEEK,
    load,
    make_history,
    make_index,
    reference_features,
)

COLUMNS = [*OUTCOMES, *COVARIATES, *PRE_OUTCOMES.values(), *CARRIED]


def _sql_features(history: dict[str, pd.DataFrame], index: pd.DataFrame,
                  campaigns: pd.DataFrame, window_weeks: int) -> pd.DataFrame:
    con = duckdb.connect()
    load(con, history)
    try:
        return compute_features(con, index, campaigns, window_weeks, FIRST_WEEK)
    finally:
        con.close()


@pytest.mark.parametrize("seed", [7, 23])
def test_sql_matches_independent_pandas_reference(seed: int) -> None:
    history = make_history(seed=seed)
    index, campaigns = make_index(history, seed=seed)
    assert len(index) > 20
    window_weeks = 2
    got = _sql_features(history, index, campaigns, window_weeks)
    want = reference_features(history, index, campaigns, window_weeks)
    assert got["customer_id"].tolist() == want["customer_id"].tolist()
    for column in COLUMNS:
        np.testing.assert_allclose(got[column].to_numpy(dtype=float),
                                   want[column].to_numpy(dtype=float), rtol=1e-12, atol=1e-12,
                                   err_msg=column)
    # The synthetic world exercises the edge cases the fill rules are for.
    assert (want["purchase_count"] == 0).any()
    assert (want["window_campaign_coupon_disc"] > 0).any()
    assert (got[COLUMNS].notna().all()).all()


def _one_customer_history(promotions: pd.DataFrame) -> dict[str, pd.DataFrame]:
    # Customer 1, calendar phase 3: week 2 starts on day 5, week 3 on day 12, week 4 on day 19.
    tx = pd.DataFrame({
        "customer_id": [1, 1, 1, 1],
        "basket_id": [10, 10, 11, 12],
        "product_id": [500, 501, 500, 500],
        "store_id": [1, 1, 2, 1],
        "quantity": [1, 1, 1, 1],
        "sales_value": [2.00, 6.00, 4.00, 10.00],
        "retail_disc": [0.50, 0.00, 0.50, 0.00],
        "coupon_disc": [0.00, 1.00, 0.00, 0.00],
        "coupon_match_disc": [0.00, 0.00, 0.00, 0.00],
        "day_no": [5, 5, 13, 20],
    })
    tx["week_no"] = CALENDAR.weeks_of_days(tx["day_no"].to_numpy())
    products = pd.DataFrame({"product_id": [500, 501], "department": ["PRODUCE", "GROCERY"],
                             "category": ["APPLES", "FRZN MEAT/MEAT DINNERS"],
                             "brand": ["Private", "National"]})
    empty_coupons = pd.DataFrame({"coupon_upc": pd.Series([], dtype="int64"),
                                  "product_id": pd.Series([], dtype="int64"),
                                  "campaign_id": pd.Series([], dtype="int64")})
    empty_red = pd.DataFrame({"customer_id": pd.Series([], dtype="int64"),
                              "coupon_upc": pd.Series([], dtype="int64"),
                              "campaign_id": pd.Series([], dtype="int64"),
                              "day_no": pd.Series([], dtype="int64")})
    return {"transactions": tx, "products": products, "promotions": promotions,
            "coupons": empty_coupons, "coupon_redemptions": empty_red}


def _index(week: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    index = pd.DataFrame({"customer_id": [1], "treatment": [1], "index_week": [week],
                          "index_day": [CALENDAR.first_day_of_week(week)]})
    return index, pd.DataFrame({"customer_id": [1], "campaign_id": [9]})


def test_hand_worked_customer() -> None:
    promotions = pd.DataFrame({"product_id": [500], "store_id": [1], "week_no": [2],
                               "on_display": [1], "in_mailer": [0]})
    history = _one_customer_history(promotions)
    index, campaigns = _index(week=4)  # pre-period: weeks 1-3 (days up to 18)
    row = _sql_features(history, index, campaigns, window_weeks=0).iloc[0]
    # Pre-period: baskets 10 (day 5, week 2: $2 produce + $6 frozen grocery) and 11 (day 13,
    # week 3: $4 produce); the index week (4) holds basket 12 ($10).
    assert row["frequency"] == 2
    assert row["recency_weeks"] == 1
    assert row["frequency_per_week"] == pytest.approx(2 / 3)
    assert row["monetary_sales"] == pytest.approx(12 / 3)
    assert row["monetary_avg_basket_sales"] == pytest.approx(6.0)
    assert row["days_between_purchases_avg"] == pytest.approx(8.0)
    assert row["purchase_regularity"] == 0.0  # one gap: no rhythm to measure
    assert row["active_weeks"] == 2 and row["n_stores"] == 2
    assert row["discount_rate"] == pytest.approx(1.0 / 13.0)
    assert row["coupon_rate"] == pytest.approx(0.5)
    assert row["private_label_ratio"] == pytest.approx(6 / 12)
    assert row["share_fresh"] == pytest.approx(6 / 12)
    assert row["share_grocery"] == pytest.approx(6 / 12)
    assert row["share_frozen"] == pytest.approx(6 / 12)
    assert row["display_exposure_rate"] == pytest.approx(1 / 3)
    assert row["mailer_exposure_rate"] == 0.0
    assert row["purchase_amount"] == pytest.approx(10.0) and row["purchase_count"] == 1
    assert row["pre_purchase_amount"] == pytest.approx(4.0)  # window 0: one week before (3)


def test_single_purchase_day_fill_rule() -> None:
    history = _one_customer_history(pd.DataFrame(
        {"product_id": [0], "store_id": [0], "week_no": [0], "on_display": [0],
         "in_mailer": [0]}))
    index, campaigns = _index(week=3)  # only day 5 is before week 3 (which starts on day 12)
    row = _sql_features(history, index, campaigns, window_weeks=0).iloc[0]
    assert row["days_between_purchases_avg"] == pytest.approx(12 - 5)
    assert row["purchase_regularity"] == 0.0


def test_repeated_promotion_keys_count_once() -> None:
    # The key (500, 1, week 2) is listed three times; its purchase must count once.
    promotions = pd.DataFrame({"product_id": [500, 500, 500], "store_id": [1, 1, 1],
                               "week_no": [2, 2, 2], "on_display": [1, 1, 0],
                               "in_mailer": [1, 0, 0]})
    history = _one_customer_history(promotions)
    index, campaigns = _index(week=4)
    row = _sql_features(history, index, campaigns, window_weeks=0).iloc[0]
    assert row["display_exposure_rate"] == pytest.approx(1 / 3)
    assert row["mailer_exposure_rate"] == pytest.approx(1 / 3)
    assert row["frequency"] == 2 and row["monetary_sales"] == pytest.approx(4.0)
