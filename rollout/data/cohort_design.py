"""The "first campaign only" study design: who is treated, from when, and who is compared.

For one campaign type (default A):

* **Treated**: households targeted by a campaign of that type, indexed at the start week of their
  *first* such campaign (earliest start; ties broken by the lower campaign id). Later campaigns
  of the type fall in their outcome or post period, never in their pre-period covariates.
* **Control**: households never targeted by a campaign of that type (they may have been targeted
  by other types). A control household has no campaign start of its own, so it gets an index week
  drawn from the treated households' index weeks, with the same frequencies, by a keyed hash of
  its id: ``u = first 8 bytes of SHA-256(salt + ":" + str(customer_id))`` read as a big-endian
  integer over 2**64, a uniform number in [0, 1); the index week is the ``floor(u * n)``-th
  (0-based) of the ``n`` treated index weeks in ascending order, i.e. the inverse of their
  empirical distribution function at ``u``. The draw depends on nothing but the id and the salt,
  so any engine, run or machine gives the same weeks; a different ``salt`` gives an independent
  draw.

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
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rollout.common.display import DisplayMixin, plain
from rollout.errors import InputError

DEFAULT_SALT = "rollout.cohort.v1"

ATTRITION_COLUMNS = ["step", "n_treated", "n_control", "n_total", "dropped"]

STEP_UNIVERSE = "households with purchases in the data"
STEP_PRE_WINDOW = "drop: pre-period window starts before the data"
STEP_POST_WINDOW = "drop: outcome window runs past the end of the data"
STEP_NO_PRE_PURCHASE = "drop: no purchase before the index week"


def keyed_uniform(customer_ids: Iterable[object], salt: str = DEFAULT_SALT) -> np.ndarray:
    """A uniform number in [0, 1) per id, from SHA-256 of ``salt:id`` (deterministic).

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


