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


# --- a large history as parquet files in the Complete Journey layout -----------------------

#: The generated files' calendar: day 1 is 2017-01-01 (a Sunday) and weeks run Monday to
#: Sunday, as in the Complete Journey data, so week 1 holds one day.
PARQUET_CALENDAR = WeekCalendar(phase=6)
PARQUET_ORIGIN = np.datetime64("2017-01-01T00:00:00", "us")


def write_parquet_history(folder, n_customers: int, lines_per_customer: int = 50,
                          seed: int = 0, n_days: int = 364, n_products: int = 2000,
                          n_stores: int = 20, chunk: int = 50_000) -> dict[str, int]:
    """Write a seeded random history of ``n_customers`` as Complete Journey parquet files.

    Every customer has ``lines_per_customer`` purchase lines in baskets of five lines (one day
    and store per basket) at 15:00 store time (20:00 UTC, so the local date is the UTC date in
    summer and winter); the catalogue (products, a promotions table of about 30% of product,
    store and week keys, some of them repeated) does not grow with the customers. Ten campaigns
    of types A, B and C target about 40% of the customers; campaign coupons cover a few products
    and some targeted customers redeem them. The transactions are written in chunks of
    ``chunk`` customers, so memory stays flat. Returns the row count of each file.
    """
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    counts: dict[str, int] = {}

    def write(name: str, frame: pd.DataFrame) -> None:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False),
                       folder / f"{name}.parquet", use_deprecated_int96_timestamps=True)
        counts[name] = len(frame)

    product_ids = np.arange(1, n_products + 1, dtype=np.int64)
    write("products", pd.DataFrame({
        "product_id": product_ids,
        "manufacturer_id": rng.integers(1, 200, n_products),
        "department": [DEPARTMENTS[i % len(DEPARTMENTS)][0] for i in range(n_products)],
        "brand": rng.choice(["National", "Private"], n_products),
        "product_category": [DEPARTMENTS[i % len(DEPARTMENTS)][1] for i in range(n_products)],
        "product_type": "TYPE", "package_size": "1 EA"}))
    n_weeks = int(PARQUET_CALENDAR.week_of_day(n_days))
    keys = n_products * n_stores * n_weeks
    chosen = rng.choice(keys, size=int(0.3 * keys), replace=False)
    chosen = np.concatenate([chosen, chosen[: len(chosen) // 50]])  # some keys repeat
    write("promotions", pd.DataFrame({
        "product_id": chosen // (n_stores * n_weeks) + 1,
        "store_id": (chosen // n_weeks) % n_stores + 1,
        "display_location": rng.choice(["0", "1", "2", "A"], len(chosen)),
        "mailer_location": rng.choice(["0", "A", "D"], len(chosen)),
        "week": chosen % n_weeks + 1}))

    days = np.timedelta64(1, "D")
    start_days = np.sort(rng.integers(40, n_days - 120, 10))
    types = np.array(["Type A", "Type B", "Type C", "Type A", "Type B", "Type A", "Type C",
                      "Type A", "Type B", "Type A"])
    write("campaign_descriptions", pd.DataFrame({
        "campaign_id": np.arange(1, 11, dtype=np.int64), "campaign_type": types,
        "start_date": PARQUET_ORIGIN + (start_days - 1) * days,
        "end_date": PARQUET_ORIGIN + (start_days + 40) * days}))
    customers = np.arange(1, n_customers + 1, dtype=np.int64)
    targeted = customers[rng.random(n_customers) < 0.4]
    members = pd.DataFrame({"campaign_id": rng.integers(1, 11, len(targeted)),
                            "household_id": targeted}).drop_duplicates()
    write("campaigns", members)
    coupon_products = rng.choice(product_ids, 60, replace=False)
    coupons = pd.DataFrame({"coupon_upc": np.arange(1000, 1060, dtype=np.int64),
                            "product_id": coupon_products,
                            "campaign_id": np.arange(60, dtype=np.int64) % 10 + 1})
    write("coupons", coupons)
    redeemers = members.sample(frac=0.2, random_state=seed)
    coupon_of = coupons.groupby("campaign_id")["coupon_upc"].first()
    redeem_days = start_days[redeemers["campaign_id"].to_numpy() - 1] + rng.integers(
        0, 30, len(redeemers))
    write("coupon_redemptions", pd.DataFrame({
        "household_id": redeemers["household_id"].to_numpy(),
        "coupon_upc": coupon_of.loc[redeemers["campaign_id"]].to_numpy(),
        "campaign_id": redeemers["campaign_id"].to_numpy(),
        "redemption_date": PARQUET_ORIGIN + (redeem_days - 1) * days}))
    some = customers[: max(1, n_customers // 3)]
    write("demographics", pd.DataFrame({
        "household_id": some, "age": rng.choice(["25-34", "35-44", "45-54"], len(some)),
        "income": "50-74K", "home_ownership": "Homeowner", "marital_status": "Married",
        "household_size": "2", "household_comp": "2 Adults No Kids", "kids_count": "0"}))

    per_basket = 5
    baskets_per_customer = max(1, lines_per_customer // per_basket)
    writer = None
    lines = 0
    try:
        for first in range(0, n_customers, chunk):
            ids = customers[first:first + chunk]
            n_baskets = len(ids) * baskets_per_customer
            basket_customer = np.repeat(ids, baskets_per_customer)
            basket_day = rng.integers(1, n_days + 1, n_baskets)
            basket_store = rng.integers(1, n_stores + 1, n_baskets)
            basket_id = (basket_customer * baskets_per_customer
                         + np.tile(np.arange(baskets_per_customer), len(ids)))
            n = n_baskets * per_basket
            sales = np.round(rng.gamma(2.0, 2.0, n), 2)
            retail = np.round(sales * 0.2 * (rng.random(n) < 0.4), 2)
            coupon = np.round(0.5 * (rng.random(n) < 0.03), 2)
            day = np.repeat(basket_day, per_basket)
            # a product missing from the products table now and then, as in the real data
            product = rng.integers(1, n_products + 2, n)
            on_coupon = rng.random(n) < 0.02
            product[on_coupon] = rng.choice(coupon_products, int(on_coupon.sum()))
            frame = pa.table({
                "household_id": np.repeat(basket_customer, per_basket),
                "store_id": np.repeat(basket_store, per_basket),
                "basket_id": np.repeat(basket_id, per_basket),
                "product_id": product.astype(np.int64),
                "quantity": np.ones(n, dtype=np.int64),
                "sales_value": sales, "retail_disc": retail, "coupon_disc": coupon,
                "coupon_match_disc": np.round(coupon * 0.4 * (rng.random(n) < 0.5), 2),
                "week": PARQUET_CALENDAR.weeks_of_days(day).astype(np.int64),
                "transaction_timestamp": pa.array(
                    PARQUET_ORIGIN + (day - 1) * days + np.timedelta64(20, "h"),
                    type=pa.timestamp("us")),
            })
            if writer is None:
                writer = pq.ParquetWriter(folder / "transactions.parquet", frame.schema,
                                          use_deprecated_int96_timestamps=True)
            writer.write_table(frame)
            lines += n
    finally:
        if writer is not None:
            writer.close()
    counts["transactions"] = lines
    return counts
