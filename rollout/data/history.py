"""The tidy tables every source of campaign history provides, and the checks they all pass.

A source (the embedded Complete Journey data, a folder of Dunnhumby CSVs) loads its files into a
DuckDB connection as these tables, with these columns, whatever its own names and conventions:

============================  ============================================================
table                         columns
============================  ============================================================
``transactions``              customer_id, basket_id, product_id, store_id, quantity,
                              sales_value, retail_disc, coupon_disc, coupon_match_disc,
                              day_no, week_no
``products``                  product_id, manufacturer_id, department, brand, category,
                              subcategory, package_size
``promotions``                product_id, store_id, week_no, on_display, in_mailer (0/1);
                              a (product, store, week) may repeat
``campaigns``                 campaign_id, campaign_type ('A', 'B', ...), start_day, end_day,
                              start_week, end_week
``campaign_members``          campaign_id, customer_id
``coupons``                   coupon_upc, product_id, campaign_id
``coupon_redemptions``        customer_id, coupon_upc, campaign_id, day_no, week_no
``demographics``              customer_id, age, income, home_ownership, marital_status,
                              household_size, household_comp, kids_count (may be empty)
============================  ============================================================

Conventions, the same for every source: ``day_no`` 1 is the first day of the data, ``week_no`` is
the data's own week numbering (see :mod:`rollout.data.weeks`); money is in dollars and discounts
are non-negative amounts (the Dunnhumby CSVs record them as negative numbers, the Complete
Journey package as positive ones); campaign types are the bare letter ('Type A' and 'TypeA'
both become 'A').

A source implements :meth:`HistorySource.stage`, which creates every table except the campaign
and redemption weeks; :func:`open_history` then infers the week calendar from the transactions,
adds those weeks and runs the checks common to all sources (unique keys, known campaigns).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import duckdb

from rollout.data.weeks import WeekCalendar, first_unexplained_day, infer_week_calendar
from rollout.errors import InputError

TABLES = (
    "transactions", "products", "promotions", "campaigns", "campaign_members", "coupons",
    "coupon_redemptions", "demographics",
)


def normalise_campaign_type(label: str) -> str:
    """The bare campaign-type letter: 'Type A', 'TypeA', 'typea' and 'A' all give 'A'.

    >>> [normalise_campaign_type(x) for x in ("Type A", "TypeB", " c ")]
    ['A', 'B', 'C']
    """
    text = re.sub(r"\s+", "", str(label)).upper()
    return text[4:] if text.startswith("TYPE") and len(text) > 4 else text


def sql_string(text: str) -> str:
    """A SQL string literal (single quotes doubled), for file paths in ``read_*`` calls."""
    return "'" + str(text).replace("'", "''") + "'"


@dataclass(frozen=True)
class StagedFile:
    """Where a table came from, so checks can name the user's file and columns."""

    file: str
    columns: dict[str, str] = field(default_factory=dict)  # tidy column -> source column


@dataclass(frozen=True)
class History:
    """What a loaded source offers: its name, calendar and span, in a live DuckDB connection."""

    name: str
    calendar: WeekCalendar
    first_week: int
    last_week: int
    first_day: int
    last_day: int
    campaign_types: tuple[str, ...]
    files: dict[str, StagedFile]


class HistorySource(ABC):
    """A source of campaign history that can load itself into DuckDB as the tidy tables."""

    name: str

    @abstractmethod
    def stage(self, con: duckdb.DuckDBPyConnection) -> dict[str, StagedFile]:
        """Create the tidy tables in ``con``.

        ``campaigns`` needs only campaign_id, campaign_type, start_day, end_day and
        ``coupon_redemptions`` only customer_id, coupon_upc, campaign_id, day_no: the weeks are
        added by :func:`open_history` with the calendar found in the transactions. Returns, per
        table, the file it came from and the source's names for the tidy columns.
        """


def _row_label(rowid: int) -> int:
    """Rows are numbered from 1 in the order of the file (header excluded)."""
    return int(rowid) + 1


