"""The "first campaign only" study design: who is treated, from when, and who is compared.

For one campaign type (default A):

* **Treated**: households targeted by a campaign of that type, indexed at the start week of their
  *first* such campaign (earliest start; ties broken by the lower campaign id). Later campaigns
  of the type fall in their outcome or post period, never in their pre-period covariates.
* **Control**: households never targeted by a campaign of that type (they may have been targeted
  by other types). A control household has no campaign start of its own, so it gets an index week
  drawn from the treated households' index weeks, with the same frequencies, by a keyed hash of
  its id: ``u = first 8 bytes of SHA-256(salt + ":" + str(customer_id))`` read as a big-endian
  integer over 2**64 (the integer rounded to the nearest double, then divided), a uniform number
  in [0, 1); the index week is the ``min(floor(u * n), n - 1)``-th (0-based) of the ``n`` treated
  index weeks in ascending order, i.e. the inverse of their empirical distribution function at
  ``u``. The draw depends on nothing but the id and the salt, so any engine, run or machine gives
  the same weeks; a different ``salt`` gives an independent draw.

Then, in this order, households are dropped and counted in the attrition table:

1. the outcome window (the index week and the ``window_weeks`` weeks after it) runs past the last
   week of data; if this removes every treated household the window is simply too long for the
   data, and that is an error, not attrition;
2. the pre-period window (the ``window_weeks + 1`` weeks before the index week, over which the
   pre-period outcomes are measured) starts before the first week of data (an error too if it
   removes every treated household);
3. no purchase before the index week (no pre-period behaviour to describe them by).

The universe is the households with at least one purchase in the data. Each attrition row gives
the households remaining after its step and how many the step dropped, so the first row's total
minus all drops is the final cohort.

Where it runs: the design is one SQL text, ``cohort_design.sql``, that DuckDB and Spark both run
(:func:`design_on_engine`); only the attrition counts come back to this process. The keyed hash
is computed in SQL (``sha2``, then the hex digits read by :func:`keyed_uniform_sql`), bit for bit
the double :func:`keyed_uniform` gives in plain Python; :func:`keyed_uniform` and
:func:`draw_index_weeks` spell the rule in Python as the reference the tests hold the SQL to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from rollout.common.display import DisplayMixin, plain
from rollout.data.engines import DuckDBEngine, SqlEngine
from rollout.data.weeks import WeekCalendar
from rollout.errors import InputError

DEFAULT_SALT = "rollout.cohort.v1"

ATTRITION_COLUMNS = ["step", "n_treated", "n_control", "n_total", "dropped"]

STEP_UNIVERSE = "households with purchases in the data"
STEP_PRE_WINDOW = "drop: pre-period window starts before the data"
STEP_POST_WINDOW = "drop: outcome window runs past the end of the data"
STEP_NO_PRE_PURCHASE = "drop: no purchase before the index week"


def keyed_uniform(customer_ids: Iterable[object], salt: str = DEFAULT_SALT) -> np.ndarray:
    """A uniform number in [0, 1) per id, from SHA-256 of ``salt:id`` (deterministic).

    The rule in plain Python, the reference for :func:`keyed_uniform_sql` (the engines' path).

    >>> u = keyed_uniform([1, 2], salt="s")
    >>> bool(((u >= 0) & (u < 1)).all()), bool((u == keyed_uniform([1, 2], salt="s")).all())
    (True, True)
    >>> bool(keyed_uniform([1], "s")[0] != keyed_uniform([1], "t")[0])
    True
    """
    out = []
    for cid in customer_ids:
        digest = hashlib.sha256(f"{salt}:{_id_text(cid)}".encode()).digest()
        out.append(int.from_bytes(digest[:8], "big") / 2.0**64)
    return np.asarray(out, dtype=float)


def _id_text(cid: object) -> str:
    """Ids hash by their plain text; integral floats (1.0) hash like the integer (1)."""
    if isinstance(cid, (float, np.floating)) and float(cid).is_integer():
        return str(int(cid))
    if isinstance(cid, (np.integer,)):
        return str(int(cid))
    return str(cid)


def keyed_uniform_sql(digest: str) -> str:
    """SQL for :func:`keyed_uniform` of a SHA-256 hex digest expression (DuckDB and Spark alike).

    The first 16 hex digits are read as two 32-bit halves, each exact in a DOUBLE; ``hi * 2**32
    + lo`` is then one correctly rounded addition, the same rounding Python applies to the
    64-bit integer, and the division by 2**64 is exact. Neither engine's hex parser is needed.

    >>> keyed_uniform_sql("h").count("INSTR")
    16
    """
    def half(start: int) -> str:
        value = "CAST(0 AS DOUBLE)"
        for k in range(start, start + 8):
            digit = f"CAST(INSTR('0123456789abcdef', SUBSTR({digest}, {k}, 1)) - 1 AS DOUBLE)"
            value = f"({value} * 16 + {digit})"
        return value

    return (f"(({half(1)} * CAST(4294967296 AS DOUBLE) + {half(9)})"
            " / CAST(18446744073709551616 AS DOUBLE))")


def design_sql(calendar: WeekCalendar) -> str:
    """The design's SQL text (``cohort_design.sql``) with its two placeholders filled in.

    >>> "KEYED_UNIFORM(c.digest)" in design_sql(WeekCalendar(0))
    False
    """
    text = resources.files("rollout.data").joinpath("cohort_design.sql").read_text(
        encoding="utf-8")
    return (text.replace("KEYED_UNIFORM(c.digest)", keyed_uniform_sql("c.digest"))
            .replace("FIRST_DAY_OF_WEEK(i.index_week)", calendar.first_day_sql("i.index_week")))


#: The universe of the design: every household with a purchase, and the week of its first.
HOUSEHOLDS_SQL = ("SELECT customer_id, MIN(week_no) AS first_purchase_week FROM transactions "
                  "GROUP BY customer_id")

_ATTRITION_SQL = """
SELECT treatment, COUNT(*) AS n_universe, SUM(keep_post) AS n_post,
       SUM(keep_post * keep_pre) AS n_pre, SUM(keep_post * keep_pre * keep_purchase) AS n_kept,
       MIN(index_week) AS min_week,
       MAX(CASE WHEN keep_post = 1 THEN index_week END) AS max_week_post
FROM design_households GROUP BY treatment
"""

_INDEX_SQL = """
SELECT customer_id, treatment, index_week, index_campaign_id, index_day FROM design_households
WHERE keep_post = 1 AND keep_pre = 1 AND keep_purchase = 1
"""

#: Each household of ``cohort_index`` with the campaigns whose coupons count in its window.
INDEX_CAMPAIGNS_SQL = """
SELECT customer_id, index_campaign_id AS campaign_id FROM cohort_index WHERE treatment = 1
UNION ALL
SELECT i.customer_id, c.campaign_id
FROM cohort_index i
JOIN campaigns c ON c.start_week = i.index_week
CROSS JOIN design_params p
WHERE i.treatment = 0 AND c.campaign_type = p.campaign_type
"""


def draw_index_weeks(customer_ids: Iterable[object], treated_index_weeks: np.ndarray,
                     salt: str = DEFAULT_SALT) -> np.ndarray:
    """Index weeks for control households, drawn from the treated index-week distribution.

    The rule in plain Python: the reference the design's SQL is held to (see the module
    docstring).

    >>> draw_index_weeks([10, 11, 12], np.array([5, 5, 5]), salt="x").tolist()
    [5, 5, 5]
    """
    weeks = np.sort(np.asarray(treated_index_weeks, dtype=np.int64))
    if weeks.size == 0:
        raise ValueError("no treated index weeks to draw from")
    u = keyed_uniform(customer_ids, salt)
    position = np.minimum(np.floor(u * weeks.size).astype(np.int64), weeks.size - 1)
    return weeks[position]


@dataclass(frozen=True)
class CohortDesign(DisplayMixin):
    """The design's result: one row per kept household, the campaigns it is indexed on, attrition.

    ``index`` has customer_id, treatment, index_week and index_campaign_id (the indexing
    campaign; -1 for controls). ``index_campaigns`` pairs each household with the campaigns
    whose coupons count as "campaign coupons" in its outcome window: a treated household's
    indexing campaign; for a control household, every campaign of the type that starts in its
    index week.
    """

    index: pd.DataFrame
    index_campaigns: pd.DataFrame
    attrition: pd.DataFrame
    campaign_type: str

    def to_dict(self) -> dict[str, Any]:
        """The campaign type, group sizes and attrition rows (not the per-household rows)."""
        treated = self.index["treatment"] == 1
        return {"campaign_type": self.campaign_type, "n": len(self.index),
                "n_treated": int(treated.sum()), "n_control": int((~treated).sum()),
                "attrition": plain(self.attrition)}

    def summary(self) -> pd.DataFrame:
        """The attrition table: households remaining and dropped after each step."""
        return self.attrition.copy()


def _attrition_row(step: str, n_treated: int, n_control: int, previous_total: int | None
                   ) -> dict:
    total = n_treated + n_control
    return {"step": step, "n_treated": int(n_treated), "n_control": int(n_control),
            "n_total": int(total),
            "dropped": 0 if previous_total is None else int(previous_total - total)}


@dataclass(frozen=True)
class EngineDesign(DisplayMixin):
    """The design run on an engine: tables ``design_households``, ``cohort_index`` and
    ``index_campaigns`` live in the engine; the attrition table is here.

    ``cohort_index`` has customer_id, treatment, index_week, index_campaign_id and index_day of
    every kept household; ``index_campaigns`` customer_id and campaign_id (see
    :class:`CohortDesign`).
    """

    attrition: pd.DataFrame
    campaign_type: str

    @property
    def n_treated(self) -> int:
        return int(self.attrition["n_treated"].iloc[-1])

    @property
    def n_control(self) -> int:
        return int(self.attrition["n_control"].iloc[-1])

    def to_dict(self) -> dict[str, Any]:
        return {"campaign_type": self.campaign_type, "n_treated": self.n_treated,
                "n_control": self.n_control, "attrition": plain(self.attrition)}


def design_on_engine(engine: SqlEngine, *, campaign_type: str, window_weeks: int,
                     first_week: int, last_week: int, calendar: WeekCalendar,
                     salt: str = DEFAULT_SALT, campaigns_file: str | None = None
                     ) -> EngineDesign:
    """Run the design (``cohort_design.sql``) in ``engine``; see the module docstring.

    ``engine`` holds ``households`` (customer_id, first_purchase_week: :data:`HOUSEHOLDS_SQL`),
    ``campaigns`` (campaign_id, campaign_type as the bare letter, start_week) and
    ``campaign_members``. Creates ``design_params``, ``design_households``, ``cohort_index`` and
    ``index_campaigns`` there. Raises :class:`InputError` for an unknown campaign type, a window
    too long for the data, or an empty arm.
    """
    known = sorted(str(t) for t in engine.query(
        "SELECT DISTINCT campaign_type FROM campaigns")["campaign_type"])
    if campaign_type not in known:
        raise InputError(f"unknown campaign type {campaign_type!r}; known types: "
                         f"{', '.join(known)}", file=campaigns_file, column="campaign_type")
    engine.register("design_params", pd.DataFrame({
        "campaign_type": [campaign_type], "salt": [salt], "window_weeks": [int(window_weeks)],
        "first_week": [int(first_week)], "last_week": [int(last_week)]}).astype(
            {"campaign_type": object, "salt": object}))
    engine.create_table("design_households", design_sql(calendar), keep=True)
    counts = engine.query(_ATTRITION_SQL).set_index("treatment")

    def count(arm: int, column: str) -> int:
        return int(counts.loc[arm, column]) if arm in counts.index else 0

    if count(1, "n_universe") == 0:
        raise InputError(f"empty cohort: campaign type {campaign_type!r} targets no household "
                         "with purchases in the data", file=campaigns_file,
                         column="campaign_type")
    rows = [_attrition_row(STEP_UNIVERSE, count(1, "n_universe"), count(0, "n_universe"), None)]
    steps = ((STEP_POST_WINDOW, "n_post"), (STEP_PRE_WINDOW, "n_pre"),
             (STEP_NO_PRE_PURCHASE, "n_kept"))
    for step, column in steps:
        if count(1, column) == 0 and step == STEP_POST_WINDOW:
            earliest = count(1, "min_week")
            raise InputError(
                f"window past the end of the data: a window of {window_weeks} weeks needs "
                f"weeks up to the index week + {window_weeks}, but the data ends in week "
                f"{last_week} and the earliest index week is {earliest}; "
                f"use {max(last_week - earliest, 0)} weeks or less", argument="window_weeks")
        if count(1, column) == 0 and step == STEP_PRE_WINDOW:
            raise InputError(
                f"window too long for the data: a window of {window_weeks} weeks needs "
                f"{window_weeks + 1} pre-period weeks before the index week, but the data "
                f"starts in week {first_week} and the latest index week is "
                f"{count(1, 'max_week_post')}", argument="window_weeks")
        rows.append(_attrition_row(step, count(1, column), count(0, column),
                                   rows[-1]["n_total"]))
    attrition = pd.DataFrame(rows, columns=ATTRITION_COLUMNS)
    for arm, label in ((1, "treated"), (0, "control")):
        if count(arm, "n_kept") == 0:
            raise InputError(
                f"empty cohort: no {label} households remain for campaign type "
                f"{campaign_type!r} (attrition: "
                + "; ".join(f"{r['step']}: {r['n_total']}" for r in rows) + ")",
                file=campaigns_file, column="campaign_type")
    engine.create_table("cohort_index", _INDEX_SQL, keep=True)
    engine.create_table("index_campaigns", INDEX_CAMPAIGNS_SQL)
    return EngineDesign(attrition=attrition, campaign_type=campaign_type)


def design_first_campaign(
    households: pd.DataFrame,
    campaigns: pd.DataFrame,
    members: pd.DataFrame,
    *,
    campaign_type: str,
    window_weeks: int,
    first_week: int,
    last_week: int,
    salt: str = DEFAULT_SALT,
    campaigns_file: str | None = None,
    calendar: WeekCalendar | None = None,
) -> CohortDesign:
    """Apply the first-campaign-only design to pandas tables (see the module docstring).

    ``households``: customer_id and first_purchase_week, one row per household with purchases.
    ``campaigns``: campaign_id, campaign_type (bare letter), start_week. ``members``:
    campaign_id, customer_id. Runs :func:`design_on_engine` in an in-memory DuckDB and returns
    its tables; raises :class:`InputError` for an unknown campaign type, a window too long for
    the data, or an empty arm.
    """
    engine = DuckDBEngine()
    try:
        engine.register("households", households[["customer_id", "first_purchase_week"]])
        engine.register("campaigns", campaigns[["campaign_id", "campaign_type", "start_week"]]
                        .astype({"campaign_type": object}))
        engine.register("campaign_members", members[["campaign_id", "customer_id"]])
        design = design_on_engine(engine, campaign_type=campaign_type,
                                  window_weeks=window_weeks, first_week=first_week,
                                  last_week=last_week, calendar=calendar or WeekCalendar(0),
                                  salt=salt, campaigns_file=campaigns_file)
        index = engine.query("SELECT customer_id, treatment, index_week, index_campaign_id "
                             "FROM cohort_index ORDER BY customer_id")
        index_campaigns = engine.query("SELECT customer_id, campaign_id FROM index_campaigns "
                                       "ORDER BY customer_id, campaign_id")
    finally:
        engine.close()
    index["treatment"] = index["treatment"].astype(np.int8)
    return CohortDesign(index=index, index_campaigns=index_campaigns,
                        attrition=design.attrition, campaign_type=campaign_type)
