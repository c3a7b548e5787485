"""The data's own week numbering, and the rule that maps a day to it.

Both sources number time in whole days (day 1 is the first day of the data) and in weeks. A week
is a block of seven consecutive days; what differs between data sets is only the *phase*: on which
day of the first week the data starts. The Dunnhumby CSVs begin on the first day of a week
(day 1 is in week 1, day 8 in week 2); the Complete Journey data begins on a Sunday while its
weeks run Monday to Sunday, so its week 1 holds a single day.

:class:`WeekCalendar` holds that phase and maps any day, including days before the data starts
(campaigns that began earlier), to its week::

    week = floor((day - 1 + phase) / 7) + 1

The phase is never assumed: :func:`infer_week_calendar` finds the single phase that reproduces
the week of every transaction and refuses data whose weeks are not seven-day blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rollout.errors import InputError

DAYS_PER_WEEK = 7


@dataclass(frozen=True)
class WeekCalendar:
    """Seven-day weeks whose first week starts ``phase`` days before day 1.

    Examples
    --------
    >>> calendar = WeekCalendar(phase=6)   # day 1 is the last day of week 1
    >>> calendar.week_of_day(1), calendar.week_of_day(2), calendar.week_of_day(8)
    (1, 2, 2)
    >>> calendar.first_day_of_week(2), calendar.week_of_day(-5), calendar.week_of_day(-6)
    (2, 1, 0)
    """

    phase: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.phase < DAYS_PER_WEEK:
            raise ValueError(f"phase must be in 0..6, got {self.phase}")

    def week_of_day(self, day: int) -> int:
        """The week holding ``day`` (floor division, so days before the data map to weeks <= 0)."""
        return (int(day) - 1 + self.phase) // DAYS_PER_WEEK + 1

    def weeks_of_days(self, days: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`week_of_day`."""
        days = np.asarray(days, dtype=np.int64)
        return np.floor_divide(days - 1 + self.phase, DAYS_PER_WEEK) + 1

    def first_day_of_week(self, week: int) -> int:
        """The first day of ``week`` (may be before day 1 for the data's first week)."""
        return (int(week) - 1) * DAYS_PER_WEEK - self.phase + 1

    def week_sql(self, day: str) -> str:
        """:meth:`week_of_day` as a SQL expression of the day expression ``day`` (both engines).

        >>> WeekCalendar(phase=6).week_sql("day_no")
        'CAST(FLOOR((day_no - 1 + 6) / 7.0) AS INTEGER) + 1'
        """
        return f"CAST(FLOOR(({day} - 1 + {self.phase}) / 7.0) AS INTEGER) + 1"

    def first_day_sql(self, week: str) -> str:
        """:meth:`first_day_of_week` as a SQL expression of the week expression ``week``.

        >>> WeekCalendar(phase=6).first_day_sql("index_week")
        '(index_week - 1) * 7 - 6 + 1'
        """
        return f"({week} - 1) * {DAYS_PER_WEEK} - {self.phase} + 1"


def infer_week_calendar(days: np.ndarray, weeks: np.ndarray, file: str | None = None,
                        day_column: str = "day", week_column: str = "week") -> WeekCalendar:
    """Find the phase that maps every given day to its recorded week.

    ``days`` and ``weeks`` are the (distinct) day/week pairs seen in the transactions. When
    several phases fit (data shorter than a week), the smallest is taken. Raises
    :class:`InputError` naming the first day whose week no seven-day calendar explains.

    >>> infer_week_calendar(np.array([1, 2, 8, 9]), np.array([1, 2, 2, 3])).phase
    6
    >>> infer_week_calendar(np.array([1, 7, 8]), np.array([1, 1, 2])).phase
    0
    """
    days = np.asarray(days, dtype=np.int64)
    weeks = np.asarray(weeks, dtype=np.int64)
    if days.size == 0:
        raise InputError("no transactions: cannot tell the week numbering", file=file,
                         column=week_column)
    for phase in range(DAYS_PER_WEEK):
        calendar = WeekCalendar(phase)
        if np.array_equal(calendar.weeks_of_days(days), weeks):
            return calendar
    day, week = first_unexplained_day(days, weeks)
    raise InputError(
        f"{day_column} {day} is recorded in {week_column} {week}, which no calendar of "
        "seven-day weeks explains (each week must hold seven consecutive days)",
        file=file, column=week_column,
    )


def first_unexplained_day(days: np.ndarray, weeks: np.ndarray) -> tuple[int, int]:
    """The earliest (day, week) pair that breaks the calendar fitting the most pairs.

    >>> first_unexplained_day(np.array([1, 2, 3, 9]), np.array([1, 1, 1, 1]))
    (9, 1)
    """
    days = np.asarray(days, dtype=np.int64)
    weeks = np.asarray(weeks, dtype=np.int64)
    best = max(range(DAYS_PER_WEEK),
               key=lambda p: int((WeekCalendar(p).weeks_of_days(days) == weeks).sum()))
    mismatch = np.flatnonzero(WeekCalendar(best).weeks_of_days(days) != weeks)
    first = mismatch[np.argsort(days[mismatch], kind="stable")[0]]
    return int(days[first]), int(weeks[first])
