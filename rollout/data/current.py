"""The covariates of current customers, as of a week: what scoring a saved CATE model needs.

:func:`features_as_of` runs the cohort's own feature definitions (``features.sql``) with the
as-of week in the place of the index week: each customer's 21 covariates describe their
behaviour over every week of data *before* the as-of week, exactly as a cohort household's
describe the weeks before its index week. So the covariates of a treated household as of its
index week are its covariates in the cohort (a test holds them equal), and a model fitted on
the cohort can score the customer base on the same scale. No outcome is computed: the outcome
window may lie in the future.

It runs on the engine given (DuckDB by default, or Spark: ``EngineSettings("spark")``), the same
text on both; only the finished table (one row per customer) comes back to this process.

Examples
--------
>>> from rollout.data import features_as_of
>>> current = features_as_of("completejourney", as_of_week=40)  # doctest: +SKIP
>>> list(current.columns[:3])  # doctest: +SKIP
['customer_id', 'as_of_week', 'recency_weeks']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rollout.common.engine import EngineSettings
from rollout.data.engines import open_engine
from rollout.data.features import COVARIATES, features_view
from rollout.data.history import HistorySource, open_history
from rollout.data.sources import resolve_source
from rollout.errors import InputError

#: The columns :func:`features_as_of` returns.
CURRENT_COLUMNS = ["customer_id", "as_of_week", *COVARIATES]
_INT_COVARIATES = ("recency_weeks", "frequency", "active_weeks", "n_stores", "n_departments",
                   "n_products")


def features_as_of(
    history: str | Path | HistorySource = "completejourney",
    as_of_week: int | None = None,
    as_of: pd.DataFrame | None = None,
    *,
    engine: EngineSettings | None = None,
    window_weeks: int = 4,
) -> pd.DataFrame:
    """Each customer's 21 covariates (``COVARIATES``) as of a week, by the cohort's definitions.

    ``history`` is a source as :func:`~rollout.data.build_cohort` takes it. Give the week one of
    two ways: ``as_of_week`` for every customer with a purchase before it (default: the week
    after the last week of data, i.e. "now"), or ``as_of``, a table of ``customer_id`` and
    ``as_of_week`` (one row per customer; each customer their own week). ``window_weeks`` is
    the cohort's outcome window; it changes no covariate and is there so that the call reads
    like the cohort it matches.

    Returns ``customer_id``, ``as_of_week`` and the covariates, one row per customer ordered by
    id. A customer with no purchase before their as-of week has no pre-period behaviour and is
    left out (as the cohort leaves such households out), so compare the ids returned with the
    ids asked for. Raises :class:`InputError` for a week outside the data (the first week has
    no weeks before it; a week more than one past the last week of data would count weeks with
    no data as weeks without purchases) or a malformed ``as_of`` table.
    """
    if as_of_week is not None and as_of is not None:
        raise InputError("give either as_of_week or as_of (a per-customer table), not both",
                         argument="as_of")
    if int(window_weeks) < 0:
        raise InputError(f"must be 0 or more, got {window_weeks}", argument="window_weeks")
    table = None if as_of is None else _as_of_table(as_of)
    source = resolve_source(history)
    with open_engine(engine or EngineSettings()) as sql:
        loaded = open_history(source, sql)
        lowest, highest = loaded.first_week + 1, loaded.last_week + 1
        if table is None:
            week = highest if as_of_week is None else int(as_of_week)
            _check_week(week, lowest, highest, "as_of_week")
            sql.create_table("as_of_weeks", "SELECT customer_id, CAST(" + str(week)
                             + " AS BIGINT) AS as_of_week FROM transactions GROUP BY customer_id")
        else:
            for bound, week in (("first", int(table["as_of_week"].min())),
                                ("last", int(table["as_of_week"].max()))):
                _check_week(week, lowest, highest, "as_of", bound)
            sql.register("as_of_weeks", table)
        sql.create_table("cohort_index", (
            "SELECT customer_id, 0 AS treatment, as_of_week AS index_week, "
            f"{loaded.calendar.first_day_sql('as_of_week')} AS index_day FROM as_of_weeks"),
                         keep=True)
        sql.create_table("index_campaigns", "SELECT customer_id, CAST(NULL AS BIGINT) AS "
                         "campaign_id FROM as_of_weeks WHERE 1 = 0")
        sql.register("design_params", pd.DataFrame({"window_weeks": [int(window_weeks)],
                                                    "first_week": [loaded.first_week]}))
        features_view(sql)
        frame = sql.query("SELECT i.customer_id, i.index_week AS as_of_week, "
                          + ", ".join(f"f.{c}" for c in COVARIATES)
                          + " FROM cohort_index i JOIN cohort_features f "
                          "ON i.customer_id = f.customer_id ORDER BY i.customer_id")
    for column in ("customer_id", "as_of_week", *_INT_COVARIATES):
        frame[column] = frame[column].astype(np.int64)
    for column in COVARIATES:
        if column not in _INT_COVARIATES:
            frame[column] = frame[column].astype(np.float64)
    return frame[CURRENT_COLUMNS].reset_index(drop=True)


def _check_week(week: int, lowest: int, highest: int, argument: str,
                bound: str | None = None) -> None:
    which = f"the {bound} as-of week, {week}," if bound else f"as-of week {week}"
    if week < lowest and bound != "last":
        raise InputError(f"{which} leaves no week of data before it: the data starts in week "
                         f"{lowest - 1}, so the as-of week must be {lowest} or later",
                         argument=argument)
    if week > highest and bound != "first":
        raise InputError(f"{which} is past the data: the data ends in week {highest - 1}, so "
                         f"the as-of week must be {highest} (now) or earlier", argument=argument)


def _as_of_table(as_of: pd.DataFrame) -> pd.DataFrame:
    """The per-customer as-of weeks, checked: integer ids and weeks, one row per customer."""
    missing = [c for c in ("customer_id", "as_of_week") if c not in as_of.columns]
    if missing:
        raise InputError(f"the as_of table needs the column(s) {', '.join(missing)}",
                         argument="as_of", column=missing[0])
    table = as_of[["customer_id", "as_of_week"]].reset_index(drop=True)
    if table.empty:
        raise InputError("the as_of table has no rows", argument="as_of")
    for column in ("customer_id", "as_of_week"):
        values = table[column]
        whole = pd.api.types.is_integer_dtype(values) or (
            pd.api.types.is_float_dtype(values) and bool(
                np.isfinite(values).all() and (values == np.round(values)).all()))
        if not whole or values.isna().any():
            raise InputError("must hold whole numbers with no missing values",
                             argument="as_of", column=column)
    duplicated = table["customer_id"].duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise InputError(f"customer {int(table['customer_id'].iloc[row])} appears more than "
                         "once; give one as-of week per customer", argument="as_of",
                         column="customer_id", row=row)
    return table.astype(np.int64)
