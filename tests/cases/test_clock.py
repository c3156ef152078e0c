"""Working days counted by hand over the 2026 holidays (the State Council's notice) and
into 2027 (beyond the calendar's data: Monday to Friday, marked an estimate)."""

from __future__ import annotations

import datetime as dt

import pytest

from cases.board import stage_clocks
from cases.case import handle
from cases.clock import Span, count_working_days, due_date
from tests.cases.make import RULES, dispatched, opened, paused, revision

D = dt.date.fromisoformat


@pytest.mark.parametrize(
    ("start", "limit", "due", "basis"),
    [
        # Fri 09-18: 09-20 (Sun) make-up day 1, 21-24 → 5, 25-27 Mid-autumn off,
        # 28-30 → 8, 10-01..07 National Day off, 10-08 → 9, 10-09 → 10
        ("2026-09-18", 10, "2026-10-09", "statutory"),
        ("2026-09-18", 1, "2026-09-20", "statutory"),
        # Thu 02-12: 02-13 → 1, 02-14 (Sat) make-up → 2, 02-15..23 Spring Festival off,
        # 24-27 → 6, 02-28 (Sat) make-up → 7, 03-02..04 → 10
        ("2026-02-12", 10, "2026-03-04", "statutory"),
        # Wed 04-29: 04-30 → 1, 05-01..05 Labour Day off, 06-08 → 4, 05-09 (Sat) make-up → 5,
        # 11-15 → 10
        ("2026-04-29", 10, "2026-05-15", "statutory"),
        # Fri 10-09 (after National Day): 10-10 (Sat) make-up → 1, 12-15 → 5
        ("2026-10-09", 5, "2026-10-15", "statutory"),
        # Thu 2026-12-31: 2027 unknown to the calendar → Monday to Friday, an estimate
        ("2026-12-31", 10, "2027-01-14", "weekdays"),
        ("2026-12-28", 1, "2026-12-29", "statutory"),
    ],
)
def test_due_dates_by_hand(start: str, limit: int, due: str, basis: str) -> None:
    assert due_date(D(start), limit) == (D(due), basis)
    assert count_working_days(D(start), D(due)).days == limit


def test_a_pause_over_the_spring_festival_shifts_the_due_date_by_its_working_days() -> None:
    # paused Tue 02-24, resumed Thu 02-26: 02-25 and 02-26 do not run
    pause = Span(D("2026-02-24"), D("2026-02-26"))
    assert due_date(D("2026-02-12"), 10, [pause]) == (D("2026-03-06"), "statutory")
    assert count_working_days(D("2026-02-12"), D("2026-03-06"), [pause]).days == 10
    # a pause over the holiday itself takes out nothing
    holiday = Span(D("2026-02-14"), D("2026-02-23"))
    assert due_date(D("2026-02-12"), 10, [holiday])[0] == D("2026-03-04")
    # still paused: no due date can be promised
    assert due_date(D("2026-02-12"), 10, [Span(D("2026-02-24"))]) == (None, "statutory")


def test_a_case_over_national_day_counts_by_hand() -> None:
    case = handle(None, opened("2026-09-18"), RULES)
    case = handle(case, dispatched("2026-09-21"), RULES)
    clocks = {c.stage: c for c in stage_clocks(case, RULES, D("2026-10-08"))}
    # opinions asked Mon 09-21: 22, 23, 24, 28, 29 → due 09-29; by 10-08: 22-24, 28-30, 10-08
    assert clocks["opinions"].due == D("2026-09-29")
    assert (clocks["opinions"].used, clocks["opinions"].overdue) == (7, 2)
    # dispatched on 09-21: 09-20 (make-up Sunday) and 09-21 → finished a day late
    assert (clocks["dispatched"].end, clocks["dispatched"].used) == (D("2026-09-21"), 2)
    assert clocks["dispatched"].overdue == 1
    assert clocks["total"].due == D("2026-10-09")
    assert (clocks["total"].used, clocks["total"].remaining) == (9, 1)


def test_a_case_paused_for_correction_does_not_run_its_clock() -> None:
    case = handle(None, opened("2026-09-18"), RULES)
    case = handle(case, dispatched("2026-09-21"), RULES)
    case = handle(case, paused("2026-09-22"), RULES)
    before = {c.stage: c for c in stage_clocks(case, RULES, D("2026-09-22"))}
    later = {c.stage: c for c in stage_clocks(case, RULES, D("2026-10-12"))}
    assert later["total"].used == before["total"].used == 3  # 09-20, 21, 22
    assert later["total"].due is None and later["total"].paused
    # resumed Mon 10-12 by revision 2: 10-13 runs; due = 10 − 3 = 7 more: 10-13..10-21
    case = handle(case, revision("2026-10-12"), RULES)
    total = {c.stage: c for c in stage_clocks(case, RULES, D("2026-10-13"))}["total"]
    assert (total.used, total.remaining, total.due) == (4, 6, D("2026-10-21"))
