"""The feature engine: pre-treatment covariates, outcomes and window discounts, in portable SQL.

Engine choice: DuckDB, columnar and in-process, not pandas. The features are aggregations over
1.5 million purchase lines joined to a 21-million-row promotions table; in earlier measurements
a representative feature query took 1.4-2.2 s and 640 MB in DuckDB against 8.7-11.7 s and
2.1 GB in pandas on two cores (``benchmarks/cohort_build.py`` re-measures the whole build). The
definitions live in one place, ``features.sql``, written in standard SQL that Spark SQL runs
unchanged (``rollout cohort --engine spark``; the tests hold both engines' cohorts equal), so a
larger retailer moves the feature step to a cluster without a second copy of the definitions.

Covariates (21, in four groups), all measured strictly before the index week and expressed as
rates or shares so that households indexed in different weeks are comparable. "Pre-period"
means every week of data before the index week; ``pre_weeks`` = index week - first week of data.

RFM (9)
    ``recency_weeks`` index week minus the week of the last purchase (>= 1);
    ``frequency`` baskets in the pre-period; ``frequency_per_week`` baskets / pre_weeks;
    ``monetary_sales`` sales per pre-period week; ``monetary_avg_basket_sales`` sales per
    basket; ``days_between_purchases_avg`` mean gap in days between consecutive distinct
    purchase days, (last day - first day) / (purchase days - 1); with a single purchase day the
    gap is undefined and is filled with the days from that purchase to the start of the index
    week (a lower bound on the next gap); ``purchase_regularity`` 1 / (1 + CV) of those gaps (CV =
    population standard deviation / mean), 1 for a perfectly regular rhythm and towards 0 for an
    erratic one; with fewer than two gaps no rhythm can be seen and it is 0;
    ``active_weeks`` distinct weeks with a purchase; ``n_stores`` distinct stores.
behavioural (5)
    ``discount_rate`` loyalty (retail) discount / (sales + loyalty discount), the share of the
    shelf value given as discount; ``coupon_rate`` share of baskets with a coupon discount;
    ``private_label_ratio`` share of sales on private-label products; ``n_departments``,
    ``n_products`` distinct departments and products bought.
category (5), shares of pre-period sales (0 when sales are 0)
    ``share_grocery`` the GROCERY department (dry, dairy and frozen grocery);
    ``share_fresh`` produce, meat (counter and packaged), deli, seafood (counter and packaged),
    salad bar and bakery (PASTRY); ``share_health_beauty`` cosmetics and the health and beauty
    care categories of the drug department (hair, oral, skin and shaving care, deodorants,
    feminine hygiene, remedies, vitamins, first aid...); ``share_fuel`` the fuel centre (FUEL,
    or KIOSK-GAS in the Dunnhumby CSVs); ``share_frozen`` frozen food (categories FRZN*,
    FROZEN*, ICE CREAM*). Fuel and frozen were chosen because they separate shoppers: on the
    full year of embedded data fuel is bimodal (half the households never buy it, a few buy
    mostly fuel; SD 0.10 around a mean of 0.05) and marks trip-driven fuel-centre shoppers;
    frozen (SD 0.07 around 0.09) marks convenience-meal baskets. Both correlate weakly with the
    other shares (|r| <= 0.4), where the drug/general-merchandise share was redundant with
    health and beauty (r = 0.45).
exposure (2)
    ``display_exposure_rate``, ``mailer_exposure_rate``: share of the household's pre-period
    purchase lines whose (product, store, week) was on display / in the weekly mailer. The
    promotions table repeats some keys; it is collapsed to one row per key before joining.

Outcomes, over the outcome window (the index week and the ``window_weeks`` weeks after it, so
``window_weeks + 1`` weeks): ``purchase_amount`` (sum of sales value, $) and ``purchase_count``
(baskets). Pre-period outcomes ``pre_purchase_amount`` and ``pre_purchase_count`` are the same
sums over the ``window_weeks + 1`` weeks just before the index week. Carried, not covariates:
``window_retail_disc`` (loyalty discounts in the outcome window), ``window_coupon_disc`` (all
coupon discounts, including the retailer's match of manufacturer coupons) and
``window_campaign_coupon_disc`` (the part of those paid with coupons of the household's index
campaign: lines of a product the coupon covers, on a day the household redeemed that campaign's
coupon; for a control household the campaigns of the type starting in its index week, which
it was not sent, so usually 0). This is a lower bound: on the embedded data only about half of
the treated households' redemptions of their index campaign in the window have a discounted
line of a covered product that day; the others record the discount on another line (often a
product-less coupon line of zero sales value, which cannot be tied to one coupon) or not at all.
"""

