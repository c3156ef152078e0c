"""The case's state: :func:`apply` folds an event in, :func:`handle` checks it first.

:func:`handle` is the one place the process's rules live (spec/case.md, roles and stages):
who may record what, in which order, on which case. A refused event raises
:class:`Refused` with a code and a Chinese reason, and changes nothing. :func:`apply` never
checks (the log holds only events that were accepted), so :func:`replay` of the log gives
exactly the state that was live when they were accepted, whatever the profile says today.

Refusal codes
-------------
CASE-001 the role may not record this event
CASE-002 not this organisation's case (a department not asked, another firm)
CASE-003 out of turn (the stage before is not done, or this one is)
CASE-004 the case is closed (registered, or concluded 不通过)
CASE-005 a revision whose verdict is ``rejected`` cannot be accepted
CASE-006 a 容缺 item is open (registration)
CASE-007 earlier than the case's last event
CASE-008 the case is paused, waiting for the firm
CASE-009 not a finding of the department's own survey in the current revision
CASE-010 a value the event cannot hold (unknown department, decision, revision number …)
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from cases.events import (
    DECISIONS,
    ArchiveCertified,
    CaseOpened,
    CasePaused,
    CombinedOpinionIssued,
    Event,
    ExceptionAccepted,
    FindingRef,
    GreenChannelMarked,
    Identity,
    OpinionGiven,
    OpinionsRequested,
    Registered,
    RevisionSubmitted,
    SiteInspected,
)
from cases.profile import CaseRules

__all__ = [
    "Case",
    "Item",
    "Opinion",
    "Pause",
    "Refused",
    "AcceptedException",
    "apply",
    "handle",
    "replay",
]


class Refused(Exception):
    """An event the rules do not allow: ``code`` (CASE-0nn) and a Chinese ``reason``."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Opinion:
    """One version of a department's opinion."""

    department: str
    version: int
    decision: str
    text: str
    relies_on: tuple[str, ...]
    person: str
    at: dt.datetime


@dataclass(frozen=True)
class Pause:
    """A stop of the clock: when, why, by whom, and the resume (None while waiting)."""

    at: dt.datetime
    reason: str
    by: str
    resumed_at: dt.datetime | None = None
    resumed_by_revision: int | None = None


@dataclass(frozen=True)
class Item:
    """A 容缺 item: one tolerated finding, its deadline, and when a revision closed it."""

    code: str
    identity: Identity
    deadline: dt.date | None
    deadline_basis: str | None
    opened_revision: int
    closed_revision: int | None = None
    closed_at: dt.datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_revision is None

    def overdue_on(self, today: dt.date) -> bool:
        return self.is_open and self.deadline is not None and today > self.deadline


@dataclass(frozen=True)
class AcceptedException:
    """A finding a department accepted as an exception, matched by identity later on."""

    identity: Identity
    code: str
    domain: str
    department: str
    reason: str
    person: str
    at: dt.datetime
    revision: int


@dataclass(frozen=True)
class Case:
    """Everything the events say about one case. ``version`` counts its events."""

    case_id: str
    project_id: str
    firm: str
    opened_at: dt.datetime
    opened_by: str
    revision: int
    package_sha256: str
    verdict: str
    findings: tuple[FindingRef, ...]
    version: int = 1
    last_at: dt.datetime | None = None
    green: bool = False
    requested: tuple[str, ...] = ()
    dispatched_at: dt.datetime | None = None
    inspected_at: dt.datetime | None = None
    inspection: SiteInspected | None = None
    opinions: Mapping[str, tuple[Opinion, ...]] = field(default_factory=dict)
    opinions_complete_at: dt.datetime | None = None
    concluded_at: dt.datetime | None = None
    conclusion: str | None = None
    number: str | None = None
    archived_at: dt.datetime | None = None
    certificate: str | None = None
    registered_at: dt.datetime | None = None
    registration_number: str | None = None
    pauses: tuple[Pause, ...] = ()
    items: tuple[Item, ...] = ()
    exceptions: tuple[AcceptedException, ...] = ()

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].resumed_at is None

    @property
    def closed(self) -> bool:
        return self.registered_at is not None or self.conclusion == "不通过"

    @property
    def open_items(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.is_open)

    def opinion(self, department: str) -> Opinion | None:
        """The department's opinion in force (its latest version)."""
        versions = self.opinions.get(department, ())
        return versions[-1] if versions else None

    @property
    def missing_opinions(self) -> tuple[str, ...]:
        return tuple(d for d in self.requested if d not in self.opinions)

    @property
    def stage(self) -> str:
        """The stage the case waits for (``dispatched`` … ``registered``), or ``closed``."""
        if self.closed:
            return "closed"
        if self.archived_at is not None:
            return "registered"
        if self.concluded_at is not None:
            return "archived"
        if self.dispatched_at is None:
            return "dispatched"
        if self.missing_opinions:
            return "opinions"
        return "concluded"


