"""Properties of the case over any sequence of events, accepted or refused.

- the state recomputed from the event log alone (through its record form) is the live state;
- no stage ends before it starts; remaining and overdue are never negative, never both;
- a pause never consumes working days: each clock counts exactly the working days of its
  span less those the pauses took out, and a due date counts exactly its limit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.board import pause_spans, stage_clocks
from cases.case import Refused, handle, replay
from cases.clock import Span, count_working_days, due_date, paused_days
from cases.events import Event, from_record, to_record
from tests.cases import make

ACTORS = [
    make.LEAD,
    make.PLANNING,
    make.HOUSING,
    make.REGISTRY,
    make.ARCHIVE,
    make.FIRM_ACTOR,
    make.ANALYST,
]
START = dt.date(2026, 1, 1)


def _event(kind: str, day: str, actor, n: int) -> Event:
    match kind:
        case "dispatch":
            return make.dispatched(day, actor=actor)
        case "inspect":
            return make.inspected(day, actor=actor)
        case "opinion":
            return make.opinion(day, actor, ("通过", "有条件通过", "不通过")[n % 3])
        case "exception":
            return make.exception(day, actor)
        case "pause":
            return make.paused(day, actor=actor)
        case "revision":
            findings = ((make.CAD013, make.PLN003), (make.PLN003,))[n % 2]
            return make.revision(day, n + 2, findings, ("accepted", "rejected")[n % 3 == 2], actor)
        case "conclude":
            return make.concluded(day, ("通过", "不通过")[n % 2], actor)
        case "archive":
            return make.archived(day, actor)
        case "register":
            return make.registered(day, actor)
        case _:
            return make.green(day, actor)


KINDS = [
    "dispatch",
    "inspect",
    "opinion",
    "exception",
    "pause",
    "revision",
    "conclude",
    "archive",
    "register",
    "green",
]
steps = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.integers(0, len(ACTORS) - 1),
        st.integers(-1, 6),  # days after the previous step (−1: earlier, refused)
        st.integers(0, 5),
    ),
    max_size=40,
)


def drive(start_offset: int, plan) -> tuple[list[Event], object]:
    day = START + dt.timedelta(days=start_offset)
    case = handle(None, make.opened(day.isoformat()), make.RULES)
    log: list[Event] = [make.opened(day.isoformat())]
    for i, (kind, who, gap, n) in enumerate(plan):
        day += dt.timedelta(days=gap)
        event = _event(kind, day.isoformat(), ACTORS[who], n + i)
        # the kinds' fixed hours may fall before the last event of the same day: then later
        if case.last_at is not None and event.at < case.last_at and gap >= 0:
            event = dataclasses.replace(event, at=case.last_at + dt.timedelta(minutes=1))
        try:
            case = handle(case, event, make.RULES)
        except Refused as refusal:
            assert refusal.code.startswith("CASE-") and refusal.reason
            continue
        log.append(event)
    return log, case


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 700), steps, st.integers(0, 60))
def test_the_log_alone_gives_the_live_state_and_sane_clocks(start_offset, plan, look) -> None:
    log, live = drive(start_offset, plan)
    records = [json.loads(json.dumps(to_record(e), ensure_ascii=False)) for e in log]
    assert replay(from_record(r) for r in records) == live
    assert live.version == len(log)

    today = live.last_at.date() + dt.timedelta(days=look)
    spans = pause_spans(live)
    for clock in stage_clocks(live, make.RULES, today):
        if clock.end is not None:
            assert clock.end >= clock.start
        assert clock.remaining >= 0 and clock.overdue >= 0
        assert clock.remaining == 0 or clock.overdue == 0
        assert clock.used - clock.overdue + clock.remaining == clock.limit
        upto = clock.end or max(today, clock.start)
        whole = count_working_days(clock.start, upto).days
        assert clock.used == whole - paused_days(clock.start, upto, spans)
        if clock.due is not None:
            assert clock.due >= clock.start
            assert count_working_days(clock.start, clock.due, spans).days == clock.limit


pauses = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20)), max_size=3)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 700), st.integers(0, 12), pauses, st.integers(0, 80))
def test_a_pause_never_consumes_working_days(offset, limit, raw, length) -> None:
    start = START + dt.timedelta(days=offset)
    spans = [Span(start + dt.timedelta(days=a), start + dt.timedelta(days=a + b)) for a, b in raw]
    end = start + dt.timedelta(days=length)
    with_pauses = count_working_days(start, end, spans).days
    stopped = sum(
        1
        for k in range(1, length + 1)
        if (d := start + dt.timedelta(days=k))
        and any(s.stops(d) for s in spans)
        and count_working_days(d - dt.timedelta(days=1), d).days
    )
    assert with_pauses == count_working_days(start, end).days - stopped
    due, _ = due_date(start, limit, spans)
    plain, _ = due_date(start, limit)
    assert due is not None and plain is not None and due >= plain
    assert count_working_days(start, due, spans).days == limit
    # the due date moves by exactly the working days the pauses took out before it
    assert count_working_days(start, due).days == limit + paused_days(start, due, spans)
