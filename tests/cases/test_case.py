"""The case's rules: every stage in order, refusals by role and order, 容缺 items,
opinions superseded, accepted exceptions carried by identity, pauses."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from cases.board import board, findings_view, overdue, stage_clocks
from cases.case import Case, Refused, handle, replay
from cases.events import FindingRef, from_record, to_record
from cases.profile import case_rules
from tests.cases.make import (
    ANALYST,
    ARCHIVE,
    CAD013,
    FIRM_ACTOR,
    HOUSING,
    LEAD,
    PLANNING,
    PLN003,
    REGISTRY,
    RULES,
    archived,
    concluded,
    dispatched,
    exception,
    green,
    inspected,
    opened,
    opinion,
    paused,
    registered,
    revision,
)


def run(*events) -> Case:
    case = None
    for e in events:
        case = handle(case, e, RULES)
    assert case is not None
    return case


def refused(case: Case | None, event) -> Refused:
    with pytest.raises(Refused) as info:
        handle(case, event, RULES)
    assert info.value.reason and all(ord(c) < 0x2FFF for c in info.value.code)
    return info.value


def all_opinions(day: str):
    return [opinion(day, a) for a in (PLANNING, HOUSING, REGISTRY, ARCHIVE)]


def through_conclusion() -> Case:
    return run(
        opened("2026-09-18"),
        dispatched("2026-09-21"),
        inspected("2026-09-21"),
        *all_opinions("2026-09-24"),
        concluded("2026-09-28"),
    )


def test_a_case_runs_every_stage_and_its_item_blocks_registration_until_closed() -> None:
    case = through_conclusion()
    assert case.conclusion == "通过" and case.stage == "archived"
    [item] = case.open_items
    assert (item.code, item.deadline, item.opened_revision) == ("CAD-013", dt.date(2026, 9, 25), 1)

    case = handle(case, archived("2026-09-29"), RULES)
    assert refused(case, registered("2026-09-30")).code == "CASE-006"
    # the firm's second revision no longer has the tolerated finding: the item closes
    case = handle(case, revision("2026-09-30"), RULES)
    assert case.open_items == () and case.items[0].closed_revision == 2
    case = handle(case, registered("2026-09-30"), RULES)
    assert case.closed and case.stage == "closed"
    assert board([case], RULES, dt.date(2026, 10, 9)) == []


def test_registration_with_an_open_item_is_allowed_when_the_profile_switch_is_off() -> None:
    rules = dataclasses.replace(RULES, block_registration_on_open_items=False)
    case = handle(through_conclusion(), archived("2026-09-29"), rules)
    assert handle(case, registered("2026-09-30"), rules).closed


def test_an_item_still_found_stays_open_and_is_flagged_overdue_after_its_deadline() -> None:
    case = run(opened("2026-09-18"), revision("2026-09-21", findings=(CAD013, PLN003)))
    assert len(case.open_items) == 1  # the same identity again: the same item, not a new one
    assert not case.open_items[0].overdue_on(dt.date(2026, 9, 25))
    assert case.open_items[0].overdue_on(dt.date(2026, 9, 26))
    flagged = overdue(case, RULES, dt.date(2026, 9, 28))
    assert ("item:CAD-013", 3) in [(o.what, o.days_over) for o in flagged]
    [row] = board([case], RULES, dt.date(2026, 9, 28))
    assert [i.code for i in row.overdue_items] == ["CAD-013"]


def test_opening_a_rejected_revision_is_refused() -> None:
    assert refused(None, opened("2026-09-18", verdict="rejected")).code == "CASE-005"


@pytest.mark.parametrize("actor", [FIRM_ACTOR, PLANNING, ANALYST])
def test_only_the_lead_opens_a_case(actor) -> None:
    assert refused(None, dataclasses.replace(opened("2026-09-18"), actor=actor)).code == "CASE-001"


def test_a_lead_of_another_office_cannot_open() -> None:
    other = dataclasses.replace(LEAD, organisation="planning")
    assert refused(None, dataclasses.replace(opened("2026-09-18"), actor=other)).code == "CASE-002"


def test_a_department_acting_out_of_turn_is_refused() -> None:
    case = run(opened("2026-09-18"))
    assert refused(case, opinion("2026-09-21", PLANNING)).code == "CASE-003"  # not asked yet
    case = handle(case, dispatched("2026-09-21"), RULES)
    assert refused(case, archived("2026-09-22")).code == "CASE-003"  # no conclusion yet
    assert refused(case, concluded("2026-09-22")).code == "CASE-003"  # opinions missing
    case = run(opened("2026-09-18"), dispatched("2026-09-21"), *all_opinions("2026-09-22"))
    assert refused(case, concluded("2026-09-22")).code == "CASE-003"  # no inspection
    case = through_conclusion()
    assert refused(case, opinion("2026-09-29", PLANNING, "不通过")).code == "CASE-003"
    assert refused(case, registered("2026-09-29")).code == "CASE-003"  # not archived


def test_a_department_on_another_departments_case_or_stage_is_refused() -> None:
    case = run(
        opened("2026-09-18"), dispatched("2026-09-21", ("planning", "registration", "archive"))
    )
    e = refused(case, opinion("2026-09-22", HOUSING))
    assert e.code == "CASE-002" and "住房和城乡建设局" in e.reason
    case = through_conclusion()
    assert refused(case, archived("2026-09-29", actor=REGISTRY)).code == "CASE-002"
    assert refused(case, archived("2026-09-29", actor=LEAD)).code == "CASE-001"
    case = handle(case, archived("2026-09-29"), RULES)
    assert refused(case, registered("2026-09-30", actor=ARCHIVE)).code == "CASE-002"


def test_the_lead_steps_are_the_leads_and_an_analyst_records_nothing() -> None:
    case = run(opened("2026-09-18"))
    assert refused(case, dispatched("2026-09-21", actor=PLANNING)).code == "CASE-001"
    assert refused(case, inspected("2026-09-21", actor=HOUSING)).code == "CASE-001"
    assert refused(case, green("2026-09-21", actor=FIRM_ACTOR)).code == "CASE-001"
    assert refused(case, dispatched("2026-09-21", actor=ANALYST)).code == "CASE-001"
    other_firm = dataclasses.replace(FIRM_ACTOR, organisation="别家公司")
    assert refused(case, revision("2026-09-21", actor=other_firm)).code == "CASE-002"


def test_an_event_earlier_than_the_last_is_refused() -> None:
    case = run(opened("2026-09-18"), dispatched("2026-09-21"))
    assert refused(case, inspected("2026-09-20")).code == "CASE-007"


def test_a_later_opinion_supersedes_and_every_version_is_kept() -> None:
    case = run(
        opened("2026-09-18"),
        dispatched("2026-09-21"),
        inspected("2026-09-21"),
        *all_opinions("2026-09-22"),
        opinion("2026-09-23", HOUSING, "不通过", "套内面积不符"),
    )
    assert [o.decision for o in case.opinions["housing"]] == ["通过", "不通过"]
    assert case.opinion("housing").version == 2
    assert case.opinions_complete_at is not None and case.opinions_complete_at.day == 22
    assert refused(case, concluded("2026-09-24", "通过")).code == "CASE-010"
    case = handle(case, opinion("2026-09-24", HOUSING, "有条件通过", "补交分摊说明"), RULES)
    case = handle(case, concluded("2026-09-24", "通过"), RULES)
    assert case.conclusion == "通过"


def test_a_case_concluded_not_passed_is_closed() -> None:
    case = run(
        opened("2026-09-18"),
        dispatched("2026-09-21"),
        inspected("2026-09-21"),
        *all_opinions("2026-09-22")[:3],
        opinion("2026-09-22", ARCHIVE, "不通过", "档案不全"),
        concluded("2026-09-23", "不通过"),
    )
    assert case.closed
    assert refused(case, archived("2026-09-24")).code == "CASE-004"


def test_an_exception_is_carried_by_identity_and_never_hides_another_departments_finding() -> None:
    case = run(opened("2026-09-18"), dispatched("2026-09-21"))
    assert refused(case, exception("2026-09-21", PLANNING)).code == "CASE-009"  # cadastral
    assert refused(case, exception("2026-09-21", ARCHIVE)).code == "CASE-009"
    gone = FindingRef("CAD-011", "cadastral", "error", ("CAD-011", "", "", "", "x", ""))
    assert refused(case, exception("2026-09-21", REGISTRY, gone)).code == "CASE-009"
    case = handle(case, exception("2026-09-21", REGISTRY), RULES)
    [exc] = case.exceptions
    assert (exc.department, exc.person, exc.reason) == ("registration", "钱登记", "历史界址")

    # revision 2 still has the finding (its message and figures may differ): shown accepted
    case = handle(case, revision("2026-09-22", findings=(CAD013, PLN003)), RULES)
    view = dict((f.code, e) for f, e in findings_view(case, RULES))
    assert view["CAD-013"] is exc and view["PLN-003"] is None
    # a finding of another survey under the same identity is never covered
    foreign = dataclasses.replace(CAD013, domain="planning")
    case = handle(case, revision("2026-09-23", 3, findings=(foreign, PLN003)), RULES)
    assert [e for _, e in findings_view(case, RULES)] == [None, None]


def test_a_pause_stops_the_clock_until_an_accepted_revision() -> None:
    # opened Tue 2026-02-24 (after the Spring Festival); paused the same Tuesday
    case = run(opened("2026-02-24", deficient=False), paused("2026-02-24"))
    assert case.paused
    assert refused(case, paused("2026-02-25")).code == "CASE-008"
    case = handle(case, revision("2026-02-26", verdict="rejected"), RULES)
    assert case.paused  # a rejected revision: still waiting for the firm
    case = handle(case, revision("2026-03-02", 3), RULES)
    assert not case.paused and case.pauses[-1].resumed_by_revision == 3
    total = {c.stage: c for c in stage_clocks(case, RULES, dt.date(2026, 3, 3))}["total"]
    # running days: 03-03 only (02-25 … 03-02 paused): 1 used, 9 left
    assert (total.used, total.remaining, total.overdue) == (1, 9, 0)


def test_the_board_lists_open_cases_by_stage_green_first() -> None:
    a = run(opened("2026-09-18"))
    b = dataclasses.replace(run(opened("2026-09-18"), green("2026-09-18")), case_id="B")
    c = dataclasses.replace(run(opened("2026-09-18"), dispatched("2026-09-21")), case_id="C")
    rows = board([a, c, b], RULES, dt.date(2026, 9, 22))
    assert [(r.case_id, r.stage) for r in rows] == [
        ("B", "dispatched"),
        (a.case_id, "dispatched"),
        ("C", "opinions"),
    ]
    clocks = {k.stage: k for k in rows[1].clocks}
    # opened Fri 09-18; 09-20 (Sunday) is a make-up working day: dispatch was due then
    assert clocks["dispatched"].due == dt.date(2026, 9, 20)
    assert (clocks["dispatched"].used, clocks["dispatched"].overdue) == (3, 2)


def test_every_event_survives_its_record_form() -> None:
    events = [
        opened("2026-09-18"),
        green("2026-09-18"),
        dispatched("2026-09-21"),
        exception("2026-09-21", REGISTRY),
        inspected("2026-09-21"),
        paused("2026-09-22"),
        revision("2026-09-23"),
        *all_opinions("2026-09-24"),
        concluded("2026-09-28"),
        archived("2026-09-29"),
        registered("2026-09-30"),
    ]
    live = run(*events)
    back = [from_record(json.loads(json.dumps(to_record(e), ensure_ascii=False))) for e in events]
    assert back == events
    assert replay(back) == live


def test_case_rules_refuse_a_bad_profile() -> None:
    with pytest.raises(ValueError, match="limit"):
        case_rules({"case": {"limits": {"opinions": -1}}})
    with pytest.raises(ValueError, match="unknown stage"):
        case_rules({"case": {"limits": {"lunch": 1}}})
    with pytest.raises(ValueError, match="archive"):
        case_rules({"case": {"departments": ["planning", "registration"]}})
    assert case_rules({}).limit("total") == 10
    green_rules = case_rules({"case": {"green_limits": {"total": 6}}})
    assert (green_rules.limit("total", True), green_rules.limit("total")) == (6, 10)
