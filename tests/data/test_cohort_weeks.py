"""Week numbering: the calendar rule, its inference, and the embedded data's own weeks."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from rollout.data.completejourney import CompleteJourneySource, embedded_data_dir
from rollout.data.history import open_history
from rollout.data.weeks import WeekCalendar, infer_week_calendar
from rollout.errors import InputError


@pytest.mark.parametrize("phase", range(7))
def test_calendar_weeks_are_seven_consecutive_days(phase: int) -> None:
    calendar = WeekCalendar(phase)
    days = np.arange(-30, 400)
    weeks = calendar.weeks_of_days(days)
    assert np.all(np.diff(weeks) >= 0)
    _, counts = np.unique(weeks, return_counts=True)
    assert np.all(counts[1:-1] == 7)  # every complete week in the range has 7 days
    assert calendar.week_of_day(1) == 1
    for week in range(-3, 50):
        first = calendar.first_day_of_week(week)
        assert calendar.week_of_day(first) == week
        assert calendar.week_of_day(first - 1) == week - 1
    assert [calendar.week_of_day(d) for d in days[:5]] == weeks[:5].tolist()


@pytest.mark.parametrize("phase", range(7))
def test_inference_recovers_the_phase(phase: int) -> None:
    days = np.arange(1, 60)
    assert infer_week_calendar(days, WeekCalendar(phase).weeks_of_days(days)).phase == phase


def test_inference_refuses_weeks_that_are_not_seven_day_blocks() -> None:
    days = np.arange(1, 30)
    weeks = WeekCalendar(0).weeks_of_days(days)
    weeks[17] += 1  # day 18 recorded a week late
    with pytest.raises(InputError, match="DAY 18 is recorded in WEEK_NO 4") as info:
        infer_week_calendar(days, weeks, file="transaction_data.csv", day_column="DAY",
                            week_column="WEEK_NO")
    assert info.value.file == "transaction_data.csv" and info.value.column == "WEEK_NO"


@pytest.fixture(scope="module")
def embedded() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    history = open_history(CompleteJourneySource(), con)
    con.execute(f"CREATE TABLE meta AS SELECT {history.calendar.phase} AS phase")
    yield con
    con.close()


def test_every_embedded_transaction_week_follows_from_its_timestamp(embedded) -> None:
    """Week from transaction_timestamp (US Eastern local date) equals the recorded week, for
    all 1.47 million purchase lines, including those near midnight and the new year."""
    path = embedded_data_dir() / "transactions.parquet"
    raw = embedded.execute(
        f"SELECT week, transaction_timestamp FROM read_parquet('{path}')").df()
    phase = embedded.execute("SELECT phase FROM meta").fetchone()[0]
    assert phase == 6  # the data starts on a Sunday; weeks run Monday to Sunday
    local = (raw["transaction_timestamp"].dt.tz_localize("UTC")
             .dt.tz_convert("America/New_York").dt.tz_localize(None).dt.normalize())
    day = (local - local.min()).dt.days.to_numpy() + 1
    weeks = WeekCalendar(phase).weeks_of_days(day)
    assert len(raw) > 1_400_000
    assert np.array_equal(weeks, raw["week"].to_numpy())
    # The rule is not trivially satisfied: reading the timestamps as local time breaks it.
    naive = raw["transaction_timestamp"].dt.normalize()
    naive_weeks = WeekCalendar(phase).weeks_of_days(
        (naive - naive.min()).dt.days.to_numpy() + 1)
    assert (naive_weeks != raw["week"].to_numpy()).sum() > 1000
    # And the source's own day numbers give the same answer.
    staged = embedded.execute("SELECT day_no, week_no FROM transactions").df()
    assert np.array_equal(WeekCalendar(phase).weeks_of_days(staged["day_no"].to_numpy()),
                          staged["week_no"].to_numpy())


def test_campaign_start_weeks_agree_with_the_transactions_of_that_day(embedded) -> None:
    """A campaign starting on a day with purchases starts in the week those purchases carry."""
    rows = embedded.execute("""
        SELECT c.campaign_id, c.start_week, MIN(t.week_no) AS lo, MAX(t.week_no) AS hi
        FROM campaigns c JOIN transactions t ON t.day_no = c.start_day
        GROUP BY c.campaign_id, c.start_week""").fetchall()
    assert len(rows) >= 20
    for campaign, start_week, lo, hi in rows:
        assert start_week == lo == hi, campaign
