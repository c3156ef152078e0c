"""Statutory working days (spec/case.md) with the paused intervals taken out.

A day counts for a clock started on ``start`` when it is a working day (the State Council's
calendar, holidays and make-up working days, from :func:`schemas.verdict.is_workday`), it
is after ``start`` (counted from the day after the event) and the clock was not paused on
it. A pause recorded on day ``p`` and resumed on day ``r`` stops the days ``p+1 … r``: the
day of the pause had run, counting resumes the day after the resume, as it does after any
event. Beyond the calendar's data, Monday to Friday are counted and the answer's basis is
``"weekdays"`` (an estimate), as for the 容缺 deadline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from schemas.verdict import is_workday

__all__ = ["Span", "Count", "count_working_days", "due_date", "paused_days"]

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Span:
    """A pause: from ``start`` (the day it was recorded) to ``end`` (resumed; None: still)."""

    start: dt.date
    end: dt.date | None = None

    def stops(self, day: dt.date) -> bool:
        """Whether the clock did not run on ``day``."""
        return self.start < day and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class Count:
    """Working days counted, and whether every day came from the statutory calendar."""

    days: int
    basis: str  # "statutory" or "weekdays"


def _runs(day: dt.date, pauses: Sequence[Span]) -> bool:
    return not any(p.stops(day) for p in pauses)


def count_working_days(start: dt.date, end: dt.date, pauses: Sequence[Span] = ()) -> Count:
    """Working days in ``(start, end]`` on which the clock ran (0 when ``end <= start``)."""
    day, n, statutory = start + ONE_DAY, 0, True
    while day <= end:
        work, known = is_workday(day)
        statutory &= known
        n += work and _runs(day, pauses)
        day += ONE_DAY
    return Count(n, "statutory" if statutory else "weekdays")


def paused_days(start: dt.date, end: dt.date, pauses: Sequence[Span]) -> int:
    """Working days in ``(start, end]`` the pauses took out."""
    return count_working_days(start, end).days - count_working_days(start, end, pauses).days


def due_date(start: dt.date, limit: int, pauses: Sequence[Span] = ()) -> tuple[dt.date | None, str]:
    """The day the ``limit``-th running working day after ``start`` falls on, and its basis.

    None while a pause without an end stands before that day (the clock is stopped, so no
    date can be promised). A limit of 0 is due on ``start`` itself.
    """
    day, n, statutory = start, 0, True
    while n < limit:
        day += ONE_DAY
        if any(p.end is None and p.stops(day) for p in pauses):
            return None, "statutory" if statutory else "weekdays"
        work, known = is_workday(day)
        statutory &= known
        n += work and _runs(day, pauses)
    return day, "statutory" if statutory else "weekdays"