from __future__ import annotations

from importlib import resources

import duckdb
import pandas as pd

from rollout.data.engines import SqlEngine, as_engine

RFM = [
    "recency_weeks", "frequency", "frequency_per_week", "monetary_sales",
    "monetary_avg_basket_sales", "days_between_purchases_avg", "purchase_regularity",
    "active_weeks", "n_stores",
]
BEHAVIOURAL = ["discount_rate", "coupon_rate", "private_label_ratio", "n_departments",
               "n_products"]
CATEGORY = ["share_grocery", "share_fresh", "share_health_beauty", "share_fuel", "share_frozen"]
EXPOSURE = ["display_exposure_rate", "mailer_exposure_rate"]
COVARIATE_GROUPS: dict[str, list[str]] = {
    "rfm": RFM, "behavioural": BEHAVIOURAL, "category": CATEGORY, "exposure": EXPOSURE,
}
COVARIATES = [c for group in COVARIATE_GROUPS.values() for c in group]
OUTCOMES = ["purchase_amount", "purchase_count"]
PRE_OUTCOMES = {"purchase_amount": "pre_purchase_amount", "purchase_count": "pre_purchase_count"}
CARRIED = ["window_retail_disc", "window_coupon_disc", "window_campaign_coupon_disc"]

INPUT_TABLES = ("transactions", "products", "promotions", "coupons", "coupon_redemptions",
                "cohort_index", "index_campaigns", "design_params")


def feature_sql() -> str:
    """The portable SQL text of every feature (``rollout/data/features.sql``).

    >>> feature_sql().lstrip().startswith("-- Cohort features")
    True
    """
    return resources.files("rollout.data").joinpath("features.sql").read_text(encoding="utf-8")


FEATURE_COLUMNS = [*OUTCOMES, *COVARIATES, *PRE_OUTCOMES.values(), *CARRIED]


def compute_features(con: duckdb.DuckDBPyConnection | SqlEngine, cohort_index: pd.DataFrame,
                     index_campaigns: pd.DataFrame, window_weeks: int,
                     first_week: int) -> pd.DataFrame:
    """Run ``features.sql`` in ``con`` (which holds the tidy history tables) on pandas inputs.

    ``cohort_index`` has customer_id, treatment, index_week and index_day; ``index_campaigns``
    customer_id and campaign_id. Returns one row per household, ordered by customer_id.
    """
    engine = as_engine(con)
    params = pd.DataFrame({"window_weeks": [int(window_weeks)], "first_week": [int(first_week)]})
    inputs = {"cohort_index": cohort_index[["customer_id", "treatment", "index_week",
                                            "index_day"]],
              "index_campaigns": index_campaigns[["customer_id", "campaign_id"]],
              "design_params": params}
    for name, frame in inputs.items():
        engine.register(name, frame)
    try:
        return engine.query(feature_sql())
    finally:
        for name in inputs:
            engine.drop(name)


def features_view(engine: SqlEngine, name: str = "cohort_features") -> None:
    """Make ``features.sql`` a view ``name`` of ``engine`` (its inputs already there).

    The inputs are the tidy history tables, ``cohort_index``, ``index_campaigns`` and
    ``design_params`` (with at least window_weeks and first_week).
    """
    engine.create_view(name, feature_sql().rstrip().removesuffix("ORDER BY c.customer_id"))
