"""A case's clocks, its overdue stages and items, and its findings with accepted exceptions.

Each stage's clock starts at the event that ends the stage before it (spec/case.md):
dispatch and inspection at acceptance, the opinions at dispatch, the conclusion when every
requested opinion is in, the archive at the conclusion, the registration at the archive,
the total at acceptance. It counts running working days (:mod:`cases.clock`: the pauses
taken out) up to the stage's end, or up to ``today`` while it runs; ``remaining`` and
``overdue`` are never negative, and at most one of them is not zero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from cases.case import AcceptedException, Case, Item
from cases.clock import Span, count_working_days, due_date
from cases.events import FindingRef
from cases.profile import CaseRules

__all__ = [
    "STAGE_NAMES",
    "BoardRow",
    "StageClock",
    "board",
    "findings_view",
    "overdue",
    "pause_spans",
    "stage_clocks",
]

STAGE_NAMES: dict[str, str] = {
    "accepted": "受理",
    "dispatched": "征求意见",
    "inspected": "现场勘察",
    "opinions": "部门意见",
    "concluded": "验收结论",
    "archived": "存档",
    "registered": "登记",
    "total": "办结",
    "closed": "已办结",
}


@dataclass(frozen=True)
class StageClock:
    """One stage's clock on a given day."""

    stage: str
    responsible: tuple[str, ...]
    start: dt.date
    end: dt.date | None  # None: running
    limit: int
    due: dt.date | None  # None: stopped by a pause that has not ended
    used: int
    remaining: int
    overdue: int
    basis: str  # "statutory" or "weekdays" (some day beyond the calendar's data)
    paused: bool

    @property
    def running(self) -> bool:
        return self.end is None


def pause_spans(case: Case) -> tuple[Span, ...]:
    """The case's pauses as day spans."""
    return tuple(
        Span(p.at.date(), p.resumed_at.date() if p.resumed_at else None) for p in case.pauses
    )


def _day(t: dt.datetime | None) -> dt.date | None:
    return None if t is None else t.date()


def stage_clocks(case: Case, rules: CaseRules, today: dt.date) -> list[StageClock]:
    """The clock of every stage that has started, in the order of the stages."""
    spans = pause_spans(case)
    ended_total = case.registered_at or (case.concluded_at if case.conclusion == "不通过" else None)
    stages: list[tuple[str, tuple[str, ...], dt.datetime | None, dt.datetime | None]] = [
        ("dispatched", (rules.lead,), case.opened_at, case.dispatched_at),
        ("inspected", (rules.lead,), case.opened_at, case.inspected_at),
        (
            "opinions",
            case.missing_opinions or case.requested,
            case.dispatched_at,
            case.opinions_complete_at,
        ),
        ("concluded", (rules.lead,), case.opinions_complete_at, case.concluded_at),
    ]
    if case.conclusion != "不通过":
        stages += [
            ("archived", (rules.archive,), case.concluded_at, case.archived_at),
            ("registered", (rules.registration,), case.archived_at, case.registered_at),
        ]
    stages.append(("total", (rules.lead,), case.opened_at, ended_total))
    out: list[StageClock] = []
    for stage, responsible, start_t, end_t in stages:
        start, end = _day(start_t), _day(end_t)
        if start is None:
            continue
        limit = rules.limit(stage, case.green)
        count = count_working_days(start, end or max(today, start), spans)
        due, due_basis = due_date(start, limit, spans)
        out.append(
            StageClock(
                stage=stage,
                responsible=tuple(responsible),
                start=start,
                end=end,
                limit=limit,
                due=due,
                used=count.days,
                remaining=max(limit - count.days, 0),
                overdue=max(count.days - limit, 0),
                basis="statutory" if count.basis == due_basis == "statutory" else "weekdays",
                paused=end is None and case.paused,
            )
        )
    return out


@dataclass(frozen=True)
class Overdue:
    """A stage or a 容缺 item past its limit."""

    case_id: str
    what: str  # a stage, or "item:<code>"
    responsible: tuple[str, ...]
    days_over: int  # working days for a stage, calendar days for an item


def overdue(case: Case, rules: CaseRules, today: dt.date) -> list[Overdue]:
    """Every overdue running stage (and stage finished late) and every overdue open item."""
    out = [
        Overdue(case.case_id, c.stage, c.responsible, c.overdue)
        for c in stage_clocks(case, rules, today)
        if c.overdue > 0
    ]
    for item in case.items:
        if item.overdue_on(today) and item.deadline is not None:
            out.append(
                Overdue(
                    case.case_id, f"item:{item.code}", (case.firm,), (today - item.deadline).days
                )
            )
    return out


@dataclass(frozen=True)
class BoardRow:
    """One open case on the board: the stage it waits for and its running clocks."""

    case_id: str
    project_id: str
    stage: str
    green: bool
    paused: bool
    clocks: tuple[StageClock, ...]  # the running ones, ``total`` last
    open_items: tuple[Item, ...]
    overdue_items: tuple[Item, ...]


def board(cases: Iterable[Case], rules: CaseRules, today: dt.date) -> list[BoardRow]:
    """The open cases by stage (in the order of the stages), green channel first."""
    order = {
        s: i
        for i, s in enumerate(("dispatched", "opinions", "concluded", "archived", "registered"))
    }
    rows = [
        BoardRow(
            case_id=c.case_id,
            project_id=c.project_id,
            stage=c.stage,
            green=c.green,
            paused=c.paused,
            clocks=tuple(k for k in stage_clocks(c, rules, today) if k.running),
            open_items=c.open_items,
            overdue_items=tuple(i for i in c.open_items if i.overdue_on(today)),
        )
        for c in cases
        if not c.closed
    ]
    return sorted(rows, key=lambda r: (order.get(r.stage, 99), not r.green, r.case_id))


def findings_view(
    case: Case, rules: CaseRules
) -> list[tuple[FindingRef, AcceptedException | None]]:
    """The current revision's findings, each with the exception that accepts it, if any.

    An exception accepts a finding of the same identity only when the finding is of the
    accepting department's own survey: it never hides another department's finding.
    """
    by_identity = {e.identity: e for e in case.exceptions}
    out: list[tuple[FindingRef, AcceptedException | None]] = []
    for f in case.findings:
        exc = by_identity.get(f.identity)
        if exc is not None and f.domain not in rules.surveys_of(exc.department):
            exc = None
        out.append((f, exc))
    return out
