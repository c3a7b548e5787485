"""A folder of the original Dunnhumby "The Complete Journey" CSV files.

The layout is the one Dunnhumby published: ``transaction_data.csv``, ``campaign_table.csv``,
``campaign_desc.csv``, ``coupon.csv``, ``coupon_redempt.csv``, ``product.csv``,
``causal_data.csv`` and, optionally, ``hh_demographic.csv``. Time is counted in days (``DAY``,
day 1 being the first day of the study) and weeks (``WEEK_NO``); the rule from one to the other
is found in the transactions (:mod:`rollout.data.weeks`) and applied to campaign and redemption
days.

Sign convention: the CSVs record discounts (``RETAIL_DISC``, ``COUPON_DISC``,
``COUPON_MATCH_DISC``) as negative numbers. The tidy tables hold discounts as non-negative
amounts, so a discount column whose total is negative is negated; a column already recorded as
positive amounts (total >= 0) is kept as it is.

Every problem with the folder is an :class:`~rollout.errors.InputError` naming the file, the
column and, for bad values, the row (data rows counted from 1, the header excluded): a missing
folder, file or column, a value of the wrong type, a missing value where one is required.
Column names are matched without regard to case.
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass
from pathlib import Path

import duckdb

from rollout.data.engines import SqlEngine
from rollout.data.history import HistorySource, StagedFile, sql_string
from rollout.errors import InputError
from rollout.io import check_utf8_file, decode_utf8


@dataclass(frozen=True)
class CsvSpec:
    """The columns a CSV must have: name -> DuckDB type, and which may hold missing values."""

    columns: dict[str, str]
    nullable: tuple[str, ...] = ()
    optional_file: bool = False


TEXT = "VARCHAR"
SPECS: dict[str, CsvSpec] = {
    "transaction_data.csv": CsvSpec({
        "household_key": "BIGINT", "BASKET_ID": "BIGINT", "DAY": "INTEGER",
        "PRODUCT_ID": "BIGINT", "QUANTITY": "BIGINT", "SALES_VALUE": "DOUBLE",
        "STORE_ID": "BIGINT", "RETAIL_DISC": "DOUBLE", "WEEK_NO": "INTEGER",
        "COUPON_DISC": "DOUBLE", "COUPON_MATCH_DISC": "DOUBLE",
    }),
    "campaign_table.csv": CsvSpec({"DESCRIPTION": TEXT, "household_key": "BIGINT",
                                   "CAMPAIGN": "BIGINT"}),
    "campaign_desc.csv": CsvSpec({"DESCRIPTION": TEXT, "CAMPAIGN": "BIGINT",
                                  "START_DAY": "INTEGER", "END_DAY": "INTEGER"}),
    "coupon.csv": CsvSpec({"COUPON_UPC": "BIGINT", "PRODUCT_ID": "BIGINT", "CAMPAIGN": "BIGINT"}),
    "coupon_redempt.csv": CsvSpec({"household_key": "BIGINT", "DAY": "INTEGER",
                                   "COUPON_UPC": "BIGINT", "CAMPAIGN": "BIGINT"}),
    "product.csv": CsvSpec(
        {"PRODUCT_ID": "BIGINT", "MANUFACTURER": "BIGINT", "DEPARTMENT": TEXT, "BRAND": TEXT,
         "COMMODITY_DESC": TEXT, "SUB_COMMODITY_DESC": TEXT, "CURR_SIZE_OF_PRODUCT": TEXT},
        nullable=("MANUFACTURER", "DEPARTMENT", "BRAND", "COMMODITY_DESC", "SUB_COMMODITY_DESC",
                  "CURR_SIZE_OF_PRODUCT"),
    ),
    "causal_data.csv": CsvSpec({"PRODUCT_ID": "BIGINT", "STORE_ID": "BIGINT",
                                "WEEK_NO": "INTEGER", "display": TEXT, "mailer": TEXT},
                               nullable=("display", "mailer")),
    "hh_demographic.csv": CsvSpec(
        {"household_key": "BIGINT", "AGE_DESC": TEXT, "MARITAL_STATUS_CODE": TEXT,
         "INCOME_DESC": TEXT, "HOMEOWNER_DESC": TEXT, "HH_COMP_DESC": TEXT,
         "HOUSEHOLD_SIZE_DESC": TEXT, "KID_CATEGORY_DESC": TEXT},
        nullable=("AGE_DESC", "MARITAL_STATUS_CODE", "INCOME_DESC", "HOMEOWNER_DESC",
                  "HH_COMP_DESC", "HOUSEHOLD_SIZE_DESC", "KID_CATEGORY_DESC"),
        optional_file=True,
    ),
}
DISCOUNT_COLUMNS = ("RETAIL_DISC", "COUPON_DISC", "COUPON_MATCH_DISC")

_KIND = {"BIGINT": "an integer", "INTEGER": "an integer", "DOUBLE": "a number"}
_INTEGER = ("BIGINT", "INTEGER")


def _convertible(text: str, duck_type: str) -> bool:
    text = text.strip()
    if duck_type in _INTEGER:
        try:
            return float(text).is_integer()  # '12' and '12.0' are whole numbers, '1.5' is not
        except ValueError:
            return False
    if duck_type == "DOUBLE":
        try:
            float(text)
        except ValueError:
            return False
        return True
    return True


def _header(path: Path) -> list[str]:
    with path.open("rb") as raw:
        head = raw.read(4096)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head:
        decode_utf8(head, path)  # refuses UTF-16 (a spreadsheet's "Unicode text") by name
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        row = next(csv.reader(handle), None)
    if not row:
        raise InputError("the file is empty (no header row)", file=path)
    return [name.strip() for name in row]


def _first_bad_value(path: Path, columns: dict[str, str], spec: CsvSpec
                     ) -> tuple[str, int, str] | None:
    """Scan the file for the first value that is missing or not of its column's type.

    Only on the error path: DuckDB reads the file fast, this finds the exact row to report.
    """
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader)]
        index = {name: header.index(actual) for name, actual in columns.items()}
        for row_number, row in enumerate(reader, start=1):
            for name, duck_type in spec.columns.items():
                i = index[name]
                value = row[i] if i < len(row) else ""
                if value.strip() == "":
                    if name not in spec.nullable:
                        return columns[name], row_number, "missing value"
                    continue
                if not _convertible(value, duck_type):
                    return (columns[name], row_number,
                            f"value {value!r} is not {_KIND[duck_type]}")
    return None


class DunnhumbySource(HistorySource):
    """A folder of the Dunnhumby "The Complete Journey" CSV files.

    Examples
    --------
    >>> DunnhumbySource("no/such/folder").name
    'no/such/folder'
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.name = str(folder)

    def _columns(self, filename: str) -> dict[str, str] | None:
        """The file's own spelling of each spec column, or None when an optional file is absent.
        """
        spec = SPECS[filename]
        path = self.folder / filename
        if not path.is_file():
            if spec.optional_file:
                return None
            expected = sorted(n for n, s in SPECS.items() if not s.optional_file)
            raise InputError("file not found in the Dunnhumby folder (expected "
                             f"{', '.join(expected)})", file=path)
        header = _header(path)
        by_lower = {name.lower(): name for name in header}
        actual: dict[str, str] = {}
        for name in spec.columns:
            found = name if name in header else by_lower.get(name.lower())
            if found is None:
                raise InputError(f"missing column; the file has {header}", file=path,
                                 column=name)
            actual[name] = found
        return actual

    def _load_spark(self, engine: SqlEngine, filename: str, raw_table: str
                    ) -> dict[str, str] | None:
        """Spark reads one CSV itself (as text), checks every value and types the columns.

        A value that is missing or not of its column's type is then looked for in the file, row
        by row, to name its row (only on that error path, and only for a file on this machine).
        """
        actual = self._columns(filename)
        if actual is None:
            return None
        spec = SPECS[filename]
        path = self.folder / filename
        header = _header(path)
        engine.read_csv_text(f"{raw_table}_text", path)
        text = engine.spark.table(f"{raw_table}_text").toDF(*header)  # type: ignore[attr-defined]
        text.createOrReplaceTempView(f"{raw_table}_text")

        def col(name: str) -> str:
            return "`" + actual[name].replace("`", "``") + "`"

        problems = []
        for name, duck_type in spec.columns.items():
            value = f"NULLIF(TRIM({col(name)}), '')"
            if name not in spec.nullable:
                problems.append(f"{value} IS NULL")
            if duck_type in _INTEGER:
                problems.append(f"({value} IS NOT NULL AND (TRY_CAST({value} AS DOUBLE) IS NULL "
                                f"OR TRY_CAST({value} AS DOUBLE) <> FLOOR(TRY_CAST({value} AS "
                                "DOUBLE))))")
            elif duck_type == "DOUBLE":
                problems.append(f"({value} IS NOT NULL AND TRY_CAST({value} AS DOUBLE) IS NULL)")
        bad = engine.fetchone(f"SELECT COUNT(*) FROM {raw_table}_text WHERE "
                              + " OR ".join(problems))
        if bad is not None and int(bad[0]) > 0:
            found = _first_bad_value(path, actual, spec)
            column, row, message = found if found else (None, None,
                                                        "missing or badly typed value")
            raise InputError(message, file=path, column=column, row=row)
        select = []
        for name, duck_type in spec.columns.items():
            value = f"NULLIF(TRIM({col(name)}), '')"
            if duck_type in _INTEGER:
                select.append(f"CAST(CAST({value} AS DOUBLE) AS BIGINT) AS `{name}`")
            elif duck_type == "DOUBLE":
                select.append(f"CAST({value} AS DOUBLE) AS `{name}`")
            else:
                select.append(f"{col(name)} AS `{name}`")
        engine.create_table(raw_table, f"SELECT {', '.join(select)} FROM {raw_table}_text",
                            keep=filename == "transaction_data.csv")
        return actual

    def _load(self, engine: SqlEngine, filename: str, raw_table: str
              ) -> dict[str, str] | None:
        """Read one CSV into ``raw_table`` with its spec's columns under their spec names.

        Returns the file's own spelling of each column (for messages), or None when an optional
        file is absent. DuckDB reads and types the file in one pass and names the row of a bad
        value; Spark has its own reader (:meth:`_load_spark`).
        """
        if engine.name == "spark":
            return self._load_spark(engine, filename, raw_table)
        con = engine.con  # type: ignore[attr-defined]
        actual = self._columns(filename)
        if actual is None:
            return None
        spec = SPECS[filename]
        path = self.folder / filename
        # Integers are read as DOUBLE and checked to be whole: DuckDB would round '1.5' into an
        # integer column without complaint.
        read_types = {n: ("DOUBLE" if t in _INTEGER else t) for n, t in spec.columns.items()}
        types = ", ".join(f"{sql_string(actual[n])}: '{t}'" for n, t in read_types.items())
        select = ", ".join(f'"{actual[n]}" AS "{n}"' for n in spec.columns)
        try:
            con.execute(
                f"CREATE TABLE {raw_table} AS SELECT {select} FROM read_csv("
                f"{sql_string(str(path))}, header = true, auto_detect = true, "
                f"sample_size = 20480, types = {{{types}}})"
            )
        except duckdb.Error as exc:
            check_utf8_file(path)  # a file saved as Windows-1252 or Latin-1 is named as such
            bad = _first_bad_value(path, actual, spec)
            if bad is None:
                raise InputError(f"cannot be read as CSV: {exc}", file=path) from exc
            column, row, message = bad
            raise InputError(message, file=path, column=column, row=row) from exc
        required = [n for n in spec.columns if n not in spec.nullable]
        integers = [n for n, t in spec.columns.items() if t in _INTEGER]
        problems = [f'"{n}" IS NULL' for n in required]
        problems += [f'"{n}" <> FLOOR("{n}")' for n in integers]
        if problems:
            found = con.execute(
                f"SELECT MIN(rowid) FROM {raw_table} WHERE {' OR '.join(problems)}").fetchone()[0]
            if found is not None:
                bad = _first_bad_value(path, actual, spec)
                column, row, message = bad if bad else (None, int(found) + 1,
                                                        "missing or non-integer value")
                raise InputError(message, file=path, column=column, row=row)
        if integers:
            cast = ", ".join(f'CAST("{n}" AS {t}) AS "{n}"' if t in _INTEGER else f'"{n}"'
                             for n, t in spec.columns.items())
            con.execute(f"CREATE OR REPLACE TABLE {raw_table} AS SELECT {cast} FROM {raw_table} "
                        "ORDER BY rowid")
        return actual

    def stage(self, engine: SqlEngine) -> dict[str, StagedFile]:
        if not self.folder.exists():
            raise InputError("the Dunnhumby folder does not exist", file=self.folder)
        if not self.folder.is_dir():
            raise InputError("expected a folder of Dunnhumby CSV files, got a file",
                             file=self.folder)
        names: dict[str, dict[str, str] | None] = {}
        for filename in SPECS:
            raw = "raw_" + filename.removesuffix(".csv")
            names[filename] = self._load(engine, filename, raw)
        _stage_transactions(engine)
        _stage_other_tables(engine, has_demographics=names["hh_demographic.csv"] is not None)
        if engine.row_numbers:  # DuckDB has copied them; Spark's tables still read them
            for filename in SPECS:
                engine.drop(f"raw_{filename.removesuffix('.csv')}")
        return self._staged_files(names)

    def _staged_files(self, names: dict[str, dict[str, str] | None]) -> dict[str, StagedFile]:
        """Each tidy table's source file, with the file's own spelling of the renamed columns."""

        def staged(filename: str, mapping: dict[str, str]) -> StagedFile:
            actual = names[filename] or {}
            return StagedFile(str(self.folder / filename),
                              {tidy: actual.get(src, src) for tidy, src in mapping.items()})

        hh = {"customer_id": "household_key"}
        return {
            "transactions": staged("transaction_data.csv",
                                   {**hh, "day_no": "DAY", "week_no": "WEEK_NO"}),
            "promotions": staged("causal_data.csv", {"week_no": "WEEK_NO"}),
            "products": staged("product.csv", {"product_id": "PRODUCT_ID"}),
            "campaigns": staged("campaign_desc.csv", {"campaign_id": "CAMPAIGN"}),
            "campaign_members": staged("campaign_table.csv",
                                       {**hh, "campaign_id": "CAMPAIGN"}),
            "coupons": staged("coupon.csv", {"campaign_id": "CAMPAIGN"}),
            "coupon_redemptions": staged("coupon_redempt.csv",
                                         {**hh, "campaign_id": "CAMPAIGN"}),
            "demographics": staged("hh_demographic.csv", hh),
        }