def draw_index_weeks(customer_ids: Iterable[object], treated_index_weeks: np.ndarray,
                     salt: str = DEFAULT_SALT) -> np.ndarray:
    """Index weeks for control households, drawn from the treated index-week distribution.

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


def _attrition_row(step: str, treatment: pd.Series, previous_total: int | None) -> dict:
    n_treated = int((treatment == 1).sum())
    n_control = int((treatment == 0).sum())
    total = n_treated + n_control
    return {"step": step, "n_treated": n_treated, "n_control": n_control, "n_total": total,
            "dropped": 0 if previous_total is None else previous_total - total}


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
) -> CohortDesign:
    """Apply the first-campaign-only design (see the module docstring).

    ``households``: customer_id and first_purchase_week, one row per household with purchases.
    ``campaigns``: campaign_id, campaign_type (bare letter), start_week. ``members``:
    campaign_id, customer_id. Raises :class:`InputError` for an unknown campaign type, a
    window too long for the data, or an empty arm.
    """
    frame = _first_campaign_index(households, campaigns, members, campaign_type=campaign_type,
                                  salt=salt, campaigns_file=campaigns_file)
    frame, rows = _apply_attrition(frame, window_weeks=window_weeks, first_week=first_week,
                                   last_week=last_week)
    attrition = pd.DataFrame(rows, columns=ATTRITION_COLUMNS)
    for arm, label in ((1, "treated"), (0, "control")):
        if not (frame["treatment"] == arm).any():
            raise InputError(
                f"empty cohort: no {label} households remain for campaign type "
                f"{campaign_type!r} (attrition: "
                + "; ".join(f"{r['step']}: {r['n_total']}" for r in rows) + ")",
                file=campaigns_file, column="campaign_type")

    frame = frame.sort_values("customer_id").reset_index(drop=True)
    index = frame.drop(columns=["first_purchase_week"])
    return CohortDesign(index=index,
                        index_campaigns=_index_campaigns(index, campaigns, campaign_type),
                        attrition=attrition, campaign_type=campaign_type)


def _first_campaign_index(households: pd.DataFrame, campaigns: pd.DataFrame,
                          members: pd.DataFrame, *, campaign_type: str, salt: str,
                          campaigns_file: str | None) -> pd.DataFrame:
    """Every household with its index week: a treated one's first campaign, a control's drawn.

    Columns: customer_id, index_week, index_campaign_id (-1 for controls), treatment and
    first_purchase_week.
    """
    known = sorted(campaigns["campaign_type"].unique().tolist())
    if campaign_type not in known:
        raise InputError(f"unknown campaign type {campaign_type!r}; known types: "
                         f"{', '.join(known)}", file=campaigns_file, column="campaign_type")
    of_type = campaigns.loc[campaigns["campaign_type"] == campaign_type,
                            ["campaign_id", "start_week"]]
    targeted = members.merge(of_type, on="campaign_id")
    targeted = targeted[targeted["customer_id"].isin(households["customer_id"])]
    first = (targeted.sort_values(["customer_id", "start_week", "campaign_id"])
             .drop_duplicates("customer_id", keep="first")
             .rename(columns={"start_week": "index_week", "campaign_id": "index_campaign_id"}))
    if first.empty:
        raise InputError(f"empty cohort: campaign type {campaign_type!r} targets no household "
                         "with purchases in the data", file=campaigns_file,
                         column="campaign_type")

    frame = households[["customer_id"]].merge(first[["customer_id", "index_week",
                                                     "index_campaign_id"]],
                                              on="customer_id", how="left")
    frame["treatment"] = frame["index_week"].notna().astype(np.int8)
    control = frame["treatment"] == 0
    frame.loc[control, "index_week"] = draw_index_weeks(
        frame.loc[control, "customer_id"], first["index_week"].to_numpy(), salt)
    frame["index_week"] = frame["index_week"].astype(np.int64)
    frame["index_campaign_id"] = frame["index_campaign_id"].fillna(-1).astype(np.int64)
    return frame.merge(households[["customer_id", "first_purchase_week"]], on="customer_id")


def _apply_attrition(frame: pd.DataFrame, *, window_weeks: int, first_week: int,
                     last_week: int) -> tuple[pd.DataFrame, list[dict]]:
    """The households that pass every attrition step, and one attrition row per step."""
    rows = [_attrition_row(STEP_UNIVERSE, frame["treatment"], None)]
    steps = (
        (STEP_POST_WINDOW, frame["index_week"] + window_weeks <= last_week),
        (STEP_PRE_WINDOW, frame["index_week"] - (window_weeks + 1) >= first_week),
        (STEP_NO_PRE_PURCHASE, frame["first_purchase_week"] < frame["index_week"]),
    )
    for step, keep in steps:
        kept = frame[keep.loc[frame.index]]
        if (kept["treatment"] == 1).sum() == 0 and step in (STEP_PRE_WINDOW, STEP_POST_WINDOW):
            treated_weeks = frame.loc[frame["treatment"] == 1, "index_week"]
            if step == STEP_POST_WINDOW:
                raise InputError(
                    f"window past the end of the data: a window of {window_weeks} weeks needs "
                    f"weeks up to the index week + {window_weeks}, but the data ends in week "
                    f"{last_week} and the earliest index week is {int(treated_weeks.min())}; "
                    f"use {max(last_week - int(treated_weeks.min()), 0)} weeks or less",
                    argument="window_weeks")
            raise InputError(
                f"window too long for the data: a window of {window_weeks} weeks needs "
                f"{window_weeks + 1} pre-period weeks before the index week, but the data "
                f"starts in week {first_week} and the latest index week is "
                f"{int(treated_weeks.max())}", argument="window_weeks")
        frame = kept
        rows.append(_attrition_row(step, frame["treatment"], rows[-1]["n_total"]))
    return frame, rows


def _index_campaigns(index: pd.DataFrame, campaigns: pd.DataFrame,
                     campaign_type: str) -> pd.DataFrame:
    """Each household paired with the campaigns whose coupons count in its outcome window."""
    treated = index.loc[index["treatment"] == 1, ["customer_id", "index_campaign_id"]]
    treated = treated.rename(columns={"index_campaign_id": "campaign_id"})
    controls = index.loc[index["treatment"] == 0, ["customer_id", "index_week"]].merge(
        campaigns.loc[campaigns["campaign_type"] == campaign_type,
                      ["campaign_id", "start_week"]],
        left_on="index_week", right_on="start_week")[["customer_id", "campaign_id"]]
    return (pd.concat([treated, controls], ignore_index=True)
            .sort_values(["customer_id", "campaign_id"]).reset_index(drop=True))
