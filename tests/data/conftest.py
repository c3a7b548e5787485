"""Shared fixtures: a small slice of the embedded data in both source layouts.

The slice (every household whose id is 5 modulo 12, about 200 households, with their campaigns,
coupons, redemptions, products and the promotions of the (product, store, week) they bought) is
written twice: as parquet files in the Complete Journey layout, and converted to the original
Dunnhumby CSV layout (DAY and WEEK_NO numbering, negative discounts, 'TypeA' descriptions,
upper-case column names). Both describe the same history, so both sources must give the same
cohort.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from rollout.data.completejourney import STORE_TIMEZONE, embedded_data_dir

HOUSEHOLD_FILTER = "household_id % 12 = 5"


def _write_slice(parquet_dir: Path, csv_dir: Path) -> None:
    src = embedded_data_dir()
    con = duckdb.connect()

    def read(name: str) -> str:
        return f"read_parquet('{src / (name + '.parquet')}')"

    local_date = (f"CAST(timezone('{STORE_TIMEZONE}', timezone('UTC', transaction_timestamp)) "
                  "AS DATE)")
    origin = con.execute(f"SELECT MIN({local_date}) FROM {read('transactions')}").fetchone()[0]
    con.execute(f"CREATE TABLE tx AS SELECT * FROM {read('transactions')} "
                f"WHERE {HOUSEHOLD_FILTER}")
    con.execute(f"CREATE TABLE campaigns AS SELECT * FROM {read('campaigns')} "
                f"WHERE {HOUSEHOLD_FILTER}")
    con.execute(f"CREATE TABLE campaign_descriptions AS SELECT * FROM "
                f"{read('campaign_descriptions')}")
    con.execute(f"CREATE TABLE coupon_redemptions AS SELECT * FROM "
                f"{read('coupon_redemptions')} WHERE {HOUSEHOLD_FILTER}")
    con.execute(f"CREATE TABLE coupons AS SELECT * FROM {read('coupons')} WHERE product_id IN "
                "(SELECT product_id FROM tx)")
    con.execute(f"CREATE TABLE products AS SELECT * FROM {read('products')} WHERE product_id IN "
                "(SELECT product_id FROM tx)")
    con.execute(f"CREATE TABLE promotions AS SELECT p.* FROM {read('promotions')} p "
                "SEMI JOIN (SELECT DISTINCT product_id, store_id, week FROM tx) k "
                "ON p.product_id = k.product_id AND p.store_id = k.store_id AND p.week = k.week")
    con.execute(f"CREATE TABLE demographics AS SELECT * FROM {read('demographics')} "
                f"WHERE {HOUSEHOLD_FILTER}")
    parquet_dir.mkdir(parents=True)
    for table in ("campaigns", "campaign_descriptions", "coupon_redemptions", "coupons",
                  "products", "promotions", "demographics"):
        con.execute(f"COPY {table} TO '{parquet_dir / (table + '.parquet')}' (FORMAT parquet)")
    con.execute(f"COPY tx TO '{parquet_dir / 'transactions.parquet'}' (FORMAT parquet)")

    day = "CAST(date_diff('day', DATE '{o}', {d}) + 1 AS INTEGER)"
    csv_dir.mkdir(parents=True)
    queries = {
        "transaction_data.csv": f"""
            SELECT household_id AS household_key, basket_id AS BASKET_ID,
                   {day.format(o=origin, d=local_date)} AS DAY, product_id AS PRODUCT_ID,
                   quantity AS QUANTITY, sales_value AS SALES_VALUE, store_id AS STORE_ID,
                   -retail_disc AS RETAIL_DISC,
                   CAST(strftime(timezone('{STORE_TIMEZONE}', timezone('UTC',
                        transaction_timestamp)), '%H%M') AS INTEGER) AS TRANS_TIME,
                   week AS WEEK_NO, -coupon_disc AS COUPON_DISC,
                   -coupon_match_disc AS COUPON_MATCH_DISC
            FROM tx""",
        "campaign_table.csv": """
            SELECT replace(d.campaign_type, ' ', '') AS DESCRIPTION,
                   c.household_id AS household_key, c.campaign_id AS CAMPAIGN
            FROM campaigns c JOIN campaign_descriptions d USING (campaign_id)""",
        "campaign_desc.csv": f"""
            SELECT replace(campaign_type, ' ', '') AS DESCRIPTION, campaign_id AS CAMPAIGN,
                   {day.format(o=origin, d='CAST(start_date AS DATE)')} AS START_DAY,
                   {day.format(o=origin, d='CAST(end_date AS DATE)')} AS END_DAY
            FROM campaign_descriptions""",
        "coupon.csv": """SELECT coupon_upc AS COUPON_UPC, product_id AS PRODUCT_ID,
                                campaign_id AS CAMPAIGN FROM coupons""",
        "coupon_redempt.csv": f"""
            SELECT household_id AS household_key,
                   {day.format(o=origin, d='CAST(redemption_date AS DATE)')} AS DAY,
                   coupon_upc AS COUPON_UPC, campaign_id AS CAMPAIGN
            FROM coupon_redemptions""",
        "product.csv": """
            SELECT product_id AS PRODUCT_ID, manufacturer_id AS MANUFACTURER,
                   department AS DEPARTMENT, brand AS BRAND, product_category AS COMMODITY_DESC,
                   product_type AS SUB_COMMODITY_DESC, package_size AS CURR_SIZE_OF_PRODUCT
            FROM products""",
        "causal_data.csv": """
            SELECT product_id AS PRODUCT_ID, store_id AS STORE_ID, week AS WEEK_NO,
                   display_location AS display, mailer_location AS mailer
            FROM promotions""",
        "hh_demographic.csv": """
            SELECT age AS AGE_DESC, marital_status AS MARITAL_STATUS_CODE, income AS INCOME_DESC,
                   home_ownership AS HOMEOWNER_DESC, household_comp AS HH_COMP_DESC,
                   household_size AS HOUSEHOLD_SIZE_DESC, kids_count AS KID_CATEGORY_DESC,
                   household_id AS household_key
            FROM demographics""",
    }
    for filename, query in queries.items():
        con.execute(f"COPY ({query}) TO '{csv_dir / filename}' (FORMAT csv, HEADER)")
    con.close()


@pytest.fixture(scope="session")
def slice_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(parquet folder in the Complete Journey layout, folder of Dunnhumby CSVs)."""
    root = tmp_path_factory.mktemp("history_slice")
    parquet_dir, csv_dir = root / "completejourney", root / "dunnhumby"
    _write_slice(parquet_dir, csv_dir)
    return parquet_dir, csv_dir


@pytest.fixture
def csv_copy(slice_dirs: tuple[Path, Path], tmp_path: Path) -> Path:
    """A private copy of the Dunnhumby CSV folder that a test may damage."""
    target = tmp_path / "dunnhumby"
    shutil.copytree(slice_dirs[1], target)
    return target
