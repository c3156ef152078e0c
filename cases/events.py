"""The facts of a case, in the past tense, and their record form.

Every event says who did it (a person of an organisation, acting in a role) and when.
Events are never edited: a later opinion of a department supersedes its earlier one, a
resume closes a pause, and the state is the fold of them all (:func:`cases.case.replay`).

:func:`to_record` / :func:`from_record` give an event as plain JSON-able values (kind,
case, person, organisation, role, time, payload), what :mod:`storage.case_log` writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal

from schemas.findings import Finding

__all__ = [
    "DECISIONS",
    "EVENT_TYPES",
    "ROLES",
    "Actor",
    "ArchiveCertified",
    "CaseOpened",
    "CasePaused",
    "CombinedOpinionIssued",
    "Decision",
    "Event",
    "ExceptionAccepted",
    "FindingRef",
    "GreenChannelMarked",
    "OpinionGiven",
    "OpinionsRequested",
    "Registered",
    "RevisionSubmitted",
    "Role",
    "SiteInspected",
    "from_record",
    "to_record",
]

Role = Literal["firm", "lead", "department", "analyst"]
ROLES: dict[str, str] = {
    "firm": "测绘单位",
    "lead": "牵头部门",
    "department": "职能部门",
    "analyst": "分析",
}
Decision = Literal["通过", "有条件通过", "不通过"]
DECISIONS: tuple[str, ...] = ("通过", "有条件通过", "不通过")
Identity = tuple[str, str, str, str, str, str]


@dataclass(frozen=True)
class Actor:
    """A person of an organisation acting in a role (``张三@planning`` as a department)."""

    person: str
    organisation: str
    role: Role

    def __str__(self) -> str:
        return f"{self.person}@{self.organisation}（{ROLES.get(self.role, self.role)}）"


@dataclass(frozen=True)
class FindingRef:
    """What a case keeps of a finding: its identity (code + object, as the revision diff
    matches findings), its survey (domain), its severity and whether the verdict tolerated
    it (a 容缺 finding)."""

    code: str
    domain: str
    severity: str
    identity: Identity
    tolerated: bool = False

    @classmethod
    def of(cls, finding: Finding, tolerated_codes: tuple[str, ...] = ()) -> FindingRef:
        return cls(
            finding.code,
            finding.domain,
            finding.severity,
            finding.identity,
            finding.severity == "error" and finding.code in tolerated_codes,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "domain": self.domain,
            "severity": self.severity,
            "identity": list(self.identity),
            "tolerated": self.tolerated,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FindingRef:
        ident = tuple(str(x) for x in d["identity"])
        if len(ident) != 6:
            raise ValueError(f"a finding identity has 6 parts, not {len(ident)}")
        return cls(
            str(d["code"]), str(d["domain"]), str(d["severity"]), ident, bool(d["tolerated"])
        )  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True)
class Event:
    """What every event has: the case, who, when."""

    kind: ClassVar[str] = ""
    case_id: str
    actor: Actor
    at: dt.datetime


@dataclass(frozen=True, kw_only=True)
class CaseOpened(Event):
    """受理: the lead accepted a submitted revision (容缺受理 when it has tolerated findings)."""

    kind: ClassVar[str] = "opened"
    project_id: str
    revision: int
    package_sha256: str
    verdict: str
    firm: str
    deadline: dt.date | None = None  # the verdict's 容缺 deadline
    deadline_basis: str | None = None
    findings: tuple[FindingRef, ...] = ()


@dataclass(frozen=True, kw_only=True)
class GreenChannelMarked(Event):
    """绿色通道: the lead marked the case a key project."""

    kind: ClassVar[str] = "green_channel"
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class OpinionsRequested(Event):
    """征求意见: the lead asked the departments for their opinion."""

    kind: ClassVar[str] = "dispatched"
    departments: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class SiteInspected(Event):
    """现场勘察: the joint site inspection, its day, who took part, notes."""

    kind: ClassVar[str] = "inspected"
    inspected_on: dt.date
    participants: tuple[str, ...] = ()
    notes: str = ""


@dataclass(frozen=True, kw_only=True)
class OpinionGiven(Event):
    """A department's opinion (its organisation is the actor's); a later one supersedes."""

    kind: ClassVar[str] = "opinion"
    decision: Decision
    text: str = ""
    relies_on: tuple[str, ...] = ()  # the codes of its survey's findings it relies on


@dataclass(frozen=True, kw_only=True)
class ExceptionAccepted(Event):
    """A department accepted one finding of its own survey as an exception."""

    kind: ClassVar[str] = "exception"
    identity: Identity
    reason: str


@dataclass(frozen=True, kw_only=True)
class CasePaused(Event):
    """补正: the clock stops while the case waits for the firm."""

    kind: ClassVar[str] = "paused"
    reason: str


@dataclass(frozen=True, kw_only=True)
class RevisionSubmitted(Event):
    """The firm's next revision: closes the 容缺 items whose findings are gone and resumes a
    paused clock unless its verdict is ``rejected`` (still waiting for the firm then)."""

    kind: ClassVar[str] = "revision"
    revision: int
    package_sha256: str
    verdict: str
    deadline: dt.date | None = None
    deadline_basis: str | None = None
    findings: tuple[FindingRef, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CombinedOpinionIssued(Event):
    """验收结论: the lead's one combined opinion (联合验收意见书)."""

    kind: ClassVar[str] = "concluded"
    number: str
    conclusion: Literal["通过", "不通过"]