# ------------------------------------------------------------------ folding the events


def _items_of(
    findings: Iterable[FindingRef], revision: int, deadline: dt.date | None, basis: str | None
) -> list[Item]:
    return [Item(f.code, f.identity, deadline, basis, revision) for f in findings if f.tolerated]


def _revise_items(case: Case, event: RevisionSubmitted) -> tuple[Item, ...]:
    """Close the open items whose finding is gone; open one for each new tolerated finding.

    Findings of one identity are matched by count, as the revision diff matches them: two
    items of one identity and one such finding now are one open and one closed.
    """
    unmatched: Counter[Identity] = Counter(
        f.identity for f in event.findings if f.severity == "error"
    )
    items: list[Item] = []
    for item in case.items:
        if item.is_open and unmatched[item.identity] > 0:
            unmatched[item.identity] -= 1  # its finding is still there
            items.append(item)
        elif item.is_open:
            items.append(replace(item, closed_revision=event.revision, closed_at=event.at))
        else:
            items.append(item)
    for f in event.findings:
        if f.tolerated and unmatched[f.identity] > 0:
            unmatched[f.identity] -= 1
            items.append(
                Item(f.code, f.identity, event.deadline, event.deadline_basis, event.revision)
            )
    return tuple(items)


def apply(case: Case | None, event: Event) -> Case:
    """The state after ``event`` (no checks: see :func:`handle`)."""
    if isinstance(event, CaseOpened):
        return Case(
            case_id=event.case_id,
            project_id=event.project_id,
            firm=event.firm,
            opened_at=event.at,
            opened_by=event.actor.person,
            revision=event.revision,
            package_sha256=event.package_sha256,
            verdict=event.verdict,
            findings=event.findings,
            last_at=event.at,
            items=tuple(
                _items_of(event.findings, event.revision, event.deadline, event.deadline_basis)
            ),
        )
    if case is None:
        raise ValueError(f"{event.kind}: the case {event.case_id!r} was never opened")
    case = replace(case, version=case.version + 1, last_at=event.at)
    match event:
        case GreenChannelMarked():
            return replace(case, green=True)
        case OpinionsRequested(departments=departments):
            return replace(case, requested=tuple(departments), dispatched_at=event.at)
        case SiteInspected():
            return replace(case, inspected_at=event.at, inspection=event)
        case OpinionGiven():
            dep = event.actor.organisation
            versions = case.opinions.get(dep, ())
            opinion = Opinion(
                dep,
                len(versions) + 1,
                event.decision,
                event.text,
                tuple(event.relies_on),
                event.actor.person,
                event.at,
            )
            opinions = {**case.opinions, dep: (*versions, opinion)}
            case = replace(case, opinions=opinions)
            if case.opinions_complete_at is None and not case.missing_opinions:
                case = replace(case, opinions_complete_at=event.at)
            return case
        case ExceptionAccepted():
            ref = next(f for f in case.findings if f.identity == tuple(event.identity))
            exc = AcceptedException(
                ref.identity,
                ref.code,
                ref.domain,
                event.actor.organisation,
                event.reason,
                event.actor.person,
                event.at,
                case.revision,
            )
            return replace(case, exceptions=(*case.exceptions, exc))
        case CasePaused():
            pause = Pause(
                event.at, event.reason, f"{event.actor.person}@{event.actor.organisation}"
            )
            return replace(case, pauses=(*case.pauses, pause))
        case RevisionSubmitted():
            pauses = case.pauses
            if case.paused and event.verdict != "rejected":
                pauses = (
                    *pauses[:-1],
                    replace(pauses[-1], resumed_at=event.at, resumed_by_revision=event.revision),
                )
            return replace(
                case,
                revision=event.revision,
                package_sha256=event.package_sha256,
                verdict=event.verdict,
                findings=event.findings,
                pauses=pauses,
                items=_revise_items(case, event),
            )
        case CombinedOpinionIssued():
            return replace(
                case, concluded_at=event.at, conclusion=event.conclusion, number=event.number
            )
        case ArchiveCertified():
            return replace(case, archived_at=event.at, certificate=event.certificate)
        case Registered():
            return replace(case, registered_at=event.at, registration_number=event.number)
    raise ValueError(f"unknown case event {type(event).__name__}")