def _stage_transactions(engine: SqlEngine) -> None:
    """The tidy ``transactions`` table; discounts recorded as negative amounts turned positive."""
    totals = engine.fetchone("SELECT " + ", ".join(f"SUM({c}) AS {c.lower()}"
                                                   for c in DISCOUNT_COLUMNS)
                             + " FROM raw_transaction_data")
    signs = {column: -1.0 if total is not None and total < 0 else 1.0
             for column, total in zip(DISCOUNT_COLUMNS, totals, strict=True)}
    engine.create_table("transactions", f"""
        SELECT household_key AS customer_id, BASKET_ID AS basket_id,
               PRODUCT_ID AS product_id, STORE_ID AS store_id, QUANTITY AS quantity,
               SALES_VALUE AS sales_value,
               CAST({signs['RETAIL_DISC']} AS DOUBLE) * RETAIL_DISC AS retail_disc,
               CAST({signs['COUPON_DISC']} AS DOUBLE) * COUPON_DISC AS coupon_disc,
               CAST({signs['COUPON_MATCH_DISC']} AS DOUBLE) * COUPON_MATCH_DISC
                   AS coupon_match_disc,
               DAY AS day_no, WEEK_NO AS week_no
        FROM raw_transaction_data""", keep=True)


def _stage_other_tables(engine: SqlEngine, *, has_demographics: bool) -> None:
    """The tidy promotions, products, campaigns, members, coupons, redemptions, demographics."""
    engine.create_table("promotions", """
        SELECT PRODUCT_ID AS product_id, STORE_ID AS store_id, WEEK_NO AS week_no,
               CASE WHEN TRIM(COALESCE(display, '0')) NOT IN ('0', '') THEN 1 ELSE 0 END
                   AS on_display,
               CASE WHEN TRIM(COALESCE(mailer, '0')) NOT IN ('0', '') THEN 1 ELSE 0 END
                   AS in_mailer
        FROM raw_causal_data""")
    engine.create_table("products", """
        SELECT PRODUCT_ID AS product_id, MANUFACTURER AS manufacturer_id,
               DEPARTMENT AS department, BRAND AS brand, COMMODITY_DESC AS category,
               SUB_COMMODITY_DESC AS subcategory, CURR_SIZE_OF_PRODUCT AS package_size
        FROM raw_product""")
    engine.create_table("campaigns", """
        SELECT CAMPAIGN AS campaign_id, DESCRIPTION AS campaign_type,
               START_DAY AS start_day, END_DAY AS end_day
        FROM raw_campaign_desc""")
    engine.create_table("campaign_members", """
        SELECT CAMPAIGN AS campaign_id, household_key AS customer_id FROM raw_campaign_table""")
    engine.create_table("coupons", """
        SELECT COUPON_UPC AS coupon_upc, PRODUCT_ID AS product_id, CAMPAIGN AS campaign_id
        FROM raw_coupon""")
    engine.create_table("coupon_redemptions", """
        SELECT household_key AS customer_id, COUPON_UPC AS coupon_upc,
               CAMPAIGN AS campaign_id, DAY AS day_no
        FROM raw_coupon_redempt""")
    if has_demographics:
        engine.create_table("demographics", """
            SELECT household_key AS customer_id, AGE_DESC AS age, INCOME_DESC AS income,
                   HOMEOWNER_DESC AS home_ownership, MARITAL_STATUS_CODE AS marital_status,
                   HOUSEHOLD_SIZE_DESC AS household_size, HH_COMP_DESC AS household_comp,
                   KID_CATEGORY_DESC AS kids_count
            FROM raw_hh_demographic""")
    else:
        engine.create_table("demographics", """
            SELECT CAST(NULL AS BIGINT) AS customer_id, CAST(NULL AS STRING) AS age,
                   CAST(NULL AS STRING) AS income, CAST(NULL AS STRING) AS home_ownership,
                   CAST(NULL AS STRING) AS marital_status, CAST(NULL AS STRING) AS household_size,
                   CAST(NULL AS STRING) AS household_comp, CAST(NULL AS STRING) AS kids_count
            FROM raw_campaign_desc WHERE 1 = 0""")
