"""Events built in code for the case tests: the Liaocheng profile's people and a project."""

from __future__ import annotations

import datetime as dt

from cases.events import (
    Actor,
    ArchiveCertified,
    CaseOpened,
    CasePaused,
    CombinedOpinionIssued,
    ExceptionAccepted,
    FindingRef,
    GreenChannelMarked,
    OpinionGiven,
    OpinionsRequested,
    Registered,
    RevisionSubmitted,
    SiteInspected,
)
from cases.profile import load_case_rules

RULES = load_case_rules("liaocheng")
CASE = "LC-KFQ-2022-0137"
FIRM = "鲁测公司"
SHA = "a" * 64

LEAD = Actor("王受理", "approval", "lead")
PLANNING = Actor("李规划", "planning", "department")
HOUSING = Actor("赵房产", "housing", "department")
REGISTRY = Actor("钱登记", "registration", "department")
ARCHIVE = Actor("孙档案", "archive", "department")
FIRM_ACTOR = Actor("周测绘", FIRM, "firm")
ANALYST = Actor("吴分析", "approval", "analyst")
DEPARTMENTS = {
    "planning": PLANNING,
    "housing": HOUSING,
    "registration": REGISTRY,
    "archive": ARCHIVE,
}

# a tolerated 界址点 finding of the cadastral survey and a planning warning
CAD013 = FindingRef("CAD-013", "cadastral", "error", ("CAD-013", "界址点", "J12", "", "", ""), True)
PLN003 = FindingRef("PLN-003", "planning", "warning", ("PLN-003", "规划指标", "3", "LDL", "", ""))


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour))


def opened(day: str, *, deficient: bool = True, verdict: str | None = None) -> CaseOpened:
    findings = (CAD013, PLN003) if deficient else (PLN003,)
    return CaseOpened(
        case_id=CASE,
        actor=LEAD,
        at=at(day),
        project_id=CASE,
        revision=1,
        package_sha256=SHA,
        verdict=verdict or ("accepted_with_deficiencies" if deficient else "accepted"),
        firm=FIRM,
        deadline=dt.date(2026, 9, 25) if deficient else None,
        deadline_basis="statutory" if deficient else None,
        findings=findings,
    )


def dispatched(
    day: str, departments: tuple[str, ...] = tuple(RULES.departments), actor: Actor = LEAD
):
    return OpinionsRequested(case_id=CASE, actor=actor, at=at(day), departments=departments)


def inspected(day: str, actor: Actor = LEAD) -> SiteInspected:
    return SiteInspected(
        case_id=CASE,
        actor=actor,
        at=at(day, 16),
        inspected_on=dt.date.fromisoformat(day),
        participants=("王受理", "李规划"),
        notes="现场与成果一致",
    )


def opinion(day: str, actor: Actor, decision: str = "通过", text: str = "同意") -> OpinionGiven:
    return OpinionGiven(case_id=CASE, actor=actor, at=at(day, 11), decision=decision, text=text)  # type: ignore[arg-type]


def exception(
    day: str, actor: Actor, ref: FindingRef = CAD013, reason: str = "历史界址"
) -> ExceptionAccepted:
    return ExceptionAccepted(
        case_id=CASE, actor=actor, at=at(day, 12), identity=ref.identity, reason=reason
    )


def paused(day: str, actor: Actor = LEAD, hour: int = 13) -> CasePaused:
    return CasePaused(case_id=CASE, actor=actor, at=at(day, hour), reason="补正：界址点成果表")


def revision(
    day: str,
    number: int = 2,
    findings: tuple[FindingRef, ...] = (PLN003,),
    verdict: str = "accepted",
    actor: Actor = FIRM_ACTOR,
    hour: int = 14,
) -> RevisionSubmitted:
    return RevisionSubmitted(
        case_id=CASE,
        actor=actor,
        at=at(day, hour),
        revision=number,
        package_sha256="b" * 64,
        verdict=verdict,
        findings=findings,
    )


def concluded(day: str, conclusion: str = "通过", actor: Actor = LEAD) -> CombinedOpinionIssued:
    return CombinedOpinionIssued(
        case_id=CASE, actor=actor, at=at(day, 15), number="聊联验〔2026〕1号", conclusion=conclusion
    )  # type: ignore[arg-type]


def archived(day: str, actor: Actor = ARCHIVE) -> ArchiveCertified:
    return ArchiveCertified(
        case_id=CASE, actor=actor, at=at(day, 15), certificate="档存〔2026〕7号"
    )


def registered(day: str, actor: Actor = REGISTRY) -> Registered:
    return Registered(
        case_id=CASE, actor=actor, at=at(day, 16), number="鲁(2026)聊城市不动产权第0001号"
    )


def green(day: str, actor: Actor = LEAD) -> GreenChannelMarked:
    return GreenChannelMarked(case_id=CASE, actor=actor, at=at(day, 10), reason="重点项目")
