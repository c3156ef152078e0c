"""The verdict (rules.md §Verdict) and the 容缺 deadline in Chinese statutory working days.

- ``rejected`` (退回补正): an error whose code the profile does not tolerate;
- ``accepted_with_deficiencies`` (容缺受理): errors only in the profile's tolerated codes,
  with a deadline N working days after the check (holidays and make-up working days);
- ``accepted`` (通过): no errors. Warnings and info never change the verdict.

Working days come from the ``chinesecalendar`` library (the State Council's yearly notice).
For a year the library does not know yet, days are counted Monday to Friday and the
deadline is marked as an estimate (``basis = "weekdays"``) rather than guessed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import chinese_calendar

from schemas.findings import Finding
from schemas.profile import Profile

VERDICT_NAMES = {
    "accepted": "通过",
    "accepted_with_deficiencies": "容缺受理",
    "rejected": "退回补正",
}


@dataclass(frozen=True)
class Verdict:
    verdict: str
    deadline: dt.date | None = None
    deadline_basis: str | None = None  # "statutory" or "weekdays" (year beyond the calendar)
    tolerated: tuple[str, ...] = ()  # the 容缺 codes found (容缺受理 only, as results.md has it)
    # the error codes found that the profile tolerates, whatever the verdict: a rejected
    # package's 容缺 items are marked as such too (every report marks them)
    tolerable: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return VERDICT_NAMES[self.verdict]

    def is_tolerated(self, finding: Finding) -> bool:
        """A 容缺 item: an error whose code the profile tolerates."""
        return finding.severity == "error" and finding.code in self.tolerable


def is_workday(day: dt.date) -> tuple[bool, bool]:
    """(is a working day, known from the statutory calendar)."""
    try:
        return bool(chinese_calendar.is_workday(day)), True
    except NotImplementedError:
        return day.weekday() < 5, False


def add_working_days(start: dt.date, n: int) -> tuple[dt.date, str]:
    """The n-th working day after ``start`` (start itself not counted)."""
    day, counted, statutory = start, 0, True
    while counted < n:
        day += dt.timedelta(days=1)
        work, known = is_workday(day)
        statutory &= known
        counted += work
    return day, "statutory" if statutory else "weekdays"


def decide(findings: list[Finding], profile: Profile, checked: dt.date) -> Verdict:
    errors = {f.code for f in findings if f.severity == "error"}
    if not errors:
        return Verdict("accepted")
    tolerated = set(profile.tolerated.codes)
    tolerable = tuple(sorted(errors & tolerated))
    if errors <= tolerated:
        deadline, basis = add_working_days(checked, profile.tolerated.deadline_working_days)
        return Verdict("accepted_with_deficiencies", deadline, basis, tuple(sorted(errors)), tolerable)
    return Verdict("rejected", tolerable=tolerable)