def check_unique(con: duckdb.DuckDBPyConnection, table: str, keys: list[str],
                 staged: StagedFile) -> None:
    """Raise :class:`InputError` at the first row repeating a key that must be unique."""
    key_list = ", ".join(keys)
    found = con.execute(
        f"SELECT rid FROM (SELECT rowid AS rid, ROW_NUMBER() OVER (PARTITION BY {key_list} "
        f"ORDER BY rowid) AS k FROM {table}) WHERE k > 1 ORDER BY rid LIMIT 1"
    ).fetchone()
    if found is None:
        return
    rid = int(found[0])
    values = con.execute(f"SELECT {key_list} FROM {table} WHERE rowid = {rid}").fetchone()
    source_cols = [staged.columns.get(k, k) for k in keys]
    shown = ", ".join(f"{c}={v!r}" for c, v in zip(source_cols, values, strict=True))
    raise InputError(f"duplicate row: {shown} appears more than once; each must be unique",
                     file=staged.file, column="+".join(source_cols), row=_row_label(rid))


def _check_known_campaigns(con: duckdb.DuckDBPyConnection, table: str,
                           staged: StagedFile, campaigns_file: str) -> None:
    found = con.execute(
        f"SELECT t.rowid, t.campaign_id FROM {table} t LEFT JOIN campaigns c "
        "ON t.campaign_id = c.campaign_id WHERE c.campaign_id IS NULL ORDER BY t.rowid LIMIT 1"
    ).fetchone()
    if found is not None:
        raise InputError(f"campaign {found[1]} is not described in {campaigns_file}",
                         file=staged.file, column=staged.columns.get("campaign_id"),
                         row=_row_label(found[0]))


def open_history(source: HistorySource, con: duckdb.DuckDBPyConnection) -> History:
    """Load ``source`` into ``con`` as the tidy tables and check what every source must satisfy."""
    files = source.stage(con)
    tx = files["transactions"]
    pairs = con.execute("SELECT DISTINCT day_no, week_no FROM transactions ORDER BY day_no").df()
    if pairs.empty:
        raise InputError("no transactions", file=tx.file)
    try:
        calendar = infer_week_calendar(
            pairs["day_no"].to_numpy(), pairs["week_no"].to_numpy(), file=tx.file,
            day_column=tx.columns.get("day_no", "day_no"),
            week_column=tx.columns.get("week_no", "week_no"))
    except InputError as exc:
        day, week = first_unexplained_day(pairs["day_no"].to_numpy(),
                                          pairs["week_no"].to_numpy())
        rowid = con.execute("SELECT MIN(rowid) FROM transactions WHERE day_no = ? AND "
                            "week_no = ?", [day, week]).fetchone()[0]
        raise InputError(exc.message, file=exc.file, column=exc.column,
                         row=None if rowid is None else _row_label(rowid)) from None
    for table, keys in (("campaigns", ["campaign_id"]),
                        ("campaign_members", ["campaign_id", "customer_id"]),
                        ("products", ["product_id"]),
                        ("demographics", ["customer_id"])):
        check_unique(con, table, keys, files[table])
    for table in ("campaign_members", "coupon_redemptions"):
        _check_known_campaigns(con, table, files[table], files["campaigns"].file)

    campaigns = con.execute(
        "SELECT campaign_id, campaign_type, start_day, end_day FROM campaigns ORDER BY campaign_id"
    ).df()
    campaigns["campaign_type"] = campaigns["campaign_type"].map(normalise_campaign_type)
    campaigns["start_week"] = calendar.weeks_of_days(campaigns["start_day"].to_numpy())
    campaigns["end_week"] = calendar.weeks_of_days(campaigns["end_day"].to_numpy())
    con.register("campaigns_with_weeks", campaigns)
    con.execute("DROP TABLE campaigns")
    con.execute("CREATE TABLE campaigns AS SELECT * FROM campaigns_with_weeks")
    con.unregister("campaigns_with_weeks")
    con.execute(
        "CREATE OR REPLACE TABLE coupon_redemptions AS SELECT customer_id, coupon_upc, "
        f"campaign_id, day_no, CAST(FLOOR((day_no - 1 + {calendar.phase}) / 7.0) AS INTEGER) + 1 "
        "AS week_no FROM coupon_redemptions"
    )
    span = con.execute(
        "SELECT MIN(week_no), MAX(week_no), MIN(day_no), MAX(day_no) FROM transactions"
    ).fetchone()
    types = tuple(r[0] for r in con.execute(
        "SELECT DISTINCT campaign_type FROM campaigns ORDER BY 1").fetchall())
    return History(name=source.name, calendar=calendar, first_week=int(span[0]),
                   last_week=int(span[1]), first_day=int(span[2]), last_day=int(span[3]),
                   campaign_types=types, files=files)
