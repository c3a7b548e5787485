"""The tidy tables every source of campaign history provides, and the checks they all pass.

A source (the embedded Complete Journey data, a folder of Dunnhumby CSVs) loads its files into an
engine (:mod:`rollout.data.engines`: DuckDB, or Spark reading the files itself) as these tables,
with these columns, whatever its own names and conventions:

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
adds those weeks and runs the checks common to all sources (unique keys, known campaigns). On
DuckDB a failed check names the file's row; Spark keeps no file order, so there it names the
offending values instead.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import duckdb

from rollout.data.engines import SqlEngine, as_engine
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
    """What a loaded source offers: its name, calendar and span, in a live engine."""

    name: str
    calendar: WeekCalendar
    first_week: int
    last_week: int
    first_day: int
    last_day: int
    campaign_types: tuple[str, ...]
    files: dict[str, StagedFile]


class HistorySource(ABC):
    """A source of campaign history that can load itself into an engine as the tidy tables."""

    name: str

    @abstractmethod
    def stage(self, engine: SqlEngine) -> dict[str, StagedFile]:
        """Create the tidy tables in ``engine``.

        ``campaigns`` needs only campaign_id, campaign_type, start_day, end_day and
        ``coupon_redemptions`` only customer_id, coupon_upc, campaign_id, day_no: the weeks are
        added by :func:`open_history` with the calendar found in the transactions. Returns, per
        table, the file it came from and the source's names for the tidy columns.
        """


def _row_label(rowid: int) -> int:
    """Rows are numbered from 1 in the order of the file (header excluded)."""
    return int(rowid) + 1


def check_unique(engine: SqlEngine | duckdb.DuckDBPyConnection, table: str, keys: list[str],
                 staged: StagedFile) -> None:
    """Raise :class:`InputError` at the first row repeating a key that must be unique."""
    engine = as_engine(engine)
    key_list = ", ".join(keys)
    source_cols = [staged.columns.get(k, k) for k in keys]
    if not engine.row_numbers:
        values = engine.fetchone(f"SELECT {key_list} FROM {table} GROUP BY {key_list} "
                                 f"HAVING COUNT(*) > 1 ORDER BY {key_list} LIMIT 1")
        if values is not None:
            shown = ", ".join(f"{c}={_plain(v)!r}" for c, v in zip(source_cols, values,
                                                                   strict=True))
            raise InputError(f"duplicate row: {shown} appears more than once; each must be "
                             "unique", file=staged.file, column="+".join(source_cols))
        return
    con = engine.con  # type: ignore[attr-defined]
    found = con.execute(
        f"SELECT rid FROM (SELECT rowid AS rid, ROW_NUMBER() OVER (PARTITION BY {key_list} "
        f"ORDER BY rowid) AS k FROM {table}) WHERE k > 1 ORDER BY rid LIMIT 1"
    ).fetchone()
    if found is None:
        return
    rid = int(found[0])
    values = con.execute(f"SELECT {key_list} FROM {table} WHERE rowid = {rid}").fetchone()
    shown = ", ".join(f"{c}={v!r}" for c, v in zip(source_cols, values, strict=True))
    raise InputError(f"duplicate row: {shown} appears more than once; each must be unique",
                     file=staged.file, column="+".join(source_cols), row=_row_label(rid))


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds (so messages read the same on every engine)."""
    return value.item() if hasattr(value, "item") else value


def _check_known_campaigns(engine: SqlEngine, table: str, staged: StagedFile,
                           campaigns_file: str) -> None:
    order = "t.rowid" if engine.row_numbers else "t.campaign_id"
    row = "t.rowid" if engine.row_numbers else "NULL"
    found = engine.fetchone(
        f"SELECT {row} AS rid, t.campaign_id FROM {table} t LEFT JOIN campaigns c "
        f"ON t.campaign_id = c.campaign_id WHERE c.campaign_id IS NULL ORDER BY {order} LIMIT 1"
    )
    if found is not None:
        raise InputError(f"campaign {_plain(found[1])} is not described in {campaigns_file}",
                         file=staged.file, column=staged.columns.get("campaign_id"),
                         row=None if found[0] is None else _row_label(found[0]))


def open_history(source: HistorySource, engine: SqlEngine | duckdb.DuckDBPyConnection
                 ) -> History:
    """Load ``source`` into ``engine`` as the tidy tables and check what every source must satisfy.

    ``engine`` is a :class:`~rollout.data.engines.SqlEngine` (or a DuckDB connection).
    """
    engine = as_engine(engine)
    files = source.stage(engine)
    tx = files["transactions"]
    pairs = engine.query("SELECT DISTINCT day_no, week_no FROM transactions ORDER BY day_no")
    if pairs.empty:
        raise InputError("no transactions", file=tx.file)
    try:
        calendar = infer_week_calendar(
            pairs["day_no"].to_numpy(), pairs["week_no"].to_numpy(), file=tx.file,
            day_column=tx.columns.get("day_no", "day_no"),
            week_column=tx.columns.get("week_no", "week_no"))
    except InputError as exc:
        row = None
        if engine.row_numbers:
            day, week = first_unexplained_day(pairs["day_no"].to_numpy(),
                                              pairs["week_no"].to_numpy())
            rowid = engine.fetchone(f"SELECT MIN(rowid) FROM transactions WHERE day_no = {day} "
                                    f"AND week_no = {week}")[0]
            row = None if rowid is None else _row_label(rowid)
        raise InputError(exc.message, file=exc.file, column=exc.column, row=row) from None
    for table, keys in (("campaigns", ["campaign_id"]),
                        ("campaign_members", ["campaign_id", "customer_id"]),
                        ("products", ["product_id"]),
                        ("demographics", ["customer_id"])):
        check_unique(engine, table, keys, files[table])
    for table in ("campaign_members", "coupon_redemptions"):
        _check_known_campaigns(engine, table, files[table], files["campaigns"].file)

    campaigns = engine.query(
        "SELECT campaign_id, campaign_type, start_day, end_day FROM campaigns ORDER BY campaign_id"
    )
    campaigns["campaign_type"] = campaigns["campaign_type"].map(normalise_campaign_type)
    campaigns["start_week"] = calendar.weeks_of_days(campaigns["start_day"].to_numpy())
    campaigns["end_week"] = calendar.weeks_of_days(campaigns["end_day"].to_numpy())
    for column in ("campaign_id", "start_day", "end_day"):
        campaigns[column] = campaigns[column].astype("int64")
    campaigns["campaign_type"] = campaigns["campaign_type"].astype(object)
    engine.register("campaigns", campaigns)
    engine.create_table(
        "coupon_redemptions",
        "SELECT customer_id, coupon_upc, campaign_id, day_no, "
        f"{calendar.week_sql('day_no')} AS week_no FROM coupon_redemptions")
    span = engine.fetchone(
        "SELECT MIN(week_no), MAX(week_no), MIN(day_no), MAX(day_no) FROM transactions"
    )
    types = tuple(engine.query(
        "SELECT DISTINCT campaign_type FROM campaigns ORDER BY campaign_type")["campaign_type"])
    return History(name=source.name, calendar=calendar, first_week=int(span[0]),
                   last_week=int(span[1]), first_day=int(span[2]), last_day=int(span[3]),
                   campaign_types=types, files=files)