@dataclass(frozen=True, kw_only=True)
class ArchiveCertified(Event):
    """存档: the archive's certificate (不动产档案存档证明)."""

    kind: ClassVar[str] = "archived"
    certificate: str


@dataclass(frozen=True, kw_only=True)
class Registered(Event):
    """登记: the registry recorded the registration."""

    kind: ClassVar[str] = "registered"
    number: str


EVENT_TYPES: dict[str, type[Event]] = {
    t.kind: t
    for t in (
        CaseOpened,
        GreenChannelMarked,
        OpinionsRequested,
        SiteInspected,
        OpinionGiven,
        ExceptionAccepted,
        CasePaused,
        RevisionSubmitted,
        CombinedOpinionIssued,
        ArchiveCertified,
        Registered,
    )
}
_BASE = {"case_id", "actor", "at"}


def _encode(value: Any) -> Any:
    if isinstance(value, FindingRef):
        return value.as_dict()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    return value


def to_record(event: Event) -> dict[str, Any]:
    """The event as plain values: ``kind, case_id, person, organisation, role, at, payload``."""
    return {
        "kind": event.kind,
        "case_id": event.case_id,
        "person": event.actor.person,
        "organisation": event.actor.organisation,
        "role": event.actor.role,
        "at": event.at.isoformat(),
        "payload": {
            f.name: _encode(getattr(event, f.name)) for f in fields(event) if f.name not in _BASE
        },
    }


def _decode(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in ("deadline", "inspected_on"):
        return dt.date.fromisoformat(value)
    if name == "findings":
        return tuple(FindingRef.from_dict(d) for d in value)
    if name == "identity":
        ident = tuple(str(x) for x in value)
        if len(ident) != 6:
            raise ValueError(f"a finding identity has 6 parts, not {len(ident)}")
        return ident
    if isinstance(value, list):
        return tuple(value)
    return value


def from_record(record: Mapping[str, Any]) -> Event:
    """The event of :func:`to_record`'s form.

    Raises
    ------
    ValueError
        An unknown kind or a payload that does not fit it.
    """
    kind = record["kind"]
    if kind not in EVENT_TYPES:
        raise ValueError(f"unknown case event {kind!r}")
    cls = EVENT_TYPES[kind]
    payload = {k: _decode(k, v) for k, v in dict(record["payload"]).items()}
    try:
        return cls(
            case_id=str(record["case_id"]),
            actor=Actor(str(record["person"]), str(record["organisation"]), record["role"]),
            at=dt.datetime.fromisoformat(record["at"]),
            **payload,
        )
    except TypeError as exc:
        raise ValueError(f"case event {kind!r}: {exc}") from exc
