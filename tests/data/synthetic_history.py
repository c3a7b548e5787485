"""A small random history in the tidy tables, and an independent pandas version of the features.

The generator draws a few dozen households, their baskets, products across the departments the
feature definitions name, promotions with repeated (product, store, week) keys, campaign coupons
and redemptions. :func:`reference_features` recomputes every feature with plain pandas from the
definitions in ``rollout/data/features.py`` (not from the SQL), so the SQL can be checked against
it.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from rollout.data.weeks import WeekCalendar

DEPARTMENTS = [
    ("GROCERY", "SOFT DRINKS"), ("GROCERY", "FRZN MEAT/MEAT DINNERS"), ("GROCERY", "FROZEN PIZZA"),
    ("PRODUCE", "VEGETABLES"), ("MEAT", "BEEF"), ("DELI", "CHEESES"), ("PASTRY", "BREAD"),
    ("COSMETICS", "MAKEUP AND TREATMENT"), ("DRUG GM", "HAIR CARE PRODUCTS"),
    ("DRUG GM", "CANDY - PACKAGED"), ("FUEL", "GASOLINE"), ("KIOSK-GAS", "COUPON/MISC ITEMS"),
    ("MISCELLANEOUS", None), ("GROCERY", "ICE CREAM/MILK/SHERBTS"),
]
CALENDAR = WeekCalendar(phase=3)
FIRST_WEEK = 1


def make_history(seed: int = 7, n_customers: int = 60,
                 n_days: int = 150) -> dict[str, pd.DataFrame]:
    """The tidy tables of a random history (only those the feature SQL reads)."""
    rng = np.random.default_rng(seed)
    n_products = 40
    products = pd.DataFrame({
        "product_id": np.arange(100, 100 + n_products),
        "department": [DEPARTMENTS[i % len(DEPARTMENTS)][0] for i in range(n_products)],
        "category": [DEPARTMENTS[i % len(DEPARTMENTS)][1] for i in range(n_products)],
        "brand": rng.choice(["National", "Private"], size=n_products),
    })
    # One product bought but missing from the products table (as in the real data).
    rows = []
    basket = 10_000
    for cid in range(1, n_customers + 1):
        n_baskets = int(rng.integers(0, 25))
        days = rng.integers(1, n_days + 1, size=n_baskets)
        for day in days:
            basket += 1
            store = int(rng.integers(1, 5))
            for _ in range(int(rng.integers(1, 6))):
                product = int(rng.integers(100, 100 + n_products + 1))  # +1: unknown product
                sales = round(float(rng.gamma(2.0, 2.5)), 2) * float(rng.random() > 0.03)
                retail = round(float(rng.random() * 0.3 * sales), 2) * float(rng.random() < 0.4)
                coupon = round(float(rng.choice([0.0, 0.5, 1.0])), 2) * float(rng.random() < 0.1)
                match = round(coupon * 0.4, 2) * float(rng.random() < 0.5)
                rows.append((cid, basket, product, store, 1, sales, retail, coupon, match,
                             int(day)))
    tx = pd.DataFrame(rows, columns=["customer_id", "basket_id", "product_id", "store_id",
                                     "quantity", "sales_value", "retail_disc", "coupon_disc",
                                     "coupon_match_disc", "day_no"])
    tx["week_no"] = CALENDAR.weeks_of_days(tx["day_no"].to_numpy())

    keys = tx[["product_id", "store_id", "week_no"]].drop_duplicates()
    promo = keys.sample(frac=0.6, random_state=seed).reset_index(drop=True)
    promo["on_display"] = rng.integers(0, 2, size=len(promo))
    promo["in_mailer"] = rng.integers(0, 2, size=len(promo))
    repeated = promo.sample(frac=0.3, random_state=seed + 1).copy()
    repeated["on_display"] = 1 - repeated["on_display"]  # a repeat may disagree
    other = pd.DataFrame({"product_id": rng.integers(100, 140, 200),
                          "store_id": rng.integers(1, 5, 200),
                          "week_no": rng.integers(1, 23, 200),
                          "on_display": 1, "in_mailer": 1})
    promotions = pd.concat([promo, repeated, other], ignore_index=True)

    coupons = pd.DataFrame({"coupon_upc": [1, 1, 2, 3, 3],
                            "product_id": [100, 101, 102, 103, 104],
                            "campaign_id": [1, 1, 1, 2, 2]})
    lines = tx[tx["product_id"].isin(coupons["product_id"]) & (tx["coupon_disc"] > 0)]
    red = lines.merge(coupons, on="product_id")[["customer_id", "coupon_upc", "campaign_id",
                                                 "day_no"]]
    red = red.sample(frac=0.8, random_state=seed).drop_duplicates().reset_index(drop=True)
    return {"transactions": tx, "products": products, "promotions": promotions,
            "coupons": coupons, "coupon_redemptions": red}


def make_index(history: dict[str, pd.DataFrame], seed: int = 3) -> tuple[pd.DataFrame,
                                                                           pd.DataFrame]:
    """A cohort index (households with a purchase before a random index week) and campaigns."""
    rng = np.random.default_rng(seed)
    tx = history["transactions"]
    customers = np.sort(tx["customer_id"].unique())
    index = pd.DataFrame({"customer_id": customers,
                          "treatment": rng.integers(0, 2, size=customers.size),
                          "index_week": rng.integers(6, 16, size=customers.size)})
    first = tx.groupby("customer_id")["week_no"].min()
    index = index[index["index_week"].to_numpy() > first.loc[index["customer_id"]].to_numpy()]
    index = index.reset_index(drop=True)
    index["index_day"] = [CALENDAR.first_day_of_week(w) for w in index["index_week"]]
    campaigns = pd.DataFrame({"customer_id": index["customer_id"],
                              "campaign_id": np.where(index["treatment"] == 1, 1, 2)})
    return index, campaigns


def load(con: duckdb.DuckDBPyConnection, history: dict[str, pd.DataFrame]) -> None:
    for name, frame in history.items():
        con.register(f"{name}_frame", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_frame")
        con.unregister(f"{name}_frame")


def _cents(values: pd.Series) -> pd.Series:
    return (values * 100).round().astype(np.int64)


def reference_features(history: dict[str, pd.DataFrame], index: pd.DataFrame,
                       campaigns: pd.DataFrame, window_weeks: int) -> pd.DataFrame:
    """Every feature, computed row by row from the documented definitions."""
    tx = history["transactions"].merge(index, on="customer_id")
    products = history["products"].set_index("product_id")
    promo = history["promotions"].groupby(["product_id", "store_id", "week_no"]).max()
    fresh = {"PRODUCE", "MEAT", "MEAT-PCKGD", "DELI", "SEAFOOD", "SEAFOOD-PCKGD", "SALAD BAR",
             "PASTRY"}
    hbc = {"HAIR CARE PRODUCTS", "BABY HBC", "VITAMINS"}
    out = []
    for row in index.itertuples(index=False):
        lines = tx[tx["customer_id"] == row.customer_id]
        pre = lines[lines["week_no"] < row.index_week]
        cents = _cents(pre["sales_value"])
        sales = cents.sum() / 100
        pre_weeks = row.index_week - FIRST_WEEK
        baskets = pre["basket_id"].nunique()
        days = np.sort(pre["day_no"].unique())
        gaps = np.diff(days)
        dept = pre["product_id"].map(products["department"])
        cat = pre["product_id"].map(products["category"])
        brand = pre["product_id"].map(products["brand"])

        def share(mask: pd.Series, cents: pd.Series = cents, sales: float = sales) -> float:
            return float(cents[mask.to_numpy()].sum() / 100 / sales) if sales > 0 else 0.0

        keys = list(zip(pre["product_id"], pre["store_id"], pre["week_no"], strict=True))
        display = [int(promo["on_display"].get(k, 0)) for k in keys]
        mailer = [int(promo["in_mailer"].get(k, 0)) for k in keys]
        retail = _cents(pre["retail_disc"]).sum() / 100
        window = lines[(lines["week_no"] >= row.index_week)
                       & (lines["week_no"] <= row.index_week + window_weeks)]
        pre_window = lines[(lines["week_no"] >= row.index_week - window_weeks - 1)
                           & (lines["week_no"] < row.index_week)]
        mine = campaigns[campaigns["customer_id"] == row.customer_id]["campaign_id"]
        red = history["coupon_redemptions"]
        red = red[(red["customer_id"] == row.customer_id) & red["campaign_id"].isin(mine)]
        covered = red.merge(history["coupons"], on=["coupon_upc", "campaign_id"])
        covered_keys = set(zip(covered["day_no"], covered["product_id"], strict=True))
        covered_line = np.array([(d, p) in covered_keys for d, p in
                                 zip(window["day_no"], window["product_id"], strict=True)],
                                dtype=bool)
        campaign_lines = window[covered_line & (window["coupon_disc"] > 0).to_numpy()]
        if gaps.size >= 2:
            regularity = 1.0 / (1.0 + gaps.std() / gaps.mean())
        else:
            regularity = 0.0
        out.append({
            "customer_id": row.customer_id,
            "purchase_amount": _cents(window["sales_value"]).sum() / 100,
            "purchase_count": window["basket_id"].nunique(),
            "recency_weeks": row.index_week - pre["week_no"].max(),
            "frequency": baskets,
            "frequency_per_week": baskets / pre_weeks,
            "monetary_sales": sales / pre_weeks,
            "monetary_avg_basket_sales": sales / baskets,
            "days_between_purchases_avg": (gaps.mean() if gaps.size else
                                           float(row.index_day - days[-1])),
            "purchase_regularity": regularity,
            "active_weeks": pre["week_no"].nunique(),
            "n_stores": pre["store_id"].nunique(),
            "discount_rate": retail / (sales + retail) if sales + retail > 0 else 0.0,
            "coupon_rate": pre.loc[pre["coupon_disc"] > 0, "basket_id"].nunique() / baskets,
            "private_label_ratio": share(brand == "Private"),
            "n_departments": dept.dropna().nunique(),
            "n_products": pre["product_id"].nunique(),
            "share_grocery": share(dept == "GROCERY"),
            "share_fresh": share(dept.isin(fresh)),
            "share_health_beauty": share((dept == "COSMETICS") | cat.isin(hbc)),
            "share_fuel": share(dept.isin({"FUEL", "KIOSK-GAS"})),
            "share_frozen": share(cat.fillna("").str.match(r"^(FRZN|FROZEN|ICE CREAM)")),
            "display_exposure_rate": float(np.mean(display)),
            "mailer_exposure_rate": float(np.mean(mailer)),
            "pre_purchase_amount": _cents(pre_window["sales_value"]).sum() / 100,
            "pre_purchase_count": pre_window["basket_id"].nunique(),
            "window_retail_disc": _cents(window["retail_disc"]).sum() / 100,
            "window_coupon_disc": (_cents(window["coupon_disc"]).sum()
                                   + _cents(window["coupon_match_disc"]).sum()) / 100,
            "window_campaign_coupon_disc": (_cents(campaign_lines["coupon_disc"]).sum()
                                            + _cents(campaign_lines["coupon_match_disc"]).sum())
                                           / 100,
        })
    return pd.DataFrame(out)