def replay(events: Iterable[Event]) -> Case | None:
    """The state from the events alone (None for no events)."""
    case: Case | None = None
    for event in events:
        case = apply(case, event)
    return case


# ------------------------------------------------------------------ the rules


def _refuse(code: str, reason: str) -> Refused:
    return Refused(code, reason)


def conclusion_of(case: Case) -> str:
    """通过 unless a department's opinion in force is 不通过."""
    bad = any(v[-1].decision == "不通过" for v in case.opinions.values())
    return "不通过" if bad else "通过"


def _check_role(event: Event, role: str, what: str) -> None:
    if event.actor.role != role:
        raise _refuse("CASE-001", f"{what}只能由{_ROLE_NAMES[role]}记录，{event.actor}无此权限")


_ROLE_NAMES = {"lead": "牵头部门", "department": "职能部门", "firm": "测绘单位"}


def _check_lead(event: Event, rules: CaseRules, what: str) -> None:
    _check_role(event, "lead", what)
    if event.actor.organisation != rules.lead:
        raise _refuse(
            "CASE-002", f"{what}只能由牵头部门{rules.name(rules.lead)}记录，{event.actor}不是"
        )


def _check_department(event: Event, case: Case, rules: CaseRules, what: str) -> str:
    _check_role(event, "department", what)
    dep = event.actor.organisation
    if dep not in rules.departments and dep not in case.requested:
        raise _refuse("CASE-010", f"未知的职能部门 {dep}")
    if case.dispatched_at is None:
        raise _refuse("CASE-003", f"尚未征求意见，{rules.name(dep)}不能{what}")
    if dep not in case.requested:
        raise _refuse("CASE-002", f"本案未征求{rules.name(dep)}的意见，不能{what}")
    return dep


def handle(case: Case | None, event: Event, rules: CaseRules) -> Case:
    """Check ``event`` against the rules and the case, then apply it.

    Raises
    ------
    Refused
        The role, organisation, order or value does not allow it; nothing changes.
    """
    if isinstance(event, CaseOpened):
        _check_lead(event, rules, "受理")
        if case is not None:
            raise _refuse("CASE-003", f"案件 {event.case_id} 已受理")
        if event.verdict == "rejected":
            raise _refuse("CASE-005", f"第 {event.revision} 版的结论为退回补正，不能受理")
        if event.verdict not in ("accepted", "accepted_with_deficiencies"):
            raise _refuse("CASE-010", f"未知的检查结论 {event.verdict}")
        return apply(None, event)
    if case is None:
        raise _refuse("CASE-003", f"案件 {event.case_id} 尚未受理")
    if event.case_id != case.case_id:
        raise _refuse("CASE-010", f"事件属于案件 {event.case_id}，不是 {case.case_id}")
    if event.actor.role == "analyst":
        raise _refuse("CASE-001", f"{event.actor}只读，不能记录任何环节")
    if case.closed:
        raise _refuse("CASE-004", f"案件 {case.case_id} 已办结，不能再记录")
    if case.last_at is not None and event.at < case.last_at:
        raise _refuse(
            "CASE-007",
            f"时间 {event.at:%Y-%m-%d %H:%M} 早于本案上一事件（{case.last_at:%Y-%m-%d %H:%M}）",
        )
    _check(case, event, rules)
    return apply(case, event)


def _check(case: Case, event: Event, rules: CaseRules) -> None:
    match event:
        case GreenChannelMarked():
            _check_lead(event, rules, "标记绿色通道")
        case OpinionsRequested(departments=departments):
            _check_lead(event, rules, "征求意见")
            if case.dispatched_at is not None:
                raise _refuse("CASE-003", "已征求过意见")
            unknown = [d for d in departments if d not in rules.departments]
            if unknown or not departments or len(set(departments)) != len(departments):
                raise _refuse(
                    "CASE-010", f"征求意见的部门不对：{'、'.join(unknown) or '为空或重复'}"
                )
        case SiteInspected():
            _check_lead(event, rules, "现场勘察")
            if case.inspected_at is not None:
                raise _refuse("CASE-003", "现场勘察已记录")
            if event.inspected_on < case.opened_at.date() or event.inspected_on > event.at.date():
                raise _refuse("CASE-010", f"勘察日期 {event.inspected_on} 应在受理之后、记录之前")
        case OpinionGiven():
            dep = _check_department(event, case, rules, "出具意见")
            if event.decision not in DECISIONS:
                raise _refuse(
                    "CASE-010", f"意见只能是{'、'.join(DECISIONS)}，不是 {event.decision}"
                )
            if case.concluded_at is not None:
                raise _refuse("CASE-003", f"联合验收意见已出具，{rules.name(dep)}的意见不能再改")
        case ExceptionAccepted():
            dep = _check_department(event, case, rules, "认可例外")
            if case.concluded_at is not None:
                raise _refuse("CASE-003", "联合验收意见已出具，不能再认可例外")
            ref = next((f for f in case.findings if f.identity == tuple(event.identity)), None)
            if ref is None:
                raise _refuse(
                    "CASE-009", f"第 {case.revision} 版没有这一问题（{event.identity[0]}）"
                )
            if ref.domain not in rules.surveys_of(dep):
                raise _refuse(
                    "CASE-009", f"{ref.code} 不属于{rules.name(dep)}的测绘成果，不能由它认可例外"
                )
            if not event.reason.strip():
                raise _refuse("CASE-010", "认可例外须写明理由")
        case CasePaused():
            if event.actor.role == "lead":
                _check_lead(event, rules, "暂停（补正）")
            else:
                _check_department(event, case, rules, "要求补正")
            if case.paused:
                raise _refuse("CASE-008", "案件已在暂停中，等待测绘单位补正")
        case RevisionSubmitted():
            if event.actor.role == "firm":
                if event.actor.organisation != case.firm:
                    raise _refuse("CASE-002", f"{event.actor}不是本案的测绘单位（{case.firm}）")
            else:
                _check_lead(event, rules, "接收新版成果")
            if event.revision <= case.revision:
                raise _refuse("CASE-010", f"新版本号 {event.revision} 应大于第 {case.revision} 版")
        case CombinedOpinionIssued():
            _check_lead(event, rules, "出具联合验收意见")
            if case.concluded_at is not None:
                raise _refuse("CASE-003", "联合验收意见已出具")
            if case.dispatched_at is None or case.missing_opinions:
                names = "、".join(rules.name(d) for d in case.missing_opinions) or "全部部门"
                raise _refuse("CASE-003", f"尚缺{names}的意见")
            if case.inspected_at is None:
                raise _refuse("CASE-003", "尚未记录现场勘察")
            if case.paused:
                raise _refuse("CASE-008", "案件暂停中，等待测绘单位补正")
            if event.conclusion != conclusion_of(case):
                raise _refuse("CASE-010", f"结论应为{conclusion_of(case)}（有部门不通过则不通过）")
        case ArchiveCertified():
            _check_stage_department(event, rules, rules.archive, "存档")
            if case.concluded_at is None:
                raise _refuse("CASE-003", "尚未出具联合验收意见，不能存档")
            if case.archived_at is not None:
                raise _refuse("CASE-003", "存档证明已记录")
            if case.paused:
                raise _refuse("CASE-008", "案件暂停中，等待测绘单位补正")
        case Registered():
            _check_stage_department(event, rules, rules.registration, "登记")
            if case.archived_at is None:
                raise _refuse("CASE-003", "尚未存档，不能登记")
            if case.paused:
                raise _refuse("CASE-008", "案件暂停中，等待测绘单位补正")
            if rules.block_registration_on_open_items and case.open_items:
                codes = "、".join(i.code for i in case.open_items)
                raise _refuse(
                    "CASE-006", f"尚有 {len(case.open_items)} 项容缺未办结（{codes}），不能登记"
                )
        case _:
            raise _refuse("CASE-010", f"未知的事件 {type(event).__name__}")


def _check_stage_department(event: Event, rules: CaseRules, department: str, what: str) -> None:
    _check_role(event, "department", what)
    if event.actor.organisation != department:
        raise _refuse("CASE-002", f"{what}只能由{rules.name(department)}记录，{event.actor}不是")
